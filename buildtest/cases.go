package buildtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sampleapp"
)

// The suite's cases, one method each; Run lists them.

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
