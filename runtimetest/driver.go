package runtimetest

// The driver suite's cases (RunDriver).

import (
	"context"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

func (s *suite) testEnsureImage(t *testing.T) {
	h := s.harness(t)
	t.Run("OK", func(t *testing.T) {
		im, err := h.rt.EnsureImage(h.ctx, s.img.App, false, nil)
		if err != nil {
			t.Fatalf("EnsureImage(%s): %v", s.img.App, err)
		}
		if got, want := im.Ref, s.img.App; got != want {
			t.Errorf("Image.Ref = %q, want %q", got, want)
		}
		if im.ID == "" {
			t.Error("Image.ID is empty")
		}
		again, err := h.rt.EnsureImage(h.ctx, s.img.App, false, nil)
		if err != nil {
			t.Fatalf("EnsureImage(%s) again: %v", s.img.App, err)
		}
		if got, want := again.ID, im.ID; got != want {
			t.Errorf("second EnsureImage: ID = %q, want %q", got, want)
		}
	})
	t.Run("Pull", func(t *testing.T) {
		if s.img.Pull == "" {
			t.Skip("Images.Pull not set")
		}
		h := h.sub(t)
		var lines []string
		im, err := h.rt.EnsureImage(h.ctx, s.img.Pull, false, func(l string) { lines = append(lines, l) })
		if err != nil {
			t.Fatalf("EnsureImage(%s): %v", s.img.Pull, err)
		}
		t.Logf("pull log: %q", lines)
		if len(lines) == 0 {
			t.Error("EnsureImage logged nothing while pulling")
		}
		if got, want := im.Ref, s.img.Pull; got != want {
			t.Errorf("Image.Ref = %q, want %q", got, want)
		}
		spec := s.spec(t, "pull")
		spec.Image = s.img.Pull
		h.waitGet(h.start(spec), "/")

		again, err := h.rt.EnsureImage(h.ctx, s.img.Pull, true, nil)
		if err != nil {
			t.Fatalf("EnsureImage(%s, pull=true): %v", s.img.Pull, err)
		}
		if got, want := again.ID, im.ID; got != want {
			t.Errorf("EnsureImage(pull=true) of an unchanged image: ID = %q, want %q", got, want)
		}
	})
	t.Run("ErrUnknown", func(t *testing.T) {
		if s.img.Unknown == "" {
			t.Skip("Images.Unknown not set")
		}
		_, err := h.rt.EnsureImage(h.ctx, s.img.Unknown, false, nil)
		if got, want := openrunner.ErrorCode(err), openrunner.EINVALID; got != want {
			t.Fatalf("EnsureImage(%s): code %q (%v), want %q", s.img.Unknown, got, err, want)
		}
		t.Logf("message: %s", openrunner.ErrorMessage(err))
		if !strings.Contains(openrunner.ErrorMessage(err), s.img.Unknown) {
			t.Errorf("message %q does not name the image %q", openrunner.ErrorMessage(err), s.img.Unknown)
		}
	})
}

func (s *suite) testStartInstance(t *testing.T) {
	h := s.harness(t)
	spec := s.spec(t, "start")
	spec.Port = 8123 // not the app's default: PORT must carry it
	before := time.Now()
	inst := h.start(spec)
	if inst.Addr == "" {
		t.Fatal("Instance.Addr is empty")
	}
	if inst.StartedAt.IsZero() || inst.StartedAt.Before(before.Add(-time.Minute)) {
		t.Errorf("Instance.StartedAt = %v, want about %v", inst.StartedAt, before)
	}
	if got, want := strings.TrimSpace(h.waitGet(inst, "/")), "hello"; got != want {
		t.Errorf("GET / = %q, want %q", got, want)
	}
	h.checkPort(inst, spec)
	st, err := h.rt.InstanceState(h.ctx, inst.ID)
	if err != nil {
		t.Fatalf("InstanceState: %v", err)
	}
	if !st.Running {
		t.Errorf("InstanceState = %+v, want running", st)
	}
}

func (s *suite) testEnv(t *testing.T) {
	h := s.harness(t)
	spec := s.spec(t, "env")
	spec.Env = map[string]string{
		"GREETING":   "hi there",
		"WITH_EQ":    "a=b=c",
		"EMPTY":      "",
		"PORT":       "1", // PORT is the runtime's to set
		"UNICODE_CH": "héllo ☃",
	}
	inst := h.start(spec)
	h.checkPort(inst, spec)
	for name, want := range map[string]string{
		"GREETING":   "hi there",
		"WITH_EQ":    "a=b=c",
		"EMPTY":      "",
		"UNICODE_CH": "héllo ☃",
	} {
		if got := h.waitGet(inst, "/env?name="+url.QueryEscape(name)); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
}

func (s *suite) testStartCommand(t *testing.T) {
	h := s.harness(t)
	spec := s.spec(t, "command")
	spec.StartCommand = s.img.AppCommand + " --greeting from-start-command"
	inst := h.start(spec)
	if got, want := strings.TrimSpace(h.waitGet(inst, "/")), "from-start-command"; got != want {
		t.Errorf("GET / = %q, want %q", got, want)
	}
}

func (s *suite) testStartCommandShell(t *testing.T) {
	if s.img.ShellApp == "" {
		t.Skip("Images.ShellApp not set")
	}
	h := s.harness(t)
	spec := s.spec(t, "shell")
	spec.Image = s.img.ShellApp
	spec.StartCommand = s.img.AppCommand + " --greeting via-shell"
	inst := h.start(spec)
	if got, want := strings.TrimSpace(h.waitGet(inst, "/")), "via-shell"; got != want {
		t.Errorf("GET / = %q, want %q", got, want)
	}
	if got, want := h.waitGet(inst, "/env?name=TESTAPP_SHELL"), "1"; got != want {
		t.Errorf("TESTAPP_SHELL = %q, want %q: StartCommand did not run through /bin/sh", got, want)
	}
}

func (s *suite) testBadStartCommand(t *testing.T) {
	h := s.harness(t)
	for _, tc := range []struct{ name, image string }{
		{"Exec", s.img.App},
		{"Shell", s.img.ShellApp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.image == "" {
				t.Skip("Images.ShellApp not set")
			}
			h := h.sub(t)
			spec := s.spec(t, "badcommand")
			spec.Image = tc.image
			spec.StartCommand = "/no/such/executable --flag"
			inst, err := h.rt.StartInstance(h.ctx, spec)
			if err == nil {
				// Through a shell, the runtime starts the shell, which
				// then fails (127): that is all it can know at start.
				t.Cleanup(func() { _ = h.rt.StopInstance(context.Background(), inst.ID, 0) })
				st := h.waitStopped(inst.ID)
				if st.ExitCode == 0 {
					t.Errorf("StartCommand %q: no error and the instance exited 0 (%+v); want EINVALID or a failed exit", spec.StartCommand, st)
				}
				t.Logf("started; exited with %+v", st)
				return
			}
			if got, want := openrunner.ErrorCode(err), openrunner.EINVALID; got != want {
				t.Fatalf("StartInstance with StartCommand %q: code %q (%v), want %q", spec.StartCommand, got, err, want)
			}
			t.Logf("message: %s", openrunner.ErrorMessage(err))
			list, err := h.rt.ListInstances(h.ctx)
			if err != nil {
				t.Fatalf("ListInstances: %v", err)
			}
			for _, inst := range list {
				if inst.ServiceARN == spec.ServiceARN {
					t.Errorf("the failed start left instance %s behind", inst.ID)
				}
			}
		})
	}
}

func (s *suite) testExitCode(t *testing.T) {
	h := s.harness(t)
	spec := s.spec(t, "exit")
	spec.Env = map[string]string{"TESTAPP_EXIT_CODE": "3"}
	inst := h.start(spec)
	st := h.waitStopped(inst.ID)
	if got, want := st.ExitCode, 3; got != want {
		t.Errorf("InstanceState.ExitCode = %d, want %d (state %+v)", got, want, st)
	}
	if st.Reason == "" {
		t.Errorf("InstanceState.Reason is empty for an exited instance")
	}
	if h.listed(h.rt, inst.ID) == nil {
		t.Errorf("ListInstances does not list the exited instance %s", inst.ID)
	}
}

func (s *suite) testStopInstance(t *testing.T) {
	h := s.harness(t)
	inst := h.start(s.spec(t, "stop"))
	h.waitGet(inst, "/")
	begin := time.Now()
	if err := h.rt.StopInstance(h.ctx, inst.ID, stopGrace); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	// The app exits on SIGTERM at once; waiting out the grace would mean
	// the runtime never sent it.
	if took := time.Since(begin); took >= stopGrace {
		t.Errorf("StopInstance took %v, want well under the %v grace: was SIGTERM sent?", took, stopGrace)
	}
	st, err := h.rt.InstanceState(h.ctx, inst.ID)
	switch code := openrunner.ErrorCode(err); {
	case code == openrunner.ENOTFOUND:
	case err != nil:
		t.Errorf("InstanceState after stop: %v, want ENOTFOUND or not running", err)
	case st.Running:
		t.Errorf("InstanceState after stop = %+v, want not running", st)
	}
	if h.listed(h.rt, inst.ID) != nil {
		t.Errorf("ListInstances still lists stopped instance %s", inst.ID)
	}
	if _, err := get(h.client, inst.Addr, "/"); err == nil {
		t.Errorf("stopped instance still answers at %s", inst.Addr)
	}
	if err := h.rt.StopInstance(h.ctx, inst.ID, stopGrace); err != nil {
		t.Errorf("StopInstance of a stopped instance: %v, want nil", err)
	}
}

func (s *suite) testStopAfterGrace(t *testing.T) {
	h := s.harness(t)
	spec := s.spec(t, "stopgrace")
	spec.Env = map[string]string{"TESTAPP_IGNORE_SIGTERM": "1"}
	inst := h.start(spec)
	h.waitGet(inst, "/")
	begin := time.Now()
	if err := h.rt.StopInstance(h.ctx, inst.ID, time.Second); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	if took := time.Since(begin); took > stopGrace {
		t.Errorf("StopInstance of an app that ignores SIGTERM took %v with a 1s grace", took)
	}
	if h.listed(h.rt, inst.ID) != nil {
		t.Errorf("ListInstances still lists stopped instance %s", inst.ID)
	}
}

func (s *suite) testNotFound(t *testing.T) {
	h := s.harness(t)
	const id = "openrunner-no-such-instance"
	if _, err := h.rt.InstanceState(h.ctx, id); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		t.Errorf("InstanceState(%q): %v, want ENOTFOUND", id, err)
	}
	if err := h.rt.StopInstance(h.ctx, id, time.Second); err != nil {
		t.Errorf("StopInstance(%q): %v, want nil", id, err)
	}
	ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
	defer cancel()
	err := h.rt.FollowLogs(ctx, id, time.Time{}, func(openrunner.LogLine) {})
	if code := openrunner.ErrorCode(err); code != openrunner.ENOTFOUND && code != "" {
		t.Errorf("FollowLogs(%q): %v, want ENOTFOUND or nil", id, err)
	}
	if ctx.Err() != nil {
		t.Errorf("FollowLogs(%q) waited for its context to end", id)
	}
}

func (s *suite) testListAfterRestart(t *testing.T) {
	h := s.harness(t)
	spec := s.spec(t, "list")
	spec.Labels["dev.openrunner.extra"] = "kept"
	inst := h.start(spec)
	h.waitGet(inst, "/")

	// A new Runtime value stands for OpenRunner after a restart.
	rt2 := s.newRuntime(t)
	got := h.listed(rt2, inst.ID)
	if got == nil {
		t.Fatalf("a new Runtime's ListInstances does not list instance %s", inst.ID)
	}
	if got.ServiceARN != spec.ServiceARN || got.RevisionID != spec.RevisionID {
		t.Errorf("listed ServiceARN, RevisionID = %q, %q; want %q, %q", got.ServiceARN, got.RevisionID, spec.ServiceARN, spec.RevisionID)
	}
	for k, want := range map[string]string{
		openrunner.LabelManagedBy:  "openrunner",
		openrunner.LabelServiceARN: spec.ServiceARN,
		openrunner.LabelRevision:   spec.RevisionID,
		"dev.openrunner.extra":     "kept",
	} {
		if got := got.Labels[k]; got != want {
			t.Errorf("listed label %s = %q, want %q", k, got, want)
		}
	}
	if got.Addr != inst.Addr {
		t.Errorf("listed Addr = %q, want %q", got.Addr, inst.Addr)
	}
	if d := got.StartedAt.Sub(inst.StartedAt); d > time.Second || d < -time.Second {
		t.Errorf("listed StartedAt = %v, want %v", got.StartedAt, inst.StartedAt)
	}
	st, err := rt2.InstanceState(h.ctx, inst.ID)
	if err != nil || !st.Running {
		t.Errorf("new Runtime's InstanceState = %+v, %v; want running", st, err)
	}
	if err := rt2.StopInstance(h.ctx, inst.ID, stopGrace); err != nil {
		t.Fatalf("new Runtime's StopInstance: %v", err)
	}
	if h.listed(h.rt, inst.ID) != nil {
		t.Errorf("instance %s stopped by the new Runtime is still listed", inst.ID)
	}
}

// logRecorder collects the lines FollowLogs delivers.
type logRecorder struct {
	mu    sync.Mutex
	lines []openrunner.LogLine
}

func (r *logRecorder) sink(l openrunner.LogLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, l)
}

// wait waits until a line with text on stream has arrived and returns it.
// wait returns the first line of stream that is one of texts.
func (r *logRecorder) wait(t *testing.T, stream string, texts ...string) openrunner.LogLine {
	t.Helper()
	deadline := time.Now().Add(stateTimeout)
	for {
		r.mu.Lock()
		for _, l := range r.lines {
			if l.Stream == stream && slices.Contains(texts, l.Text) {
				r.mu.Unlock()
				return l
			}
		}
		lines := append([]openrunner.LogLine(nil), r.lines...)
		r.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s line %q in %v; got %+v", stream, texts, stateTimeout, lines)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readyLines are the forms of the test app's first stdout line. It names
// $PORT: the spec's port (8080) in a container, or the instance's own port
// where instances share the host's ports (the process runtime).
func readyLines(inst *openrunner.Instance) []string {
	lines := []string{"testapp: stdout ready on port 8080"}
	if _, p, err := net.SplitHostPort(inst.Addr); err == nil && p != "8080" {
		lines = append(lines, "testapp: stdout ready on port "+p)
	}
	return lines
}

func (s *suite) testFollowLogs(t *testing.T) {
	h := s.harness(t)
	inst := h.start(s.spec(t, "logs"))
	h.waitGet(inst, "/")

	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	rec := &logRecorder{}
	done := make(chan error, 1)
	begin := time.Now()
	go func() { done <- h.rt.FollowLogs(ctx, inst.ID, time.Time{}, rec.sink) }()

	rec.wait(t, "stdout", readyLines(inst)...)
	rec.wait(t, "stderr", "testapp: stderr ready")
	out, errText := "out-"+randHex(4), "err-"+randHex(4)
	h.waitGet(inst, "/log?stream=stdout&text="+out)
	h.waitGet(inst, "/log?stream=stderr&text="+errText)
	l := rec.wait(t, "stdout", out)
	rec.wait(t, "stderr", errText)
	if l.Time.IsZero() || l.Time.Before(begin.Add(-time.Minute)) || l.Time.After(time.Now().Add(time.Minute)) {
		t.Errorf("LogLine.Time = %v, want about %v", l.Time, begin)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("FollowLogs after its context ended: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("FollowLogs did not return within 10s of its context ending")
	}

	t.Run("Since", func(t *testing.T) {
		h := h.sub(t)
		// Lines from before since are not delivered again.
		since := time.Now()
		time.Sleep(10 * time.Millisecond)
		late := "late-" + randHex(4)
		h.waitGet(inst, "/log?stream=stdout&text="+late)
		ctx, cancel := context.WithCancel(h.ctx)
		defer cancel()
		rec := &logRecorder{}
		done := make(chan error, 1)
		go func() { done <- h.rt.FollowLogs(ctx, inst.ID, since, rec.sink) }()
		rec.wait(t, "stdout", late)
		cancel()
		<-done
		for _, l := range rec.lines {
			if l.Text == out || strings.HasPrefix(l.Text, "testapp: ") {
				t.Errorf("FollowLogs since %v delivered the earlier line %+v", since, l)
			}
		}
	})
}

func (s *suite) testFollowLogsEnds(t *testing.T) {
	h := s.harness(t)
	inst := h.start(s.spec(t, "logsend"))
	h.waitGet(inst, "/")
	rec := &logRecorder{}
	done := make(chan error, 1)
	go func() { done <- h.rt.FollowLogs(h.ctx, inst.ID, time.Time{}, rec.sink) }()
	rec.wait(t, "stdout", readyLines(inst)...)
	if err := h.rt.StopInstance(h.ctx, inst.ID, stopGrace); err != nil {
		t.Fatalf("StopInstance: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("FollowLogs of a stopped instance: %v, want nil", err)
		}
	case <-time.After(stateTimeout):
		t.Fatalf("FollowLogs did not return within %v of the instance stopping", stateTimeout)
	}
	rec.wait(t, "stdout", "testapp: SIGTERM, shutting down")
}

func (s *suite) testTwoInstances(t *testing.T) {
	h := s.harness(t)
	spec := s.spec(t, "two")
	a, b := h.start(spec), h.start(spec)
	if a.ID == b.ID {
		t.Fatalf("two instances share ID %q", a.ID)
	}
	if a.Addr == b.Addr {
		t.Fatalf("two instances share Addr %q", a.Addr)
	}
	h.waitGet(a, "/")
	h.waitGet(b, "/")
}

func (s *suite) testLimits(t *testing.T) {
	h := s.harness(t)
	spec := s.spec(t, "limits")
	spec.CPU, spec.MemoryMB = 256, 512
	inst := h.start(spec)
	h.waitGet(inst, "/")
	lr, ok := h.rt.(LimitsReporter)
	if !ok {
		t.Skipf("%T does not report limits (runtimetest.LimitsReporter)", h.rt)
	}
	cpu, mem, err := lr.InstanceLimits(h.ctx, inst.ID)
	if err != nil {
		t.Fatalf("InstanceLimits: %v", err)
	}
	if cpu != spec.CPU || mem != spec.MemoryMB {
		t.Errorf("InstanceLimits = %d CPU, %d MB; want %d, %d", cpu, mem, spec.CPU, spec.MemoryMB)
	}
}
