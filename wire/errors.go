package wire

import "errors"

// ErrUnknownOperation is returned by Dispatch for an operation name that is
// not one of the API's operations.
var ErrUnknownOperation = errors.New("wire: unknown operation")

// DecodeError reports a request body that is not valid JSON or does not
// match the shape of the operation's input. Its Message is short, safe to
// show to the caller, and never echoes member values or Go type names.
type DecodeError struct {
	// Message is the human-readable text, e.g. `Unable to parse request
	// body: expected a string for member "ConnectionName"`.
	Message string
}

// Error implements the error interface.
func (e *DecodeError) Error() string { return e.Message }
