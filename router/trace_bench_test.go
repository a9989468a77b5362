package router_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openrunner/openrunner/router"
	"github.com/openrunner/openrunner/tracing"
)

// BenchmarkRouterTracing sends the same small GET through the Router to
// the same backend, with the route untraced ("off") and traced ("on":
// every request sampled, spans batched and exported over OTLP/HTTP to a
// collector that reads and discards them). Both report req/s and the p50
// latency, and the process's CPU time per request. bench/router-tracing.sh
// runs them in alternating rounds.
func BenchmarkRouterTracing(b *testing.B) {
	var exported atomic.Int64
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		exported.Add(n)
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	b.Cleanup(collector.Close)
	s := benchBackend(b)
	for _, traced := range []bool{false, true} {
		name := "off"
		if traced {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			tr, err := tracing.New(tracing.Options{Endpoint: collector.URL})
			if err != nil {
				b.Fatal(err)
			}
			r, rs := MustRouter(b, router.Options{Tracers: tr})
			rt := router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1000,
				Instances: []router.Instance{{ID: "i-1", URL: MustParseURL(b, s.URL)}}}
			if traced {
				rt.Trace = &router.Trace{ServiceName: "bench", RevisionID: "rev-1"}
			}
			MustSetRoute(b, r, rt)
			start, cpu := time.Now(), cpuTime()
			lat := benchGetLatency(b, rs.URL, testHost)
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
			b.ReportMetric(float64(lat.Microseconds()), "p50-µs")
			// CPU time per request of the whole process (client, router,
			// backend, collector): unlike req/s, other load on the
			// machine does not change it.
			b.ReportMetric(float64((cpuTime()-cpu).Microseconds())/float64(b.N), "cpu-µs/op")
			b.StopTimer()
			if err := tr.Close(b.Context()); err != nil {
				b.Fatal(err)
			}
			if traced && exported.Load() == 0 {
				b.Fatal("no span reached the collector")
			}
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchGetLatency sends the same GET b.N times over keep-alive
// connections from parallel clients, and returns the median latency.
func benchGetLatency(b *testing.B, url, host string) time.Duration {
	tr := &http.Transport{MaxIdleConnsPerHost: 1024, Proxy: nil}
	b.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	var mu sync.Mutex
	var all []time.Duration
	b.ReportAllocs()
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req, err := http.NewRequest("GET", url+"/", nil)
		if err != nil {
			b.Error(err)
			return
		}
		req.Host = host
		var mine []time.Duration
		for pb.Next() {
			t0 := time.Now()
			res, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			mine = append(mine, time.Since(t0))
			if res.StatusCode != http.StatusOK {
				b.Errorf("status %d", res.StatusCode)
				return
			}
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	if len(all) == 0 {
		return 0
	}
	slices.Sort(all)
	return all[len(all)/2]
}

// BenchmarkRouterTracingInProcess is BenchmarkRouterInProcess's request
// (ServeHTTP into a recorder, a transport that answers at once, no
// sockets) on an untraced and a traced route: the router's own cost of a
// span, its headers and its export, without the network's noise.
func BenchmarkRouterTracingInProcess(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(collector.Close)
	tr := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"text/plain"}},
			Body: io.NopCloser(strings.NewReader("hello, world\n")), ContentLength: 13, Request: req}, nil
	})
	for _, traced := range []bool{false, true} {
		name := map[bool]string{false: "off", true: "on"}[traced]
		b.Run(name, func(b *testing.B) {
			tracers, err := tracing.New(tracing.Options{Endpoint: collector.URL})
			if err != nil {
				b.Fatal(err)
			}
			defer tracers.Close(b.Context())
			r := router.New(router.Options{Transport: tr, Tracers: tracers})
			rt := router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1000,
				Instances: []router.Instance{{ID: "i-1", URL: MustParseURL(b, "http://127.0.0.1:1")}}}
			if traced {
				rt.Trace = &router.Trace{ServiceName: "bench", RevisionID: "rev-1"}
			}
			MustSetRoute(b, r, rt)
			serveInProcess(b, r)
		})
	}
}
