package router_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner/router"
)

// gate is an instance handler that holds each request until released.
type gate struct {
	mu      sync.Mutex
	release chan struct{}
}

func newGate() *gate { return &gate{release: make(chan struct{})} }

func (g *gate) handler(id string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		ch := g.release
		g.mu.Unlock()
		select {
		case <-ch:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte("hello from " + id))
	}
}

// open releases every held request, and lets later ones through.
func (g *gate) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.release:
	default:
		close(g.release)
	}
}

func TestRouter_BalancesByInFlight(t *testing.T) {
	g := newGate()
	_, a := MustBackend(t, "a", g.handler("a"))
	_, b := MustBackend(t, "b", g.handler("b"))
	_, c := MustBackend(t, "c", g.handler("c"))
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{a, b, c}})
	client := NewClient(t)

	// Held requests pile up; least-in-flight keeps the instances within one
	// of each other at every step.
	var wg sync.WaitGroup
	for i := range 9 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			TryDo(client, "GET", srv.URL, testHost, "")
		}()
		Eventually(t, "the request to be in flight", func() bool { return MustStats(t, r).InFlight == int64(i+1) })
		s := MustStats(t, r)
		lo, hi := s.Instances[0].InFlight, s.Instances[0].InFlight
		for _, in := range s.Instances {
			lo, hi = min(lo, in.InFlight), max(hi, in.InFlight)
		}
		if hi-lo > 1 {
			t.Fatalf("after %d requests: in flight %+v, want spread of at most 1", i+1, s.Instances)
		}
	}
	for _, in := range MustStats(t, r).Instances {
		if got, want := in.InFlight, int64(3); got != want {
			t.Errorf("instance %s: InFlight=%d, want %d", in.ID, got, want)
		}
	}
	g.open()
	wg.Wait()
}

func TestRouter_SlowInstanceGetsFewer(t *testing.T) {
	_, slow := MustBackend(t, "slow", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
	})
	_, fast := MustBackend(t, "fast", func(w http.ResponseWriter, r *http.Request) {})
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{slow, fast}})
	client := NewClient(t)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if res, err := TryDo(client, "GET", srv.URL, testHost, ""); err != nil || res.Code != http.StatusOK {
					t.Errorf("res=%+v err=%v", res, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	s := MustStats(t, r)
	ns, nf := InstanceStats(t, s, "slow").Requests, InstanceStats(t, s, "fast").Requests
	t.Logf("slow=%d fast=%d", ns, nf)
	if ns+nf != 200 {
		t.Fatalf("total %d, want 200", ns+nf)
	}
	// Four workers and one slow instance: at most about one request at a
	// time sits on the slow one, while the fast one serves the rest.
	if nf < 3*ns {
		t.Fatalf("fast instance served %d, slow %d: want the fast one to take most", nf, ns)
	}
}

func TestRouter_MaxConcurrency(t *testing.T) {
	g := newGate()
	_, a := MustBackend(t, "a", g.handler("a"))
	_, b := MustBackend(t, "b", g.handler("b"))
	// No queue: a request that finds every instance full gets 429 at once
	// (queue_test.go covers the queue).
	r, srv := MustRouter(t, router.Options{QueueSize: -1})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, ServiceName: "busy", MaxConcurrency: 2, Instances: []router.Instance{a, b}})
	client := NewClient(t)

	var wg sync.WaitGroup
	codes := make(chan int, 4)
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := TryDo(client, "GET", srv.URL, testHost, "")
			if err != nil {
				t.Error(err)
				return
			}
			codes <- res.Code
		}()
		Eventually(t, "the request to be in flight", func() bool { return MustStats(t, r).InFlight == int64(i+1) })
	}

	t.Run("ErrFull", func(t *testing.T) {
		res := Do(t, client, "GET", srv.URL, testHost, "")
		if got, want := res.Code, http.StatusTooManyRequests; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
		if got, want := res.Header.Get("Retry-After"), "1"; got != want {
			t.Fatalf("Retry-After=%q, want %q", got, want)
		}
		if got, want := res.Body, "Service \"busy\" is at capacity: every instance is serving its maximum of 2 concurrent requests. Retry after 1 second.\n"; got != want {
			t.Fatalf("body=%q, want %q", got, want)
		}
		s := MustStats(t, r)
		if got, want := s.Throttled, uint64(1); got != want {
			t.Fatalf("Throttled=%d, want %d", got, want)
		}
		for _, in := range s.Instances {
			if in.InFlight != 2 {
				t.Fatalf("instance %s: InFlight=%d, want 2", in.ID, in.InFlight)
			}
		}
	})

	g.open()
	wg.Wait()
	close(codes)
	for code := range codes {
		if code != http.StatusOK {
			t.Errorf("held request: status=%d, want 200", code)
		}
	}
	t.Run("OKAfterRelease", func(t *testing.T) {
		if got, want := Do(t, client, "GET", srv.URL, testHost, "").Code, http.StatusOK; got != want {
			t.Fatalf("status=%d, want %d", got, want)
		}
	})
}

// TestRouter_MaxConcurrencyUnderLoad checks the limit is never exceeded
// when many clients race for the last slots and the queue hands them out.
func TestRouter_MaxConcurrencyUnderLoad(t *testing.T) {
	const limit = 3
	var mu sync.Mutex
	cur, peak := map[string]int{}, map[string]int{}
	handler := func(id string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			cur[id]++
			peak[id] = max(peak[id], cur[id])
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			cur[id]--
			mu.Unlock()
		}
	}
	_, a := MustBackend(t, "a", handler("a"))
	_, b := MustBackend(t, "b", handler("b"))
	// A short queue, so that some requests wait and others are turned away.
	r, srv := MustRouter(t, router.Options{QueueSize: 2})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: limit, Instances: []router.Instance{a, b}})
	client := NewClient(t)
	var wg sync.WaitGroup
	var ok, throttled int
	var cmu sync.Mutex
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				res, err := TryDo(client, "GET", srv.URL, testHost, "")
				if err != nil {
					t.Error(err)
					return
				}
				cmu.Lock()
				switch res.Code {
				case http.StatusOK:
					ok++
				case http.StatusTooManyRequests:
					throttled++
				default:
					t.Errorf("status %d", res.Code)
				}
				cmu.Unlock()
			}
		}()
	}
	wg.Wait()
	t.Logf("ok=%d throttled=%d peak=%v", ok, throttled, peak)
	for id, p := range peak {
		if p > limit {
			t.Errorf("instance %s served %d at once, want at most %d", id, p, limit)
		}
	}
	if ok == 0 || throttled == 0 {
		t.Errorf("ok=%d throttled=%d: want both", ok, throttled)
	}
	if got, want := MustStats(t, r).Throttled, uint64(throttled); got != want {
		t.Errorf("Throttled=%d, want %d", got, want)
	}
}
