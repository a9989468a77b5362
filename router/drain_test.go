package router_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrunner/openrunner/router"
)

func TestRouter_WaitIdle(t *testing.T) {
	g := newGate()
	_, old := MustBackend(t, "old", g.handler("old"))
	_, next := MustBackend(t, "new", Hello("new"))
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{old}})
	client := NewClient(t)

	held := make(chan response, 1)
	go func() {
		res, err := TryDo(client, "GET", srv.URL, testHost, "")
		if err != nil {
			t.Error(err)
		}
		held <- res
	}()
	Eventually(t, "the request to be in flight", func() bool { return MustStats(t, r).InFlight == 1 })

	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{next}})
	if got, want := Do(t, client, "GET", srv.URL, testHost, "").Body, "hello from new"; got != want {
		t.Fatalf("after the swap: body=%q, want %q", got, want)
	}

	t.Run("ErrDeadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := r.WaitIdle(ctx, "old"); err != context.DeadlineExceeded {
			t.Fatalf("err=%v, want %v", err, context.DeadlineExceeded)
		}
	})
	t.Run("OK", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- r.WaitIdle(context.Background(), "old") }()
		select {
		case err := <-done:
			t.Fatalf("WaitIdle returned %v with a request in flight", err)
		case <-time.After(20 * time.Millisecond):
		}
		if got, want := MustStats(t, r).InFlight, int64(1); got != want {
			t.Fatalf("InFlight=%d, want %d (the draining request counts)", got, want)
		}
		g.open()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if res := <-held; res.Body != "hello from old" {
			t.Fatalf("held request: %+v, want it completed by the old instance", res)
		}
	})
	t.Run("UnknownIsIdle", func(t *testing.T) {
		if err := r.WaitIdle(context.Background(), "never-routed"); err != nil {
			t.Fatal(err)
		}
		if err := r.WaitIdle(context.Background(), "old"); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRouter_RedeployUnderLoad swaps a route several times while clients
// send a steady stream of GETs and POSTs, draining and stopping each old
// instance as a deployer would. No request may fail, and no instance may
// receive a request after WaitIdle said it was idle.
func TestRouter_RedeployUnderLoad(t *testing.T) {
	type inst struct {
		id      string
		stopped atomic.Bool
		late    atomic.Int64
		served  atomic.Int64
	}
	r, srv := MustRouter(t, router.Options{})
	start := func(id string) (*inst, router.Instance, func()) {
		in := &inst{id: id}
		s, ri := MustBackend(t, id, func(w http.ResponseWriter, req *http.Request) {
			if in.stopped.Load() {
				in.late.Add(1)
			}
			in.served.Add(1)
			time.Sleep(time.Millisecond) // keep requests in flight across swaps
			Hello(id)(w, req)
		})
		return in, ri, s.Close
	}

	var all []*inst
	cur, curInst, curStop := start("rev-0")
	all = append(all, cur)
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 100, Instances: []router.Instance{curInst}})

	client := NewClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent, failed atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				method, body := "GET", ""
				if w%2 == 1 {
					method, body = "POST", fmt.Sprintf(" body %d-%d", w, i)
				}
				res, err := TryDo(client, method, srv.URL, testHost, body)
				sent.Add(1)
				if err != nil || res.Code != http.StatusOK || !strings.HasSuffix(res.Body, body) {
					failed.Add(1)
					t.Errorf("%s: res=%+v err=%v", method, res, err)
				}
			}
		}()
	}

	for rev := 1; rev <= 5; rev++ {
		time.Sleep(30 * time.Millisecond)
		next, nextInst, nextStop := start(fmt.Sprintf("rev-%d", rev))
		all = append(all, next)
		// The new revision takes traffic; the old one drains, then stops.
		MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 100, Instances: []router.Instance{nextInst}})
		if err := r.WaitIdle(context.Background(), cur.id); err != nil {
			t.Fatal(err)
		}
		cur.stopped.Store(true)
		curStop()
		cur, curStop = next, nextStop
	}
	time.Sleep(30 * time.Millisecond)
	cancel()
	wg.Wait()

	t.Logf("sent=%d failed=%d", sent.Load(), failed.Load())
	for _, in := range all {
		if in.served.Load() == 0 {
			t.Errorf("%s served nothing", in.id)
		}
		if n := in.late.Load(); n != 0 {
			t.Errorf("%s received %d requests after WaitIdle", in.id, n)
		}
	}
	s := MustStats(t, r)
	if s.Failed != 0 || s.InFlight != 0 {
		t.Errorf("stats %+v: want no failure and nothing in flight", s)
	}
	for _, in := range s.Instances {
		if in.Failures != 0 {
			t.Errorf("instance %s: %d failures", in.ID, in.Failures)
		}
	}
}

func TestRouter_RetriesRefusedConnection(t *testing.T) {
	_, live := MustBackend(t, "live", Hello("live"))
	dead := DeadInstance(t, "dead")
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{dead, live}})
	client := NewClient(t)
	for i := range 10 {
		method, body := "GET", ""
		if i%2 == 1 {
			method, body = "POST", " with a body"
		}
		res := Do(t, client, method, srv.URL, testHost, body)
		if got, want := res.Body, "hello from live"+body; res.Code != http.StatusOK || got != want {
			t.Fatalf("%s: status=%d body=%q, want 200 %q", method, res.Code, got, want)
		}
	}
	s := MustStats(t, r)
	if InstanceStats(t, s, "dead").Failures == 0 {
		t.Fatal("the dead instance was never tried; the test proves nothing")
	}
	if s.Failed != 0 {
		t.Fatalf("Failed=%d, want 0", s.Failed)
	}
}

// TestRouter_RetryAfterStoppedWithoutDrain covers an old instance stopped
// (or crashed) without draining during a redeploy: a request that picked it
// from the old route finds its port closed, and is retried on the instance
// of the current route.
func TestRouter_RetryAfterStoppedWithoutDrain(t *testing.T) {
	dead := DeadInstance(t, "old")
	_, next := MustBackend(t, "new", Hello("new"))
	var r *router.Router
	base := router.NewTransport()
	var swapped atomic.Bool
	// The transport swaps the route after the request has picked the old
	// instance and before it dials: the race, made deterministic.
	swap := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if !swapped.Swap(true) {
			MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{next}})
		}
		return base.RoundTrip(req)
	})
	r, srv := MustRouter(t, router.Options{Transport: swap})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{dead}})
	res := Do(t, NewClient(t), "POST", srv.URL, testHost, " and its body")
	if got, want := res.Body, "hello from new and its body"; res.Code != http.StatusOK || got != want {
		t.Fatalf("status=%d body=%q, want 200 %q", res.Code, got, want)
	}
	if !swapped.Load() {
		t.Fatal("the route was never swapped; the test proves nothing")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

func TestRouter_NoRetryOnceSent(t *testing.T) {
	// An instance that reads the request and then drops the connection may
	// have acted on it: the router must not send it elsewhere.
	var calls atomic.Int64
	hangup := func(w http.ResponseWriter, req *http.Request) {
		calls.Add(1)
		io.Copy(io.Discard, req.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	_, a := MustBackend(t, "a", hangup)
	_, b := MustBackend(t, "b", hangup)
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, ServiceName: "flaky", Instances: []router.Instance{a, b}})
	res := Do(t, NewClient(t), "POST", srv.URL, testHost, "charge the card")
	if got, want := res.Code, http.StatusBadGateway; got != want {
		t.Fatalf("status=%d, want %d", got, want)
	}
	if got, want := res.Body, "Service \"flaky\": the instance closed the connection or sent an invalid response.\n"; got != want {
		t.Fatalf("body=%q, want %q", got, want)
	}
	if got, want := calls.Load(), int64(1); got != want {
		t.Fatalf("instances called %d times, want %d", got, want)
	}
}

// TestRouter_Concurrent exercises every method at once, for the race
// detector.
func TestRouter_Concurrent(t *testing.T) {
	var insts []router.Instance
	for i := range 4 {
		_, in := MustBackend(t, fmt.Sprintf("i-%d", i), Hello(fmt.Sprint(i)))
		insts = append(insts, in)
	}
	r, srv := MustRouter(t, router.Options{})
	client := NewClient(t)
	services := []string{"a", "b", testARN}
	hostsOf := map[string]string{"a": "a.localhost", "b": "b.localhost", testARN: testHost}
	// Requests go to each service's own host, to the extra host that it
	// has every other time, and to a host the services fight over.
	hosts := []string{"a.localhost", "b.localhost", testHost, "a-alt.localhost", "b-alt.localhost", "shared.localhost"}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	run := func(f func(i int)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				f(i)
			}
		}()
	}
	for w := range 2 {
		run(func(i int) {
			svc := services[(i+w)%len(services)]
			hs := []string{hostsOf[svc]}
			if i%2 == 1 {
				hs = append(hs, svc+"-alt.localhost")
			}
			shared := i%4 == 0
			if shared {
				hs = append(hs, "shared.localhost")
			}
			lo := (i + w) % len(insts)
			err := r.SetRoute(router.Route{ServiceARN: svc, Hosts: hs, MaxConcurrency: 1 + i%3, Paused: i%7 == 0, Instances: insts[lo:min(lo+2, len(insts))]})
			if err != nil && !shared { // another service may hold the shared host
				t.Error(err)
			}
			if i%5 == 0 {
				r.DeleteRoute(svc)
			}
		})
	}
	for w := range 6 {
		run(func(i int) {
			res, err := TryDo(client, "GET", srv.URL, hosts[(i+w)%len(hosts)], "")
			if err != nil {
				t.Error(err)
				return
			}
			switch res.Code {
			case http.StatusOK, http.StatusNotFound, http.StatusServiceUnavailable, http.StatusTooManyRequests:
			default:
				t.Errorf("status %d: %s", res.Code, res.Body)
			}
		})
	}
	run(func(i int) {
		r.Stats(services[i%len(services)])
		wctx, wcancel := context.WithTimeout(ctx, time.Millisecond)
		r.WaitIdle(wctx, insts[i%len(insts)].ID)
		if i%3 == 0 {
			r.Drain(wctx, insts[(i/3)%len(insts)].ID)
		}
		wcancel()
	})
	wg.Wait()
}

// TestRouter_Drain takes an instance listed by two services out of both at
// once, and waits for the request still on it.
func TestRouter_Drain(t *testing.T) {
	g := newGate()
	_, a := MustBackend(t, "a", g.handler("a"))
	_, b := MustBackend(t, "b", Hello("b"))
	r, srv := MustRouter(t, router.Options{})
	const other = "other.localhost"
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, ServiceName: "one", Instances: []router.Instance{a}})
	MustSetRoute(t, r, router.Route{ServiceARN: "other", Hosts: []string{other}, Instances: []router.Instance{b, a}})
	client := NewClient(t)

	held := make(chan response, 1)
	go func() {
		res, err := TryDo(client, "GET", srv.URL, testHost, "")
		if err != nil {
			t.Error(err)
		}
		held <- res
	}()
	Eventually(t, "the request to be in flight", func() bool { return MustStats(t, r).InFlight == 1 })

	t.Run("ErrDeadline", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := r.Drain(ctx, "a"); err != context.DeadlineExceeded {
			t.Fatalf("err=%v, want %v", err, context.DeadlineExceeded)
		}
	})
	t.Run("OutOfEveryRoute", func(t *testing.T) {
		// Drain took a out before it started waiting, even though the wait
		// timed out.
		if got := MustStats(t, r).Instances; len(got) != 0 {
			t.Fatalf("instances %+v, want none", got)
		}
		if got, want := MustServiceStats(t, r, "other").Instances, []router.InstanceStats{{ID: "b", Requests: 0}}; !slices.Equal(got, want) {
			t.Fatalf("instances %+v, want %+v", got, want)
		}
		if got, want := MustStats(t, r).InFlight, int64(1); got != want {
			t.Fatalf("InFlight=%d, want %d (the draining request counts)", got, want)
		}
		res := Do(t, client, "GET", srv.URL, testHost, "")
		if got, want := res.Body, "Service \"one\" has no healthy instance to serve this request. Try again shortly.\n"; res.Code != http.StatusServiceUnavailable || got != want {
			t.Fatalf("status=%d body=%q, want 503 %q", res.Code, got, want)
		}
		// Were a still routed, the gate would hold some of these.
		for range 4 {
			if got, want := Do(t, client, "GET", srv.URL, other, "").Body, "hello from b"; got != want {
				t.Fatalf("body=%q, want %q", got, want)
			}
		}
	})
	t.Run("OK", func(t *testing.T) {
		done := make(chan error, 1)
		go func() { done <- r.Drain(context.Background(), "a") }()
		select {
		case err := <-done:
			t.Fatalf("Drain returned %v with a request in flight", err)
		case <-time.After(20 * time.Millisecond):
		}
		g.open()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if res := <-held; res.Body != "hello from a" {
			t.Fatalf("held request: %+v, want it completed by the drained instance", res)
		}
		if err := r.Drain(context.Background(), "a"); err != nil {
			t.Fatalf("Drain of a drained instance: %v", err)
		}
	})
	t.Run("RoutedAgain", func(t *testing.T) {
		MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{a}})
		if got, want := Do(t, client, "GET", srv.URL, testHost, "").Body, "hello from a"; got != want {
			t.Fatalf("body=%q, want %q", got, want)
		}
	})
}

func TestRouter_DrainUnknown(t *testing.T) {
	r, _ := MustRouter(t, router.Options{})
	_, in := MustBackend(t, "idle", Hello("idle"))
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // an unknown or idle instance needs no time at all
	if err := r.Drain(ctx, "never-routed"); err != nil {
		t.Fatalf("unknown instance: %v", err)
	}
	if got, want := len(MustStats(t, r).Instances), 1; got != want {
		t.Fatalf("%d instances, want %d: draining an unknown ID changed a route", got, want)
	}
	if err := r.Drain(ctx, "idle"); err != nil {
		t.Fatalf("idle instance: %v", err)
	}
	if got := MustStats(t, r).Instances; len(got) != 0 {
		t.Fatalf("instances %+v, want none", got)
	}
}

// TestRouter_DrainUnderLoad scales a service down one instance at a time
// while clients send a steady stream of GETs and POSTs, draining and
// stopping each instance as the runtime would. No request may fail, and no
// instance may receive a request after Drain returned.
func TestRouter_DrainUnderLoad(t *testing.T) {
	type inst struct {
		stopped atomic.Bool
		late    atomic.Int64
		served  atomic.Int64
		stop    func()
	}
	r, srv := MustRouter(t, router.Options{})
	var insts []*inst
	var routed []router.Instance
	for i := range 6 {
		id := fmt.Sprintf("i-%d", i)
		in := &inst{}
		s, ri := MustBackend(t, id, func(w http.ResponseWriter, req *http.Request) {
			if in.stopped.Load() {
				in.late.Add(1)
			}
			in.served.Add(1)
			time.Sleep(time.Millisecond) // keep requests in flight across drains
			Hello(id)(w, req)
		})
		in.stop = s.Close
		insts = append(insts, in)
		routed = append(routed, ri)
	}
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, MaxConcurrency: 100, Instances: routed})

	client := NewClient(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var sent atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				method, body := "GET", ""
				if w%2 == 1 {
					method, body = "POST", fmt.Sprintf(" body %d-%d", w, i)
				}
				res, err := TryDo(client, method, srv.URL, testHost, body)
				sent.Add(1)
				if err != nil || res.Code != http.StatusOK || !strings.HasSuffix(res.Body, body) {
					t.Errorf("%s: res=%+v err=%v", method, res, err)
				}
			}
		}()
	}
	for i, in := range insts[:len(insts)-1] {
		time.Sleep(20 * time.Millisecond)
		if err := r.Drain(context.Background(), routed[i].ID); err != nil {
			t.Fatal(err)
		}
		in.stopped.Store(true)
		in.stop()
	}
	time.Sleep(20 * time.Millisecond)
	cancel()
	wg.Wait()

	t.Logf("sent=%d", sent.Load())
	for i, in := range insts {
		if in.served.Load() == 0 {
			t.Errorf("%s served nothing", routed[i].ID)
		}
		if n := in.late.Load(); n != 0 {
			t.Errorf("%s received %d requests after Drain", routed[i].ID, n)
		}
	}
	s := MustStats(t, r)
	if s.Failed != 0 || s.InFlight != 0 || len(s.Instances) != 1 {
		t.Errorf("stats %+v: want no failure, nothing in flight and one instance left", s)
	}
}
