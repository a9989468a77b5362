package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// Extensions implements OpenRunner's own operations, which App Runner does
// not have. They are served like the App Runner API (AWS JSON 1.0, SigV4
// with signing name apprunner) at POST /_openrunner/ with
// X-Amz-Target: OpenRunner.<Operation>; docs/extensions.md documents them.
type Extensions struct {
	Handshakes openrunner.HandshakeService
}

// ExtensionTargetPrefix is the X-Amz-Target prefix of OpenRunner's own
// operations.
const ExtensionTargetPrefix = "OpenRunner"

// CompleteConnectionHandshakeInput is the input of
// OpenRunner.CompleteConnectionHandshake.
type CompleteConnectionHandshakeInput struct {
	ConnectionArn string
	// Token is a GitHub token, a Bitbucket access token, or a Bitbucket
	// "username:api-token" pair.
	Token string
}

// HandshakeConnection is a connection as the extension API returns it: the
// App Runner shape plus why it is in ERROR and whose authorization it holds.
type HandshakeConnection struct {
	ConnectionName  string
	ConnectionArn   string
	ProviderType    string
	Status          string
	StatusMessage   string `json:",omitempty"`
	ProviderAccount string `json:",omitempty"`
	CreatedAt       *wire.Timestamp
}

// CompleteConnectionHandshakeOutput is the output of
// OpenRunner.CompleteConnectionHandshake.
type CompleteConnectionHandshakeOutput struct {
	Connection HandshakeConnection
}

// maxTokenLength bounds a provider token; real ones are under 300 bytes.
const maxTokenLength = 4096

// Dispatch runs the extension operation op on body.
func (x *Extensions) Dispatch(ctx context.Context, op string, body []byte) (any, error) {
	switch op {
	case "CompleteConnectionHandshake":
		var in CompleteConnectionHandshakeInput
		if err := decodeStrict(body, &in); err != nil {
			return nil, err
		}
		return x.completeConnectionHandshake(ctx, &in)
	default:
		return nil, wire.ErrUnknownOperation
	}
}

func (x *Extensions) completeConnectionHandshake(ctx context.Context, in *CompleteConnectionHandshakeInput) (*CompleteConnectionHandshakeOutput, error) {
	switch {
	case in.ConnectionArn == "":
		return nil, openrunner.Errorf(openrunner.EINVALID, "1 validation error detected: Value null at 'connectionArn' failed to satisfy constraint: Member must not be null")
	case in.Token == "":
		return nil, openrunner.Errorf(openrunner.EINVALID, "1 validation error detected: Value null at 'token' failed to satisfy constraint: Member must not be null")
	case len(in.Token) > maxTokenLength:
		return nil, openrunner.Errorf(openrunner.EINVALID, "1 validation error detected: Value '***' at 'token' failed to satisfy constraint: Member must have length less than or equal to %d", maxTokenLength)
	}
	if _, err := ownedARN(ctx, in.ConnectionArn, openrunner.ResourceConnection); err != nil {
		return nil, err
	}
	c, err := x.Handshakes.HandshakeWithToken(ctx, in.ConnectionArn, in.Token)
	if err != nil {
		return nil, err
	}
	return &CompleteConnectionHandshakeOutput{Connection: handshakeConnection(c)}, nil
}

func handshakeConnection(c *openrunner.Connection) HandshakeConnection {
	return HandshakeConnection{
		ConnectionName:  c.Name,
		ConnectionArn:   c.ARN(),
		ProviderType:    c.ProviderType,
		Status:          c.Status,
		StatusMessage:   c.StatusMessage,
		ProviderAccount: c.ProviderAccount,
		CreatedAt:       wire.NewTimestamp(c.CreatedAt.Truncate(time.Millisecond)),
	}
}

// decodeStrict decodes a JSON object into v; an empty body is {}. Errors
// are wire.DecodeError, which the API reports as SerializationException.
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &wire.DecodeError{Message: "Unable to parse request body: wrong type for member \"" + te.Field + "\""}
		}
		return &wire.DecodeError{Message: "Unable to parse request body: the body is not a valid JSON object"}
	}
	if dec.More() {
		return &wire.DecodeError{Message: "Unable to parse request body: unexpected data after the JSON object"}
	}
	return nil
}
