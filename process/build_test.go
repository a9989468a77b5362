package process_test

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/apprunneryaml"
	"github.com/openrunner/openrunner/buildtest"
	"github.com/openrunner/openrunner/internal/sampleapp"
	"github.com/openrunner/openrunner/process"
)

// newBuilder returns a Runtime that builds into its own BuildDir, which it
// returns. lookup stands for OpenRunner's environment; nil means the real
// one.
func newBuilder(tb testing.TB, lookup func(string) (string, bool)) (*process.Runtime, string) {
	tb.Helper()
	dir := tb.TempDir()
	buildDir := filepath.Join(dir, "builds")
	rt, err := process.New(process.Options{Dir: filepath.Join(dir, "state"), BuildDir: buildDir, Owner: "test", LookupEnv: lookup})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { rt.Close() })
	return rt, buildDir
}

// withPath returns OpenRunner's environment with PATH set to path.
func withPath(path string, more ...string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		if k == "PATH" {
			return path, true
		}
		for i := 0; i+1 < len(more); i += 2 {
			if more[i] == k {
				return more[i+1], true
			}
		}
		return os.LookupEnv(k)
	}
}

// fakeTool writes an executable script name into a new directory and
// returns the directory: a toolchain for Build to find on PATH.
func fakeTool(tb testing.TB, name, script string) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		tb.Fatal(err)
	}
	return dir
}

// fakeRuby is a ruby31 toolchain that does nothing but tell its version,
// for tests of Build itself: ruby31 has no language environment.
func fakeRuby(tb testing.TB) func(string) (string, bool) {
	dir := fakeTool(tb, "ruby", `echo "ruby 3.1.4p223 (2023-03-30 revision 957bb7cb81) [x86_64-linux]"`)
	return withPath(dir + string(filepath.ListSeparator) + os.Getenv("PATH"))
}

// listTree returns the relative paths under dir.
func listTree(tb testing.TB, dir string) []string {
	tb.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func needTools(tb testing.TB, tools ...string) {
	tb.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			tb.Skipf("%s is not installed", tool)
		}
	}
}

// harness is the process runtime under buildtest: its instances run what
// it builds.
type harness struct {
	*process.Runtime
	buildDir string
}

func (h harness) Serve(tb testing.TB, img openrunner.Image, spec openrunner.InstanceSpec) string {
	return buildtest.ServeInstance(tb, h.Runtime, img, spec)
}

// runtimeTools are the host commands of the runtimes the suite builds;
// the first is the one whose version Build logs.
var runtimeTools = map[string][]string{
	"python311": {"python3"},
	"nodejs22":  {"node", "npm"},
	"go1":       {"go"},
	"ruby31":    {"ruby"}, // fakeRuby
}

// TestBuilder runs the Builder conformance suite with the host's
// toolchains, and fakeRuby for the builds that need none.
func TestBuilder(t *testing.T) {
	buildtest.Run(t, func(tb testing.TB) buildtest.Harness {
		rt, dir := newBuilder(tb, fakeRuby(tb))
		return harness{rt, dir}
	}, buildtest.Options{
		Runtime: "ruby31",
		// Build commands and instances run in the image's directory.
		WorkDir: func(_ buildtest.Harness, _ openrunner.BuildSpec, img openrunner.Image) string { return img.Ref },
		NeedRuntime: func(tb testing.TB, runtime string) {
			if runtime != "ruby31" {
				needTools(tb, runtimeTools[runtime]...)
			}
		},
		CommandError: func(phase, command string, code int) string {
			return fmt.Sprintf("the %s command %q failed with exit code %d", phase, command, code)
		},
		CancelWithin: 5 * time.Second,
		Isolated:     true,
		CheckBuild:   checkBuild,
		CheckRemoved: func(t testing.TB, h buildtest.Harness, img openrunner.Image) {
			dir := h.(harness).buildDir
			rel, err := filepath.Rel(dir, img.Ref)
			if err != nil || !filepath.IsLocal(rel) {
				t.Fatalf("image %s is not in %s", img.Ref, dir)
			}
			rev, _, _ := strings.Cut(rel, string(filepath.Separator))
			if _, err := os.Stat(filepath.Join(dir, rev)); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("build %s is still there: %v", rev, err)
			}
		},
		CheckFailed: func(t testing.TB, h buildtest.Harness, _ openrunner.BuildSpec, _ []string) {
			if left := listTree(t, h.(harness).buildDir); len(left) != 1 {
				t.Errorf("a failed build left %q", left)
			}
		},
	})
}

// checkBuild checks a build of the suite: its image is its directory's
// copy of spec.Directory, its ID names the revision and the source tree,
// its log names the host's toolchain, and every line carries the phase of
// one of spec's steps (the first's before the steps run).
func checkBuild(t testing.TB, h buildtest.Harness, spec openrunner.BuildSpec, img openrunner.Image, log []string) {
	t.Helper()
	if want := filepath.Join(h.(harness).buildDir, spec.RevisionID, "app", filepath.FromSlash(spec.Directory)); img.Ref != want {
		t.Errorf("Ref = %s, want %s", img.Ref, want)
	}
	if want := "build:" + spec.RevisionID + ":sha256:"; !strings.HasPrefix(img.ID, want) {
		t.Errorf("ID = %s, want %s...", img.ID, want)
	}
	first, phases := "Build", map[string]bool{}
	for i, st := range spec.Steps {
		if i == 0 {
			first = st.Phase
		}
		phases[st.Phase] = true
	}
	phases[first] = true
	for _, l := range log {
		if p, _, ok := strings.Cut(strings.TrimPrefix(l, "["), "] "); !ok || !strings.HasPrefix(l, "[") || !phases[p] {
			t.Errorf("line %q has no prefix of a phase of the build", l)
		}
	}
	tool := runtimeTools[spec.Runtime][0]
	if want := "[" + first + "] Using the host's " + tool + " ("; !slices.ContainsFunc(log, func(l string) bool { return strings.HasPrefix(l, want) }) {
		t.Errorf("no line names the host's %s:\n%s", tool, strings.Join(log, "\n"))
	}
}

// TestPortEnv checks that InstanceSpec.PortEnv receives the port the
// runtime picked, as PORT does, and that Env cannot override either.
func TestPortEnv(t *testing.T) {
	rt := newRuntime(t, t.TempDir())
	inst := start(t, rt, openrunner.InstanceSpec{Image: mustApp(t), Port: 8080, PortEnv: "APP_PORT",
		Env: map[string]string{"APP_PORT": "1", "PORT": "2"}})
	_, port, err := net.SplitHostPort(inst.Addr)
	if err != nil {
		t.Fatal(err)
	}
	waitGet(t, inst, "/")
	for _, name := range []string{"PORT", "APP_PORT"} {
		if code, got := getStatus(inst, "/env?name="+name); code != 200 || got != port {
			t.Errorf("GET /env?name=%s = %d %q, want %s", name, code, got, port)
		}
	}
	_, err = rt.StartInstance(context.Background(), openrunner.InstanceSpec{Image: mustApp(t), Port: 8080, PortEnv: "A=B"})
	if got, want := openrunner.ErrorCode(err), openrunner.EINVALID; got != want {
		t.Errorf("StartInstance with PortEnv A=B: %v, want %s", err, want)
	}

	t.Run("SampleApp", func(t *testing.T) {
		needTools(t, "python3")
		// The app listens on APP_PORT rather than PORT.
		app := sampleapp.Python("on the alias", sampleapp.WithPortEnv("APP_PORT"))
		rt, _ := newBuilder(t, nil)
		img, conf := mustBuildApp(t, rt, app)
		if conf.Run.PortEnv != "APP_PORT" {
			t.Fatalf("run.network.env = %q", conf.Run.PortEnv)
		}
		inst := start(t, rt, openrunner.InstanceSpec{Image: img.Ref, StartCommand: conf.Run.Command, Port: conf.Run.Port, PortEnv: conf.Run.PortEnv})
		if got, want := waitGet(t, inst, "/"), "on the alias\n"; got != want {
			t.Errorf("GET / = %q, want %q", got, want)
		}
	})
}

// mustBuildApp builds app from its apprunner.yaml on rt and returns the
// image and the configuration.
func mustBuildApp(t *testing.T, rt *process.Runtime, app sampleapp.App) (openrunner.Image, *apprunneryaml.Config) {
	t.Helper()
	conf, err := app.Config()
	if err != nil {
		t.Fatal(err)
	}
	var log buildtest.Log
	spec := app.BuildSpec(conf, buildtest.WriteTree(t, app.Files))
	spec.RevisionID, spec.Log = "r"+strconv.FormatInt(time.Now().UnixNano(), 36), log.Add
	img, err := rt.Build(context.Background(), spec)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, &log)
	}
	return img, conf
}

// TestBuildMissingToolchain checks every managed runtime against a host
// without its commands.
func TestBuildMissingToolchain(t *testing.T) {
	empty := t.TempDir()
	rt, buildDir := newBuilder(t, withPath(empty))
	src := buildtest.WriteTree(t, map[string]string{"a.txt": "a"})
	want := map[string]string{
		"python3": "python3", "python311": "python3", "nodejs12": "node and npm", "nodejs14": "node and npm",
		"nodejs16": "node and npm", "nodejs18": "node and npm", "nodejs22": "node and npm", "go1": "go",
		"corretto8": "java", "corretto11": "java", "dotnet6": "dotnet", "php81": "php", "ruby31": "ruby",
	}
	for _, r := range apprunneryaml.Runtimes() {
		t.Run(r.Name, func(t *testing.T) {
			var log buildtest.Log
			_, err := rt.Build(context.Background(), openrunner.BuildSpec{RevisionID: "rev", SourceDir: src, Runtime: r.Name,
				Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{"echo never"}}}, Log: log.Add})
			if got := openrunner.ErrorCode(err); got != openrunner.EINVALID {
				t.Fatalf("Build: %v, want EINVALID", err)
			}
			msg := openrunner.ErrorMessage(err)
			for _, s := range []string{"runtime " + r.Name + " needs " + want[r.Name], "has no " + want[r.Name], empty, "docker"} {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not say %q", msg, s)
				}
			}
			if strings.Contains(log.String(), "never") {
				t.Errorf("a command ran:\n%s", &log)
			}
		})
	}
	if left := listTree(t, buildDir); len(left) != 1 {
		t.Errorf("failed builds left %q", left)
	}

	t.Run("NodeWithoutNPM", func(t *testing.T) {
		node, err := exec.LookPath("node")
		if err != nil {
			t.Skip("node is not installed")
		}
		dir := t.TempDir()
		if err := os.Symlink(node, filepath.Join(dir, "node")); err != nil {
			t.Fatal(err)
		}
		rt, _ := newBuilder(t, withPath(dir))
		_, err = rt.Build(context.Background(), openrunner.BuildSpec{RevisionID: "rev", SourceDir: src, Runtime: "nodejs22"})
		if msg := openrunner.ErrorMessage(err); openrunner.ErrorCode(err) != openrunner.EINVALID || !strings.Contains(msg, "has no npm:") {
			t.Errorf("Build: %v; want EINVALID saying that npm is missing", err)
		}
	})

	t.Run("Broken", func(t *testing.T) {
		// A toolchain that is there but does not run (a pyenv shim of a
		// version that is not installed) is just as missing.
		dir := fakeTool(t, "python3", `echo "pyenv: python3: command not found" >&2; exit 127`)
		rt, _ := newBuilder(t, withPath(dir))
		_, err := rt.Build(context.Background(), openrunner.BuildSpec{RevisionID: "rev", SourceDir: src, Runtime: "python311"})
		if msg := openrunner.ErrorMessage(err); openrunner.ErrorCode(err) != openrunner.EINVALID || !strings.Contains(msg, "pyenv: python3: command not found") {
			t.Errorf("Build: %v; want EINVALID with the tool's output", err)
		}
	})
}

// TestBuildPhases checks what every build command sees and where its
// output goes: phase prefixes, stdout and stderr in order, the working
// directory, the step's environment and no more of OpenRunner's, and the
// original build running its build commands twice.
func TestBuildPhases(t *testing.T) {
	t.Setenv("OPENRUNNER_TEST_SECRET", "secret")
	rt, _ := newBuilder(t, fakeRuby(t))
	src := buildtest.WriteTree(t, map[string]string{"svc/app.rb": "puts 1\n", "README": "r"})
	var log buildtest.Log
	env := []openrunner.EnvVar{{Name: "STEP_VAR", Value: "step value"}}
	spec := openrunner.BuildSpec{
		RevisionID: "phases", SourceDir: src, Directory: "svc", Runtime: "ruby31", RuntimeVersion: "3.1", Log: log.Add,
		Steps: []openrunner.BuildStep{
			{Phase: "PreBuild", Env: env, Commands: []string{`echo "out 1"; echo "err 1" >&2; echo "out 2"`, `printf 'no newline'`}},
			{Phase: "Build", Env: env, Commands: []string{`echo "in $(pwd)"`, "echo built >> count.txt"}},
			{Phase: "Build", Env: env, OnRunImage: true, Commands: []string{`echo "in $(pwd)"`, "echo built >> count.txt"}},
			{Phase: "PreRun", Env: env, OnRunImage: true, Commands: []string{`echo "var=$STEP_VAR secret=[$OPENRUNNER_TEST_SECRET]"`}},
			{Phase: "PostBuild", Env: env, Commands: []string{"cat count.txt | wc -l | tr -d ' '", "echo one\necho two"}},
		},
	}
	img, err := rt.Build(context.Background(), spec)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, &log)
	}
	want := []string{
		"[PreBuild] Using the host's ruby (ruby 3.1.4p223 (2023-03-30 revision 957bb7cb81) [x86_64-linux]) for runtime ruby31",
		`[PreBuild] Step 1/2 : RUN echo "out 1"; echo "err 1" >&2; echo "out 2"`,
		"[PreBuild] out 1",
		"[PreBuild] err 1",
		"[PreBuild] out 2",
		"[PreBuild] Step 2/2 : RUN printf 'no newline'",
		"[PreBuild] no newline",
		`[Build] Step 1/2 : RUN echo "in $(pwd)"`,
		"[Build] in " + img.Ref,
		"[Build] Step 2/2 : RUN echo built >> count.txt",
		`[Build] Step 1/2 : RUN echo "in $(pwd)"`,
		"[Build] in " + img.Ref,
		"[Build] Step 2/2 : RUN echo built >> count.txt",
		`[PreRun] Step 1/1 : RUN echo "var=$STEP_VAR secret=[$OPENRUNNER_TEST_SECRET]"`,
		"[PreRun] var=step value secret=[]",
		"[PostBuild] Step 1/2 : RUN cat count.txt | wc -l | tr -d ' '",
		"[PostBuild] 2",
		"[PostBuild] Step 2/2 : RUN echo one",
		"[PostBuild] echo two",
		"[PostBuild] one",
		"[PostBuild] two",
	}
	if got := log.Lines(); !slices.Equal(got, want) {
		t.Errorf("log:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if b, err := os.ReadFile(filepath.Join(src, "svc", "count.txt")); err == nil {
		t.Errorf("the build wrote to the snapshot: %q", b)
	}
}

func TestBuildVersion(t *testing.T) {
	ruby := fakeRuby(t)
	java := withPath(fakeTool(t, "java", `echo 'openjdk version "1.8.0_392"' >&2; echo 'OpenJDK Runtime Environment Corretto-8.392.08.1' >&2`))
	src := buildtest.WriteTree(t, map[string]string{"a": "a"})
	for _, tc := range []struct {
		env           func(string) (string, bool)
		runtime, want string
		warn          bool
	}{
		{ruby, "ruby31", "", false},
		{ruby, "ruby31", "3", false},
		{ruby, "ruby31", "3.1", false},
		{ruby, "ruby31", "3.1.4", false},
		{ruby, "ruby31", "3.1.40", true},
		{ruby, "ruby31", "3.2", true},
		{java, "corretto8", "8", false},
		{java, "corretto11", "11", true},
	} {
		t.Run(tc.runtime+"/"+tc.want, func(t *testing.T) {
			rt, _ := newBuilder(t, tc.env)
			var log buildtest.Log
			if _, err := rt.Build(context.Background(), openrunner.BuildSpec{RevisionID: "v", SourceDir: src, Runtime: tc.runtime, RuntimeVersion: tc.want, Log: log.Add}); err != nil {
				t.Fatal(err)
			}
			warned := strings.Contains(log.String(), "[Build] Warning: runtime "+tc.runtime+" asks for version "+tc.want+", but the host's")
			if warned != tc.warn {
				t.Errorf("warned %v, want %v:\n%s", warned, tc.warn, &log)
			}
			if tc.runtime == "corretto8" && log.Count(`[Build] Using the host's java (openjdk version "1.8.0_392") for runtime corretto8`) == 0 {
				t.Errorf("no line naming java:\n%s", &log)
			}
		})
	}
}

// TestBuildPythonEnvAtRunTime checks that the app runs in the build's
// Python environment. (That build.env reaches the build and not the app,
// and run.env the app and not the build, buildtest checks.)
func TestBuildPythonEnvAtRunTime(t *testing.T) {
	needTools(t, "python3")
	rt, buildDir := newBuilder(t, nil)
	app := sampleapp.Python("env")
	conf, err := app.Config()
	if err != nil {
		t.Fatal(err)
	}
	var log buildtest.Log
	spec := app.BuildSpec(conf, buildtest.WriteTree(t, app.Files))
	spec.RevisionID, spec.Log = "envs", log.Add
	img, err := rt.Build(context.Background(), spec)
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, &log)
	}
	inst := start(t, rt, openrunner.InstanceSpec{Image: img.Ref, StartCommand: conf.Run.Command, Port: conf.Run.Port, Env: sampleapp.RunEnv(conf)})
	waitGet(t, inst, "/")
	venv := filepath.Join(buildDir, "envs", "env", "python")
	if code, got := getStatus(inst, "/env?name=VIRTUAL_ENV"); code != 200 || got != venv {
		t.Errorf("GET /env?name=VIRTUAL_ENV = %d %q, want %q", code, got, venv)
	}
	if _, path := getStatus(inst, "/env?name=PATH"); !strings.HasPrefix(path, filepath.Join(venv, "bin")+":") {
		t.Errorf("PATH = %q, want the environment's bin first", path)
	}
}

// TestBuildPipIsolation installs packages with pip and pip3 --user in a
// build and checks that they land in the build, that the app imports them
// and that the host's Python does not see them.
func TestBuildPipIsolation(t *testing.T) {
	needTools(t, "python3")
	pkg := fmt.Sprintf("openrunner_pipcheck_%d", time.Now().UnixNano())
	userPkg := pkg + "_user"
	app := sampleapp.Python("unused")
	files := map[string]string{
		"wheels/" + pkg + "-1.0-py3-none-any.whl":     wheel(t, pkg, "from pip"),
		"wheels/" + userPkg + "-1.0-py3-none-any.whl": wheel(t, userPkg, "from pip --user"),
		"app.py": strings.Replace(app.Files["app.py"], `MESSAGE = "unused"`,
			"import "+pkg+", "+userPkg+"\nMESSAGE = "+pkg+".MSG + \" and \" + "+userPkg+".MSG", 1),
	}
	if files["app.py"] == app.Files["app.py"] {
		t.Fatal("the sample's app.py changed: cannot put the imports in")
	}
	rt, buildDir := newBuilder(t, nil)
	var log buildtest.Log
	img, err := rt.Build(context.Background(), openrunner.BuildSpec{
		RevisionID: "pip", SourceDir: buildtest.WriteTree(t, files), Runtime: "python311", RuntimeVersion: "3.11", Log: log.Add,
		Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{
			"pip install --no-index wheels/" + pkg + "-1.0-py3-none-any.whl",
			"pip3 install --user --no-index wheels/" + userPkg + "-1.0-py3-none-any.whl",
		}}},
	})
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, &log)
	}
	for _, p := range []string{
		filepath.Join(buildDir, "pip", "env", "python", "lib", "python*", "site-packages", pkg),
		filepath.Join(buildDir, "pip", "env", "python-user", "lib", "python*", "site-packages", userPkg),
	} {
		if m, _ := filepath.Glob(p); len(m) != 1 {
			t.Errorf("nothing installed at %s:\n%s", p, &log)
		}
	}
	host := exec.Command("python3", "-c", "import "+pkg)
	host.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if out, err := host.CombinedOutput(); err == nil {
		t.Errorf("the host's python3 imports %s: the build installed into the host", pkg)
	} else if !strings.Contains(string(out), "ModuleNotFoundError") {
		t.Errorf("the host's python3: %v\n%s", err, out)
	}
	host = exec.Command("python3", "-c", "import "+userPkg)
	host.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	if err := host.Run(); err == nil {
		t.Errorf("the host's python3 imports %s: the build installed into the host's user site", userPkg)
	}
	inst := start(t, rt, openrunner.InstanceSpec{Image: img.Ref, StartCommand: "python3 app.py", Port: 8080})
	if got, want := waitGet(t, inst, "/"), "from pip and from pip --user\n"; got != want {
		t.Errorf("GET / = %q, want %q", got, want)
	}
}

// wheel returns a pure-Python wheel of module name whose MSG is msg: what
// pip installs without an index.
func wheel(t *testing.T, name, msg string) string {
	t.Helper()
	var b strings.Builder
	z := zip.NewWriter(&b)
	for path, content := range map[string]string{
		name + "/__init__.py":                 "MSG = " + strconv.Quote(msg) + "\n",
		name + "-1.0.dist-info/METADATA":      "Metadata-Version: 2.1\nName: " + name + "\nVersion: 1.0\n",
		name + "-1.0.dist-info/WHEEL":         "Wheel-Version: 1.0\nGenerator: openrunner-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		name + "-1.0.dist-info/RECORD":        "",
		name + "-1.0.dist-info/top_level.txt": name + "\n",
	} {
		w, err := z.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestBuildNodeGlobalInstall checks that npm install -g lands in the build.
func TestBuildNodeGlobalInstall(t *testing.T) {
	needTools(t, "node", "npm")
	rt, buildDir := newBuilder(t, nil)
	tool := fmt.Sprintf("openrunner-npmcheck-%d", time.Now().UnixNano())
	src := buildtest.WriteTree(t, map[string]string{
		"tool/package.json": `{"name": "` + tool + `", "version": "1.0.0", "bin": {"` + tool + `": "bin.js"}}`,
		"tool/bin.js":       "#!/usr/bin/env node\nconsole.log('tool ran');\n",
	})
	var log buildtest.Log
	_, err := rt.Build(context.Background(), openrunner.BuildSpec{
		RevisionID: "npm", SourceDir: src, Runtime: "nodejs22", Log: log.Add,
		Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{
			"npm install -g --install-links --no-audit --no-fund ./tool",
			"chmod +x \"$(npm prefix -g)/lib/node_modules/" + tool + "/bin.js\"",
			tool,
		}}},
	})
	if err != nil {
		t.Fatalf("Build: %v\n%s", err, &log)
	}
	if log.Count("[Build] tool ran") == 0 {
		t.Errorf("the installed tool did not run:\n%s", &log)
	}
	if _, err := os.Stat(filepath.Join(buildDir, "npm", "env", "npm", "bin", tool)); err != nil {
		t.Errorf("npm install -g: %v\n%s", err, &log)
	}
	out, err := exec.Command("npm", "prefix", "-g").Output()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(strings.TrimSpace(string(out)), "bin", tool)); err == nil {
		t.Errorf("npm install -g installed %s into the host", tool)
	}
}

// TestBuildGoEnv checks the Go environment: GOBIN in the build, and
// GOTOOLCHAIN=local unless OpenRunner's environment sets it.
func TestBuildGoEnv(t *testing.T) {
	dir := fakeTool(t, "go", `echo "go version go1.18.7 linux/amd64"`)
	path := dir + string(filepath.ListSeparator) + os.Getenv("PATH")
	src := buildtest.WriteTree(t, map[string]string{"main.go": "package main\n"})
	for _, tc := range []struct {
		name string
		env  func(string) (string, bool)
		want string
	}{
		{"Default", withPath(path, "GOTOOLCHAIN", ""), "local"},
		{"Host", withPath(path, "GOTOOLCHAIN", "go1.22.0"), "go1.22.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt, buildDir := newBuilder(t, tc.env)
			var log buildtest.Log
			_, err := rt.Build(context.Background(), openrunner.BuildSpec{RevisionID: "go", SourceDir: src, Runtime: "go1", RuntimeVersion: "1", Log: log.Add,
				Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{`echo "$GOTOOLCHAIN $GOBIN"`}}}})
			if err != nil {
				t.Fatal(err)
			}
			if want := "[Build] " + tc.want + " " + filepath.Join(buildDir, "go", "env", "go", "bin"); log.Count(want) == 0 {
				t.Errorf("no line %q:\n%s", want, &log)
			}
		})
	}
}

// TestRemoveBuild checks what is the process runtime's own in Builds and
// RemoveBuild: builds are listed in the order of their directories' names,
// by the path of the copy of the whole repository, a ref that RemoveBuild
// takes as well as a file URL of the image; a removal takes the build's
// whole directory, and never anything outside BuildDir. (That Builds lists
// what Build made until RemoveBuild, and that removing what is gone is no
// error, buildtest checks.)
func TestRemoveBuild(t *testing.T) {
	rt, buildDir := newBuilder(t, fakeRuby(t))
	ctx := context.Background()
	src := buildtest.WriteTree(t, map[string]string{"sub/a.txt": "a"})
	build := func(rev string) openrunner.Image {
		t.Helper()
		img, err := rt.Build(ctx, openrunner.BuildSpec{RevisionID: rev, SourceDir: src, Directory: "sub", Runtime: "ruby31"})
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	one, two := build("one"), build("two")
	builds, err := rt.Builds(ctx)
	if err != nil || len(builds) != 2 || builds[0].RevisionID != "one" || builds[1].RevisionID != "two" ||
		builds[0].Ref != filepath.Join(buildDir, "one", "app") {
		t.Fatalf("Builds = %+v, %v", builds, err)
	}
	if err := rt.RemoveBuild(ctx, builds[0].Ref); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(buildDir, "one")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("build one is still there: %v", err)
	}
	if err := rt.RemoveBuild(ctx, "file://"+two.Ref); err != nil {
		t.Fatal(err)
	}
	if left := listTree(t, buildDir); len(left) != 1 {
		t.Errorf("left %q", left)
	}

	outside := t.TempDir()
	for _, ref := range []string{outside, buildDir, filepath.Join(buildDir, "..", filepath.Base(outside)), buildDir + "/../builds2/x",
		filepath.Join(buildDir, ".hidden"), "relative/path", "file://example.com/x"} {
		if err := rt.RemoveBuild(ctx, ref); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("RemoveBuild(%s): %v, want EINVALID", ref, err)
		}
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("RemoveBuild removed %s", outside)
	}
	plain := newRuntime(t, t.TempDir())
	if err := plain.RemoveBuild(ctx, one.Ref); openrunner.ErrorCode(err) != openrunner.EINVALID {
		t.Errorf("RemoveBuild without a BuildDir: %v, want EINVALID", err)
	}
	if _, err := plain.Build(ctx, openrunner.BuildSpec{RevisionID: "x", SourceDir: src, Runtime: "ruby31"}); err == nil {
		t.Error("Build without a BuildDir succeeded")
	}

	// A directory of BuildDir without a finished build does not start.
	unfinished := filepath.Join(buildDir, "unfinished", "app")
	if err := os.MkdirAll(unfinished, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = rt.StartInstance(ctx, openrunner.InstanceSpec{Image: unfinished, Port: 8080, StartCommand: "sleep 10"})
	if got, want := openrunner.ErrorCode(err), openrunner.EINVALID; got != want {
		t.Errorf("StartInstance of an unfinished build: %v, want %s", err, want)
	}
}

// TestBuildInvalidSpec checks the specs the process runtime alone refuses;
// buildtest checks those that every Builder does.
func TestBuildInvalidSpec(t *testing.T) {
	rt, _ := newBuilder(t, fakeRuby(t))
	src := buildtest.WriteTree(t, map[string]string{"sub/a.txt": "a"})
	for name, spec := range map[string]openrunner.BuildSpec{
		// A revision ID names a directory of BuildDir.
		"RevisionPath":     {RevisionID: "../x", SourceDir: src, Runtime: "ruby31"},
		"DirectoryMissing": {RevisionID: "r", SourceDir: src, Directory: "nope", Runtime: "ruby31"},
		"DirectoryFile":    {RevisionID: "r", SourceDir: src, Directory: "sub/a.txt", Runtime: "ruby31"},
		"SourceRelative":   {RevisionID: "r", SourceDir: "src", Runtime: "ruby31"},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := rt.Build(context.Background(), spec); openrunner.ErrorCode(err) != openrunner.EINVALID {
				t.Errorf("Build: %v, want EINVALID", err)
			}
		})
	}
}

// TestBuildCancel cancels a build in the middle of a command: the
// command's whole process group dies. A second build of the same revision
// meanwhile is refused, and so is its removal. (That Build returns ctx's
// error at once and leaves nothing behind, buildtest checks.)
func TestBuildCancel(t *testing.T) {
	rt, buildDir := newBuilder(t, fakeRuby(t))
	pidFile := filepath.Join(t.TempDir(), "pid")
	src := buildtest.WriteTree(t, map[string]string{"a": "a"})
	spec := openrunner.BuildSpec{RevisionID: "cancel", SourceDir: src, Runtime: "ruby31",
		Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{"sleep 60 & echo $! > " + pidFile + "; wait; echo never"}}}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := rt.Build(ctx, spec)
		done <- err
	}()
	child := waitPID(t, pidFile)

	if _, err := rt.Build(context.Background(), spec); openrunner.ErrorCode(err) != openrunner.ECONFLICT {
		t.Errorf("a second Build of the revision: %v, want ECONFLICT", err)
	}
	if err := rt.RemoveBuild(context.Background(), filepath.Join(buildDir, "cancel", "app")); openrunner.ErrorCode(err) != openrunner.ECONFLICT {
		t.Errorf("RemoveBuild while it builds: %v, want ECONFLICT", err)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Build did not return after its context ended")
	}
	waitDead(t, child)
}

// TestBuildKillsLeftovers checks that a command's background processes are
// killed when it exits, and that Build does not wait for them.
func TestBuildKillsLeftovers(t *testing.T) {
	rt, _ := newBuilder(t, fakeRuby(t))
	pidFile := filepath.Join(t.TempDir(), "pid")
	src := buildtest.WriteTree(t, map[string]string{"a": "a"})
	begin := time.Now()
	_, err := rt.Build(context.Background(), openrunner.BuildSpec{RevisionID: "bg", SourceDir: src, Runtime: "ruby31",
		Steps: []openrunner.BuildStep{{Phase: "Build", Commands: []string{"sleep 60 & echo $! > " + pidFile}}}})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 10*time.Second {
		t.Errorf("Build took %v", took)
	}
	waitDead(t, waitPID(t, pidFile))
}

// waitPID waits for a PID to be written to path.
func waitPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return pid
		}
		if time.Now().After(deadline) {
			t.Fatalf("no PID in %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitDead waits for process pid to be gone (or a zombie).
func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(b), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d survived", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
