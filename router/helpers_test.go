package router_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner/router"
)

// testHost is the ServiceUrl host the tests route, for the service testARN.
const testHost = "abc123defg.us-east-1.localhost"

// testARN is the service the tests route.
const testARN = "arn:aws:apprunner:us-east-1:000000000000:service/test-svc/00000000000000000000000000000001"

// MustBackend starts an instance serving h and returns it with its
// Instance. It is closed when the test ends.
func MustBackend(tb testing.TB, id string, h http.HandlerFunc) (*httptest.Server, router.Instance) {
	tb.Helper()
	s := httptest.NewServer(h)
	tb.Cleanup(s.Close)
	return s, router.Instance{ID: id, URL: MustParseURL(tb, s.URL)}
}

// MustRouter starts a router on a loopback port. Setting
// OPENRUNNER_TEST_LOG=1 sends its log, Debug included, to stderr.
func MustRouter(tb testing.TB, opts router.Options) (*router.Router, *httptest.Server) {
	tb.Helper()
	if opts.Logger == nil && os.Getenv("OPENRUNNER_TEST_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	r := router.New(opts)
	s := httptest.NewServer(r)
	tb.Cleanup(s.Close)
	return r, s
}

// MustSetRoute calls SetRoute and fails the test on error.
func MustSetRoute(tb testing.TB, r *router.Router, rt router.Route) {
	tb.Helper()
	if err := r.SetRoute(rt); err != nil {
		tb.Fatal(err)
	}
}

func MustParseURL(tb testing.TB, s string) *url.URL {
	tb.Helper()
	u, err := url.Parse(s)
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// DeadInstance returns an instance whose address refuses connections: a
// port that was listened on and closed.
func DeadInstance(tb testing.TB, id string) router.Instance {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return router.Instance{ID: id, URL: &url.URL{Scheme: "http", Host: addr}}
}

// response is what Do returns: enough to assert on without closing bodies.
type response struct {
	Code   int
	Header http.Header
	Body   string
}

// Do sends a request with the given Host header through the router at base
// and reads the whole response.
func Do(tb testing.TB, c *http.Client, method, base, host, body string) response {
	tb.Helper()
	res, err := TryDo(c, method, base, host, body)
	if err != nil {
		tb.Fatal(err)
	}
	return res
}

// TryDo is Do for use outside the test goroutine.
func TryDo(c *http.Client, method, base, host, body string) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, base+"/path?q=1", rd)
	if err != nil {
		return response{}, err
	}
	req.Host = host
	return do(c, req)
}

// do sends req with c and reads the whole response.
func do(c *http.Client, req *http.Request) (response, error) {
	res, err := c.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, err
	}
	return response{Code: res.StatusCode, Header: res.Header, Body: string(b)}, nil
}

// NewClient returns a client with its own keep-alive pool, closed when the
// test ends.
func NewClient(tb testing.TB) *http.Client {
	t := &http.Transport{MaxIdleConnsPerHost: 256, Proxy: nil}
	tb.Cleanup(t.CloseIdleConnections)
	return &http.Client{Transport: t}
}

// Hello answers "hello from <id>", echoing a request body after it.
func Hello(id string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, r.Body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, "hello from "+id+buf.String())
	}
}

// Eventually polls cond every millisecond for up to five seconds.
func Eventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// MustStats returns the router's stats for testARN.
func MustStats(tb testing.TB, r *router.Router) router.Stats {
	tb.Helper()
	return MustServiceStats(tb, r, testARN)
}

// MustServiceStats returns the router's stats for the service arn.
func MustServiceStats(tb testing.TB, r *router.Router, arn string) router.Stats {
	tb.Helper()
	s, ok := r.Stats(arn)
	if !ok {
		tb.Fatalf("no stats for %s", arn)
	}
	return s
}

// InstanceStats returns the stats of the instance id in s.
func InstanceStats(tb testing.TB, s router.Stats, id string) router.InstanceStats {
	tb.Helper()
	for _, in := range s.Instances {
		if in.ID == id {
			return in
		}
	}
	tb.Fatalf("no instance %s in stats", id)
	return router.InstanceStats{}
}
