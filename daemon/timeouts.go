package daemon

import (
	"log"
	"net/http"
	"time"

	"github.com/openrunner/openrunner/bodyrate"
)

// HTTPTimeouts bound slow clients (slow-loris) on the API and router
// listeners. Zero fields take the defaults below.
type HTTPTimeouts struct {
	// ReadHeader is the time a request's headers have to arrive
	// (http.Server.ReadHeaderTimeout).
	ReadHeader time.Duration
	// Body is the time a request's body has to arrive, extended by one
	// second for every BodyMinRate bytes received (package bodyrate).
	Body        time.Duration
	BodyMinRate int64
	// Idle is how long a kept-alive connection may wait for its next
	// request (http.Server.IdleTimeout).
	Idle time.Duration
}

// The default HTTPTimeouts.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultBodyTimeout       = 30 * time.Second
	DefaultBodyMinRate       = 500
	DefaultIdleTimeout       = 120 * time.Second
)

// withDefaults fills t's zero fields.
func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	if t.ReadHeader <= 0 {
		t.ReadHeader = DefaultReadHeaderTimeout
	}
	if t.Body <= 0 {
		t.Body = DefaultBodyTimeout
	}
	if t.BodyMinRate <= 0 {
		t.BodyMinRate = DefaultBodyMinRate
	}
	if t.Idle <= 0 {
		t.Idle = DefaultIdleTimeout
	}
	return t
}

// httpServer is an http.Server for h with the configured timeouts; every
// listener the daemon serves (API, router, router over TLS) is made here.
func (d *Daemon) httpServer(h http.Handler, errorLog *log.Logger) *http.Server {
	t := d.cfg.HTTPTimeouts.withDefaults()
	return &http.Server{
		Handler:           bodyrate.Handler(h, bodyrate.Limits{Timeout: t.Body, MinRate: t.BodyMinRate, Now: d.cfg.Now}),
		ReadHeaderTimeout: t.ReadHeader,
		IdleTimeout:       t.Idle,
		ErrorLog:          errorLog,
	}
}
