package buildtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sampleapp"
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

// testPhases checks where every build command runs and where its output
// goes: each phase's lines under its prefix, stdout and stderr alike, in
// order and once each, in the image's working directory, and the
// original build's second Build step on the run image.
func (s *suite) testPhases(t *testing.T) {
	s.need(t, s.opts.Runtime)
	h := s.newHarness(t)
	spec := openrunner.BuildSpec{
		RevisionID: revision("phases"), SourceDir: WriteTree(t, map[string]string{"svc/a.txt": "a", "README": "r"}),
		Directory: "svc", Runtime: s.opts.Runtime,
		Steps: []openrunner.BuildStep{
			{Phase: "PreBuild", Commands: []string{`echo "out 1"; echo "err 1" >&2; echo "out 2"`, `test -f a.txt && echo "a.txt is here"`}},
			{Phase: "Build", Commands: []string{`echo "in $(pwd)"`}},
			{Phase: "Build", OnRunImage: true, Commands: []string{`echo "again in $(pwd)"`}},
			{Phase: "PreRun", OnRunImage: true, Commands: []string{`echo "pre-run ran"`}},
			{Phase: "PostBuild", Commands: []string{`echo "post-build ran"`}},
		},
	}
	img, log := s.mustBuild(t, h, &spec)
	checkPrefixes(t, log, "PreBuild", "Build", "PreRun", "PostBuild")
	dir := s.opts.WorkDir(h, spec, img)
	wantLines(t, log, 1,
		"[PreBuild] out 1", "[PreBuild] err 1", "[PreBuild] out 2", "[PreBuild] a.txt is here",
		"[Build] in "+dir, "[Build] again in "+dir, "[PreRun] pre-run ran", "[PostBuild] post-build ran")
	lines := log.Lines()
	if i, j := slices.Index(lines, "[PreBuild] out 1"), slices.Index(lines, "[PreBuild] out 2"); i < 0 || j < i {
		t.Errorf("out 1 at line %d, out 2 at %d: want them in order", i, j)
	}
}

// inspectServer is the app of RevisedBuild: GET / answers its working
// directory, its environment and the content of the files there, as JSON.
const inspectServer = `import json, os, http.server

def files():
    out = {}
    for name in sorted(os.listdir(".")):
        if os.path.isfile(name):
            with open(name, errors="replace") as f:
                out[name] = f.read()
    return out

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"cwd": os.getcwd(), "env": dict(os.environ), "files": files()}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass

http.server.HTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
`

// testRevisedBuild builds a revised build with every phase, in a source
// directory, with a build environment, and runs it: the whole repository
// is there (symbolic links kept), build.env reaches every phase's commands
// and not the app, run.env reaches the app and not the build, and the app
// runs where the build did, with what the build and pre-run wrote.
func (s *suite) testRevisedBuild(t *testing.T) {
	s.need(t, "python311")
	h := s.newHarness(t)
	vars := []openrunner.EnvVar{{Name: "SECRET", Value: Secret}}
	spec := openrunner.BuildSpec{
		RevisionID: revision("revised"),
		SourceDir: WriteTree(t, map[string]string{
			"shared/greeting.txt": "hello from the repository root",
			"web/server.py":       inspectServer,
			"web/link.txt":        "-> ../shared/greeting.txt",
		}),
		Directory: "web", Runtime: "python311", RuntimeVersion: "3.11", Port: 8080,
		Steps: []openrunner.BuildStep{
			{Phase: "PreBuild", Env: vars, Commands: []string{
				"test -L link.txt && cat link.txt > prebuild.txt",
				`test -z "$RUN_ONLY" && echo "no run.env in the build"`,
			}},
			{Phase: "Build", Env: vars, Commands: []string{`printf '%s' "$SECRET" > built.txt`, "pwd > pwd.txt"}},
			{Phase: "PreRun", OnRunImage: true, Env: vars, Commands: []string{
				`python3 -c 'import os; open("prerun.txt", "w").write(os.environ["SECRET"])'`,
			}},
			{Phase: "PostBuild", Env: vars, Commands: []string{`echo "post-build sees $SECRET"`}},
		},
	}
	img, log := s.mustBuild(t, h, &spec)
	checkPrefixes(t, log, "PreBuild", "Build", "PreRun", "PostBuild")
	wantLines(t, log, 1, "[PreBuild] no run.env in the build", "[PostBuild] post-build sees "+Secret)

	addr := h.Serve(t, img, openrunner.InstanceSpec{
		ServiceARN: spec.ServiceARN, RevisionID: spec.RevisionID, Port: 8080,
		StartCommand: "python3 server.py", Env: map[string]string{"RUN_ONLY": "r"},
	})
	var got struct {
		Cwd   string            `json:"cwd"`
		Env   map[string]string `json:"env"`
		Files map[string]string `json:"files"`
	}
	body := get(t, addr, "/")
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("GET / = %q: %v", body, err)
	}
	dir := s.opts.WorkDir(h, spec, img)
	if got.Cwd != dir {
		t.Errorf("the app runs in %s, want %s", got.Cwd, dir)
	}
	for name, want := range map[string]string{
		"prebuild.txt": "hello from the repository root",
		"built.txt":    Secret,
		"prerun.txt":   Secret,
		"pwd.txt":      dir + "\n",
	} {
		if v, ok := got.Files[name]; !ok || v != want {
			t.Errorf("%s at run time = %q (there: %v), want %q", name, v, ok, want)
		}
	}
	// Build variables are not the app's; run.env is.
	if v, ok := got.Env["SECRET"]; ok {
		t.Errorf("the app's environment has SECRET=%q", v)
	}
	if got.Env["RUN_ONLY"] != "r" {
		t.Errorf("RUN_ONLY = %q, want r", got.Env["RUN_ONLY"])
	}
}

// testQuoting runs commands, values and a source directory that an
// implementation must carry unchanged to the shell.
func (s *suite) testQuoting(t *testing.T) {
	s.need(t, s.opts.Runtime)
	h := s.newHarness(t)
	dir := `we$ird "dir" \ x`
	spec := openrunner.BuildSpec{
		RevisionID: revision("quoting"), Directory: dir,
		SourceDir: WriteTree(t, map[string]string{dir + "/marker": "in the source directory"}),
		Runtime:   s.opts.Runtime, Port: 8080,
		Steps: []openrunner.BuildStep{{
			Phase: "Build",
			Env:   []openrunner.EnvVar{{Name: "V", Value: Secret + "\nsecond line"}},
			Commands: []string{
				"pwd && cat marker && echo",
				`printf '%s\n' "$V"`,
				"for i in 1 2; do\n  echo line$i\ndone",
				`echo trailing \`,
			},
		}, {
			// A name the shell cannot export reaches its environment
			// (dash, Debian's sh, does not pass it on).
			Phase:    "PostBuild",
			Env:      []openrunner.EnvVar{{Name: "my-var", Value: "x"}},
			Commands: []string{`tr '\000' '\n' </proc/$$/environ | grep '^my-var='`},
		}},
	}
	img, log := s.mustBuild(t, h, &spec)
	for _, want := range []string{
		"[Build] " + s.opts.WorkDir(h, spec, img), "[Build] in the source directory",
		"[Build] " + Secret, "[Build] second line",
		"[Build] line1", "[Build] line2", `[Build] trailing \`,
		"[PostBuild] my-var=x",
	} {
		if log.Count(want) == 0 {
			t.Errorf("no log line %q", want)
		}
	}
	if !strings.HasSuffix(s.opts.WorkDir(h, spec, img), "/"+dir) {
		t.Errorf("WorkDir = %q, want it to end with /%s", s.opts.WorkDir(h, spec, img), dir)
	}
}

// testErrCommand checks a failing command: EINVALID naming the phase,
// the command and its exit code, the command's output and the builder's
// line for it in the log, nothing run after it, and nothing left.
func (s *suite) testErrCommand(t *testing.T) {
	s.need(t, s.opts.Runtime)
	h := s.newHarness(t)
	const failing = "echo 'this build fails on purpose' >&2; exit 3"
	spec := openrunner.BuildSpec{
		RevisionID: revision("fail"), SourceDir: WriteTree(t, map[string]string{"unique.txt": revision(t.Name())}),
		Runtime: s.opts.Runtime, Port: 8080,
		Steps: []openrunner.BuildStep{
			{Phase: "PreBuild", Commands: []string{"echo pre-build ran"}},
			{Phase: "Build", Commands: []string{"echo build ran", failing, "echo never"}},
			{Phase: "PreRun", OnRunImage: true, Commands: []string{"echo never"}},
		},
	}
	_, log, err := s.build(t, h, &spec)
	if openrunner.ErrorCode(err) != openrunner.EINVALID {
		t.Fatalf("Build: %v, want EINVALID", err)
	}
	msg := openrunner.ErrorMessage(err)
	if s.opts.CommandError != nil {
		if want := s.opts.CommandError("Build", failing, 3); msg != want {
			t.Errorf("message %q, want %q", msg, want)
		}
	}
	for _, want := range []string{"Build", strconv.Quote(failing), "exit code 3"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not name %s", msg, want)
		}
	}
	checkPrefixes(t, log, "PreBuild", "Build")
	wantLines(t, log, 1,
		"[PreBuild] pre-build ran", "[Build] build ran", "[Build] this build fails on purpose",
		// Docker's words for a RUN step that fails.
		"[Build] The command '/bin/sh -c "+failing+"' returned a non-zero code: 3")
	if strings.Contains(log.String(), "never") {
		t.Errorf("what comes after the failed command ran")
	}
	s.checkFailed(t, h, spec, log)
}

// testErrSpec checks specs that no implementation can build: EINVALID
// before anything runs.
func (s *suite) testErrSpec(t *testing.T) {
	h := s.newHarness(t)
	src := WriteTree(t, map[string]string{"sub/a.txt": "a"})
	steps := []openrunner.BuildStep{{Phase: "Build", Commands: []string{"echo never"}}}
	for name, spec := range map[string]openrunner.BuildSpec{
		"RevisionEmpty":  {SourceDir: src, Runtime: s.opts.Runtime, Steps: steps},
		"DirectoryUp":    {RevisionID: "r", SourceDir: src, Directory: "../x", Runtime: s.opts.Runtime, Steps: steps},
		"DirectoryAbs":   {RevisionID: "r", SourceDir: src, Directory: "/sub", Runtime: s.opts.Runtime, Steps: steps},
		"DirectoryDirty": {RevisionID: "r", SourceDir: src, Directory: "sub/../sub", Runtime: s.opts.Runtime, Steps: steps},
		"EnvName": {RevisionID: "r", SourceDir: src, Runtime: s.opts.Runtime,
			Steps: []openrunner.BuildStep{{Phase: "Build", Env: []openrunner.EnvVar{{Name: "A=B"}}, Commands: []string{"echo never"}}}},
		"UnknownRuntime": {RevisionID: "r", SourceDir: src, Runtime: "cobol1", Steps: steps},
		"FutureRuntime":  {RevisionID: "r", SourceDir: src, Runtime: "python312", Steps: steps},
	} {
		t.Run(name, func(t *testing.T) {
			if spec.RevisionID != "" {
				spec.RevisionID = revision(spec.RevisionID)
			}
			_, log, err := s.build(t, h, &spec)
			if openrunner.ErrorCode(err) != openrunner.EINVALID {
				t.Fatalf("Build: %v, want EINVALID", err)
			}
			t.Log(openrunner.ErrorMessage(err))
			if strings.HasSuffix(name, "Runtime") && !strings.Contains(openrunner.ErrorMessage(err), strconv.Quote(spec.Runtime)) {
				t.Errorf("message %q does not name runtime %q", openrunner.ErrorMessage(err), spec.Runtime)
			}
			if strings.Contains(log.String(), "never") {
				t.Errorf("a command ran:\n%s", log)
			}
			if spec.RevisionID != "" {
				if b, ok := listed(t, h, spec.RevisionID); ok {
					t.Errorf("Builds lists %+v", b)
				}
			}
		})
	}
}

// testCancel cancels a build while a command runs: Build returns ctx's
// error at once, and leaves nothing behind.
func (s *suite) testCancel(t *testing.T) {
	s.need(t, s.opts.Runtime)
	h := s.newHarness(t)
	// A build that never gets cancelled ends anyway (and fails below).
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rev := revision("cancel")
	var cancelled time.Time
	var once sync.Once
	log := &Log{on: func(line string) {
		// Once the command runs: its output, not its Step line.
		if line == "[Build] is sleeping" {
			once.Do(func() {
				cancelled = time.Now()
				cancel()
			})
		}
	}}
	spec := openrunner.BuildSpec{
		ServiceARN: serviceARN(), RevisionID: rev, SourceDir: WriteTree(t, map[string]string{"a": rev}),
		Runtime: s.opts.Runtime, Port: 8080, Log: log.Add,
		Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{"printf 'is %s\\n' sleeping; sleep 300 # " + rev}}},
	}
	_, err := h.Build(ctx, spec)
	for _, l := range log.Lines() {
		t.Log(l)
	}
	if cancelled.IsZero() {
		t.Fatalf("Build: %v, and the command never ran", err)
	}
	if took := time.Since(cancelled); took > s.opts.CancelWithin {
		t.Errorf("Build returned %v after the cancel, want at most %v", took, s.opts.CancelWithin)
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build: %v, want context.Canceled", err)
	}
	s.checkFailed(t, h, spec, log)
}

// testBuilds checks that Builds lists what Build made until RemoveBuild,
// by the Ref Builds gives or the one Build returned, removes it, and that
// removing what is gone is not an error.
func (s *suite) testBuilds(t *testing.T) {
	s.need(t, s.opts.Runtime)
	h := s.newHarness(t)
	ctx := context.Background()
	src := WriteTree(t, map[string]string{"sub/a.txt": "a"})
	build := func(name string) (openrunner.BuildSpec, openrunner.Image) {
		t.Helper()
		spec := openrunner.BuildSpec{
			RevisionID: revision(name), SourceDir: src, Directory: "sub", Runtime: s.opts.Runtime,
			Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{"test -f a.txt"}}},
		}
		img, log, err := s.build(t, h, &spec)
		if err != nil {
			t.Fatalf("Build: %v", err)
		}
		if s.opts.CheckBuild != nil {
			s.opts.CheckBuild(t, h, spec, img, log.Lines())
		}
		return spec, img
	}
	one, oneImg := build("one")
	two, twoImg := build("two")

	builds, err := h.Builds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mine := map[string]openrunner.BuiltImage{}
	for _, b := range builds {
		if b.RevisionID == one.RevisionID || b.RevisionID == two.RevisionID {
			if _, dup := mine[b.RevisionID]; dup {
				t.Errorf("Builds lists revision %s twice: %+v", b.RevisionID, builds)
			}
			mine[b.RevisionID] = b
		}
	}
	if len(mine) != 2 || (s.opts.Isolated && len(builds) != 2) {
		t.Fatalf("Builds = %+v, want %s and %s", builds, one.RevisionID, two.RevisionID)
	}

	// By the Ref that Builds gives, then by the one that Build returned.
	s.mustRemove(t, h, one.RevisionID, mine[one.RevisionID].Ref, oneImg)
	if _, ok := listed(t, h, two.RevisionID); !ok {
		t.Errorf("removing %s removed %s", one.RevisionID, two.RevisionID)
	}
	s.mustRemove(t, h, two.RevisionID, twoImg.Ref, twoImg)
	for _, ref := range []string{oneImg.Ref, mine[one.RevisionID].Ref, twoImg.Ref} {
		if err := h.RemoveBuild(ctx, ref); err != nil {
			t.Errorf("RemoveBuild(%s) of a removed build: %v", ref, err)
		}
	}
	if s.opts.Isolated {
		if builds, err := h.Builds(ctx); err != nil || len(builds) != 0 {
			t.Errorf("Builds = %+v, %v after removing both", builds, err)
		}
	}
}

// testSampleApps builds each sample app the way a deployment does, from
// its apprunner.yaml or its API values, at the repository root or in a
// monorepo's subdirectory, starts it and asks it for its message.
func (s *suite) testSampleApps(t *testing.T) {
	langs := []struct {
		name string
		make func(string, ...sampleapp.Option) sampleapp.App
	}{
		{"Python", sampleapp.Python},
		{"Node", sampleapp.Node},
		{"Go", sampleapp.Go},
	}
	for _, lang := range langs {
		for _, mode := range []string{"Repository", "Monorepo", "API"} {
			t.Run(lang.name+"/"+mode, func(t *testing.T) {
				msg := fmt.Sprintf("hello from %s (%s)", lang.name, mode)
				var opts []sampleapp.Option
				if mode == "Monorepo" {
					opts = append(opts, sampleapp.WithDir("services/api"))
				}
				app := lang.make(msg, opts...)
				s.need(t, app.Runtime)
				t.Parallel()
				conf, err := app.Config()
				if mode == "API" {
					conf, err = app.APIConfig()
				}
				if err != nil {
					t.Fatal(err)
				}
				h := s.newHarness(t)
				spec := app.BuildSpec(conf, WriteTree(t, app.Files))
				spec.RevisionID = revision(strings.ToLower(lang.name + mode))
				begin := time.Now()
				img, log := s.mustBuild(t, h, &spec)
				built := time.Since(begin)
				checkPrefixes(t, log, "Build")

				command := conf.Run.Command
				if app.Language == "node" {
					// npm install's package-lock.json is in the image.
					command = "test -f package-lock.json && " + command
				}
				addr := h.Serve(t, img, openrunner.InstanceSpec{
					ServiceARN: spec.ServiceARN, RevisionID: spec.RevisionID,
					StartCommand: command, Port: conf.Run.Port, PortEnv: conf.Run.PortEnv, Env: sampleapp.RunEnv(conf),
				})
				if got, want := get(t, addr, "/"), msg+"\n"; got != want {
					t.Errorf("GET / = %q, want %q", got, want)
				}
				t.Logf("%s: build %v, start to first answer %v", app.Runtime, built.Round(time.Millisecond), time.Since(begin.Add(built)).Round(time.Millisecond))
			})
		}
	}
}
