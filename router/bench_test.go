package router_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"strings"
	"testing"

	"github.com/openrunner/openrunner/router"
)

// The three benchmarks send the same small GET, over keep-alive connections
// from parallel clients, to the instance directly, through a bare
// httputil.ReverseProxy (the floor for any proxy built on it), and through
// the Router. Compare ns/op: the Router's extra cost over BareProxy is what
// its routing, balancing and accounting add. bench/router.sh measures the
// same from outside the process with wrk. BenchmarkRouterInProcess leaves
// sockets out, to show the router's own cost alone.

func benchBackend(b *testing.B) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello, world\n")
	}))
	b.Cleanup(s.Close)
	return s
}

// benchGet sends the requests of a benchmark (see benchGetLatency).
func benchGet(b *testing.B, url, host string) { benchGetLatency(b, url, host) }

func BenchmarkDirect(b *testing.B) {
	s := benchBackend(b)
	benchGet(b, s.URL, testHost)
}

func BenchmarkBareProxy(b *testing.B) {
	s := benchBackend(b)
	u := MustParseURL(b, s.URL)
	p := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport: router.NewTransport(),
	}
	ps := httptest.NewServer(p)
	b.Cleanup(ps.Close)
	benchGet(b, ps.URL, testHost)
}

func BenchmarkRouter(b *testing.B) {
	s := benchBackend(b)
	r, rs := MustRouter(b, router.Options{})
	MustSetRoute(b, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 100, Instances: []router.Instance{{ID: "i-1", URL: MustParseURL(b, s.URL)}}})
	benchGet(b, rs.URL, testHost)
}

// BenchmarkRouterInProcess measures the router's own cost per request
// without sockets: ServeHTTP into a recorder, over a transport that answers
// at once, with a route table of 1,000 services as the host index to search.
func BenchmarkRouterInProcess(b *testing.B) {
	tr := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{
			StatusCode:    http.StatusOK,
			Header:        http.Header{"Content-Type": {"text/plain"}},
			Body:          io.NopCloser(strings.NewReader("hello, world\n")),
			ContentLength: 13,
			Request:       req,
		}, nil
	})
	r := router.New(router.Options{Transport: tr})
	u := MustParseURL(b, "http://127.0.0.1:1")
	for i := range 1000 {
		arn := fmt.Sprintf("svc-%d", i)
		MustSetRoute(b, r, router.Route{ServiceARN: arn, Hosts: []string{arn + ".us-east-1.localhost"}, MaxConcurrency: 100,
			Instances: []router.Instance{{ID: arn + "-a", URL: u}, {ID: arn + "-b", URL: u}}})
	}
	MustSetRoute(b, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 100,
		Instances: []router.Instance{{ID: "i-1", URL: u}, {ID: "i-2", URL: u}}})
	serveInProcess(b, r)
}

// serveInProcess sends the benchmark's GETs to r.ServeHTTP from parallel
// goroutines, into recorders.
func serveInProcess(b *testing.B, r *router.Router) {
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := httptest.NewRequest("GET", "http://"+testHost+"/", nil)
		for pb.Next() {
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
}
