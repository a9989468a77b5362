package codec

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

// OperationInfo describes one operation of an API.
type OperationInfo struct {
	// Name is the operation's name, as in X-Amz-Target: <Prefix>.<Name>.
	Name string
	// Errors are the short names of the exceptions the model lists for the
	// operation (e.g. "InvalidRequestException"), sorted.
	Errors []string
}
