// Package awsjson serves AWS JSON 1.0 and 1.1 APIs over HTTP: POST / with
// an X-Amz-Target header naming the operation, JSON in and out, and errors
// in the awsJson1_x envelope. It knows nothing of App Runner; the operation
// dispatcher, the authenticator and the error table are injected, and
// ByTarget serves several APIs on one path.
package awsjson

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
)

// ContentType is the media type of AWS JSON 1.0 requests and responses.
const ContentType = "application/x-amz-json-1.0"

// ContentType11 is the media type of AWS JSON 1.1 (Secrets Manager, SSM).
// The two protocols differ only in it.
const ContentType11 = "application/x-amz-json-1.1"

// DefaultMaxBodyBytes is the request-size limit when Server.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// Error is an error in its AWS wire form. Handlers and authenticators may
// return it directly; any other error goes through Server.MapError.
type Error struct {
	Type    string // short exception name, e.g. "InvalidRequestException"
	Message string
	Status  int
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Type + ": " + e.Message }

// Server is an http.Handler for one AWS JSON 1.0 service.
type Server struct {
	// TargetPrefix is the part of X-Amz-Target before the dot, e.g. "AppRunner".
	TargetPrefix string
	// Path is the path requests are POSTed to; "" means "/".
	Path string
	// Namespace qualifies error types in the body's __type, e.g.
	// "com.amazonaws.apprunner".
	Namespace string
	// ContentType is the responses' media type; "" means ContentType (AWS
	// JSON 1.0).
	ContentType string

	// Authenticate checks the request (whose body has been read) and returns
	// the context the operation runs in.
	Authenticate func(r *http.Request, body []byte) (context.Context, error)
	// Dispatch runs operation op on the JSON body and returns the output
	// value to encode.
	Dispatch func(ctx context.Context, op string, body []byte) (any, error)
	// MapError turns an error that is not an *Error into one.
	MapError func(err error) *Error

	// MaxBodyBytes limits request bodies; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Logger receives the access log and internal errors; nil discards.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// appender is implemented by values that encode themselves as JSON without
// reflection (package wire's shapes do).
type appender interface {
	AppendJSON(b []byte) []byte
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	start := now()
	reqID := openrunner.NewUUID()
	w.Header().Set("x-amzn-RequestId", reqID)

	op, status, err := s.serve(w, r)
	if err != nil {
		status = s.writeError(w, err)
	}
	if s.Logger != nil && s.Logger.Enabled(r.Context(), slog.LevelInfo) {
		attrs := []slog.Attr{
			slog.String("request_id", reqID),
			slog.String("op", op),
			slog.Int("status", status),
			slog.Duration("duration", now().Sub(start)),
			slog.String("remote", r.RemoteAddr),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", errorType(err, s.MapError)))
		}
		s.Logger.LogAttrs(r.Context(), slog.LevelInfo, "api", attrs...)
	}
}

// serve handles one request, returning the operation name and either the
// status written or an error still to be written.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) (op string, status int, err error) {
	path := s.Path
	if path == "" {
		path = "/"
	}
	if r.Method != http.MethodPost || (r.URL.Path != path && !(path == "/" && r.URL.Path == "")) {
		return "", 0, &Error{Type: "UnknownOperationException", Status: http.StatusNotFound,
			Message: "AWS JSON 1.0 requests are POST " + path + " with an X-Amz-Target header."}
	}
	limit := s.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= 64<<10 { // keep the pool's buffers small
			buf.Reset()
			bufPool.Put(buf)
		}
	}()
	buf.Reset()
	if r.ContentLength > limit {
		return "", 0, tooLarge(w, r, limit)
	}
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return "", 0, &Error{Type: "SerializationException", Status: http.StatusBadRequest,
			Message: "Unable to read the request body."}
	}
	if n > limit {
		return "", 0, tooLarge(w, r, limit)
	}
	body := buf.Bytes()

	ctx := r.Context()
	if s.Authenticate != nil {
		if ctx, err = s.Authenticate(r, body); err != nil {
			return "", 0, err
		}
	}

	target := r.Header.Get("X-Amz-Target")
	prefix, op, ok := strings.Cut(target, ".")
	if !ok || prefix != s.TargetPrefix || op == "" {
		return "", 0, &Error{Type: "UnknownOperationException", Status: http.StatusBadRequest,
			Message: "The X-Amz-Target header must name an operation as " + s.TargetPrefix + ".<Operation>; got '" + openrunner.Truncate(target, 100) + "'."}
	}

	out, err := s.Dispatch(ctx, op, body)
	if err != nil {
		return op, 0, err
	}
	// The response reuses the request's pooled buffer: the operation has
	// decoded the body and retains none of it.
	var resp []byte
	if a, ok := out.(appender); ok {
		resp = a.AppendJSON(buf.Bytes()[:0])
	} else if resp, err = json.Marshal(out); err != nil {
		return op, 0, err
	}
	h := w.Header()
	h.Set("Content-Type", s.contentType())
	h.Set("Content-Length", strconv.Itoa(len(resp)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(resp)
	return op, http.StatusOK, nil
}

// Bounds of what tooLarge reads of an oversized body before it answers.
const (
	maxDiscardBytes = 64 << 20
	discardTimeout  = 10 * time.Second
)

// tooLarge is the error of a body over limit. It first reads and discards
// the rest of the body (at most maxDiscardBytes, for at most
// discardTimeout) and asks for the connection to be closed after the
// response: a client that sends its whole body before reading, as Python's
// urllib does, then reads the 413 instead of meeting a reset connection.
// A client waiting for "100 Continue" has sent no body, and is not read.
func tooLarge(w http.ResponseWriter, r *http.Request, limit int64) *Error {
	w.Header().Set("Connection", "close")
	if !strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
		_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(discardTimeout))
		_, _ = io.CopyN(io.Discard, r.Body, maxDiscardBytes)
	}
	return &Error{Type: "SerializationException", Status: http.StatusRequestEntityTooLarge,
		Message: "The request body is larger than the limit of " + strconv.FormatInt(limit, 10) + " bytes."}
}

// writeError writes err in the awsJson1_0 envelope and returns the status.
// Both __type forms are accepted by every SDK; the body carries the
// shape id and the header the short name, as Smithy recommends.
func (s *Server) writeError(w http.ResponseWriter, err error) int {
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this response.
		return 499
	}
	e := asError(err, s.MapError)
	if e.Status >= 500 && s.Logger != nil {
		s.Logger.Error("internal error", "error", err.Error())
	}
	typ := e.Type
	if s.Namespace != "" {
		typ = s.Namespace + "#" + e.Type
	}
	body, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"Message"`
	}{typ, e.Message})
	h := w.Header()
	h.Set("Content-Type", s.contentType())
	h.Set("X-Amzn-Errortype", e.Type)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
	return e.Status
}

func (s *Server) contentType() string {
	if s.ContentType != "" {
		return s.ContentType
	}
	return ContentType
}

// ByTarget serves several APIs on one path: each request goes to the
// Server whose TargetPrefix its X-Amz-Target header names, and any other
// request (no header, an unknown prefix, another method) to Default, which
// answers it with its own errors.
type ByTarget struct {
	Default http.Handler
	Servers []*Server
}

// ServeHTTP implements http.Handler.
func (b *ByTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	prefix, _, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	for _, s := range b.Servers {
		if s.TargetPrefix == prefix {
			s.ServeHTTP(w, r)
			return
		}
	}
	b.Default.ServeHTTP(w, r)
}

func asError(err error, mapErr func(error) *Error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	if mapErr != nil {
		if e := mapErr(err); e != nil {
			return e
		}
	}
	return &Error{Type: "InternalServiceErrorException", Status: http.StatusInternalServerError,
		Message: "An internal error occurred."}
}

func errorType(err error, mapErr func(error) *Error) string {
	return asError(err, mapErr).Type
}
