package router_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrunner/openrunner/router"
)

// Get sends GET path with the Host testHost through the router at base,
// under ctx, and reads the whole response.
func Get(ctx context.Context, c *http.Client, base, path string) (response, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", base+path, nil)
	if err != nil {
		return response{}, err
	}
	req.Host = testHost
	return do(c, req)
}

// result is one response, or error, of a request sent in the background.
type result struct {
	res     response
	err     error
	elapsed time.Duration
}

// GetAsync sends Get in a goroutine and returns where its result arrives.
func GetAsync(ctx context.Context, c *http.Client, base, path string) <-chan result {
	ch := make(chan result, 1)
	go func() {
		start := time.Now()
		res, err := Get(ctx, c, base, path)
		ch <- result{res, err, time.Since(start)}
	}()
	return ch
}

// Await returns the result from ch, failing the test after five seconds.
func Await(tb testing.TB, ch <-chan result) result {
	tb.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		tb.Fatal("no response within 5s")
		return result{}
	}
}

// WaitingIs waits until n requests of testARN wait in the queue.
func WaitingIs(tb testing.TB, r *router.Router, n int64) {
	tb.Helper()
	Eventually(tb, fmt.Sprintf("%d requests to wait", n), func() bool { return MustStats(tb, r).Waiting == n })
}

// A request that finds every instance full waits, and is served when a
// slot frees up: five clients, one instance serving one request at a time
// for 200 ms, all get 200.
func TestQueue_WaitsForCapacity(t *testing.T) {
	var cur, peak atomic.Int32
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		defer cur.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		time.Sleep(200 * time.Millisecond)
		io.WriteString(w, "ok")
	})
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1, Instances: []router.Instance{in}})
	c := NewClient(t)
	var chs []<-chan result
	for range 5 {
		chs = append(chs, GetAsync(context.Background(), c, srv.URL, "/"))
	}
	WaitingIs(t, r, 4)
	for _, ch := range chs {
		if res := Await(t, ch); res.err != nil || res.res.Code != http.StatusOK {
			t.Errorf("status=%d err=%v, want 200", res.res.Code, res.err)
		}
	}
	if p := peak.Load(); p != 1 {
		t.Errorf("the instance served %d at once, want 1", p)
	}
	s := MustStats(t, r)
	if s.Waiting != 0 || s.InFlight != 0 || s.Throttled != 0 || s.Responses2xx != 5 {
		t.Errorf("Waiting=%d InFlight=%d Throttled=%d Responses2xx=%d, want 0, 0, 0, 5", s.Waiting, s.InFlight, s.Throttled, s.Responses2xx)
	}
}

// Waiters are served in the order they arrived.
func TestQueue_FIFO(t *testing.T) {
	var mu sync.Mutex
	var order []string
	release := make(chan struct{})
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Query().Get("n"))
		mu.Unlock()
		<-release
	})
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1, Instances: []router.Instance{in}})
	c := NewClient(t)
	var chs []<-chan result
	for i := range 6 {
		chs = append(chs, GetAsync(context.Background(), c, srv.URL, "/?n="+strconv.Itoa(i)))
		if i == 0 {
			Eventually(t, "the first request to be in flight", func() bool { return MustStats(t, r).InFlight == 1 })
		} else {
			WaitingIs(t, r, int64(i))
		}
	}
	for range chs {
		release <- struct{}{}
	}
	for _, ch := range chs {
		if res := Await(t, ch); res.err != nil || res.res.Code != http.StatusOK {
			t.Errorf("status=%d err=%v, want 200", res.res.Code, res.err)
		}
	}
	if want := []string{"0", "1", "2", "3", "4", "5"}; !slices.Equal(order, want) {
		t.Errorf("served in the order %q, want %q", order, want)
	}
}

// A waiter gets 429 once it has waited QueueTimeout, not before.
func TestQueue_Timeout(t *testing.T) {
	g := newGate()
	_, in := MustBackend(t, "i-1", g.handler("i-1"))
	const timeout = 300 * time.Millisecond
	r, srv := MustRouter(t, router.Options{QueueTimeout: timeout})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, ServiceName: "busy", MaxConcurrency: 1, Instances: []router.Instance{in}})
	c := NewClient(t)
	held := GetAsync(context.Background(), c, srv.URL, "/")
	Eventually(t, "the first request to be in flight", func() bool { return MustStats(t, r).InFlight == 1 })

	res := Await(t, GetAsync(context.Background(), c, srv.URL, "/"))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got, want := res.res.Code, http.StatusTooManyRequests; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	if res.elapsed < timeout {
		t.Fatalf("429 after %v, want at least the queue timeout %v", res.elapsed, timeout)
	}
	if got, want := res.res.Header.Get("Retry-After"), "1"; got != want {
		t.Errorf("Retry-After=%q, want %q", got, want)
	}
	if got, want := res.res.Body, "Service \"busy\" is at capacity: every instance is serving its maximum of 1 concurrent requests, and none freed up within 300ms. Retry after 1 second.\n"; got != want {
		t.Errorf("body=%q, want %q", got, want)
	}
	s := MustStats(t, r)
	if s.Waiting != 0 || s.Throttled != 1 || s.Responses4xx != 1 {
		t.Errorf("Waiting=%d Throttled=%d Responses4xx=%d, want 0, 1, 1", s.Waiting, s.Throttled, s.Responses4xx)
	}
	g.open()
	if res := Await(t, held); res.res.Code != http.StatusOK {
		t.Errorf("held request: status=%d, want 200", res.res.Code)
	}
}

// A request that finds the queue full gets 429 at once.
func TestQueue_Full(t *testing.T) {
	g := newGate()
	_, in := MustBackend(t, "i-1", g.handler("i-1"))
	r, srv := MustRouter(t, router.Options{QueueSize: 2})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, ServiceName: "busy", MaxConcurrency: 1, Instances: []router.Instance{in}})
	c := NewClient(t)
	held := []<-chan result{GetAsync(context.Background(), c, srv.URL, "/")}
	Eventually(t, "the first request to be in flight", func() bool { return MustStats(t, r).InFlight == 1 })
	for i := range 2 {
		held = append(held, GetAsync(context.Background(), c, srv.URL, "/"))
		WaitingIs(t, r, int64(i+1))
	}
	// The gate is closed: only an immediate answer can arrive.
	res := Await(t, GetAsync(context.Background(), c, srv.URL, "/"))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got, want := res.res.Code, http.StatusTooManyRequests; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	if got, want := res.res.Header.Get("Retry-After"), "1"; got != want {
		t.Errorf("Retry-After=%q, want %q", got, want)
	}
	if got, want := res.res.Body, "Service \"busy\" is at capacity: every instance is serving its maximum of 1 concurrent requests and 2 more requests are waiting. Retry after 1 second.\n"; got != want {
		t.Errorf("body=%q, want %q", got, want)
	}
	if got := MustStats(t, r).Throttled; got != 1 {
		t.Errorf("Throttled=%d, want 1", got)
	}
	g.open()
	for _, ch := range held {
		if res := Await(t, ch); res.res.Code != http.StatusOK {
			t.Errorf("held request: status=%d err=%v, want 200", res.res.Code, res.err)
		}
	}
}

// A client that leaves while queued leaves the queue, and is counted as
// ClientClosed; the instance never sees it.
func TestQueue_ClientLeaves(t *testing.T) {
	g := newGate()
	var seen atomic.Int32
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		g.handler("i-1")(w, r)
	})
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1, Instances: []router.Instance{in}})
	c := NewClient(t)
	held := GetAsync(context.Background(), c, srv.URL, "/")
	Eventually(t, "the first request to be in flight", func() bool { return MustStats(t, r).InFlight == 1 })
	ctx, cancel := context.WithCancel(context.Background())
	gone := GetAsync(ctx, c, srv.URL, "/")
	WaitingIs(t, r, 1)
	cancel()
	if res := Await(t, gone); !errors.Is(res.err, context.Canceled) {
		t.Fatalf("err=%v, want context.Canceled", res.err)
	}
	WaitingIs(t, r, 0)
	Eventually(t, "the 499 to be counted", func() bool { return MustStats(t, r).ClientClosed == 1 })
	g.open()
	if res := Await(t, held); res.res.Code != http.StatusOK {
		t.Errorf("held request: status=%d, want 200", res.res.Code)
	}
	s := MustStats(t, r)
	if s.Responses2xx != 1 || s.Responses4xx != 0 || s.Throttled != 0 || seen.Load() != 1 {
		t.Errorf("Responses2xx=%d Responses4xx=%d Throttled=%d instance saw %d, want 1, 0, 0, 1", s.Responses2xx, s.Responses4xx, s.Throttled, seen.Load())
	}
}

// SetRoute adding an instance hands its slots to the waiters at once.
func TestQueue_SetRouteAddsInstance(t *testing.T) {
	g := newGate()
	_, a := MustBackend(t, "a", g.handler("a"))
	_, b := MustBackend(t, "b", Hello("b"))
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1, Instances: []router.Instance{a}})
	c := NewClient(t)
	held := GetAsync(context.Background(), c, srv.URL, "/")
	Eventually(t, "the first request to be in flight", func() bool { return MustStats(t, r).InFlight == 1 })
	w1 := GetAsync(context.Background(), c, srv.URL, "/")
	w2 := GetAsync(context.Background(), c, srv.URL, "/")
	WaitingIs(t, r, 2)
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1, Instances: []router.Instance{a, b}})
	for _, ch := range []<-chan result{w1, w2} {
		res := Await(t, ch) // a is still held: b serves both, in turn
		if res.res.Code != http.StatusOK || res.res.Body != "hello from b" {
			t.Errorf("status=%d body=%q err=%v, want 200 from b", res.res.Code, res.res.Body, res.err)
		}
	}
	g.open()
	Await(t, held)
}

// A route paused, or left without instances, while requests wait answers
// them 503; a deleted one 404.
func TestQueue_RouteChangesWhileWaiting(t *testing.T) {
	for name, tc := range map[string]struct {
		change func(*router.Router, router.Instance)
		code   int
		body   string
	}{
		"Paused": {func(r *router.Router, in router.Instance) {
			MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, ServiceName: "svc", Paused: true, Instances: []router.Instance{in}})
		}, http.StatusServiceUnavailable, "Service \"svc\" is paused. Resume it to serve requests again.\n"},
		"NoInstance": {func(r *router.Router, in router.Instance) {
			MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, ServiceName: "svc"})
		}, http.StatusServiceUnavailable, "Service \"svc\" has no healthy instance to serve this request. Try again shortly.\n"},
		"Drained": {func(r *router.Router, in router.Instance) {
			// Drain waits for the held request: bound it.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
			defer cancel()
			if err := r.Drain(ctx, in.ID); err == nil {
				t.Error("Drain returned before the held request ended")
			}
		}, http.StatusServiceUnavailable, "Service \"svc\" has no healthy instance to serve this request. Try again shortly.\n"},
		"Deleted": {func(r *router.Router, in router.Instance) { r.DeleteRoute(testARN) },
			http.StatusNotFound, "No service has the host \"" + testHost + "\".\n"},
	} {
		t.Run(name, func(t *testing.T) {
			g := newGate()
			_, in := MustBackend(t, "i-1", g.handler("i-1"))
			r, srv := MustRouter(t, router.Options{})
			MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, ServiceName: "svc", MaxConcurrency: 1, Instances: []router.Instance{in}})
			c := NewClient(t)
			held := GetAsync(context.Background(), c, srv.URL, "/")
			Eventually(t, "the first request to be in flight", func() bool { return MustStats(t, r).InFlight == 1 })
			waiting := GetAsync(context.Background(), c, srv.URL, "/")
			WaitingIs(t, r, 1)
			tc.change(r, in)
			res := Await(t, waiting)
			if res.res.Code != tc.code || res.res.Body != tc.body {
				t.Errorf("status=%d body=%q, want %d %q", res.res.Code, res.res.Body, tc.code, tc.body)
			}
			g.open()
			Await(t, held)
		})
	}
}

// An activating route without instances holds requests, asks for an
// instance, and serves them in order once SetRoute brings one.
func TestActivate(t *testing.T) {
	demands := make(chan string, 10)
	r, srv := MustRouter(t, router.Options{OnDemand: func(arn string) { demands <- arn }})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1, Activate: true})
	var mu sync.Mutex
	var order []string
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Query().Get("n"))
		mu.Unlock()
		io.WriteString(w, "started")
	})
	c := NewClient(t)
	var chs []<-chan result
	for i := range 4 {
		chs = append(chs, GetAsync(context.Background(), c, srv.URL, "/?n="+strconv.Itoa(i)))
		WaitingIs(t, r, int64(i+1))
	}
	select {
	case arn := <-demands:
		if arn != testARN {
			t.Errorf("OnDemand(%q), want %q", arn, testARN)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("OnDemand was not called")
	}
	if s := MustStats(t, r); s.InFlight != 0 || s.Requests != 4 {
		t.Errorf("InFlight=%d Requests=%d, want 0, 4", s.InFlight, s.Requests)
	}
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1, Activate: true, Instances: []router.Instance{in}})
	for _, ch := range chs {
		if res := Await(t, ch); res.res.Code != http.StatusOK || res.res.Body != "started" {
			t.Errorf("status=%d body=%q err=%v, want 200 started", res.res.Code, res.res.Body, res.err)
		}
	}
	if want := []string{"0", "1", "2", "3"}; !slices.Equal(order, want) {
		t.Errorf("served in the order %q, want %q", order, want)
	}
	// Four requests within far less than 100 ms each of the first: one call.
	// (The calls are rate-limited per 100 ms; the requests above may have
	// spread over more than that on a slow machine.)
	if n := len(demands); n > 0 {
		t.Logf("OnDemand called %d more times", n)
	}
	if s := MustStats(t, r); s.Waiting != 0 || s.Responses2xx != 4 || s.Unavailable != 0 {
		t.Errorf("Waiting=%d Responses2xx=%d Unavailable=%d, want 0, 4, 0", s.Waiting, s.Responses2xx, s.Unavailable)
	}
}

// OnDemand is called at most once per 100 ms per service.
func TestActivate_OnDemandRateLimited(t *testing.T) {
	var mu sync.Mutex
	calls := map[string][]time.Time{}
	r, srv := MustRouter(t, router.Options{QueueSize: -1, OnDemand: func(arn string) {
		mu.Lock()
		calls[arn] = append(calls[arn], time.Now())
		mu.Unlock()
	}})
	const other = "arn:aws:apprunner:us-east-1:000000000000:service/other/1"
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Activate: true})
	MustSetRoute(t, r, router.Route{ServiceARN: other, Hosts: []string{"other.localhost"}, Activate: true})
	c := NewClient(t)
	// Without a queue, an activating route answers 503 at once, and asks.
	res := Do(t, c, "GET", srv.URL, testHost, "")
	if got, want := res.Code, http.StatusServiceUnavailable; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	if got, want := res.Body, "Service \"test-svc\" has no instance running; one is starting. Try again shortly.\n"; got != want {
		t.Fatalf("body=%q, want %q", got, want)
	}
	start := time.Now()
	for time.Since(start) < 350*time.Millisecond {
		Do(t, c, "GET", srv.URL, testHost, "")
		Do(t, c, "GET", srv.URL, "other.localhost", "")
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the last calls' goroutines run
	mu.Lock()
	defer mu.Unlock()
	for _, arn := range []string{testARN, other} {
		ts := calls[arn]
		// 355 ms or so of requests: 3 or 4 calls, 100 ms apart at least.
		if len(ts) < 3 || len(ts) > 5 {
			t.Errorf("%s: %d calls, want 3 to 5", arn, len(ts))
		}
		for i := 1; i < len(ts); i++ {
			if d := ts[i].Sub(ts[i-1]); d < 90*time.Millisecond { // goroutine scheduling slack
				t.Errorf("%s: calls %d and %d %v apart, want at least 100ms", arn, i-1, i, d)
			}
		}
	}
}

// A SetRoute without instances and without Activate ends the cold start:
// the waiting requests get 503.
func TestActivate_Failure(t *testing.T) {
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Activate: true})
	c := NewClient(t)
	chs := []<-chan result{GetAsync(context.Background(), c, srv.URL, "/"), GetAsync(context.Background(), c, srv.URL, "/")}
	WaitingIs(t, r, 2)
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}})
	for _, ch := range chs {
		res := Await(t, ch)
		if got, want := res.res.Code, http.StatusServiceUnavailable; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if got, want := res.res.Body, "Service \"test-svc\" could not start an instance to serve this request. Try again shortly.\n"; got != want {
			t.Fatalf("body=%q, want %q", got, want)
		}
	}
	if s := MustStats(t, r); s.Waiting != 0 || s.Unavailable != 2 || s.Responses5xx != 2 || s.Throttled != 0 {
		t.Errorf("Waiting=%d Unavailable=%d Responses5xx=%d Throttled=%d, want 0, 2, 2, 0", s.Waiting, s.Unavailable, s.Responses5xx, s.Throttled)
	}
	// From now on, 503 at once.
	if got := Do(t, c, "GET", srv.URL, testHost, "").Code; got != http.StatusServiceUnavailable {
		t.Errorf("status=%d, want 503", got)
	}
}

// A cold start that takes longer than ColdStartTimeout gets 503, not 429.
func TestActivate_Timeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	r, srv := MustRouter(t, router.Options{ColdStartTimeout: timeout, QueueTimeout: time.Millisecond})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Activate: true})
	res := Await(t, GetAsync(context.Background(), NewClient(t), srv.URL, "/"))
	if res.err != nil {
		t.Fatal(res.err)
	}
	if got, want := res.res.Code, http.StatusServiceUnavailable; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	if res.elapsed < timeout {
		t.Fatalf("503 after %v, want at least the cold start timeout %v", res.elapsed, timeout)
	}
	if got, want := res.res.Body, "Service \"test-svc\" did not start an instance within 200ms. Try again shortly.\n"; got != want {
		t.Fatalf("body=%q, want %q", got, want)
	}
	if s := MustStats(t, r); s.Throttled != 0 || s.Unavailable != 1 || s.Waiting != 0 {
		t.Errorf("Throttled=%d Unavailable=%d Waiting=%d, want 0, 1, 0", s.Throttled, s.Unavailable, s.Waiting)
	}
}

// The time a request waits counts against the request timeout.
func TestQueue_WaitCountsAgainstTimeout(t *testing.T) {
	r, srv := MustRouter(t, router.Options{Timeout: 150 * time.Millisecond})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Activate: true})
	res := Await(t, GetAsync(context.Background(), NewClient(t), srv.URL, "/"))
	if res.res.Code != http.StatusServiceUnavailable || res.elapsed > 2*time.Second {
		t.Fatalf("status=%d after %v, want 503 after about 150ms", res.res.Code, res.elapsed)
	}
}

// Stats counts responses by class, whoever wrote them, and times them.
func TestStats_ResponsesAndLatency(t *testing.T) {
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		if d, _ := time.ParseDuration(r.URL.Query().Get("sleep")); d > 0 {
			time.Sleep(d)
		}
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		if code == http.StatusFound {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(code)
	})
	r, srv := MustRouter(t, router.Options{QueueSize: -1})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 1, Instances: []router.Instance{in}})
	c := NewClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path string, want int) {
		t.Helper()
		res, err := Get(context.Background(), c, srv.URL, path)
		if err != nil {
			t.Fatal(err)
		}
		if res.Code != want {
			t.Fatalf("GET %s: status=%d, want %d", path, res.Code, want)
		}
	}
	get("/?code=200", 200)
	get("/?code=204", 204)
	get("/?code=302", 302)
	get("/?code=404", 404)
	get("/?code=500", 500)
	get("/?code=200&sleep=30ms", 200)
	// The router's own answers: 429 (the only slot is taken), 503 (paused).
	held := GetAsync(context.Background(), c, srv.URL, "/?code=200&sleep=300ms")
	Eventually(t, "the request to be in flight", func() bool { return MustStats(t, r).InFlight == 1 })
	get("/", http.StatusTooManyRequests)
	Await(t, held)
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Paused: true, Instances: []router.Instance{in}})
	get("/", http.StatusServiceUnavailable)
	// Unknown hosts belong to no service.
	Do(t, c, "GET", srv.URL, "nope.localhost", "")

	s := MustStats(t, r)
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"Requests", s.Requests, 9},
		{"Responses1xx", s.Responses1xx, 0},
		{"Responses2xx", s.Responses2xx, 4},
		{"Responses3xx", s.Responses3xx, 1},
		{"Responses4xx", s.Responses4xx, 2}, // 404 and the router's 429
		{"Responses5xx", s.Responses5xx, 2}, // 500 and the router's 503
		{"ClientClosed", s.ClientClosed, 0},
		{"Throttled", s.Throttled, 1},
		{"Unavailable", s.Unavailable, 1},
		{"Latency.Count", s.Latency.Count, 9},
	} {
		if c.got != c.want {
			t.Errorf("%s=%d, want %d", c.name, c.got, c.want)
		}
	}
	bounds := router.LatencyBuckets()
	if len(s.Latency.Buckets) != len(bounds) || bounds[0] != 5*time.Millisecond || bounds[len(bounds)-1] != 120*time.Second {
		t.Fatalf("buckets %v, want 5ms … 120s", bounds)
	}
	var prev uint64
	for i, b := range s.Latency.Buckets {
		if b.UpperBound != bounds[i] {
			t.Errorf("bucket %d: UpperBound=%v, want %v", i, b.UpperBound, bounds[i])
		}
		if b.Count < prev {
			t.Errorf("bucket %v: count %d < %d: not cumulative", b.UpperBound, b.Count, prev)
		}
		prev = b.Count
	}
	// 30 ms and 300 ms requests are above 25 ms; the rest are quick
	// (allowing a slow machine: at least the two slow ones stay out).
	if got := countAt(s.Latency, 25*time.Millisecond); got > 7 {
		t.Errorf("%d responses within 25ms, want at most 7", got)
	}
	if got := countAt(s.Latency, 250*time.Millisecond); got > 8 {
		t.Errorf("%d responses within 250ms, want at most 8", got)
	}
	if got := countAt(s.Latency, 120*time.Second); got != 9 {
		t.Errorf("%d responses within 120s, want 9", got)
	}
	if s.Latency.Sum < 330*time.Millisecond || s.Latency.Sum > 5*time.Second {
		t.Errorf("Latency.Sum=%v, want about 330ms", s.Latency.Sum)
	}
}

func countAt(h router.Histogram, ub time.Duration) uint64 {
	for _, b := range h.Buckets {
		if b.UpperBound == ub {
			return b.Count
		}
	}
	return 0
}

func TestRouter_Services(t *testing.T) {
	r := router.New(router.Options{})
	if got := r.Services(); len(got) != 0 {
		t.Fatalf("Services()=%q, want none", got)
	}
	for _, arn := range []string{"arn:c", "arn:a", "arn:b"} {
		MustSetRoute(t, r, router.Route{ServiceARN: arn, Hosts: []string{strings.TrimPrefix(arn, "arn:") + ".localhost"}})
	}
	r.DeleteRoute("arn:b")
	if got, want := r.Services(), []string{"arn:a", "arn:c"}; !slices.Equal(got, want) {
		t.Fatalf("Services()=%q, want %q", got, want)
	}
}

// TestQueue_Stress runs clients, some of which give up, against a route
// that keeps changing (instances added, drained and removed, activation
// on and off) and checks that the limit holds, every request gets an
// expected answer, and the counters add up once it is over. Run it with
// -race.
func TestQueue_Stress(t *testing.T) {
	const limit = 2
	var mu sync.Mutex
	cur, peak := map[string]int{}, map[string]int{}
	// Requests whose client may give up (?c=1) are not counted: the
	// router frees their slot when the client leaves, possibly before the
	// instance notices. The others hold their slot for their whole run.
	handler := func(id string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("c") == "1" {
				time.Sleep(time.Millisecond)
				return
			}
			mu.Lock()
			cur[id]++
			peak[id] = max(peak[id], cur[id])
			mu.Unlock()
			time.Sleep(time.Millisecond)
			mu.Lock()
			cur[id]--
			mu.Unlock()
		}
	}
	var insts []router.Instance
	for i := range 4 {
		_, in := MustBackend(t, fmt.Sprintf("i-%d", i), handler(fmt.Sprintf("i-%d", i)))
		insts = append(insts, in)
	}
	var demanded atomic.Int32
	r, srv := MustRouter(t, router.Options{QueueSize: 8, QueueTimeout: 50 * time.Millisecond, ColdStartTimeout: 50 * time.Millisecond,
		OnDemand: func(string) { demanded.Add(1) }})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: limit, Instances: insts[:1]})
	c := NewClient(t)

	stop := make(chan struct{})
	var changes sync.WaitGroup
	changes.Add(1)
	go func() {
		defer changes.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(3 * time.Millisecond):
			}
			switch i % 5 {
			case 0, 1, 2:
				lo, n := i%len(insts), i%3
				err := r.SetRoute(router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: limit, Activate: i%2 == 0,
					Instances: insts[lo:min(lo+n, len(insts))]})
				if err != nil {
					t.Error(err)
					return
				}
			case 3:
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
				r.Drain(ctx, insts[i%len(insts)].ID)
				cancel()
			case 4:
				r.Stats(testARN)
				r.Services()
			}
		}
	}()
	var clients sync.WaitGroup
	codes := map[int]int{}
	var cmu sync.Mutex
	for w := range 12 {
		clients.Add(1)
		go func() {
			defer clients.Done()
			for i := range 100 {
				ctx, cancel := context.WithCancel(context.Background())
				path := "/"
				if (w+i)%7 == 0 {
					// Give up soon, maybe while queued.
					ctx, cancel = context.WithTimeout(context.Background(), time.Duration(i%4)*time.Millisecond)
					path = "/?c=1"
				}
				res, err := Get(ctx, c, srv.URL, path)
				cancel()
				code := res.Code
				if err != nil {
					if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
						t.Error(err)
						return
					}
					code = -1
				}
				cmu.Lock()
				codes[code]++
				cmu.Unlock()
			}
		}()
	}
	clients.Wait()
	close(stop)
	changes.Wait()
	for code := range codes {
		switch code {
		case -1, http.StatusOK, http.StatusTooManyRequests, http.StatusServiceUnavailable:
		default:
			t.Errorf("%d responses with status %d", codes[code], code)
		}
	}
	for id, p := range peak {
		if p > limit {
			t.Errorf("instance %s served %d at once, want at most %d", id, p, limit)
		}
	}
	Eventually(t, "every request to end", func() bool { s := MustStats(t, r); return s.InFlight == 0 && s.Waiting == 0 })
	s := MustStats(t, r)
	t.Logf("codes=%v demanded=%d stats: 2xx=%d 4xx=%d 5xx=%d closed=%d throttled=%d unavailable=%d", codes, demanded.Load(),
		s.Responses2xx, s.Responses4xx, s.Responses5xx, s.ClientClosed, s.Throttled, s.Unavailable)
	if got := s.Responses1xx + s.Responses2xx + s.Responses3xx + s.Responses4xx + s.Responses5xx + s.ClientClosed; got != s.Requests {
		t.Errorf("responses and client-closed add up to %d, want Requests=%d", got, s.Requests)
	}
	if got, want := s.Latency.Count, s.Responses2xx+s.Responses3xx+s.Responses4xx+s.Responses5xx; got != want {
		t.Errorf("Latency.Count=%d, want %d", got, want)
	}
	// A client that gave up may have done so after the router answered.
	if got, want := s.Responses2xx, uint64(codes[http.StatusOK]); got < want {
		t.Errorf("Responses2xx=%d, want at least %d", got, want)
	}
	if got, want := s.Throttled, uint64(codes[http.StatusTooManyRequests]); got < want {
		t.Errorf("Throttled=%d, want at least %d", got, want)
	}
	if codes[http.StatusOK] == 0 {
		t.Error("no request succeeded")
	}
}
