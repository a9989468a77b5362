package secretsapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/awsjson"
	smwire "github.com/openrunner/openrunner/wire/secretsmanager"
	ssmwire "github.com/openrunner/openrunner/wire/ssm"
)

// fail returns the exception typ (a short name of the model, such as
// "ResourceNotFoundException" or "ParameterNotFound") with a message.
func fail(typ, format string, args ...any) *awsjson.Error {
	return &awsjson.Error{Type: typ, Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...)}
}

// MapError turns the errors of both APIs' Dispatch that are not already
// exceptions into their wire form: a body that does not decode is a
// SerializationException, a request that breaks the model's constraints a
// ValidationException (as both services answer), anything else internal.
func MapError(err error) *awsjson.Error {
	var de1 *smwire.DecodeError
	var de2 *ssmwire.DecodeError
	switch {
	case errors.As(err, &de1):
		return fail("SerializationException", "%s", de1.Message)
	case errors.As(err, &de2):
		return fail("SerializationException", "%s", de2.Message)
	case errors.Is(err, smwire.ErrUnknownOperation), errors.Is(err, ssmwire.ErrUnknownOperation):
		return fail("UnknownOperationException", "The operation is not one of the operations OpenRunner's embedded store serves.")
	}
	switch openrunner.ErrorCode(err) {
	case openrunner.EINVALID:
		return fail("ValidationException", "%s", openrunner.ErrorMessage(err))
	case openrunner.ENOTIMPLEMENTED:
		return &awsjson.Error{Type: "NotImplementedException", Status: http.StatusNotImplemented, Message: openrunner.ErrorMessage(err)}
	}
	return &awsjson.Error{Type: "InternalServiceError", Status: http.StatusInternalServerError, Message: "An internal error occurred."}
}

// pageToken encodes where the next page starts: the last name returned.
func pageToken(last string) *string {
	t := base64.RawURLEncoding.EncodeToString([]byte(last))
	return &t
}

// fromPageToken decodes a page token; ok is false for a token this store
// did not make.
func fromPageToken(t *string) (after string, ok bool) {
	if t == nil || *t == "" {
		return "", true
	}
	b, err := base64.RawURLEncoding.DecodeString(*t)
	return string(b), err == nil && len(b) > 0
}

// Value kinds, the first byte of a sealed value.
const (
	kindString byte = 's'
	kindBinary byte = 'b'
)

// seal seals a SecretString or SecretBinary value (or a parameter value,
// always a string) for the record named by context.
func seal(v openrunner.Sealer, kind byte, value []byte, context string) []byte {
	buf := make([]byte, 0, 1+len(value))
	buf = append(append(buf, kind), value...)
	sealed := v.Seal(buf, context)
	clear(buf)
	return sealed
}

// open returns what seal sealed.
func open(v openrunner.Sealer, sealed []byte, context string) (kind byte, value []byte, err error) {
	b, err := v.Open(sealed, context)
	if err != nil {
		return 0, nil, err
	}
	if len(b) == 0 || (b[0] != kindString && b[0] != kindBinary) {
		return 0, nil, errors.New("secretsapi: a sealed value of an unknown kind")
	}
	return b[0], b[1:], nil
}
