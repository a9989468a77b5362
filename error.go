package openrunner

import (
	"errors"
	"fmt"
)

// Application error codes. Each maps to exactly one App Runner exception at
// the API edge (see package api); adapters never choose exception names.
const (
	EINVALID        = "invalid"         // InvalidRequestException
	EINVALIDSTATE   = "invalid_state"   // InvalidStateException
	ENOTFOUND       = "not_found"       // ResourceNotFoundException
	EQUOTA          = "quota"           // ServiceQuotaExceededException
	ECONFLICT       = "conflict"        // InvalidRequestException (uniqueness, in use)
	ENOTIMPLEMENTED = "not_implemented" // NotImplementedException (OpenRunner extension)
	EINTERNAL       = "internal"        // InternalServiceErrorException
)

// Error is an application error: a code and a message that is safe to show
// to the caller. Internal causes are logged, never put in Message.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	return fmt.Sprintf("openrunner error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the message of the first *Error in err's chain, and a
// generic text for any other non-nil error, so internal details never leak.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Message
	default:
		return "An internal error occurred."
	}
}
