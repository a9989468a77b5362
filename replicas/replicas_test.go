package replicas_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/memruntime"
	"github.com/openrunner/openrunner/replicas"
)

const image = "memory/app"

// driver wraps a memruntime Engine to record and shape the calls the
// controller makes.
type driver struct {
	*memruntime.Engine

	mu          sync.Mutex
	events      []string // "start", "started ID", "stop ID", "drain ID"
	starts      []time.Time
	starting    int
	maxStarting int
	startDelay  time.Duration
	gate        chan struct{} // when set, StartInstance waits for it
	startErr    error
}

func newDriver() *driver {
	e := memruntime.NewEngine()
	e.AddImage(image)
	return &driver{Engine: e}
}

func (d *driver) event(s string) {
	d.mu.Lock()
	d.events = append(d.events, s)
	d.mu.Unlock()
}

func (d *driver) StartInstance(ctx context.Context, spec openrunner.InstanceSpec) (*openrunner.Instance, error) {
	d.mu.Lock()
	d.events = append(d.events, "start")
	d.starts = append(d.starts, time.Now())
	d.starting++
	d.maxStarting = max(d.maxStarting, d.starting)
	delay, gate, serr := d.startDelay, d.gate, d.startErr
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.starting--
		d.mu.Unlock()
	}()
	time.Sleep(delay)
	if gate != nil {
		<-gate
	}
	if serr != nil {
		return nil, serr
	}
	inst, err := d.Engine.StartInstance(ctx, spec)
	if err == nil {
		d.event("started " + inst.ID)
	}
	return inst, err
}

func (d *driver) StopInstance(ctx context.Context, id string, grace time.Duration) error {
	d.event("stop " + id)
	return d.Engine.StopInstance(ctx, id, grace)
}

func (d *driver) startCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.starts)
}

func (d *driver) index(ev string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Index(d.events, ev)
}

var fast = replicas.Options{StopGrace: time.Second, RestartBackoffMin: 20 * time.Millisecond, RestartBackoffMax: 200 * time.Millisecond, BackoffReset: time.Second}

// open returns an opened controller over d, closed when t ends.
func open(t *testing.T, d *driver, opts replicas.Options, hooks openrunner.RuntimeHooks) *replicas.Controller {
	t.Helper()
	c := replicas.New(d, opts)
	if err := c.Open(context.Background(), hooks); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func spec(name string, n int) openrunner.RevisionSpec {
	arn := "arn:aws:apprunner:us-east-1:123456789012:service/" + name + "/1"
	return openrunner.RevisionSpec{
		ServiceARN:  arn,
		RevisionID:  "r1",
		Instance:    openrunner.InstanceSpec{Image: image, Port: 8080},
		HealthCheck: openrunner.HealthCheckConfig{Protocol: "HTTP", Path: "/health", Interval: 1, Timeout: 1, HealthyThreshold: 1, UnhealthyThreshold: 1},
		Replicas:    n,
	}
}

func status(t *testing.T, c *replicas.Controller, s openrunner.RevisionSpec) openrunner.RevisionStatus {
	t.Helper()
	list, err := c.Revisions(context.Background(), s.ServiceARN)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range list {
		if st.RevisionID == s.RevisionID {
			return st
		}
	}
	return openrunner.RevisionStatus{Replicas: -2}
}

func waitFor(t *testing.T, c *replicas.Controller, s openrunner.RevisionSpec, what string, cond func(openrunner.RevisionStatus) bool) openrunner.RevisionStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := status(t, c, s)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s: %+v", what, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitReady(t *testing.T, c *replicas.Controller, s openrunner.RevisionSpec, n int) openrunner.RevisionStatus {
	t.Helper()
	return waitFor(t, c, s, fmt.Sprintf("%d ready", n), func(st openrunner.RevisionStatus) bool {
		return len(st.Ready) == n && st.Starting == 0
	})
}

func set(t *testing.T, c *replicas.Controller, s openrunner.RevisionSpec) {
	t.Helper()
	if err := c.SetRevision(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, c *replicas.Controller, s openrunner.RevisionSpec) {
	t.Helper()
	if err := c.RemoveRevision(context.Background(), s.ServiceARN, s.RevisionID); err != nil {
		t.Fatal(err)
	}
}

func TestParallelStart(t *testing.T) {
	d := newDriver()
	d.startDelay = 300 * time.Millisecond
	c := open(t, d, fast, openrunner.RuntimeHooks{})
	s := spec("parallel", 4)
	begin := time.Now()
	set(t, c, s)
	waitReady(t, c, s, 4)
	if took := time.Since(begin); took > 1200*time.Millisecond {
		t.Errorf("4 starts of 300ms took %v: not in parallel", took)
	}
	d.mu.Lock()
	most := d.maxStarting
	d.mu.Unlock()
	if most != 4 {
		t.Errorf("at most %d starts at once, want 4", most)
	}
	remove(t, c, s)
}

// TestHooks checks that Drain comes before StopInstance for ready
// instances, and that hooks run without the controller's lock (they call
// back into it).
func TestHooks(t *testing.T) {
	d := newDriver()
	var c *replicas.Controller
	var mu sync.Mutex
	changed := 0
	hooks := openrunner.RuntimeHooks{
		Changed: func(arn string) {
			_, _ = c.Revisions(context.Background(), arn)
			mu.Lock()
			changed++
			mu.Unlock()
		},
		Drain: func(ctx context.Context, id string) {
			_, _ = c.Revisions(ctx, "")
			if _, ok := ctx.Deadline(); !ok {
				t.Error("Drain's context has no deadline")
			}
			d.event("drain " + id)
		},
	}
	c = replicas.New(d, fast)
	if err := c.Open(context.Background(), hooks); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s := spec("hooks", 2)
	set(t, c, s)
	st := waitReady(t, c, s, 2)
	remove(t, c, s)
	for _, e := range st.Ready {
		di, si := d.index("drain "+e.InstanceID), d.index("stop "+e.InstanceID)
		if di < 0 || si < 0 || di > si {
			t.Errorf("instance %s: drain at %d, stop at %d; want drain first", e.InstanceID, di, si)
		}
	}
	if len(d.Instances()) != 0 {
		t.Errorf("instances left after RemoveRevision: %v", d.Instances())
	}
	mu.Lock()
	defer mu.Unlock()
	if changed < 2 {
		t.Errorf("Changed called %d times, want at least 2", changed)
	}
}

// TestScaleDownOrder checks that a starting instance goes before ready
// ones, and the newest ready one before older ones.
func TestScaleDownOrder(t *testing.T) {
	d := newDriver()
	c := open(t, d, fast, openrunner.RuntimeHooks{})
	s := spec("order", 2)
	set(t, c, s)
	first := waitReady(t, c, s, 2)
	gate := make(chan struct{})
	d.mu.Lock()
	d.gate = gate
	d.mu.Unlock()
	s.Replicas = 3
	set(t, c, s)
	waitFor(t, c, s, "a starting instance", func(st openrunner.RevisionStatus) bool { return st.Starting == 1 })
	s.Replicas = 2
	set(t, c, s)
	close(gate)
	waitFor(t, c, s, "nothing starting", func(st openrunner.RevisionStatus) bool { return st.Starting == 0 && len(st.Ready) == 2 })
	time.Sleep(200 * time.Millisecond)
	if st := status(t, c, s); !slices.Equal(ids(st), ids(first)) {
		t.Fatalf("ready %v after stopping the starting one, want %v", ids(st), ids(first))
	}
	s.Replicas = 1
	set(t, c, s)
	st := waitReady(t, c, s, 1)
	if got, want := st.Ready[0].InstanceID, first.Ready[0].InstanceID; got != want {
		t.Errorf("kept %s, want the oldest %s", got, want)
	}
	remove(t, c, s)
}

func ids(st openrunner.RevisionStatus) []string {
	var out []string
	for _, e := range st.Ready {
		out = append(out, e.InstanceID)
	}
	return out
}

// TestBackoff checks that replacements of failing starts wait longer and
// longer, up to the maximum, and that failures are kept to the newest.
func TestBackoff(t *testing.T) {
	d := newDriver()
	d.startErr = openrunner.Errorf(openrunner.EINVALID, "no such thing")
	opts := fast
	opts.RestartBackoffMin, opts.RestartBackoffMax = 20*time.Millisecond, 160*time.Millisecond
	c := open(t, d, opts, openrunner.RuntimeHooks{})
	s := spec("backoff", 1)
	set(t, c, s)
	st := waitFor(t, c, s, "12 failures", func(st openrunner.RevisionStatus) bool { return st.FailureCount >= 12 })
	remove(t, c, s)
	if len(st.Failures) != openrunner.MaxRevisionFailures {
		t.Errorf("%d failures kept, want %d", len(st.Failures), openrunner.MaxRevisionFailures)
	}
	f := st.Failures[len(st.Failures)-1]
	if f.Reason != openrunner.FailureStart || !f.BeforeReady || f.ExitCode != -1 || f.Message != "no such thing" {
		t.Errorf("failure %+v, want a FailureStart before ready with the driver's message", f)
	}
	d.mu.Lock()
	starts := slices.Clone(d.starts)
	d.mu.Unlock()
	var gaps []time.Duration
	for i := 1; i < len(starts); i++ {
		gaps = append(gaps, starts[i].Sub(starts[i-1]))
	}
	t.Logf("gaps: %v", gaps)
	for i, want := range []time.Duration{20, 40, 80, 160, 160, 160} {
		want *= time.Millisecond
		if gaps[i] < want || gaps[i] > want+150*time.Millisecond {
			t.Errorf("gap %d = %v, want about %v", i, gaps[i], want)
		}
	}
}

// TestReplaceAndReset checks that a crashed instance is replaced, that
// the backoff grows over crashes in a row, and that it starts over once an
// instance has been ready for BackoffReset.
func TestReplaceAndReset(t *testing.T) {
	d := newDriver()
	opts := fast
	opts.RestartBackoffMin, opts.RestartBackoffMax, opts.BackoffReset = 100*time.Millisecond, 2*time.Second, 500*time.Millisecond
	c := open(t, d, opts, openrunner.RuntimeHooks{})
	s := spec("reset", 1)
	set(t, c, s)
	crash := func(n int) time.Duration {
		t.Helper()
		st := waitReady(t, c, s, 1)
		id := st.Ready[0].InstanceID
		if err := d.Crash(id, 7); err != nil {
			t.Fatal(err)
		}
		st = waitFor(t, c, s, "a replacement", func(st openrunner.RevisionStatus) bool {
			return len(st.Ready) == 1 && st.Ready[0].InstanceID != id
		})
		f := st.Failures[len(st.Failures)-1]
		if f.InstanceID != id || f.Reason != openrunner.FailureExited || f.ExitCode != 7 || f.BeforeReady {
			t.Errorf("failure %+v, want an exit of %s with code 7", f, id)
		}
		if st.FailureCount != n {
			t.Errorf("FailureCount = %d, want %d", st.FailureCount, n)
		}
		d.mu.Lock()
		last := d.starts[len(d.starts)-1]
		d.mu.Unlock()
		return last.Sub(f.At)
	}
	w1, w2 := crash(1), crash(2)
	if w1 < 100*time.Millisecond || w2 < 200*time.Millisecond {
		t.Errorf("replacements after %v, %v; want at least 100ms, 200ms", w1, w2)
	}
	// Ready for longer than BackoffReset (checked at the next probe).
	time.Sleep(1500 * time.Millisecond)
	if w3 := crash(3); w3 >= 200*time.Millisecond {
		t.Errorf("replacement after %v once the backoff was reset, want about 100ms", w3)
	}
	remove(t, c, s)
}

func TestUnhealthy(t *testing.T) {
	d := newDriver()
	c := open(t, d, fast, openrunner.RuntimeHooks{})
	s := spec("unhealthy", 1)
	set(t, c, s)
	id := waitReady(t, c, s, 1).Ready[0].InstanceID
	if err := d.SetHealthy(id, false); err != nil {
		t.Fatal(err)
	}
	st := waitFor(t, c, s, "a failure", func(st openrunner.RevisionStatus) bool { return st.FailureCount == 1 })
	if f := st.Failures[0]; f.InstanceID != id || f.Reason != openrunner.FailureUnhealthy || f.ExitCode != -1 || f.BeforeReady {
		t.Errorf("failure %+v, want %s unhealthy", f, id)
	}
	waitFor(t, c, s, "a replacement", func(st openrunner.RevisionStatus) bool {
		return len(st.Ready) == 1 && st.Ready[0].InstanceID != id
	})
	remove(t, c, s)
}

// TestAdopt checks Open: running instances are adopted as ready, exited
// ones removed, and Close leaves instances running.
func TestAdopt(t *testing.T) {
	d := newDriver()
	c1 := replicas.New(d, fast)
	if err := c1.Open(context.Background(), openrunner.RuntimeHooks{}); err != nil {
		t.Fatal(err)
	}
	s := spec("adopt", 2)
	set(t, c1, s)
	before := waitReady(t, c1, s, 2)
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(d.Instances()); n != 2 {
		t.Fatalf("%d instances after Close, want 2 still running", n)
	}
	exited, err := d.Engine.StartInstance(context.Background(), openrunner.InstanceSpec{
		ServiceARN: s.ServiceARN, RevisionID: s.RevisionID, Image: image, Port: 8080,
		Env: map[string]string{"TESTAPP_EXIT_CODE": "1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.SetRevision(context.Background(), s); openrunner.ErrorCode(err) != openrunner.EINVALIDSTATE {
		t.Errorf("SetRevision after Close: %v, want EINVALIDSTATE", err)
	}

	c2 := open(t, d, fast, openrunner.RuntimeHooks{})
	st := status(t, c2, s)
	if st.Replicas != -1 || !slices.Equal(ids(st), ids(before)) {
		t.Fatalf("adopted %+v, want Replicas -1 and Ready %v", st, ids(before))
	}
	if _, err := d.InstanceState(context.Background(), exited.ID); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		t.Errorf("the exited instance was not removed at Open: %v", err)
	}
	starts := d.startCount()
	set(t, c2, s)
	time.Sleep(300 * time.Millisecond)
	if st := status(t, c2, s); !slices.Equal(ids(st), ids(before)) || st.Replicas != 2 || d.startCount() != starts {
		t.Errorf("after SetRevision: %+v (%d starts); want the adopted instances, nothing started", st, d.startCount()-starts)
	}
	remove(t, c2, s)
}

// silentDriver lists its instances at an address where nothing listens
// until the test listens there: an instance started just before a crash,
// its app not up yet.
type silentDriver struct {
	*driver
	addr string
}

func (d silentDriver) ListInstances(ctx context.Context) ([]*openrunner.Instance, error) {
	list, err := d.driver.ListInstances(ctx)
	for _, in := range list {
		in.Addr = d.addr
	}
	return list, err
}

// TestAdoptNotListening checks that an instance found at Open that does
// not accept connections is not ready until it passes its health check.
func TestAdoptNotListening(t *testing.T) {
	d := newDriver()
	c1 := open(t, d, fast, openrunner.RuntimeHooks{})
	s := spec("adopt-silent", 1)
	set(t, c1, s)
	before := waitReady(t, c1, s, 1)
	if err := c1.Close(); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	c2 := replicas.New(silentDriver{d, addr}, fast)
	if err := c2.Open(context.Background(), openrunner.RuntimeHooks{}); err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if st := status(t, c2, s); len(st.Ready) != 0 || st.Starting != 1 {
		t.Fatalf("at Open: %+v, want one instance, not ready", st)
	}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("port %s taken meanwhile: %v", addr, err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
			conn.Close()
		}
	}()
	st := waitFor(t, c2, s, "the adopted instance ready", func(st openrunner.RevisionStatus) bool { return len(st.Ready) == 1 })
	if !slices.Equal(ids(st), ids(before)) {
		t.Errorf("ready %v, want the adopted %v", ids(st), ids(before))
	}
}

func TestErrors(t *testing.T) {
	d := newDriver()
	c := replicas.New(d, fast)
	ctx := context.Background()
	if err := c.SetRevision(ctx, spec("x", 1)); openrunner.ErrorCode(err) != openrunner.EINVALIDSTATE {
		t.Errorf("SetRevision before Open: %v, want EINVALIDSTATE", err)
	}
	if err := c.Open(ctx, openrunner.RuntimeHooks{}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Open(ctx, openrunner.RuntimeHooks{}); err == nil {
		t.Error("second Open: no error")
	}
	for name, mod := range map[string]func(*openrunner.RevisionSpec){
		"NoService":  func(s *openrunner.RevisionSpec) { s.ServiceARN = "" },
		"NoRevision": func(s *openrunner.RevisionSpec) { s.RevisionID = "" },
		"Negative":   func(s *openrunner.RevisionSpec) { s.Replicas = -1 },
		"NoImage":    func(s *openrunner.RevisionSpec) { s.Instance.Image = "" },
	} {
		s := spec("x", 1)
		mod(&s)
		if err := c.SetRevision(ctx, s); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	if err := c.RemoveRevision(ctx, "nope", "nope"); err != nil {
		t.Errorf("RemoveRevision of an unknown revision: %v", err)
	}
	failing := &failingDriver{newDriver()}
	if err := replicas.New(failing, fast).Open(ctx, openrunner.RuntimeHooks{}); err == nil {
		t.Error("Open with a failing ListInstances: no error")
	}
}

type failingDriver struct{ *driver }

func (failingDriver) ListInstances(context.Context) ([]*openrunner.Instance, error) {
	return nil, errors.New("engine down")
}

// TestNoLeak checks that after RemoveRevision and Close no goroutine of
// the controller (converging, checking, following output) is left.
func TestNoLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	d := newDriver()
	var mu sync.Mutex
	var lines []openrunner.LogLine
	c := replicas.New(d, fast)
	err := c.Open(context.Background(), openrunner.RuntimeHooks{
		Output: func(*openrunner.Instance) func(openrunner.LogLine) {
			return func(l openrunner.LogLine) {
				mu.Lock()
				lines = append(lines, l)
				mu.Unlock()
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := spec("leak", 3)
	set(t, c, s)
	waitReady(t, c, s, 3)
	other := spec("leak-kept", 1)
	set(t, c, other)
	waitReady(t, c, other, 1)
	remove(t, c, s)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	n := len(lines)
	mu.Unlock()
	if n < 4 {
		t.Errorf("%d output lines followed, want the ready lines of 4 instances", n)
	}
	// The kept instance's server runs on: one goroutine, with its
	// listener's.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before+2 {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, in := range d.Instances() {
		_ = d.StopInstance(context.Background(), in.ID, 0)
	}
}
