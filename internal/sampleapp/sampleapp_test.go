package sampleapp_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner/apprunneryaml"
	"github.com/openrunner/openrunner/internal/sampleapp"
)

// tricky needs escaping in every language's string literal and in YAML.
const tricky = `it's "quoted" \ back\slashed, $dollar, ${x}, %s, <tag> & ünïcødé ✓`

type maker struct {
	name string
	make func(string, ...sampleapp.Option) sampleapp.App
	// tools the app needs on the host to run it here
	tools []string
}

var makers = []maker{
	{"Python", sampleapp.Python, []string{"python3"}},
	{"Node", sampleapp.Node, []string{"node"}},
	{"Go", sampleapp.Go, []string{"go"}},
}

func TestConfig(t *testing.T) {
	for _, m := range makers {
		for _, dir := range []string{"", "services/api"} {
			t.Run(m.name+"/"+strconv.Quote(dir), func(t *testing.T) {
				app := m.make(tricky, sampleapp.WithDir(dir))
				if got, want := app.Dir, dir; got != want {
					t.Errorf("Dir = %q, want %q", got, want)
				}
				if got, want := app.SourceDirectory(), "/"+dir; got != want {
					t.Errorf("SourceDirectory() = %q, want %q", got, want)
				}
				conf, err := app.Config()
				if err != nil {
					t.Fatalf("Config: %v\n%s", err, app.Files[app.Path(sampleapp.ConfigFile)])
				}
				if got, want := conf.Runtime.Name, app.Runtime; got != want {
					t.Errorf("runtime = %q, want %q", got, want)
				}
				if got, want := conf.Runtime.API, app.Values.Runtime; got != want {
					t.Errorf("runtime enum = %q, Values.Runtime %q", got, want)
				}
				if got, want := strings.Join(conf.Build.Commands, "; "), app.Values.BuildCommand; got != want {
					t.Errorf("build commands %q, Values.BuildCommand %q", got, want)
				}
				if got, want := conf.Run.Command, app.Values.StartCommand; got != want {
					t.Errorf("run.command %q, Values.StartCommand %q", got, want)
				}
				if got, want := strconv.Itoa(conf.Run.Port), app.Values.Port; got != want || got != "8080" {
					t.Errorf("port %s, Values.Port %s; want 8080", got, want)
				}
				api, err := app.APIConfig()
				if err != nil {
					t.Fatalf("APIConfig: %v", err)
				}
				if api.Runtime.Name != conf.Runtime.Name || api.Run.Command != conf.Run.Command || api.Run.Port != conf.Run.Port {
					t.Errorf("APIConfig = %+v, apprunner.yaml %+v", api, conf)
				}
				for name := range app.Files {
					if name != "README.md" && !strings.HasPrefix(name, app.Path("")) {
						t.Errorf("file %s is outside the source directory %q", name, dir)
					}
				}
				if _, ok := app.Files["README.md"]; !ok {
					t.Error("no README.md at the repository root")
				}

				spec := app.BuildSpec(conf, "/src")
				if spec.SourceDir != "/src" || spec.Directory != dir || spec.Runtime != app.Runtime || spec.Port != 8080 || spec.RuntimeVersion == "" {
					t.Errorf("BuildSpec = %+v", spec)
				}
				var phases []string
				for _, st := range spec.Steps {
					phases = append(phases, st.Phase)
				}
				want := "Build"
				if !conf.Runtime.Revised() {
					want = "Build Build" // the original build runs them again on the run image
				}
				if got := strings.Join(phases, " "); got != want {
					t.Errorf("BuildSpec phases %q, want %q", got, want)
				}
			})
		}
	}
}

func TestWithDir(t *testing.T) {
	for in, want := range map[string]string{"": "", "/": "", "/a/b/": "a/b", "a//b": "a/b", "./a": "a"} {
		if got := sampleapp.Python("x", sampleapp.WithDir(in)).Dir; got != want {
			t.Errorf("WithDir(%q): Dir %q, want %q", in, got, want)
		}
	}
	for _, in := range []string{"..", "../x", "/a/../../x"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("WithDir(%q) did not panic", in)
				}
			}()
			sampleapp.WithDir(in)
		}()
	}
}

func TestWithBrokenBuild(t *testing.T) {
	for _, m := range makers {
		app := m.make("x", sampleapp.WithBrokenBuild())
		conf, err := app.Config()
		if err != nil {
			t.Fatal(err)
		}
		if got := conf.Build.Commands; len(got) != 2 || got[1] != sampleapp.BrokenBuildCommand {
			t.Errorf("%s: build commands %q, want the real one then %q", m.name, got, sampleapp.BrokenBuildCommand)
		}
		if !strings.HasSuffix(app.Values.BuildCommand, "&& "+sampleapp.BrokenBuildCommand) {
			t.Errorf("%s: Values.BuildCommand = %q", m.name, app.Values.BuildCommand)
		}
		if _, err := app.APIConfig(); err != nil {
			t.Errorf("%s: APIConfig: %v", m.name, err)
		}
	}
	out, err := exec.Command("/bin/sh", "-c", sampleapp.BrokenBuildCommand).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || strings.TrimSpace(string(out)) != sampleapp.BrokenBuildLine {
		t.Errorf("sh -c BrokenBuildCommand: %v, %q; want exit status 1 and %q", err, out, sampleapp.BrokenBuildLine)
	}
}

func TestWithInvalidConfig(t *testing.T) {
	for _, m := range makers {
		app := m.make("x", sampleapp.WithInvalidConfig())
		_, err := app.Config()
		var ve *apprunneryaml.ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), sampleapp.InvalidConfigKey) {
			t.Errorf("%s: Config() = %v, want a validation error naming %s", m.name, err, sampleapp.InvalidConfigKey)
		}
		if _, err := app.APIConfig(); err != nil {
			t.Errorf("%s: APIConfig: %v", m.name, err)
		}
	}
}

func TestOptions(t *testing.T) {
	app := sampleapp.Node("x", sampleapp.WithPort(3000), sampleapp.WithPortEnv("APP_PORT"),
		sampleapp.WithBuildEnv("B", `b "1"`), sampleapp.WithRunEnv("R", "r: 2"))
	conf, err := app.Config()
	if err != nil {
		t.Fatal(err)
	}
	if conf.Run.Port != 3000 || conf.Run.PortEnv != "APP_PORT" || app.Values.Port != "3000" {
		t.Errorf("port %d, port env %q, Values.Port %q", conf.Run.Port, conf.Run.PortEnv, app.Values.Port)
	}
	if got := conf.BuildEnv(); len(got) != 1 || got[0].Name != "B" || got[0].Value != `b "1"` {
		t.Errorf("build env %+v", got)
	}
	if got := sampleapp.RunEnv(conf); len(got) != 1 || got["R"] != "r: 2" {
		t.Errorf("run env %v", got)
	}
	if got := app.Values.Env; len(got) != 1 || got["R"] != "r: 2" {
		t.Errorf("Values.Env %v", got)
	}
}

func TestWrite(t *testing.T) {
	app := sampleapp.Go("x", sampleapp.WithDir("svc"))
	dir := t.TempDir()
	if err := app.Write(dir); err != nil {
		t.Fatal(err)
	}
	for name, want := range app.Files {
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", name, b, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "svc", "main.go")); err != nil {
		t.Error(err)
	}
}

// TestServe runs each app with the host's toolchain (the way its start
// command does) and checks what it answers, escapes included.
func TestServe(t *testing.T) {
	for _, m := range makers {
		for _, portEnv := range []string{"", "APP_PORT"} {
			t.Run(m.name+"/"+strconv.Quote(portEnv), func(t *testing.T) {
				for _, tool := range m.tools {
					if _, err := exec.LookPath(tool); err != nil {
						t.Skipf("%s is not installed", tool)
					}
				}
				app := m.make(tricky, sampleapp.WithPortEnv(portEnv))
				dir := t.TempDir()
				if err := app.Write(dir); err != nil {
					t.Fatal(err)
				}
				conf, err := app.Config()
				if err != nil {
					t.Fatal(err)
				}
				env := append(os.Environ(), "GOTOOLCHAIN=local", "SAMPLE_VAR=sample value")
				if m.name == "Go" {
					// The build command, without the runtime around it.
					c := exec.Command("/bin/sh", "-c", app.Values.BuildCommand)
					c.Dir, c.Env = dir, env
					if out, err := c.CombinedOutput(); err != nil {
						t.Fatalf("%s: %v\n%s", app.Values.BuildCommand, err, out)
					}
				}
				port := freePort(t)
				if portEnv != "" {
					// The app prefers the alias; PORT points nowhere.
					env = append(env, "PORT=1", portEnv+"="+strconv.Itoa(port))
				} else {
					env = append(env, "PORT="+strconv.Itoa(port))
				}
				ctx, cancel := context.WithCancel(context.Background())
				c := exec.CommandContext(ctx, "/bin/sh", "-c", "exec "+conf.Run.Command)
				c.Dir, c.Env = dir, env
				var out strings.Builder
				c.Stdout, c.Stderr = &out, &out
				if err := c.Start(); err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() {
					cancel()
					_ = c.Wait()
					if t.Failed() {
						t.Logf("app output:\n%s", out.String())
					}
				})
				base := "http://127.0.0.1:" + strconv.Itoa(port)
				if got, want := waitGet(t, base+"/"), tricky+"\n"; got != want {
					t.Errorf("GET / = %q, want %q", got, want)
				}
				if code, body := get(base + "/env?name=SAMPLE_VAR"); code != 200 || body != "sample value" {
					t.Errorf("GET /env?name=SAMPLE_VAR = %d %q", code, body)
				}
				// sha256("sample value")
				if code, body := get(base + "/env-hash?name=SAMPLE_VAR"); code != 200 || body != "a109b9672d2b2083b88c0fa33b1948b1f976f1a7e2c4407b784a2bb458f498a7" {
					t.Errorf("GET /env-hash?name=SAMPLE_VAR = %d %q", code, body)
				}
				if code, _ := get(base + "/env?name=SAMPLE_UNSET"); code != 404 {
					t.Errorf("GET /env?name=SAMPLE_UNSET = %d, want 404", code)
				}
				if code, _ := get(base + "/elsewhere"); code != 404 {
					t.Errorf("GET /elsewhere = %d, want 404", code)
				}
			})
		}
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func get(url string) (int, string) {
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitGet(t *testing.T, url string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := get(url)
		if code == http.StatusOK {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no 200 in time (last %d %q)", url, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
