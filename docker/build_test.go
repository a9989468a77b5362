package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
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

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/internal/testutil"
)

// The build tests run on the engine: their runtimes map the managed
// runtimes they use to testutil's base image (python3, node, npm and go
// from Debian and the host), since nothing can be pulled from Docker Hub
// here.

// buildSecret is a build.env value with everything the shell could
// misread in it.
const buildSecret = `it's "quoted" $HOME ${x:-y} ` + "`id`" + ` \ ; & | > < # ünï`

// newBuilder returns a runtime whose python311, nodejs22 and go1 build on
// the test base image.
func newBuilder(t *testing.T) (*testEnv, *docker.Runtime) {
	t.Helper()
	e := mustEnv(t)
	base := testutil.NeedBuildBaseImage(t)
	return e, e.newRuntime(t, docker.Options{RuntimeImages: map[string]string{
		"python311": base, "nodejs22": base, "go1": base,
	}})
}

// buildLog collects a build's log lines.
type buildLog struct {
	mu    sync.Mutex
	lines []string
	on    func(line string) // called with each line, if set
}

func (l *buildLog) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	on := l.on
	l.mu.Unlock()
	if on != nil {
		on(line)
	}
}

func (l *buildLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.lines)
}

// count returns how many lines match re.
func (l *buildLog) count(re string) int {
	rx := regexp.MustCompile(re)
	n := 0
	for _, line := range l.all() {
		if rx.MatchString(line) {
			n++
		}
	}
	return n
}

// imageIDs returns the images the build's steps made or reused, from its
// " ---> <id>" lines.
func (l *buildLog) imageIDs() []string {
	re := regexp.MustCompile(`^\[\w+\]  ---> ([0-9a-f]{12})$`)
	var ids []string
	for _, line := range l.all() {
		if m := re.FindStringSubmatch(line); m != nil {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// writeTree writes files (path → content; "-> target" makes a symbolic
// link) under a new directory and returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(body, "-> "); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// listTree returns every path under dir with its mode and content, to
// check that a build leaves its source alone.
func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b.WriteString(p + " " + fi.Mode().String())
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
		t.Fatal(err)
	}
	return b.String()
}

// serviceARN returns a service ARN of its own for each test.
func serviceARN() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "arn:aws:apprunner:us-east-1:123456789012:service/build-test/" + hex.EncodeToString(b[:])
}

// mustBuild builds spec, logging its lines to the test, and removes the
// build when the test ends.
func mustBuild(t *testing.T, rt *docker.Runtime, spec openrunner.BuildSpec) (openrunner.Image, *buildLog) {
	t.Helper()
	log := &buildLog{}
	spec.Log = log.add
	start := time.Now()
	img, err := rt.Build(context.Background(), spec)
	for _, l := range log.all() {
		t.Log(l)
	}
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Logf("built %s (%s) in %v", img.Ref, img.ID, time.Since(start).Round(10*time.Millisecond))
	t.Cleanup(func() { mustRemoveBuild(t, rt, img) })
	return img, log
}

// mustRemoveBuild removes a build and checks that its images are gone.
func mustRemoveBuild(t *testing.T, rt *docker.Runtime, img openrunner.Image) {
	t.Helper()
	ctx := context.Background()
	listed := func() bool {
		builds, err := rt.Builds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range builds {
			if b.Ref == img.Ref {
				return true
			}
		}
		return false
	}
	if !listed() {
		t.Errorf("Builds does not list %s", img.Ref)
	}
	if err := rt.RemoveBuild(ctx, img.Ref); err != nil {
		t.Errorf("RemoveBuild(%s): %v", img.Ref, err)
		return
	}
	if listed() {
		t.Errorf("Builds lists %s after RemoveBuild", img.Ref)
	}
	for _, ref := range []string{img.Ref, strings.Replace(img.Ref, ":", "/cache:", 1)} {
		if _, err := env.client.ImageInspect(ctx, ref); !cerrdefs.IsNotFound(err) {
			t.Errorf("after RemoveBuild, %s: %v, want not found", ref, err)
		}
	}
}

// serve starts the built image as the deployer does, EnsureImage then
// StartInstance, and returns what GET / answers, decoded.
func serve(t *testing.T, rt *docker.Runtime, img openrunner.Image, spec openrunner.BuildSpec, command string) map[string]any {
	t.Helper()
	ctx := context.Background()
	got, err := rt.EnsureImage(ctx, img.Ref, false, nil)
	if err != nil || got.ID != img.ID {
		t.Fatalf("EnsureImage(%s) = %+v, %v; want the built image %s", img.Ref, got, err, img.ID)
	}
	inst, err := rt.StartInstance(ctx, openrunner.InstanceSpec{
		ServiceARN: spec.ServiceARN, RevisionID: spec.RevisionID, Image: img.Ref,
		Port: 8080, StartCommand: command,
	})
	if err != nil {
		t.Fatalf("StartInstance: %v", err)
	}
	t.Cleanup(func() {
		if err := rt.StopInstance(context.Background(), inst.ID, 0); err != nil {
			t.Errorf("StopInstance: %v", err)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := get("http://" + inst.Addr + "/")
		if err == nil {
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("GET / = %q: %v", body, err)
			}
			return m
		}
		if time.Now().After(deadline) {
			st, _ := rt.InstanceState(ctx, inst.ID)
			t.Fatalf("the instance does not answer: %v (state %+v)", err, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func get(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(resp.Status)
	}
	return string(body), nil
}

// checkPrefixes checks that every line carries a phase prefix and that
// each of phases has lines.
func checkPrefixes(t *testing.T, log *buildLog, phases ...string) {
	t.Helper()
	seen := map[string]bool{}
	for _, l := range log.all() {
		m := regexp.MustCompile(`^\[(PreBuild|Build|PreRun|PostBuild)\] `).FindStringSubmatch(l)
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

const pythonServer = `import json, os, http.server

def read(name):
    try:
        with open(name) as f:
            return f.read()
    except OSError:
        return None

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({
            "lang": "python", "cwd": os.getcwd(), "secret": os.environ.get("SECRET"),
            "prebuild": read("prebuild.txt"), "built": read("built.txt"),
            "prerun": read("prerun.txt"), "postbuild": read("postbuild.txt"),
        }).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

http.server.HTTPServer(("", int(os.environ["PORT"])), Handler).serve_forever()
`

// TestBuild_Python311 builds a revised build with every phase, in a
// source directory, with a build environment, and runs it.
func TestBuild_Python311(t *testing.T) {
	e, rt := newBuilder(t)
	src := writeTree(t, map[string]string{
		"shared/greeting.txt": "hello from the repository root",
		"web/server.py":       pythonServer,
		"web/link.txt":        "-> ../shared/greeting.txt",
	})
	before := listTree(t, src)
	vars := []openrunner.EnvVar{{Name: "SECRET", Value: buildSecret}}
	spec := openrunner.BuildSpec{
		ServiceARN: serviceARN(), RevisionID: "python-1", SourceDir: src, Directory: "web",
		Runtime: "python311", RuntimeVersion: "3.11", Port: 8080,
		Steps: []openrunner.BuildStep{
			{Phase: "PreBuild", Env: vars, Commands: []string{
				// The whole repository is in /app, symbolic links kept,
				// and the generated Dockerfile is not.
				"test -L link.txt && cat link.txt > prebuild.txt",
				"test ! -e /app/Dockerfile && test ! -e /app/source",
			}},
			{Phase: "Build", Env: vars, Commands: []string{`printf '%s' "$SECRET" > built.txt`}},
			{Phase: "PreRun", OnRunImage: true, Env: vars, Commands: []string{
				`python3 -c 'import os; open("prerun.txt", "w").write(os.environ["SECRET"])'`,
			}},
			{Phase: "PostBuild", Env: vars, Commands: []string{`echo "post-build sees $SECRET" | tee postbuild.txt`}},
		},
	}
	img, log := mustBuild(t, rt, spec)
	checkPrefixes(t, log, "PreBuild", "Build", "PreRun", "PostBuild")
	if n := log.count(`^\[PostBuild\] post-build sees ` + regexp.QuoteMeta(buildSecret) + `$`); n != 1 {
		t.Errorf("post-build's output appears %d times, want once", n)
	}
	if after := listTree(t, src); after != before {
		t.Errorf("the build changed its source directory:\n%s\nwas:\n%s", after, before)
	}

	got := serve(t, rt, img, spec, "python3 server.py")
	for k, want := range map[string]any{
		"lang": "python", "cwd": "/app/web",
		"prebuild": "hello from the repository root",
		"built":    buildSecret, "prerun": buildSecret,
		// Build variables are not the app's, and post-build's /app is
		// not deployed.
		"secret": nil, "postbuild": nil,
	} {
		if got[k] != want {
			t.Errorf("%s = %#v, want %#v", k, got[k], want)
		}
	}

	ii, err := e.client.ImageInspect(context.Background(), img.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range ii.Config.Env {
		if strings.HasPrefix(v, "SECRET=") {
			t.Errorf("the image's environment has %q", v)
		}
	}
	if _, ok := ii.Config.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports = %v, want 8080/tcp", ii.Config.ExposedPorts)
	}
	for k, want := range map[string]string{
		docker.LabelOwner: e.owner,
		// Not managed-by: the builder's containers would be instances.
		openrunner.LabelManagedBy:  "",
		openrunner.LabelServiceARN: spec.ServiceARN,
		openrunner.LabelRevision:   spec.RevisionID,
	} {
		if got := ii.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	svcID := spec.ServiceARN[strings.LastIndexByte(spec.ServiceARN, '/')+1:]
	if want := "openrunner-build/" + svcID + ":python-1"; img.Ref != want {
		t.Errorf("Ref = %q, want %q", img.Ref, want)
	}
	// The build stages' layers are kept under the cache tag, with the
	// same labels.
	ci, err := e.client.ImageInspect(context.Background(), "openrunner-build/"+svcID+"/cache:python-1")
	if err != nil {
		t.Fatalf("cache image: %v", err)
	}
	if got := ci.Config.Labels[docker.LabelOwner]; got != e.owner {
		t.Errorf("cache image's owner label = %q, want %q", got, e.owner)
	}
}

// TestBuild_Nodejs22 builds and runs a Node.js app whose build runs npm.
func TestBuild_Nodejs22(t *testing.T) {
	_, rt := newBuilder(t)
	src := writeTree(t, map[string]string{
		"package.json": `{"name": "build-test", "version": "1.0.0", "private": true, "scripts": {"start": "node server.js"}}`,
		"server.js": `const http = require("http");
const fs = require("fs");
http.createServer((req, res) => {
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify({lang: "node", secret: process.env.SECRET || null, lock: fs.existsSync("package-lock.json")}));
}).listen(Number(process.env.PORT));
`,
	})
	spec := openrunner.BuildSpec{
		ServiceARN: serviceARN(), RevisionID: "node-1", SourceDir: src,
		Runtime: "nodejs22", RuntimeVersion: "22", Port: 8080,
		Steps: []openrunner.BuildStep{
			{Phase: "Build", Env: []openrunner.EnvVar{{Name: "SECRET", Value: "x"}}, Commands: []string{"npm install --no-audit --no-fund"}},
			{Phase: "PreRun", OnRunImage: true, Commands: []string{"node --version"}},
		},
	}
	img, log := mustBuild(t, rt, spec)
	checkPrefixes(t, log, "Build", "PreRun")
	got := serve(t, rt, img, spec, "npm start")
	if got["lang"] != "node" || got["secret"] != nil || got["lock"] != true {
		t.Errorf("GET / = %v, want node, no secret, and the package-lock.json npm install wrote", got)
	}
}

const goServer = `package main

import (
	"encoding/json"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"lang": "go", "greeting": greeting})
	})
	http.ListenAndServe(":"+os.Getenv("PORT"), nil)
}
`

// goSource returns the source of a Go app that answers greeting.
func goSource(greeting string) map[string]string {
	return map[string]string{
		"go.mod":      "module example.com/buildtest\n\ngo 1.22\n",
		"main.go":     goServer,
		"greeting.go": "package main\n\nconst greeting = \"" + greeting + "\"\n",
	}
}

// goSpec is an original build of go1: the build commands run on the build
// image, then again on the run image.
func goSpec(src, revision string) openrunner.BuildSpec {
	build := []string{"go build -o server ."}
	return openrunner.BuildSpec{
		ServiceARN: serviceARN(), RevisionID: revision, SourceDir: src,
		Runtime: "go1", RuntimeVersion: "1.18", Port: 8080,
		Steps: []openrunner.BuildStep{
			{Phase: "Build", Commands: build},
			{Phase: "Build", OnRunImage: true, Commands: build},
		},
	}
}

// TestBuild_Go1 builds and runs an original build, whose build commands
// run twice.
func TestBuild_Go1(t *testing.T) {
	_, rt := newBuilder(t)
	spec := goSpec(writeTree(t, goSource("hello")), "go-1")
	img, log := mustBuild(t, rt, spec)
	checkPrefixes(t, log, "Build")
	// Once in the build stage's build, then in the packaging stage's:
	// there the build stage comes from the cache.
	if n := log.count(`^\[Build\] Step \d+/\d+ : RUN go build -o server \.$`); n != 3 {
		t.Errorf("%d RUN go build steps in the log, want 3 (build stage, then build stage again and packaging stage)", n)
	}
	got := serve(t, rt, img, spec, "./server")
	if got["lang"] != "go" || got["greeting"] != "hello" {
		t.Errorf("GET / = %v", got)
	}
}

// TestBuild_Cache rebuilds the same source, then with one file changed,
// and measures both.
func TestBuild_Cache(t *testing.T) {
	e, rt := newBuilder(t)
	src := writeTree(t, goSource("cache "+hex.EncodeToString([]byte(t.Name()))+time.Now().Format(time.RFC3339Nano)))
	spec := goSpec(src, "cache-1")
	arn := spec.ServiceARN

	start := time.Now()
	first, _ := mustBuild(t, rt, spec)
	cold := time.Since(start)

	spec.RevisionID = "cache-2"
	start = time.Now()
	_, log := mustBuild(t, rt, spec)
	warm := time.Since(start)
	// Every RUN of every stage's build comes from the cache.
	if runs, cached := log.count(`Step \d+/\d+ : RUN `), log.count(`^\[\w+\]  ---> Using cache$`); runs == 0 || cached < runs {
		t.Errorf("warm rebuild: %d RUN steps, %d from the cache; want all", runs, cached)
	}

	if err := os.WriteFile(filepath.Join(src, "greeting.go"), []byte("package main\n\nconst greeting = \"changed\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.RevisionID = "cache-3"
	start = time.Now()
	changed, log := mustBuild(t, rt, spec)
	oneFile := time.Since(start)
	if n := log.count(`^\[\w+\]  ---> Using cache$`); n == 0 {
		t.Errorf("rebuild after a change uses no cache at all")
	}
	t.Logf("go1 build: cold %v, warm rebuild %v, one file changed %v", cold.Round(10*time.Millisecond), warm.Round(10*time.Millisecond), oneFile.Round(10*time.Millisecond))
	if got := serve(t, rt, changed, spec, "./server"); got["greeting"] != "changed" {
		t.Errorf("after the change, greeting = %v", got["greeting"])
	}

	// Building a revision again replaces its image and removes the old
	// one, which nothing else uses.
	spec.ServiceARN, spec.RevisionID = arn, "cache-1"
	if err := os.WriteFile(filepath.Join(src, "greeting.go"), []byte("package main\n\nconst greeting = \"again\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := rt.Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if again.Ref != first.Ref || again.ID == first.ID {
		t.Errorf("rebuilt revision: %+v, was %+v; want the same ref, another image", again, first)
	}
	if _, err := e.client.ImageInspect(context.Background(), first.ID); !cerrdefs.IsNotFound(err) {
		t.Errorf("the revision's old image %s: %v, want removed", first.ID, err)
	}
}

// TestBuild_Quoting runs commands, values and a source directory that the
// Dockerfile must carry unchanged through the engine's parser.
func TestBuild_Quoting(t *testing.T) {
	_, rt := newBuilder(t)
	dir := `we$ird "dir" \ x`
	spec := openrunner.BuildSpec{
		ServiceARN: serviceARN(), RevisionID: "quoting-1", Directory: dir,
		SourceDir: writeTree(t, map[string]string{dir + "/marker": "in the source directory"}),
		Runtime:   "python311", Port: 8080,
		Steps: []openrunner.BuildStep{{
			Phase: "Build",
			Env:   []openrunner.EnvVar{{Name: "V", Value: buildSecret + "\nsecond line"}},
			Commands: []string{
				"pwd && cat marker && echo",
				`printf '%s\n' "$V"`,
				"for i in 1 2; do\n  echo line$i\ndone",
				`echo trailing \`,
			},
		}, {
			// A name the shell cannot export reaches it through env(1);
			// dash, Debian's sh, does not pass it on.
			Phase:    "PostBuild",
			Env:      []openrunner.EnvVar{{Name: "my-var", Value: "x"}},
			Commands: []string{`tr '\000' '\n' </proc/$$/environ | grep '^my-var='`},
		}},
	}
	_, log := mustBuild(t, rt, spec)
	for _, want := range []string{
		"[Build] /app/" + dir, "[Build] in the source directory",
		"[Build] " + buildSecret, "[Build] second line",
		"[Build] line1", "[Build] line2", `[Build] trailing \`,
		"[PostBuild] my-var=x",
	} {
		if log.count("^"+regexp.QuoteMeta(want)+"$") == 0 {
			t.Errorf("no log line %q", want)
		}
	}
}

// TestBuild_ErrCommand checks a failing command: EINVALID naming the
// phase, command and exit code, prefixed log lines, and nothing left of
// what the build made.
func TestBuild_ErrCommand(t *testing.T) {
	_, rt := newBuilder(t)
	ctx := context.Background()
	src := writeTree(t, map[string]string{"unique.txt": t.Name() + time.Now().Format(time.RFC3339Nano)})
	log := &buildLog{}
	spec := openrunner.BuildSpec{
		ServiceARN: serviceARN(), RevisionID: "fail-1", SourceDir: src,
		Runtime: "python311", Port: 8080, Log: log.add,
		Steps: []openrunner.BuildStep{
			{Phase: "PreBuild", Commands: []string{"echo pre-build ran"}},
			{Phase: "Build", Commands: []string{"echo build ran", "exit 3"}},
			{Phase: "PreRun", OnRunImage: true, Commands: []string{"echo never"}},
		},
	}
	_, err := rt.Build(ctx, spec)
	for _, l := range log.all() {
		t.Log(l)
	}
	if got, want := openrunner.ErrorMessage(err), `[Build] command "exit 3" failed with exit code 3`; openrunner.ErrorCode(err) != openrunner.EINVALID || got != want {
		t.Fatalf("Build: %v, want EINVALID %q", err, want)
	}
	checkPrefixes(t, log, "PreBuild", "Build")
	for _, want := range []string{`^\[PreBuild\] pre-build ran$`, `^\[Build\] build ran$`, `^\[Build\] .*returned a non-zero code: 3`} {
		if log.count(want) == 0 {
			t.Errorf("no log line matches %s", want)
		}
	}
	if log.count(`never`) != 0 {
		t.Errorf("the packaging stage was built after the failure")
	}
	checkRemoved(t, log)
}

// TestBuild_Cancel cancels a build while a command runs: Build returns at
// once and the engine stops the command.
func TestBuild_Cancel(t *testing.T) {
	e, rt := newBuilder(t)
	marker := "openrunner-cancel-" + hex.EncodeToString([]byte(time.Now().Format(time.RFC3339Nano)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &buildLog{}
	sleeping := false
	log.on = func(line string) {
		// Once the sleep's container runs.
		sleeping = sleeping || strings.Contains(line, "RUN sleep 300")
		if sleeping && strings.Contains(line, "Running in") {
			cancel()
		}
	}
	spec := openrunner.BuildSpec{
		ServiceARN: serviceARN(), RevisionID: "cancel-1", SourceDir: writeTree(t, map[string]string{"a": marker}),
		Runtime: "python311", Port: 8080, Log: log.add,
		Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{"sleep 300 # " + marker}}},
	}
	start := time.Now()
	_, err := rt.Build(ctx, spec)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Build: %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("Build returned %v after the start", d)
	}
	for _, l := range log.all() {
		t.Log(l)
	}
	// The engine kills and removes the step's container.
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := e.client.ContainerList(context.Background(), container.ListOptions{All: true})
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, c := range list {
			if strings.Contains(c.Command, marker) {
				left = append(left, c.ID[:12]+" "+c.State)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled step's containers are still there: %v", left)
		}
		time.Sleep(500 * time.Millisecond)
	}
	checkRemoved(t, log)
}

// checkRemoved checks that the images a failed build's log names are gone,
// but for the runtime's image.
func checkRemoved(t *testing.T, log *buildLog) {
	t.Helper()
	ctx := context.Background()
	bi, err := env.client.ImageInspect(ctx, testutil.NeedBuildBaseImage(t))
	if err != nil {
		t.Fatal(err)
	}
	ids := log.imageIDs()
	if len(ids) < 2 {
		t.Errorf("the log names images %v, want the runtime's and more", ids)
	}
	for _, id := range ids {
		if strings.HasPrefix(strings.TrimPrefix(bi.ID, "sha256:"), id) {
			continue
		}
		if _, err := env.client.ImageInspect(ctx, id); !cerrdefs.IsNotFound(err) {
			t.Errorf("image %s of the failed build: %v, want removed", id, err)
		}
	}
}

// TestBuild_ErrRuntimeImage checks runtimes without a usable image.
func TestBuild_ErrRuntimeImage(t *testing.T) {
	e := mustEnv(t)
	src := writeTree(t, map[string]string{"a": "a"})
	for _, tc := range []struct {
		name, runtime string
		images        map[string]string
		want          []string
	}{
		{"ErrUnknownRuntime", "cobol1", nil, []string{`"cobol1"`, "--runtime-image cobol1=IMAGE"}},
		{"ErrUnreachable", "python311", map[string]string{"python311": "127.0.0.1:1/openrunner/no-such-runtime:1"},
			[]string{"127.0.0.1:1/openrunner/no-such-runtime:1", "runtime python311", "--runtime-image python311=IMAGE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := e.newRuntime(t, docker.Options{RuntimeImages: tc.images})
			_, err := rt.Build(context.Background(), openrunner.BuildSpec{
				ServiceARN: serviceARN(), RevisionID: "r", SourceDir: src, Runtime: tc.runtime,
				Steps: []openrunner.BuildStep{{Phase: "Build"}},
			})
			if openrunner.ErrorCode(err) != openrunner.EINVALID {
				t.Fatalf("Build: %v, want EINVALID", err)
			}
			t.Log(openrunner.ErrorMessage(err))
			for _, w := range tc.want {
				if !strings.Contains(openrunner.ErrorMessage(err), w) {
					t.Errorf("message %q does not contain %q", openrunner.ErrorMessage(err), w)
				}
			}
		})
	}
}

// TestBuild_RuntimeImageThroughMirror builds on a runtime image that is
// pulled as service images are, through a mirror: by tag, and by digest
// (which the engine can keep only under the mirror's name).
func TestBuild_RuntimeImageThroughMirror(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	// A runtime image with nothing in it: a build without commands needs
	// no shell.
	local := "openrunner-test/empty-runtime:" + e.appTag
	if err := e.buildFiles(ctx, local, "FROM scratch\nCOPY marker /marker\n", map[string]string{"marker": "runtime"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.untag(context.Background(), local) })
	regHost := strings.TrimPrefix(e.registry.URL, "http://")
	digest, err := e.pushDigest(ctx, local, regHost+"/openrunner/empty-runtime:"+e.appTag)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, ref string }{
		{"Tag", ecrHost + "/openrunner/empty-runtime:" + e.appTag},
		{"Digest", ecrHost + "/openrunner/empty-runtime@" + digest},
	} {
		ref := tc.ref
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() {
				_ = e.untag(context.Background(), ref)
				_ = e.untag(context.Background(), strings.Replace(ref, ecrHost, regHost, 1))
			})
			rt := e.newRuntime(t, docker.Options{Mirrors: e.mirrors, RuntimeImages: map[string]string{"python311": ref}})
			spec := openrunner.BuildSpec{
				ServiceARN: serviceARN(), RevisionID: "mirror-1", SourceDir: writeTree(t, map[string]string{"app.py": "print()"}),
				Runtime: "python311", Port: 8080, Steps: []openrunner.BuildStep{{Phase: "Build"}},
			}
			img, log := mustBuild(t, rt, spec)
			if log.count(`^\[Build\] Pulling .* from mirror `) != 1 {
				t.Errorf("the log does not show the pull through the mirror")
			}
			if _, err := e.client.ContainerStatPath(ctx, mustCreate(t, img.ID), "/app/app.py"); err != nil {
				t.Errorf("/app/app.py in the built image: %v", err)
			}
		})
	}
}

// buildFiles builds an image of dockerfile and files under tag, with
// the classic builder.
func (e *testEnv) buildFiles(ctx context.Context, tag, dockerfile string, files map[string]string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files["Dockerfile"] = dockerfile
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := e.client.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags: []string{tag}, Dockerfile: "Dockerfile", Remove: true, ForceRemove: true, Version: build.BuilderV1,
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readStream(resp.Body, "build "+tag)
}

// pushDigest pushes src as dst, removes the dst tag, and returns the
// digest the registry stored it under.
func (e *testEnv) pushDigest(ctx context.Context, src, dst string) (string, error) {
	if err := e.client.ImageTag(ctx, src, dst); err != nil {
		return "", err
	}
	defer e.untag(context.Background(), dst)
	anon, _ := registry.EncodeAuthConfig(registry.AuthConfig{})
	rc, err := e.client.ImagePush(ctx, dst, image.PushOptions{RegistryAuth: anon})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var digest string
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error string `json:"error"`
			Aux   *struct {
				Digest string `json:"Digest"`
			} `json:"aux"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", err
		}
		if m.Error != "" {
			return "", errors.New(m.Error)
		}
		if m.Aux != nil && m.Aux.Digest != "" {
			digest = m.Aux.Digest
		}
	}
	if digest == "" {
		return "", errors.New("the push did not say the digest")
	}
	return digest, nil
}

// mustCreate creates (and later removes) a container of image, for
// looking at its files.
func mustCreate(t *testing.T, image string) string {
	t.Helper()
	resp, err := env.client.ContainerCreate(context.Background(), &container.Config{Image: image, Entrypoint: []string{"/none"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.client.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	})
	return resp.ID
}

// TestRemoveBuild checks the removals that are not errors.
func TestRemoveBuild(t *testing.T) {
	e, rt := newBuilder(t)
	ctx := context.Background()
	t.Run("Gone", func(t *testing.T) {
		if err := rt.RemoveBuild(ctx, "openrunner-build/no-such-service:r1"); err != nil {
			t.Errorf("RemoveBuild of nothing: %v", err)
		}
	})
	t.Run("OtherOwner", func(t *testing.T) {
		spec := openrunner.BuildSpec{
			ServiceARN: serviceARN(), RevisionID: "owner-1", SourceDir: writeTree(t, map[string]string{"a": "a"}),
			Runtime: "python311", Steps: []openrunner.BuildStep{{Phase: "Build"}},
		}
		img, _ := mustBuild(t, rt, spec)
		other := e.newRuntime(t, docker.Options{Owner: e.owner + "-other"})
		if err := other.RemoveBuild(ctx, img.Ref); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.ImageInspect(ctx, img.Ref); err != nil {
			t.Errorf("another owner's RemoveBuild removed %s: %v", img.Ref, err)
		}
	})
}
