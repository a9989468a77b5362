package health_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/health"
)

var (
	tcp   = openrunner.HealthCheckConfig{Protocol: "TCP", Interval: 1, Timeout: 1, HealthyThreshold: 1, UnhealthyThreshold: 2}
	http1 = openrunner.HealthCheckConfig{Protocol: "HTTP", Path: "/healthz", Interval: 1, Timeout: 1, HealthyThreshold: 2, UnhealthyThreshold: 2}
)

func TestProbe(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			w.WriteHeader(404)
			return
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	addr := srv.Listener.Addr().String()
	var p health.Prober
	ctx := context.Background()

	if err := p.Probe(ctx, tcp, addr); err != nil {
		t.Fatalf("TCP: %v", err)
	}
	if err := p.Probe(ctx, http1, addr); err != nil {
		t.Fatalf("HTTP: %v", err)
	}
	status.Store(503)
	if err := p.Probe(ctx, http1, addr); err == nil || !strings.Contains(err.Error(), "answered 503") {
		t.Fatalf("HTTP 503: %v", err)
	}
	status.Store(302)
	if err := p.Probe(ctx, http1, addr); err == nil || !strings.Contains(err.Error(), "answered 302") {
		t.Fatalf("a redirect is not healthy: %v", err)
	}

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	if err := p.Probe(ctx, tcp, closed); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("closed port: %v", err)
	}
}

func TestWaitForSlowStart(t *testing.T) {
	// The application binds its port 300 ms after starting.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	go func() {
		time.Sleep(300 * time.Millisecond)
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return
		}
		http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	}()
	var p health.Prober
	start := time.Now()
	if err := p.Wait(context.Background(), tcp, addr, nil); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v: the first probes must not wait a whole interval", d)
	}
}

func TestWaitGivesUp(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	// A fake clock: every sleep advances time, so the budget runs out at once.
	now := time.Unix(0, 0)
	p := health.Prober{
		Now:   func() time.Time { return now },
		Sleep: func(ctx context.Context, d time.Duration) error { now = now.Add(d); return nil },
	}
	err := p.Wait(context.Background(), tcp, addr, nil)
	if err == nil || !strings.Contains(err.Error(), "health check failed for 4s") || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("got %v", err)
	}

	err = p.Wait(context.Background(), tcp, addr, func() (bool, string) { return true, "exit code 3" })
	if err == nil || !strings.Contains(err.Error(), "exit code 3") {
		t.Fatalf("exited instance: %v", err)
	}
}

// TestProbeBehindForwarder: a port forwarder (docker-proxy) accepts and at
// once closes when nothing listens behind it; that is not healthy.
func TestProbeBehindForwarder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	var p health.Prober
	if err := p.Probe(context.Background(), tcp, ln.Addr().String()); err == nil || !strings.Contains(err.Error(), "closed at once") {
		t.Fatalf("got %v", err)
	}
}
