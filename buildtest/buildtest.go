package buildtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// Runner runs what a Builder built, as the runtime under test runs its
// instances: the Docker runtime starts a container of the image, the
// host-process runtime runs the start command in the build's directory.
type Runner interface {
	// Serve starts an instance of img, which a Build of the same Harness
	// returned, as the deployer does (EnsureImage of img.Ref must give
	// img.ID, then StartInstance of spec, whose Image is img.Ref), stops
	// it when tb ends, and returns the host:port where it answers HTTP.
	// ServeInstance does it with a runtime's Engine.
	Serve(tb testing.TB, img openrunner.Image, spec openrunner.InstanceSpec) (addr string)
}

// Harness is the Builder under test with the means to run what it built.
type Harness interface {
	openrunner.Builder
	Runner
}

// Options tells the suite what differs between implementations.
type Options struct {
	// Runtime is the managed runtime (apprunner.yaml name) of the builds
	// that run only shell commands (echo, printf, cat, pwd, test, tr,
	// grep, sleep). Required.
	Runtime string

	// WorkDir returns the absolute path where the build commands of
	// spec, and the instances of img, its image, run: the copy of
	// spec.Directory. Required.
	WorkDir func(h Harness, spec openrunner.BuildSpec, img openrunner.Image) string

	// NeedRuntime skips tb when the Harness cannot build runtime here (a
	// toolchain missing on the host). The suite uses Runtime, python311
	// (python3 and pip), nodejs22 (node and npm) and go1 (go). Nil: it can
	// build them all.
	NeedRuntime func(tb testing.TB, runtime string)

	// CommandError returns the exact message of the EINVALID of a build
	// whose command failed with exit code code in phase. Nil: the suite
	// checks only that the message names the phase, the quoted command
	// and the exit code.
	CommandError func(phase, command string, code int) string

	// CancelWithin bounds the time Build takes to return once its
	// context is cancelled while a command runs. Zero means 30 s.
	CancelWithin time.Duration

	// Isolated says that every Harness newHarness returns holds only the
	// builds it made (a directory of its own), so that Builds must list
	// exactly those; otherwise Harnesses share their builds with others
	// (one engine, one owner) and the suite looks only for its own.
	Isolated bool

	// CheckBuild, if set, is called after every build of the suite that
	// succeeds, with its log, to check what the implementation alone
	// promises of it (names, labels, log lines of its own).
	CheckBuild func(t testing.TB, h Harness, spec openrunner.BuildSpec, img openrunner.Image, log []string)

	// CheckRemoved, if set, is called after RemoveBuild of img succeeded,
	// to check that nothing of it is left.
	CheckRemoved func(t testing.TB, h Harness, img openrunner.Image)

	// CheckFailed, if set, is called after a build that failed (a command
	// exited non-zero) or was cancelled, with its log, to check that
	// nothing it made is left. The command of the cancelled build names
	// spec.RevisionID (in a comment).
	CheckFailed func(t testing.TB, h Harness, spec openrunner.BuildSpec, log []string)
}

// Timeouts the suite allows. Generous: CI machines are slow and busy.
const (
	serveTimeout        = 30 * time.Second
	defaultCancelWithin = 30 * time.Second
)

// Secret is a build.env value with everything a shell, a Dockerfile or a
// YAML file could misread in it.
const Secret = `it's "quoted" $HOME ${x:-y} ` + "`id`" + ` \ ; & | > < # ünï`

// Run runs the conformance suite. newHarness returns a Harness that is
// ready to use (closed by a tb.Cleanup). Every build the suite makes is
// removed when its test ends, and checked to be gone then.
func Run(t *testing.T, newHarness func(tb testing.TB) Harness, opts Options) {
	t.Helper()
	if opts.Runtime == "" || opts.WorkDir == nil {
		t.Fatal("buildtest: Options.Runtime and Options.WorkDir are required")
	}
	if opts.CancelWithin == 0 {
		opts.CancelWithin = defaultCancelWithin
	}
	s := &suite{newHarness: newHarness, opts: opts}
	cases := []struct {
		name string
		test func(t *testing.T)
	}{
		{"Phases", s.testPhases},
		{"RevisedBuild", s.testRevisedBuild},
		{"Quoting", s.testQuoting},
		{"ErrCommand", s.testErrCommand},
		{"ErrSpec", s.testErrSpec},
		{"Cancel", s.testCancel},
		{"Builds", s.testBuilds},
		{"SampleApps", s.testSampleApps},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Builds mostly wait for processes and the disk: side by
			// side they take a fraction of the time.
			t.Parallel()
			c.test(t)
		})
	}
}

// Engine is a runtime that runs the Builder's images one instance at a
// time: a Runtime's EnsureImage and its InstanceDriver.
type Engine interface {
	EnsureImage(ctx context.Context, ref string, pull bool, log func(line string)) (openrunner.Image, error)
	openrunner.InstanceDriver
}

// ServeInstance implements Runner.Serve with rt, the runtime that runs the
// Builder's images: EnsureImage of img.Ref, which must give img.ID, then
// StartInstance of spec with Image img.Ref, stopped when tb ends.
func ServeInstance(tb testing.TB, rt Engine, img openrunner.Image, spec openrunner.InstanceSpec) string {
	tb.Helper()
	ctx := context.Background()
	got, err := rt.EnsureImage(ctx, img.Ref, false, nil)
	if err != nil || got.ID != img.ID {
		tb.Fatalf("EnsureImage(%s) = %+v, %v; want the built image %s", img.Ref, got, err, img.ID)
	}
	spec.Image = img.Ref
	inst, err := rt.StartInstance(ctx, spec)
	if err != nil {
		tb.Fatalf("StartInstance(%+v): %v", spec, err)
	}
	tb.Cleanup(func() {
		if err := rt.StopInstance(context.Background(), inst.ID, time.Second); err != nil {
			tb.Errorf("StopInstance(%s): %v", inst.ID, err)
		}
	})
	return inst.Addr
}

type suite struct {
	newHarness func(tb testing.TB) Harness
	opts       Options
}

// Log collects a build's lines (BuildSpec.Log = log.Add), for tests of
// builders.
type Log struct {
	mu    sync.Mutex
	lines []string
	on    func(line string) // called with each line, if set
}

// Add records one line.
func (l *Log) Add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	on := l.on
	l.mu.Unlock()
	if on != nil {
		on(line)
	}
}

// Lines returns the lines so far.
func (l *Log) Lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// Count returns how many lines are line.
func (l *Log) Count(line string) int {
	n := 0
	for _, got := range l.Lines() {
		if got == line {
			n++
		}
	}
	return n
}

// Match returns how many lines match the regular expression re.
func (l *Log) Match(re string) int {
	rx := regexp.MustCompile(re)
	n := 0
	for _, line := range l.Lines() {
		if rx.MatchString(line) {
			n++
		}
	}
	return n
}

// String is the lines, one per line.
func (l *Log) String() string { return strings.Join(l.Lines(), "\n") }

// phasePrefix matches the prefix every build line has.
var phasePrefix = regexp.MustCompile(`^\[(PreBuild|Build|PreRun|PostBuild)\] `)

// checkPrefixes checks that every line carries a phase prefix and that
// each of phases has lines.
func checkPrefixes(t testing.TB, log *Log, phases ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, l := range log.Lines() {
		m := phasePrefix.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("log line %q has no phase prefix", l)
			continue
		}
		seen[m[1]] = true
	}
	for _, p := range phases {
		if !seen[p] {
			t.Errorf("no log line of phase %s", p)
		}
	}
}

// wantLines checks that each of lines is in the log exactly n times.
func wantLines(t testing.TB, log *Log, n int, lines ...string) {
	t.Helper()
	for _, want := range lines {
		if got := log.Count(want); got != n {
			t.Errorf("log line %q appears %d times, want %d", want, got, n)
		}
	}
}

// revision returns a revision ID of its own, so that Harnesses that share
// their builds tell the suite's apart: name and a random suffix.
func revision(name string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return name + "-" + hex.EncodeToString(b[:])
}

// serviceARN returns a service ARN of its own.
func serviceARN() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "arn:aws:apprunner:us-east-1:123456789012:service/buildtest/" + hex.EncodeToString(b[:])
}

// WriteTree writes files (slash-separated path → content; "-> target"
// makes a symbolic link) under a new directory and returns it.
func WriteTree(tb testing.TB, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if target, ok := strings.CutPrefix(body, "-> "); ok {
			if err := os.Symlink(target, p); err != nil {
				tb.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// listTree returns every path under dir with its mode and content, to
// check that a build leaves its source alone.
func listTree(tb testing.TB, dir string) string {
	tb.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String() + " " + fi.ModTime().String())
		if fi.Mode().IsRegular() {
			body, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.Write(body)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b.String()
}

// build runs spec on h (ServiceARN set if empty, Log set), logging its
// lines to the test, and checks that it did not touch spec.SourceDir.
func (s *suite) build(t testing.TB, h Harness, spec *openrunner.BuildSpec) (openrunner.Image, *Log, error) {
	t.Helper()
	if spec.ServiceARN == "" {
		spec.ServiceARN = serviceARN()
	}
	log := &Log{}
	spec.Log = log.Add
	before := listTree(t, spec.SourceDir)
	start := time.Now()
	img, err := h.Build(context.Background(), *spec)
	for _, l := range log.Lines() {
		t.Log(l)
	}
	if err == nil {
		t.Logf("built %s (%s) in %v", img.Ref, img.ID, time.Since(start).Round(10*time.Millisecond))
		// Whatever happens to the test; removing what is gone is no error.
		t.Cleanup(func() { _ = h.RemoveBuild(context.Background(), img.Ref) })
	}
	if after := listTree(t, spec.SourceDir); after != before {
		t.Errorf("the build changed its source directory:\n%s\nwas:\n%s", after, before)
	}
	return img, log, err
}

// mustBuild builds spec, checks it with Options.CheckBuild, and removes
// it when the test ends (see mustRemove).
func (s *suite) mustBuild(t testing.TB, h Harness, spec *openrunner.BuildSpec) (openrunner.Image, *Log) {
	t.Helper()
	img, log, err := s.build(t, h, spec)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	if s.opts.CheckBuild != nil {
		s.opts.CheckBuild(t, h, *spec, img, log.Lines())
	}
	rev := spec.RevisionID
	t.Cleanup(func() { s.mustRemove(t, h, rev, img.Ref, img) })
	return img, log
}

// listed returns the build of revision rev that h.Builds lists, if any.
func listed(t testing.TB, h Harness, rev string) (openrunner.BuiltImage, bool) {
	t.Helper()
	builds, err := h.Builds(context.Background())
	if err != nil {
		t.Fatalf("Builds: %v", err)
	}
	for _, b := range builds {
		if b.RevisionID == rev {
			return b, true
		}
	}
	return openrunner.BuiltImage{}, false
}

// mustRemove checks that Builds lists the build of revision rev, removes
// it with RemoveBuild(ref), and checks that Builds no longer lists it and
// (Options.CheckRemoved) that nothing of img is left.
func (s *suite) mustRemove(t testing.TB, h Harness, rev, ref string, img openrunner.Image) {
	t.Helper()
	if _, ok := listed(t, h, rev); !ok {
		t.Errorf("Builds does not list the build of %s (%s)", rev, img.Ref)
	}
	if err := h.RemoveBuild(context.Background(), ref); err != nil {
		t.Errorf("RemoveBuild(%s): %v", ref, err)
		return
	}
	if b, ok := listed(t, h, rev); ok {
		t.Errorf("Builds lists %+v after RemoveBuild(%s)", b, ref)
	}
	if s.opts.CheckRemoved != nil {
		s.opts.CheckRemoved(t, h, img)
	}
}

// checkFailed checks that a failed build of spec left nothing that Builds
// lists, then calls Options.CheckFailed.
func (s *suite) checkFailed(t testing.TB, h Harness, spec openrunner.BuildSpec, log *Log) {
	t.Helper()
	if b, ok := listed(t, h, spec.RevisionID); ok {
		t.Errorf("Builds lists %+v after the build failed", b)
	}
	if s.opts.CheckFailed != nil {
		s.opts.CheckFailed(t, h, spec, log.Lines())
	}
}

func (s *suite) need(tb testing.TB, runtime string) {
	tb.Helper()
	if s.opts.NeedRuntime != nil {
		s.opts.NeedRuntime(tb, runtime)
	}
}

// get polls GET path at addr until it answers 200, and returns the body.
func get(t testing.TB, addr, path string) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(serveTimeout)
	for {
		resp, err := c.Get("http://" + addr + path)
		if err == nil {
			body, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
				err = rerr
			case resp.StatusCode != http.StatusOK:
				err = fmt.Errorf("%s: %q", resp.Status, body)
			default:
				return string(body)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET http://%s%s: no 200 in %v: %v", addr, path, serveTimeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
