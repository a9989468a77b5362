package sigv4

import (
	"net/http"
	"strings"
)

// Exception names used in Error.Type. They are the names AWS services send
// in the JSON __type field and the X-Amzn-ErrorType header.
const (
	// TypeMissingAuthenticationToken: the request carries no signature at all.
	TypeMissingAuthenticationToken = "MissingAuthenticationTokenException"
	// TypeIncompleteSignature: the signature information is malformed or
	// incomplete.
	TypeIncompleteSignature = "IncompleteSignatureException"
	// TypeInvalidSignature: the signature is well formed but wrong, expired or
	// scoped to the wrong service, region or date.
	TypeInvalidSignature = "InvalidSignatureException"
	// TypeUnrecognizedClient: the access key id (or security token) is not
	// known.
	TypeUnrecognizedClient = "UnrecognizedClientException"
	// TypeInternalFailure: the verifier could not decide, for example
	// because the CredentialStore failed. Unwrap gives the cause.
	TypeInternalFailure = "InternalFailure"
)

// Error is an authentication failure, shaped as AWS sends it: Type is the
// exception name (one of the Type constants), Message the text that is safe
// to send to the client, and Status the HTTP status code. Messages never
// contain secret keys, security tokens or signatures.
type Error struct {
	Type    string
	Message string
	Status  int

	cause error
}

// Error implements the error interface.
func (e *Error) Error() string {
	return "sigv4: " + e.Type + ": " + e.Message
}

// Unwrap returns the internal cause of a TypeInternalFailure error, and nil
// for authentication failures. The cause is for logs, not for clients.
func (e *Error) Unwrap() error { return e.cause }

// Messages AWS uses verbatim.
const (
	msgMissingToken     = "Missing Authentication Token"
	msgUnrecognized     = "The security token included in the request is invalid."
	msgSignatureInvalid = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgHostNotSigned = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgOneMechanism  = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, " +
		"Signature query string parameter or the Authorization header should be specified"
	msgInternal = "An internal error occurred."
)

func errMissingToken() *Error {
	return &Error{Type: TypeMissingAuthenticationToken, Message: msgMissingToken, Status: http.StatusForbidden}
}

func errIncomplete(msg string) *Error {
	return &Error{Type: TypeIncompleteSignature, Message: msg, Status: http.StatusBadRequest}
}

// errScope reports a credential scope that does not fit the request: wrong
// service, region, terminator or date. AWS JSON services answer these with
// InvalidSignatureException and status 400.
func errScope(msg string) *Error {
	return &Error{Type: TypeInvalidSignature, Message: msg, Status: http.StatusBadRequest}
}

func errInvalid(msg string) *Error {
	return &Error{Type: TypeInvalidSignature, Message: msg, Status: http.StatusForbidden}
}

func errSignatureMismatch() *Error { return errInvalid(msgSignatureInvalid) }

func errUnrecognized() *Error {
	return &Error{Type: TypeUnrecognizedClient, Message: msgUnrecognized, Status: http.StatusForbidden}
}

func errInternal(cause error) *Error {
	return &Error{Type: TypeInternalFailure, Message: msgInternal, Status: http.StatusInternalServerError, cause: cause}
}

// maxEcho is the longest client-supplied value quoted in a message.
const maxEcho = 64

// echo renders a client-supplied, non-secret value (an access key id, a
// credential scope, a date, an algorithm name) for an error message: at most
// maxEcho bytes, with anything outside printable ASCII, quotes and
// backslashes replaced by '?', so messages stay short and one line.
func echo(s string) string {
	truncated := false
	if len(s) > maxEcho {
		s, truncated = s[:maxEcho], true
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !printable(s[i]) {
			clean = false
			break
		}
	}
	if clean && !truncated {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 3)
	for i := 0; i < len(s); i++ {
		if c := s[i]; printable(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('?')
		}
	}
	if truncated {
		b.WriteString("...")
	}
	return b.String()
}

func printable(c byte) bool {
	return c >= 0x20 && c < 0x7f && c != '\'' && c != '"' && c != '\\'
}
