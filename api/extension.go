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
	// Services and Logs serve GetServiceLogs; nil when no services run.
	Services openrunner.ServiceService
	Logs     openrunner.LogService
	Pages    *PageTokens
	// Webhook returns the push webhook of a connection (its delivery URL
	// and secret) for GetConnectionWebhook.
	Webhook func(ctx context.Context, c *openrunner.Connection) (url, secret string)
	// Connections finds the connection GetConnectionWebhook names.
	Connections openrunner.ConnectionService
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
	case "GetConnectionWebhook":
		var in GetConnectionWebhookInput
		if err := decodeStrict(body, &in); err != nil {
			return nil, err
		}
		return x.getConnectionWebhook(ctx, &in)
	case "GetServiceLogs":
		var in GetServiceLogsInput
		if err := decodeStrict(body, &in); err != nil {
			return nil, err
		}
		return x.getServiceLogs(ctx, &in)
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

// GetServiceLogsInput is the input of OpenRunner.GetServiceLogs.
type GetServiceLogsInput struct {
	ServiceArn string
	// Application selects the application log (instances' stdout and
	// stderr) instead of the service's event log.
	Application bool `json:",omitempty"`
	// StartTime (epoch seconds) skips older lines.
	StartTime float64 `json:",omitempty"`
	// MaxResults is 1–1000; 0 means 1000.
	MaxResults int    `json:",omitempty"`
	NextToken  string `json:",omitempty"`
}

// LogEvent is one log line.
type LogEvent struct {
	Timestamp *wire.Timestamp
	Stream    string
	Message   string
}

// GetServiceLogsOutput is the output of OpenRunner.GetServiceLogs. A
// NextToken is always returned: calling again with it later returns the
// lines written since, which is how "openrunner logs --follow" follows.
type GetServiceLogsOutput struct {
	LogGroup  string
	Events    []LogEvent
	NextToken string
}

func (x *Extensions) getServiceLogs(ctx context.Context, in *GetServiceLogsInput) (*GetServiceLogsOutput, error) {
	if x.Logs == nil || x.Services == nil {
		return nil, openrunner.Errorf(openrunner.EINVALID, "This OpenRunner runs no services, so it has no service logs.")
	}
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	if in.ServiceArn == "" {
		return nil, openrunner.Errorf(openrunner.EINVALID, "1 validation error detected: Value null at 'serviceArn' failed to satisfy constraint: Member must not be null")
	}
	if in.MaxResults < 0 || in.MaxResults > 1000 {
		return nil, openrunner.Errorf(openrunner.EINVALID, "1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 1000", in.MaxResults)
	}
	if _, err := ownedARN(ctx, in.ServiceArn, openrunner.ResourceService); err != nil {
		return nil, err
	}
	// The service must exist in the caller's Scope (DELETED ones keep logs).
	if _, err := x.Services.FindServiceByARN(ctx, in.ServiceArn); err != nil {
		return nil, err
	}
	group := "service"
	if in.Application {
		group = "application"
	}
	q := openrunner.LogQuery{ServiceARN: in.ServiceArn, Application: in.Application, Limit: in.MaxResults}
	if in.StartTime > 0 {
		q.Since = time.Unix(0, int64(in.StartTime*1e9))
	}
	query := []string{in.ServiceArn, group}
	if in.NextToken != "" {
		cursor, err := x.Pages.ParseString(scope, "GetServiceLogs", query, in.NextToken)
		if err != nil {
			return nil, err
		}
		q.After = cursor
	}
	page, err := x.Logs.ReadLogs(ctx, q)
	if err != nil {
		return nil, err
	}
	out := &GetServiceLogsOutput{LogGroup: page.Group, Events: make([]LogEvent, 0, len(page.Lines))}
	for _, e := range page.Lines {
		out.Events = append(out.Events, LogEvent{Timestamp: wire.NewTimestamp(e.Time), Stream: e.Stream, Message: e.Text})
	}
	out.NextToken = x.Pages.MakeString(scope, "GetServiceLogs", query, page.Next)
	return out, nil
}

// GetConnectionWebhookInput is the input of OpenRunner.GetConnectionWebhook.
type GetConnectionWebhookInput struct {
	ConnectionArn string
}

// GetConnectionWebhookOutput is what a person needs to set up a push
// webhook by hand (when OpenRunner could not register it): the delivery
// URL for the connection's provider, the secret to sign with, and the
// events and content type to choose.
type GetConnectionWebhookOutput struct {
	Url         string
	Secret      string
	Events      []string
	ContentType string
}

func (x *Extensions) getConnectionWebhook(ctx context.Context, in *GetConnectionWebhookInput) (*GetConnectionWebhookOutput, error) {
	if in.ConnectionArn == "" {
		return nil, openrunner.Errorf(openrunner.EINVALID, "1 validation error detected: Value null at 'connectionArn' failed to satisfy constraint: Member must not be null")
	}
	if _, err := ownedARN(ctx, in.ConnectionArn, openrunner.ResourceConnection); err != nil {
		return nil, err
	}
	if x.Webhook == nil || x.Connections == nil {
		return nil, openrunner.Errorf(openrunner.ENOTIMPLEMENTED, "This OpenRunner receives no webhooks.")
	}
	c, err := x.Connections.FindConnectionByARN(ctx, in.ConnectionArn)
	if err != nil {
		return nil, err
	}
	u, secret := x.Webhook(ctx, c)
	out := &GetConnectionWebhookOutput{Url: u, Secret: secret, Events: []string{"push"}, ContentType: "application/json"}
	if c.ProviderType == openrunner.ProviderBitbucket {
		out.Events = []string{"repo:push"}
	}
	return out, nil
}
