package process_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/process"
	"github.com/openrunner/openrunner/replicas"
	"github.com/openrunner/openrunner/runtimetest"
)

// app is the test app binary, built once by the first test that needs it.
var (
	appOnce sync.Once
	appDir  string
	appPath string
	appErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if appDir != "" {
		os.RemoveAll(appDir)
	}
	os.Exit(code)
}

// mustApp returns the path of the test app's binary.
func mustApp(tb testing.TB) string {
	tb.Helper()
	appOnce.Do(func() {
		if appDir, appErr = os.MkdirTemp("", "openrunner-process-test-"); appErr == nil {
			appPath, appErr = runtimetest.BuildAppIn(appDir, "", "")
		}
	})
	if appErr != nil {
		tb.Fatal(appErr)
	}
	return appPath
}

// newRuntime returns a Runtime over dir, closed when tb ends.
func newRuntime(tb testing.TB, dir string) *process.Runtime {
	tb.Helper()
	rt, err := process.New(process.Options{Dir: dir, Owner: "test"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close() })
	return rt
}

func TestConformance(t *testing.T) {
	app := mustApp(t)
	dir := t.TempDir()
	runtimetest.RunDriver(t, func(tb testing.TB) runtimetest.DriverRuntime { return newRuntime(tb, dir) }, runtimetest.Images{
		App:        app,
		AppCommand: app,
		Unknown:    filepath.Join(t.TempDir(), "no-such-app"),
		// ShellApp (an image with its own /bin/sh) and Pull (a registry)
		// have no host-process equivalent: StartCommand always runs
		// through the host's /bin/sh, which TestStartCommandShell checks.
	})
}

// TestRevisions runs the revision suite. Each test gets an owner of its
// own, shared by the runtimes it makes (a restart), so that one test's
// runtime never adopts another's instances.
func TestRevisions(t *testing.T) {
	app := mustApp(t)
	dir := t.TempDir()
	runtimetest.Run(t, func(tb testing.TB) openrunner.Runtime {
		rt, err := process.New(process.Options{
			Dir:      dir,
			Owner:    "rev-" + ownerOf(tb),
			Replicas: replicas.Options{RestartBackoffMin: 100 * time.Millisecond, RestartBackoffMax: time.Second},
		})
		if err != nil {
			tb.Fatal(err)
		}
		return rt
	}, runtimetest.Images{App: app, AppCommand: app})
}

// ownerOf returns an owner label value for tb: a hash of its name.
func ownerOf(tb testing.TB) string {
	sum := sha256.Sum256([]byte(tb.Name()))
	return hex.EncodeToString(sum[:8])
}

func TestNetworks(t *testing.T) {
	rt := newRuntime(t, t.TempDir())
	spec := openrunner.InstanceSpec{Image: mustApp(t), Port: 8080, Networks: []string{"vpc"}}
	want := "VPC egress needs the docker runtime: the process runtime cannot attach instances to networks [vpc] (run openrunner serve --runtime docker)"
	if _, err := rt.StartInstance(context.Background(), spec); openrunner.ErrorCode(err) != openrunner.EINVALID || openrunner.ErrorMessage(err) != want {
		t.Errorf("StartInstance with networks: %v, want EINVALID %q", err, want)
	}
	if err := rt.Open(context.Background(), openrunner.RuntimeHooks{}); err != nil {
		t.Fatal(err)
	}
	err := rt.SetRevision(context.Background(), openrunner.RevisionSpec{ServiceARN: "svc", RevisionID: "rev", Instance: spec, Replicas: 1})
	if openrunner.ErrorCode(err) != openrunner.EINVALID || openrunner.ErrorMessage(err) != want {
		t.Errorf("SetRevision with networks: %v, want EINVALID %q", err, want)
	}
}

func TestConformanceFileURL(t *testing.T) {
	app := mustApp(t)
	dir := t.TempDir()
	rt := newRuntime(t, dir)
	ctx := context.Background()
	ref := "file://" + app
	im, err := rt.EnsureImage(ctx, ref, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := rt.EnsureImage(ctx, app, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if im.Ref != ref || im.ID != plain.ID || !strings.HasPrefix(im.ID, "sha256:") {
		t.Errorf("EnsureImage(%s) = %+v; of the plain path: %+v", ref, im, plain)
	}
	inst := start(t, rt, openrunner.InstanceSpec{Image: ref, Port: 8080})
	if got, want := waitGet(t, inst, "/"), "hello\n"; got != want {
		t.Errorf("GET / = %q, want %q", got, want)
	}
}

func TestEnsureImageErrors(t *testing.T) {
	rt := newRuntime(t, t.TempDir())
	notExec := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(notExec, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, ref := range map[string]string{
		"Relative":  "bin/app",
		"Registry":  "public.ecr.aws/nginx/nginx:latest",
		"NotExec":   notExec,
		"URLHost":   "file://example.com/app",
		"NotExists": "file:///no/such/app",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := rt.EnsureImage(context.Background(), ref, false, nil)
			if got, want := openrunner.ErrorCode(err), openrunner.EINVALID; got != want {
				t.Fatalf("EnsureImage(%s): %v, want %s", ref, err, want)
			}
			if !strings.Contains(openrunner.ErrorMessage(err), ref) {
				t.Errorf("message %q does not name %s", openrunner.ErrorMessage(err), ref)
			}
		})
	}
}

func TestEnsureImageDir(t *testing.T) {
	rt := newRuntime(t, t.TempDir())
	ctx := context.Background()
	d := t.TempDir()
	mustWrite(t, filepath.Join(d, "a.txt"), "one")
	mustWrite(t, filepath.Join(d, "sub", "b.txt"), "two")
	first, err := rt.EnsureImage(ctx, d, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	again, err := rt.EnsureImage(ctx, d, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.ID != again.ID {
		t.Errorf("unchanged directory: ID %s, then %s", first.ID, again.ID)
	}
	mustWrite(t, filepath.Join(d, "sub", "b.txt"), "changed")
	changed, err := rt.EnsureImage(ctx, d, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if changed.ID == first.ID {
		t.Errorf("changed directory kept ID %s", first.ID)
	}

	t.Run("ErrNoStartCommand", func(t *testing.T) {
		_, err := rt.StartInstance(ctx, openrunner.InstanceSpec{Image: d, Port: 8080})
		if got, want := openrunner.ErrorCode(err), openrunner.EINVALID; got != want {
			t.Fatalf("StartInstance of a directory without a start command: %v, want %s", err, want)
		}
	})
	t.Run("StartCommand", func(t *testing.T) {
		// Runs in the directory: a relative path finds its files.
		inst := start(t, rt, openrunner.InstanceSpec{Image: "file://" + d, Port: 8080,
			StartCommand: `echo "$(cat sub/b.txt)"; exec ` + mustApp(t) + ` --greeting "$(cat a.txt)"`})
		if got, want := waitGet(t, inst, "/"), "one\n"; got != want {
			t.Errorf("GET / = %q, want %q", got, want)
		}
		if l := waitLine(t, rt, inst.ID, "changed"); l.Stream != "stdout" {
			t.Errorf("line %+v: want stdout", l)
		}
	})
}

// TestStartCommandShell checks that StartCommand runs through the host's
// /bin/sh: variables are expanded and operators work.
func TestStartCommandShell(t *testing.T) {
	rt := newRuntime(t, t.TempDir())
	inst := start(t, rt, openrunner.InstanceSpec{
		Image:        mustApp(t),
		Port:         8080,
		Env:          map[string]string{"WHO": "shell"},
		StartCommand: `true && exec ` + mustApp(t) + ` --greeting "via-$WHO"`,
	})
	if got, want := waitGet(t, inst, "/"), "via-shell\n"; got != want {
		t.Errorf("GET / = %q, want %q", got, want)
	}
	// The host's secrets stay out: only hostEnv is passed on.
	t.Setenv("OPENRUNNER_TEST_SECRET", "x")
	inst = start(t, rt, openrunner.InstanceSpec{Image: mustApp(t), Port: 8080})
	waitGet(t, inst, "/")
	if code, _ := getStatus(inst, "/env?name=OPENRUNNER_TEST_SECRET"); code != http.StatusNotFound {
		t.Errorf("GET /env?name=OPENRUNNER_TEST_SECRET: status %d, want 404", code)
	}
	if code, _ := getStatus(inst, "/env?name=PATH"); code != http.StatusOK {
		t.Errorf("GET /env?name=PATH: status %d, want 200", code)
	}
}

// TestAdoption stands for an OpenRunner restart: a new Runtime over the
// same Dir lists the instance, reports its state, follows its output and
// stops it, and another owner sees none of it.
func TestAdoption(t *testing.T) {
	dir := t.TempDir()
	rt1 := newRuntime(t, dir)
	ctx := context.Background()
	inst := start(t, rt1, openrunner.InstanceSpec{Image: mustApp(t), Port: 8080, ServiceARN: "svc", RevisionID: "rev"})
	waitGet(t, inst, "/")

	rt2 := newRuntime(t, dir)
	list, err := rt2.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].ID != inst.ID || list[0].Addr != inst.Addr || list[0].ServiceARN != "svc" {
		t.Fatalf("new Runtime lists %+v, want just %+v", list, inst)
	}
	// Output written after the restart reaches the new Runtime's follower.
	waitGet(t, inst, "/log?stream=stderr&text=after-restart")
	if l := waitLine(t, rt2, inst.ID, "after-restart"); l.Stream != "stderr" {
		t.Errorf("line %+v: want stderr", l)
	}

	other, err := process.New(process.Options{Dir: dir, Owner: "someone-else"})
	if err != nil {
		t.Fatal(err)
	}
	if list, err := other.ListInstances(ctx); err != nil || len(list) != 0 {
		t.Errorf("another owner lists %v, %v; want none", list, err)
	}
	if _, err := other.InstanceState(ctx, inst.ID); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		t.Errorf("another owner's InstanceState: %v, want ENOTFOUND", err)
	}
	if err := other.StopInstance(ctx, inst.ID, 0); err != nil {
		t.Errorf("another owner's StopInstance: %v", err)
	}
	if st, err := rt2.InstanceState(ctx, inst.ID); err != nil || !st.Running {
		t.Fatalf("InstanceState after another owner's stop: %+v, %v; want running", st, err)
	}

	if err := rt2.StopInstance(ctx, inst.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := rt1.InstanceState(ctx, inst.ID); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		t.Errorf("InstanceState after stop: %v, want ENOTFOUND", err)
	}
}

// TestStopIgnoringSIGTERM checks that an app ignoring SIGTERM is killed
// once the grace ends, with the children it started in its group.
func TestStopIgnoringSIGTERM(t *testing.T) {
	rt := newRuntime(t, t.TempDir())
	ctx := context.Background()
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	// The shell stays (it has more to do after the app), so the app is a
	// grandchild of OpenRunner, in the instance's group.
	inst := start(t, rt, openrunner.InstanceSpec{
		Image:        mustApp(t),
		Port:         8080,
		Env:          map[string]string{"TESTAPP_IGNORE_SIGTERM": "1"},
		StartCommand: "trap '' TERM; " + mustApp(t) + " & echo $! > " + pidFile + "; wait; echo never",
	})
	waitGet(t, inst, "/")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var child int
	if _, err := fmt.Sscan(string(b), &child); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := rt.StopInstance(ctx, inst.ID, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < 300*time.Millisecond || took > 5*time.Second {
		t.Errorf("StopInstance took %v with a 300ms grace", took)
	}
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(child, 0) == nil {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", child)); strings.Contains(string(b), ") Z ") {
			break // a zombie: dead, not yet reaped by its reparented parent
		}
		if time.Now().After(deadline) {
			t.Fatalf("the app (pid %d) the shell started survived StopInstance", child)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := getStatus(inst, "/"); code != 0 {
		t.Errorf("stopped instance still answers: %d", code)
	}
}

// TestExitBySignal checks the exit code and reason of a killed instance.
func TestExitBySignal(t *testing.T) {
	rt := newRuntime(t, t.TempDir())
	ctx := context.Background()
	inst := start(t, rt, openrunner.InstanceSpec{Image: mustApp(t), Port: 8080, StartCommand: "kill -9 $$"})
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := rt.InstanceState(ctx, inst.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running {
			if st.ExitCode != 137 || st.Reason != "killed by SIGKILL" {
				t.Errorf("InstanceState = %+v, want exit code 137, killed by SIGKILL", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("instance still running")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLogRotation checks that the log stays bounded and that FollowLogs
// reads across a rotation.
func TestLogRotation(t *testing.T) {
	dir := t.TempDir()
	rt, err := process.New(process.Options{Dir: dir, Owner: "test", MaxLogBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	inst := start(t, rt, openrunner.InstanceSpec{Image: mustApp(t), Port: 8080,
		StartCommand: `i=0; while [ $i -lt 500 ]; do echo "line $i"; i=$((i+1)); done`})
	var got []string
	if err := rt.FollowLogs(context.Background(), inst.ID, time.Time{}, func(l openrunner.LogLine) { got = append(got, l.Text) }); err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[len(got)-1] != "line 499" || len(got) >= 500 {
		t.Errorf("FollowLogs after rotation: %d lines ending %q; want fewer than 500 ending \"line 499\"", len(got), got[len(got)-1:])
	}
	// A follower behind by more than one rotation misses lines, never
	// sees one twice or out of order.
	for i := 1; i < len(got); i++ {
		var a, b int
		fmt.Sscanf(got[i-1], "line %d", &a)
		fmt.Sscanf(got[i], "line %d", &b)
		if b <= a {
			t.Fatalf("lines out of order: %q then %q", got[i-1], got[i])
		}
	}
	var total int64
	files, _ := filepath.Glob(filepath.Join(dir, "instances", inst.ID, "output.log*"))
	for _, f := range files {
		fi, err := os.Stat(f)
		if err == nil {
			total += fi.Size()
		}
	}
	if total > 2*4096 {
		t.Errorf("log files hold %d bytes, want at most %d", total, 2*4096)
	}
}

func BenchmarkStart(b *testing.B) {
	app := mustApp(b)
	dir := b.TempDir()
	runtimetest.Benchmark(b, func(tb testing.TB) runtimetest.DriverRuntime { return newRuntime(tb, dir) }, runtimetest.Images{App: app, AppCommand: app})
}

// start starts spec on rt and stops it when t ends.
func start(t *testing.T, rt *process.Runtime, spec openrunner.InstanceSpec) *openrunner.Instance {
	t.Helper()
	inst, err := rt.StartInstance(context.Background(), spec)
	if err != nil {
		t.Fatalf("StartInstance(%+v): %v", spec, err)
	}
	t.Cleanup(func() {
		if err := rt.StopInstance(context.Background(), inst.ID, time.Second); err != nil {
			t.Errorf("StopInstance(%s): %v", inst.ID, err)
		}
	})
	return inst
}

// waitGet polls GET path on inst until it answers 200.
func waitGet(t *testing.T, inst *openrunner.Instance, path string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := getStatus(inst, path)
		if code == http.StatusOK {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s%s: no 200 in time (last %d %q)", inst.Addr, path, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func getStatus(inst *openrunner.Instance, path string) (int, string) {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + inst.Addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// waitLine follows the instance's log until a line with text arrives.
func waitLine(t *testing.T, rt *process.Runtime, id, text string) openrunner.LogLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var found *openrunner.LogLine
	err := rt.FollowLogs(ctx, id, time.Time{}, func(l openrunner.LogLine) {
		if found == nil && l.Text == text {
			found = &l
			cancel()
		}
	})
	if err != nil || found == nil {
		t.Fatalf("FollowLogs(%s): %v; no line %q", id, err, text)
	}
	return *found
}

func mustWrite(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAdoptionAcrossProcesses has an instance started by another OS
// process (this test binary run again, standing for the OpenRunner before
// a restart) and adopts it: listing, state, output collected anew,
// stopping, and an exit status that is unknown.
func TestAdoptionAcrossProcesses(t *testing.T) {
	if dir := os.Getenv("PROCESS_TEST_HELPER_DIR"); dir != "" {
		rt := newRuntime(t, dir)
		inst, err := rt.StartInstance(context.Background(), openrunner.InstanceSpec{Image: mustApp(t), Port: 8080,
			Env: map[string]string{"TESTAPP_EXIT_CODE": os.Getenv("PROCESS_TEST_HELPER_EXIT")}, StartCommand: os.Getenv("PROCESS_TEST_HELPER_CMD")})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("INSTANCE", inst.ID)
		return
	}
	dir := t.TempDir()
	helper := func(cmd string) string {
		t.Helper()
		c := exec.Command(os.Args[0], "-test.run=^TestAdoptionAcrossProcesses$", "-test.count=1")
		c.Env = append(os.Environ(), "PROCESS_TEST_HELPER_DIR="+dir, "PROCESS_TEST_HELPER_CMD="+cmd)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("helper: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if id, ok := strings.CutPrefix(l, "INSTANCE "); ok {
				return id
			}
		}
		t.Fatalf("helper printed no instance:\n%s", out)
		return ""
	}
	id := helper("")
	rt := newRuntime(t, dir)
	ctx := context.Background()
	list, err := rt.ListInstances(ctx)
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("ListInstances = %v, %v; want instance %s", list, err, id)
	}
	inst := list[0]
	waitGet(t, inst, "/")
	if st, err := rt.InstanceState(ctx, id); err != nil || !st.Running {
		t.Fatalf("InstanceState = %+v, %v; want running", st, err)
	}
	waitGet(t, inst, "/log?stream=stdout&text=adopted")
	waitLine(t, rt, id, "adopted")
	if err := rt.StopInstance(ctx, id, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if code, _ := getStatus(inst, "/"); code != 0 {
		t.Errorf("stopped instance still answers: %d", code)
	}

	// One that exits after its parent has gone: its status is lost.
	id = helper("sleep 2; exit 3")
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := rt.InstanceState(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running {
			if st.ExitCode != -1 || st.Reason == "" {
				t.Errorf("InstanceState = %+v, want exit code -1 and a reason", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("instance still running")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := rt.StopInstance(ctx, id, time.Second); err != nil {
		t.Fatal(err)
	}
}
