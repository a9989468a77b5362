// Package health checks whether an instance answers, as App Runner's
// HealthCheckConfiguration describes: a TCP connect to the instance's port,
// or an HTTP GET of a path that must answer 2xx. It also waits for a newly
// started instance to become healthy, quickly, without waiting a whole
// interval between the first probes.
package health

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/openrunner/openrunner"
)

// Prober runs health checks. Its zero value is ready to use.
type Prober struct {
	// Client makes HTTP checks; nil: a client without keep-alives, so every
	// check opens a connection as a fresh client would.
	Client *http.Client
	// Now and Sleep are the clock; nil: the real one.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
}

// StartupPoll is how often Wait probes an instance that has not yet
// answered once.
const StartupPoll = 100 * time.Millisecond

// Probe runs one check of addr (host:port) and returns nil if it passed,
// or an error saying what failed, in words fit for a service log.
func (p *Prober) Probe(ctx context.Context, cfg openrunner.HealthCheckConfig, addr string) error {
	timeout := time.Duration(cfg.Timeout) * time.Second
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if cfg.Protocol != "HTTP" {
		return probeTCP(ctx, addr)
	}
	path := cfg.Path
	if path == "" || path[0] != '/' {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return fmt.Errorf("bad health check path %q: %w", cfg.Path, err)
	}
	req.Header.Set("User-Agent", "OpenRunner-HealthCheck/1.0")
	resp, err := p.client().Do(req)
	if err != nil {
		return fmt.Errorf("HTTP GET %s failed: %w", path, unwrapNet(err))
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP GET %s answered %d", path, resp.StatusCode)
	}
	return nil
}

// tcpSettle is how long a TCP check waits, after connecting, for the peer
// to hang up.
const tcpSettle = 50 * time.Millisecond

// probeTCP connects to addr. A connection that the peer closes at once
// fails the check: that is how a port forwarder (Docker's docker-proxy)
// answers when nothing listens behind it, and a bare connect would pass.
// A peer that stays silent or speaks first passes.
func probeTCP(ctx context.Context, addr string) error {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("TCP connect failed: %w", unwrapNet(err))
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(tcpSettle))
	var b [1]byte
	if _, err := c.Read(b[:]); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return fmt.Errorf("TCP connection closed at once: nothing answers on the port")
	}
	return nil
}

// Wait probes a newly started instance until it is healthy: HealthyThreshold
// consecutive passes, the first ones StartupPoll apart and then Interval
// apart. It gives up when no probe has passed within the startup budget,
// UnhealthyThreshold × (Interval + Timeout) seconds, or when exited reports
// that the instance stopped (its reason is returned). exited may be nil.
func (p *Prober) Wait(ctx context.Context, cfg openrunner.HealthCheckConfig, addr string, exited func() (bool, string)) error {
	now, sleep := p.clock()
	interval := time.Duration(max(cfg.Interval, 1)) * time.Second
	budget := time.Duration(max(cfg.UnhealthyThreshold, 1)) * (interval + time.Duration(max(cfg.Timeout, 1))*time.Second)
	deadline := now().Add(budget)
	passes, everPassed := 0, false
	var last error
	for {
		if exited != nil {
			if gone, why := exited(); gone {
				return fmt.Errorf("the instance stopped before it was healthy: %s", why)
			}
		}
		if last = p.Probe(ctx, cfg, addr); last == nil {
			passes++
			everPassed = true
			if passes >= max(cfg.HealthyThreshold, 1) {
				return nil
			}
		} else {
			passes = 0
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !everPassed && now().After(deadline) {
			return fmt.Errorf("health check failed for %s: %w", budget.Round(time.Second), last)
		}
		wait := StartupPoll
		if everPassed {
			wait = interval
		}
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (p *Prober) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return defaultClient
}

var defaultClient = &http.Client{
	Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	// Redirects are not followed: App Runner treats only 2xx as healthy.
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func (p *Prober) clock() (func() time.Time, func(context.Context, time.Duration) error) {
	now, sleep := p.Now, p.Sleep
	if now == nil {
		now = time.Now
	}
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return now, sleep
}

// unwrapNet drops Go's "dial tcp 127.0.0.1:1234:" prefix, keeping the
// cause ("connect: connection refused", "i/o timeout") a person can act on.
func unwrapNet(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
