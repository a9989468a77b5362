package runtimetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// Images tells the suite how the runtime under test runs the test
// application (package testapp). A container runtime packages the app into
// images; a host-process runtime names the binary BuildApp returns.
type Images struct {
	// App names the test app as EnsureImage and InstanceSpec.Image take
	// it, already available, with the app as its default start command.
	// Required.
	App string

	// AppCommand is the app's executable as a StartCommand names it in an
	// instance of App: "/app" in an image, the binary's path on a host.
	// Required.
	AppCommand string

	// ShellApp is App with a /bin/sh (the test app itself, which then sets
	// TESTAPP_SHELL=1), for runtimes that run StartCommand through a
	// shell when the image has one. Empty skips that case.
	ShellApp string

	// Pull names the test app in a registry, not yet in the runtime's
	// store, so that EnsureImage has to pull it. Empty skips that case.
	Pull string

	// Unknown names an image that does not exist, which EnsureImage must
	// refuse with EINVALID. Empty skips that case.
	Unknown string
}

// LimitsReporter is implemented by runtimes that can tell the CPU and
// memory limits an instance runs with; the suite then checks that they
// are the ones the InstanceSpec asked for.
type LimitsReporter interface {
	// InstanceLimits returns the instance's CPU limit in App Runner units
	// (1024 = 1 vCPU) and its memory limit in MB.
	InstanceLimits(ctx context.Context, id string) (cpu, memoryMB int, err error)
}

// Timeouts the suite allows a runtime. Generous: CI machines are slow and
// busy, and only a broken runtime reaches them.
const (
	startTimeout = 30 * time.Second
	stateTimeout = 30 * time.Second
	stopGrace    = 10 * time.Second
)

// DriverRuntime is a Runtime built on an InstanceDriver of its own, as
// the Docker and process runtimes are: RunDriver checks its driver half.
type DriverRuntime interface {
	openrunner.Runtime
	openrunner.InstanceDriver
}

// RunDriver runs the driver conformance suite: the InstanceDriver
// contract (single instances, their state, logs and limits) and
// EnsureImage. newRuntime returns a runtime that is ready to use (opened,
// closed by a tb.Cleanup); every runtime it returns must see the
// instances of the others, as one OpenRunner restarted does. Instances the
// suite starts are stopped when each test ends.
func RunDriver(t *testing.T, newRuntime func(tb testing.TB) DriverRuntime, img Images) {
	t.Helper()
	if img.App == "" || img.AppCommand == "" {
		t.Fatal("runtimetest: Images.App and Images.AppCommand are required")
	}
	s := &suite{newRuntime: newRuntime, img: img}
	cases := []struct {
		name string
		test func(t *testing.T)
	}{
		{"EnsureImage", s.testEnsureImage},
		{"StartInstance", s.testStartInstance},
		{"Env", s.testEnv},
		{"StartCommand", s.testStartCommand},
		{"StartCommandShell", s.testStartCommandShell},
		{"BadStartCommand", s.testBadStartCommand},
		{"ExitCode", s.testExitCode},
		{"StopInstance", s.testStopInstance},
		{"StopInstanceAfterGrace", s.testStopAfterGrace},
		{"NotFound", s.testNotFound},
		{"ListInstancesAfterRestart", s.testListAfterRestart},
		{"FollowLogs", s.testFollowLogs},
		{"FollowLogsEndsWithInstance", s.testFollowLogsEnds},
		{"TwoInstances", s.testTwoInstances},
		{"Limits", s.testLimits},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Instances start and stop slowly but use little CPU: running
			// the cases side by side keeps the suite short.
			t.Parallel()
			c.test(t)
		})
	}
}

// Benchmark measures StartInstance of the (already available) App image
// up to the instance's first HTTP 200; stopping is not timed. It reports
// the two parts too: StartInstance, and from its return to the first 200.
func Benchmark(b *testing.B, newRuntime func(tb testing.TB) DriverRuntime, img Images) {
	s := &suite{newRuntime: newRuntime, img: img}
	rt := newRuntime(b)
	ctx := context.Background()
	if _, err := rt.EnsureImage(ctx, img.App, false, nil); err != nil {
		b.Fatalf("EnsureImage(%s): %v", img.App, err)
	}
	spec := s.spec(b, "bench")
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	// Besides the total, report how it splits: StartInstance itself, and
	// the wait from its return to the first answer.
	var started, answered time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		inst, err := rt.StartInstance(ctx, spec)
		if err != nil {
			b.Fatalf("StartInstance: %v", err)
		}
		t1 := time.Now()
		started += t1.Sub(t0)
		deadline := t1.Add(startTimeout)
		for {
			if _, err := get(client, inst.Addr, "/"); err == nil {
				break
			} else if time.Now().After(deadline) {
				b.Fatalf("instance %s at %s did not answer in %v: %v", inst.ID, inst.Addr, startTimeout, err)
			}
			time.Sleep(5 * time.Millisecond)
		}
		answered += time.Since(t1)
		b.StopTimer()
		if err := rt.StopInstance(ctx, inst.ID, 0); err != nil {
			b.Fatalf("StopInstance: %v", err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(started.Milliseconds())/float64(b.N), "ms-StartInstance/op")
	b.ReportMetric(float64(answered.Milliseconds())/float64(b.N), "ms-to-first-200/op")
}

// BuildApp builds the test app as a static binary (no cgo) for goos and
// goarch (empty: the host's) into a temporary directory of tb and returns
// its path.
func BuildApp(tb testing.TB, goos, goarch string) string {
	tb.Helper()
	path, err := BuildAppIn(tb.TempDir(), goos, goarch)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// BuildAppIn is BuildApp for callers without a testing.TB, such as setup
// shared by several tests: it builds the app into dir.
func BuildAppIn(dir, goos, goarch string) (string, error) {
	if goos == "" {
		goos = runtime.GOOS
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	out := filepath.Join(dir, "testapp")
	// "go" is on PATH under go test, which puts GOROOT/bin first.
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "github.com/openrunner/openrunner/runtimetest/testapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build testapp: %v\n%s", err, b)
	}
	return out, nil
}

type suite struct {
	newRuntime func(tb testing.TB) DriverRuntime
	img        Images
}

// harness is one test's runtime and the instances it started.
type harness struct {
	t      *testing.T
	s      *suite
	rt     DriverRuntime
	ctx    context.Context
	client *http.Client
}

func (s *suite) harness(t *testing.T) *harness {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	h := &harness{
		t:   t,
		s:   s,
		rt:  s.newRuntime(t),
		ctx: ctx,
		// No keep-alives: each instance is asked a few times only, and
		// idle connections to stopped instances would outlive the test.
		client: &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}},
	}
	for _, ref := range []string{s.img.App, s.img.ShellApp} {
		if ref == "" {
			continue
		}
		if _, err := h.rt.EnsureImage(ctx, ref, false, func(l string) { t.Log(l) }); err != nil {
			t.Fatalf("EnsureImage(%s): %v", ref, err)
		}
	}
	return h
}

// sub returns h for the subtest t: helpers must fail the test whose
// goroutine calls them.
func (h *harness) sub(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// spec returns an InstanceSpec of the app with a new service and revision.
func (s *suite) spec(tb testing.TB, name string) openrunner.InstanceSpec {
	return openrunner.InstanceSpec{
		ServiceARN: "arn:aws:apprunner:us-east-1:123456789012:service/rt-" + name + "/" + randHex(16),
		RevisionID: randHex(8),
		Image:      s.img.App,
		Port:       8080,
		Labels:     map[string]string{"dev.openrunner.test": tb.Name()},
	}
}

// start starts spec and stops the instance when the test ends.
func (h *harness) start(spec openrunner.InstanceSpec) *openrunner.Instance {
	h.t.Helper()
	inst, err := h.rt.StartInstance(h.ctx, spec)
	if err != nil {
		h.t.Fatalf("StartInstance(%+v): %v", spec, err)
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := h.rt.StopInstance(ctx, inst.ID, time.Second); err != nil {
			h.t.Errorf("cleanup: StopInstance(%s): %v", inst.ID, err)
		}
	})
	if inst.ID == "" {
		h.t.Fatalf("StartInstance returned an instance without ID: %+v", inst)
	}
	if got, want := inst.ServiceARN, spec.ServiceARN; got != want {
		h.t.Errorf("Instance.ServiceARN = %q, want %q", got, want)
	}
	if got, want := inst.RevisionID, spec.RevisionID; got != want {
		h.t.Errorf("Instance.RevisionID = %q, want %q", got, want)
	}
	return inst
}

// waitGet polls path on inst until it answers 200 and returns the body.
func (h *harness) waitGet(inst *openrunner.Instance, path string) string {
	h.t.Helper()
	deadline := time.Now().Add(startTimeout)
	for {
		body, err := get(h.client, inst.Addr, path)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			st, serr := h.rt.InstanceState(h.ctx, inst.ID)
			h.t.Fatalf("GET http://%s%s did not answer 200 in %v: %v (state %+v, %v)", inst.Addr, path, startTimeout, err, st, serr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// get returns the body of a 200 answer to GET http://addr+path.
func get(c *http.Client, addr, path string) (string, error) {
	if addr == "" {
		return "", errors.New("instance has no Addr")
	}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %s: %s", resp.Status, b)
	}
	return string(b), nil
}

// checkPort checks the instance's PORT: spec.Port, as App Runner sets it,
// or, for runtimes whose instances share the host's ports (a process
// runtime cannot give two instances the same one), the port of Addr.
func (h *harness) checkPort(inst *openrunner.Instance, spec openrunner.InstanceSpec) {
	h.t.Helper()
	got := h.waitGet(inst, "/env?name=PORT")
	_, addrPort, _ := net.SplitHostPort(inst.Addr)
	if want := strconv.Itoa(spec.Port); got != want && got != addrPort {
		h.t.Errorf("PORT = %q, want %q (spec.Port) or %q (Addr's port)", got, want, addrPort)
	}
}

// waitStopped polls InstanceState until the instance no longer runs.
func (h *harness) waitStopped(id string) openrunner.InstanceState {
	h.t.Helper()
	deadline := time.Now().Add(stateTimeout)
	for {
		st, err := h.rt.InstanceState(h.ctx, id)
		if err != nil {
			h.t.Fatalf("InstanceState(%s): %v", id, err)
		}
		if !st.Running {
			return st
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("instance %s still running after %v", id, stateTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// listed returns the instance with id from ListInstances, or nil.
func (h *harness) listed(rt DriverRuntime, id string) *openrunner.Instance {
	h.t.Helper()
	list, err := rt.ListInstances(h.ctx)
	if err != nil {
		h.t.Fatalf("ListInstances: %v", err)
	}
	for _, inst := range list {
		if inst.ID == id {
			return inst
		}
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
