package runtimetest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// convergeTimeout bounds how long the revision suite waits for a runtime
// to converge: start, check, replace or stop instances.
const convergeTimeout = 60 * time.Second

// Run runs the revision conformance suite: the openrunner.Runtime
// contract of SetRevision, RemoveRevision, Revisions and the hooks.
// newRuntime returns a Runtime that is not yet open; the suite opens it
// with hooks of its own and closes it when the test ends. The Runtimes it
// returns for one tb must see each other's instances, as one OpenRunner
// restarted does; those of different tbs need not, and should not (give
// each tb.Name() an owner of its own), since the cases run in parallel and
// each Open adopts what it sees. Revisions the suite sets are removed when
// each test ends. Health checks run every second, so a case takes a few
// seconds at most on a runtime that starts instances quickly.
func Run(t *testing.T, newRuntime func(tb testing.TB) openrunner.Runtime, img Images) {
	t.Helper()
	if img.App == "" || img.AppCommand == "" {
		t.Fatal("runtimetest: Images.App and Images.AppCommand are required")
	}
	s := &revSuite{newRuntime: newRuntime, img: img}
	cases := []struct {
		name string
		test func(t *testing.T)
	}{
		{"ScaleUp", s.testScaleUp},
		{"ScaleDown", s.testScaleDown},
		{"ReplaceCrashed", s.testReplaceCrashed},
		{"ReplaceUnhealthy", s.testReplaceUnhealthy},
		{"FailedStart", s.testFailedStart},
		{"AdoptAfterRestart", s.testAdoptAfterRestart},
		{"RemoveRevision", s.testRemoveRevision},
		{"Output", s.testOutput},
		{"InvalidSpec", s.testInvalidSpec},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.test(t)
		})
	}
}

type revSuite struct {
	newRuntime func(tb testing.TB) openrunner.Runtime
	img        Images
}

// recorder records what a runtime's hooks were called with.
type recorder struct {
	client *http.Client

	mu      sync.Mutex
	changed map[string]int
	addrs   map[string]string // instance id → Addr, for Drain to check
	drained map[string]bool   // instance id → whether it answered while drained
	output  map[string][]openrunner.LogLine
}

func newRecorder(c *http.Client) *recorder {
	return &recorder{client: c, changed: map[string]int{}, addrs: map[string]string{}, drained: map[string]bool{}, output: map[string][]openrunner.LogLine{}}
}

func (r *recorder) hooks() openrunner.RuntimeHooks {
	return openrunner.RuntimeHooks{
		Changed: func(arn string) {
			r.mu.Lock()
			r.changed[arn]++
			r.mu.Unlock()
		},
		Drain: func(ctx context.Context, id string) {
			r.mu.Lock()
			addr := r.addrs[id]
			r.mu.Unlock()
			_, err := get(r.client, addr, "/")
			r.mu.Lock()
			r.drained[id] = err == nil
			r.mu.Unlock()
		},
		Output: func(in *openrunner.Instance) func(openrunner.LogLine) {
			id := in.ID
			return func(l openrunner.LogLine) {
				r.mu.Lock()
				r.output[id] = append(r.output[id], l)
				r.mu.Unlock()
			}
		},
	}
}

func (r *recorder) changes(arn string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.changed[arn]
}

// remember records the Addr of the ready instances, for Drain.
func (r *recorder) remember(st openrunner.RevisionStatus) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range st.Ready {
		r.addrs[e.InstanceID] = e.Addr
	}
}

// revHarness is one test's runtime with its hooks.
type revHarness struct {
	t      *testing.T
	s      *revSuite
	rt     openrunner.Runtime
	rec    *recorder
	ctx    context.Context
	client *http.Client
}

// open returns a new, opened runtime, closed when the test ends.
func (s *revSuite) open(t *testing.T) *revHarness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	h := &revHarness{t: t, s: s, rt: s.newRuntime(t), rec: newRecorder(client), ctx: ctx, client: client}
	if err := h.rt.Open(ctx, h.rec.hooks()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := h.rt.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	if _, err := h.rt.EnsureImage(ctx, s.img.App, false, func(l string) { t.Log(l) }); err != nil {
		t.Fatalf("EnsureImage(%s): %v", s.img.App, err)
	}
	return h
}

// revision returns a RevisionSpec of the app with a new service and
// revision, and a fast TCP health check.
func (s *revSuite) revision(tb testing.TB, name string, replicas int) openrunner.RevisionSpec {
	arn := "arn:aws:apprunner:us-east-1:123456789012:service/rev-" + name + "/" + randHex(16)
	rev := randHex(8)
	return openrunner.RevisionSpec{
		ServiceARN: arn,
		RevisionID: rev,
		Instance: openrunner.InstanceSpec{
			ServiceARN: arn,
			RevisionID: rev,
			Image:      s.img.App,
			Port:       8080,
			Labels:     map[string]string{"dev.openrunner.test": tb.Name()},
		},
		HealthCheck: openrunner.HealthCheckConfig{Protocol: "TCP", Interval: 1, Timeout: 1, HealthyThreshold: 1, UnhealthyThreshold: 2},
		Replicas:    replicas,
	}
}

// set calls SetRevision and removes the revision when the test ends.
func (h *revHarness) set(spec openrunner.RevisionSpec) {
	h.t.Helper()
	if err := h.rt.SetRevision(h.ctx, spec); err != nil {
		h.t.Fatalf("SetRevision(%s, %d replicas): %v", spec.RevisionID, spec.Replicas, err)
	}
	h.t.Cleanup(func() { h.remove(spec) })
}

// remove removes the revision, complaining only if it fails on an open
// runtime.
func (h *revHarness) remove(spec openrunner.RevisionSpec) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := h.rt.RemoveRevision(ctx, spec.ServiceARN, spec.RevisionID)
	if err != nil && openrunner.ErrorCode(err) != openrunner.EINVALIDSTATE {
		h.t.Errorf("cleanup: RemoveRevision(%s): %v", spec.RevisionID, err)
	}
}

// status returns the revision's status, or ok false if it is not listed.
func (h *revHarness) status(spec openrunner.RevisionSpec) (openrunner.RevisionStatus, bool) {
	h.t.Helper()
	list, err := h.rt.Revisions(h.ctx, spec.ServiceARN)
	if err != nil {
		h.t.Fatalf("Revisions(%s): %v", spec.ServiceARN, err)
	}
	for _, st := range list {
		if st.ServiceARN != spec.ServiceARN {
			h.t.Errorf("Revisions(%s) lists a revision of service %s", spec.ServiceARN, st.ServiceARN)
		}
		if st.RevisionID == spec.RevisionID {
			return st, true
		}
	}
	return openrunner.RevisionStatus{}, false
}

// waitFor polls the revision's status until cond holds and returns it.
func (h *revHarness) waitFor(spec openrunner.RevisionSpec, what string, cond func(openrunner.RevisionStatus) bool) openrunner.RevisionStatus {
	h.t.Helper()
	deadline := time.Now().Add(convergeTimeout)
	for {
		st, ok := h.status(spec)
		if ok && cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("revision %s: no %s within %v; status %+v (listed: %v)", spec.RevisionID, what, convergeTimeout, st, ok)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReady waits until the revision has n ready instances and none
// starting.
func (h *revHarness) waitReady(spec openrunner.RevisionSpec, n int) openrunner.RevisionStatus {
	h.t.Helper()
	st := h.waitFor(spec, fmt.Sprintf("%d ready instances", n), func(st openrunner.RevisionStatus) bool {
		return len(st.Ready) == n && st.Starting == 0
	})
	h.rec.remember(st)
	return st
}

// waitFailure waits for a failure of the revision that match accepts.
func (h *revHarness) waitFailure(spec openrunner.RevisionSpec, what string, match func(openrunner.InstanceFailure) bool) openrunner.InstanceFailure {
	h.t.Helper()
	var f openrunner.InstanceFailure
	h.waitFor(spec, what, func(st openrunner.RevisionStatus) bool {
		for _, x := range st.Failures {
			if match(x) {
				f = x
				return true
			}
		}
		return false
	})
	return f
}

// waitGone waits until nothing answers at addr.
func (h *revHarness) waitGone(addr string) {
	h.t.Helper()
	deadline := time.Now().Add(stateTimeout)
	for {
		if _, err := get(h.client, addr, "/"); err != nil {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("a stopped instance still answers at %s after %v", addr, stateTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// mustGet returns the body of GET path on addr, which must answer 200.
func (h *revHarness) mustGet(addr, path string) string {
	h.t.Helper()
	body, err := get(h.client, addr, path)
	if err != nil {
		h.t.Fatalf("GET http://%s%s: %v", addr, path, err)
	}
	return body
}

func ids(st openrunner.RevisionStatus) []string {
	var out []string
	for _, e := range st.Ready {
		out = append(out, e.InstanceID)
	}
	slices.Sort(out)
	return out
}

func (s *revSuite) testScaleUp(t *testing.T) {
	h := s.open(t)
	spec := s.revision(t, "scaleup", 3)
	h.set(spec)
	st := h.waitReady(spec, 3)
	if st.Replicas != 3 {
		t.Errorf("Replicas = %d, want 3", st.Replicas)
	}
	seenID, seenAddr := map[string]bool{}, map[string]bool{}
	for _, e := range st.Ready {
		if seenID[e.InstanceID] || seenAddr[e.Addr] {
			t.Errorf("ready instances share an ID or Addr: %+v", st.Ready)
		}
		seenID[e.InstanceID], seenAddr[e.Addr] = true, true
		if got := strings.TrimSpace(h.mustGet(e.Addr, "/")); got != "hello" {
			t.Errorf("GET / of %s = %q, want hello", e.InstanceID, got)
		}
		if e.StartedAt.IsZero() {
			t.Errorf("endpoint %s has no StartedAt", e.InstanceID)
		}
	}
	for i := 1; i < len(st.Ready); i++ {
		if st.Ready[i].StartedAt.Before(st.Ready[i-1].StartedAt) {
			t.Errorf("Ready is not oldest first: %+v", st.Ready)
		}
	}
	if h.rec.changes(spec.ServiceARN) == 0 {
		t.Error("the Changed hook was never called for the service")
	}
	if st.FailureCount != 0 {
		t.Errorf("failures while scaling up: %+v", st.Failures)
	}
}

func (s *revSuite) testScaleDown(t *testing.T) {
	h := s.open(t)
	spec := s.revision(t, "scaledown", 3)
	h.set(spec)
	before := h.waitReady(spec, 3)
	spec.Replicas = 1
	h.set(spec)
	after := h.waitReady(spec, 1)
	kept := after.Ready[0]
	if !slices.Contains(ids(before), kept.InstanceID) {
		t.Fatalf("the remaining instance %s is not one of %v", kept.InstanceID, ids(before))
	}
	if got := strings.TrimSpace(h.mustGet(kept.Addr, "/")); got != "hello" {
		t.Errorf("GET / of the remaining instance = %q", got)
	}
	for _, e := range before.Ready {
		if e.InstanceID == kept.InstanceID {
			continue
		}
		h.waitGone(e.Addr)
		h.rec.mu.Lock()
		answered, drained := h.rec.drained[e.InstanceID]
		h.rec.mu.Unlock()
		switch {
		case !drained:
			t.Errorf("instance %s was stopped without the Drain hook", e.InstanceID)
		case !answered:
			t.Errorf("instance %s no longer answered when the Drain hook was called", e.InstanceID)
		}
	}
	h.rec.mu.Lock()
	if h.rec.drained[kept.InstanceID] {
		t.Errorf("the remaining instance %s was drained", kept.InstanceID)
	}
	h.rec.mu.Unlock()
	if after.Replicas != 1 {
		t.Errorf("Replicas = %d, want 1", after.Replicas)
	}
}

func (s *revSuite) testReplaceCrashed(t *testing.T) {
	h := s.open(t)
	spec := s.revision(t, "crash", 2)
	h.set(spec)
	before := h.waitReady(spec, 2)
	victim := before.Ready[0]
	changes := h.rec.changes(spec.ServiceARN)
	_, _ = get(h.client, victim.Addr, "/exit?code=3")
	f := h.waitFailure(spec, "exit failure of "+victim.InstanceID, func(f openrunner.InstanceFailure) bool {
		return f.InstanceID == victim.InstanceID
	})
	if f.Reason != openrunner.FailureExited || f.ExitCode != 3 || f.BeforeReady {
		t.Errorf("failure = %+v, want Reason %q, ExitCode 3, not BeforeReady", f, openrunner.FailureExited)
	}
	if f.Message == "" || f.At.IsZero() {
		t.Errorf("failure without Message or At: %+v", f)
	}
	after := h.waitFor(spec, "2 ready instances without the crashed one", func(st openrunner.RevisionStatus) bool {
		return len(st.Ready) == 2 && !slices.Contains(ids(st), victim.InstanceID)
	})
	if after.FailureCount < 1 {
		t.Errorf("FailureCount = %d, want at least 1", after.FailureCount)
	}
	if h.rec.changes(spec.ServiceARN) <= changes {
		t.Error("the Changed hook was not called for the failure")
	}
	for _, e := range after.Ready {
		h.mustGet(e.Addr, "/")
	}
}

func (s *revSuite) testReplaceUnhealthy(t *testing.T) {
	h := s.open(t)
	spec := s.revision(t, "sick", 1)
	spec.HealthCheck = openrunner.HealthCheckConfig{Protocol: "HTTP", Path: "/health", Interval: 1, Timeout: 1, HealthyThreshold: 1, UnhealthyThreshold: 2}
	h.set(spec)
	victim := h.waitReady(spec, 1).Ready[0]
	h.mustGet(victim.Addr, "/sick")
	f := h.waitFailure(spec, "unhealthy failure of "+victim.InstanceID, func(f openrunner.InstanceFailure) bool {
		return f.InstanceID == victim.InstanceID
	})
	if f.Reason != openrunner.FailureUnhealthy || f.BeforeReady || f.ExitCode != -1 {
		t.Errorf("failure = %+v, want Reason %q, ExitCode -1, not BeforeReady", f, openrunner.FailureUnhealthy)
	}
	h.waitFor(spec, "a ready replacement", func(st openrunner.RevisionStatus) bool {
		return len(st.Ready) == 1 && st.Ready[0].InstanceID != victim.InstanceID
	})
	h.waitGone(victim.Addr)
}

func (s *revSuite) testFailedStart(t *testing.T) {
	h := s.open(t)
	t.Run("ExitCode", func(t *testing.T) {
		h := *h
		h.t = t
		spec := s.revision(t, "failexit", 1)
		spec.Instance.Env = map[string]string{"TESTAPP_EXIT_CODE": "3"}
		h.set(spec)
		f := h.waitFailure(spec, "a failure", func(openrunner.InstanceFailure) bool { return true })
		if f.Reason != openrunner.FailureExited || f.ExitCode != 3 || !f.BeforeReady {
			t.Errorf("failure = %+v, want Reason %q, ExitCode 3, BeforeReady", f, openrunner.FailureExited)
		}
		if st, _ := h.status(spec); len(st.Ready) != 0 {
			t.Errorf("Ready = %+v, want none", st.Ready)
		}
	})
	t.Run("BadStartCommand", func(t *testing.T) {
		h := *h
		h.t = t
		spec := s.revision(t, "failcmd", 1)
		spec.Instance.StartCommand = "/no/such/executable --flag"
		h.set(spec)
		f := h.waitFailure(spec, "a failure", func(openrunner.InstanceFailure) bool { return true })
		t.Logf("failure: %+v", f)
		if !f.BeforeReady || (f.Reason != openrunner.FailureStart && f.Reason != openrunner.FailureExited) {
			t.Errorf("failure = %+v, want BeforeReady and Reason %q or %q", f, openrunner.FailureStart, openrunner.FailureExited)
		}
		if st, _ := h.status(spec); len(st.Ready) != 0 {
			t.Errorf("Ready = %+v, want none", st.Ready)
		}
	})
}

func (s *revSuite) testAdoptAfterRestart(t *testing.T) {
	h1 := s.open(t)
	spec := s.revision(t, "adopt", 3)
	h1.set(spec)
	before := h1.waitReady(spec, 3)
	// A restart: the first runtime stops, a new one opens.
	if err := h1.rt.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	h2 := s.open(t)
	t.Cleanup(func() { h2.remove(spec) })
	st, ok := h2.status(spec)
	if !ok {
		t.Fatalf("the new runtime does not list revision %s", spec.RevisionID)
	}
	if st.Replicas != -1 {
		t.Errorf("adopted revision: Replicas = %d, want -1", st.Replicas)
	}
	if !slices.Equal(ids(st), ids(before)) {
		t.Fatalf("adopted Ready = %v, want %v", ids(st), ids(before))
	}
	for _, e := range st.Ready {
		h2.mustGet(e.Addr, "/")
	}
	h2.rec.remember(st)

	// The same count restarts nothing.
	if err := h2.rt.SetRevision(h2.ctx, spec); err != nil {
		t.Fatalf("SetRevision on the adopted revision: %v", err)
	}
	// Converging starts at once: a second shows any restart.
	time.Sleep(time.Second)
	st, _ = h2.status(spec)
	if !slices.Equal(ids(st), ids(before)) || st.Starting != 0 || st.Replicas != 3 || st.FailureCount != 0 {
		t.Fatalf("after SetRevision with the same count: %+v, want Ready %v, Replicas 3, nothing starting or failed", st, ids(before))
	}

	// A lower count stops the extra ones.
	spec.Replicas = 1
	if err := h2.rt.SetRevision(h2.ctx, spec); err != nil {
		t.Fatalf("SetRevision(1): %v", err)
	}
	after := h2.waitReady(spec, 1)
	if !slices.Contains(ids(before), after.Ready[0].InstanceID) {
		t.Errorf("remaining instance %s is not an adopted one", after.Ready[0].InstanceID)
	}
	for _, e := range before.Ready {
		if e.InstanceID != after.Ready[0].InstanceID {
			h2.waitGone(e.Addr)
		}
	}
}

func (s *revSuite) testRemoveRevision(t *testing.T) {
	h := s.open(t)
	spec := s.revision(t, "remove", 2)
	h.set(spec)
	st := h.waitReady(spec, 2)
	if err := h.rt.RemoveRevision(h.ctx, spec.ServiceARN, spec.RevisionID); err != nil {
		t.Fatalf("RemoveRevision: %v", err)
	}
	if _, ok := h.status(spec); ok {
		t.Error("the removed revision is still listed")
	}
	for _, e := range st.Ready {
		if _, err := get(h.client, e.Addr, "/"); err == nil {
			t.Errorf("instance %s still answers after RemoveRevision returned", e.InstanceID)
		}
		h.rec.mu.Lock()
		if _, ok := h.rec.drained[e.InstanceID]; !ok {
			t.Errorf("instance %s was not drained", e.InstanceID)
		}
		h.rec.mu.Unlock()
	}
	if err := h.rt.RemoveRevision(h.ctx, spec.ServiceARN, spec.RevisionID); err != nil {
		t.Errorf("RemoveRevision again: %v, want nil", err)
	}
	if err := h.rt.RemoveRevision(h.ctx, spec.ServiceARN, "no-such-revision"); err != nil {
		t.Errorf("RemoveRevision of an unknown revision: %v, want nil", err)
	}
}

func (s *revSuite) testOutput(t *testing.T) {
	h := s.open(t)
	spec := s.revision(t, "output", 1)
	h.set(spec)
	e := h.waitReady(spec, 1).Ready[0]
	text := "out-" + randHex(4)
	h.mustGet(e.Addr, "/log?stream=stdout&text="+text)
	deadline := time.Now().Add(stateTimeout)
	for {
		h.rec.mu.Lock()
		lines := slices.Clone(h.rec.output[e.InstanceID])
		h.rec.mu.Unlock()
		var ready, logged bool
		for _, l := range lines {
			ready = ready || (l.Stream == "stdout" && strings.HasPrefix(l.Text, "testapp: stdout ready"))
			logged = logged || (l.Stream == "stdout" && l.Text == text)
		}
		if ready && logged {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Output sink of %s did not get the ready line and %q in %v: %+v", e.InstanceID, text, stateTimeout, lines)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *revSuite) testInvalidSpec(t *testing.T) {
	h := s.open(t)
	spec := s.revision(t, "invalid", 1)
	spec.Instance.Image = ""
	if err := h.rt.SetRevision(h.ctx, spec); openrunner.ErrorCode(err) != openrunner.EINVALID {
		h.remove(spec)
		t.Errorf("SetRevision without an image: %v, want EINVALID", err)
	}
}
