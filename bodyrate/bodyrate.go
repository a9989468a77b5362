// Package bodyrate cuts off clients that trickle a request body: wrapped in
// Handler, a request's body must arrive within Limits.Timeout plus one
// second per Limits.MinRate bytes received (Apache mod_reqtimeout's
// "body=20,MinRate=500" rule). When the deadline passes, the body's Read
// fails, the handler answers or gives up, and net/http closes the
// connection.
//
// The deadline is set with http.ResponseController.SetReadDeadline, so it
// works on HTTP/1.1 (the connection's read deadline) and HTTP/2 (the
// stream's). Requests without a body are untouched, so upgraded
// connections (WebSockets) keep no deadline; once the body has been read to
// its end the deadline is lifted again.
//
// Headers are net/http.Server's business (ReadHeaderTimeout), and so are
// idle keep-alive connections (IdleTimeout).
package bodyrate

import (
	"io"
	"net/http"
	"time"
)

// Limits bound how slowly a body may arrive.
type Limits struct {
	// Timeout is the time a body has before MinRate credits more; zero
	// turns the limit off.
	Timeout time.Duration
	// MinRate is the bytes per second that extend the deadline by one
	// second each; zero means the whole body must arrive within Timeout.
	MinRate int64
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Handler returns h with l applied to every request's body.
func Handler(h http.Handler, l Limits) http.Handler {
	if l.Timeout <= 0 {
		return h
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Body == http.NoBody || (r.ContentLength == 0 && len(r.TransferEncoding) == 0) {
			h.ServeHTTP(w, r)
			return
		}
		b := &body{ReadCloser: r.Body, rc: http.NewResponseController(w), limits: l, start: l.Now()}
		if b.setDeadline() {
			r.Body = b
		}
		h.ServeHTTP(w, r)
	})
}

// body moves the read deadline on as bytes arrive.
type body struct {
	io.ReadCloser
	rc     *http.ResponseController
	limits Limits
	start  time.Time
	n      int64
	done   bool
}

// setDeadline sets the deadline for what has arrived so far and reports
// whether the connection supports one.
func (b *body) setDeadline() bool {
	d := b.start.Add(b.limits.Timeout)
	if b.limits.MinRate > 0 {
		d = d.Add(time.Duration(b.n * int64(time.Second) / b.limits.MinRate))
	}
	return b.rc.SetReadDeadline(d) == nil
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	switch {
	case err == io.EOF && !b.done:
		b.done = true
		_ = b.rc.SetReadDeadline(time.Time{})
	case n > 0 && b.limits.MinRate > 0 && !b.done:
		b.setDeadline()
	}
	return n, err
}
