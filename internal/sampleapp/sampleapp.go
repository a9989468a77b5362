// Package sampleapp provides tiny App Runner source-code applications (a
// Python, a Node.js and a Go HTTP server, each with its apprunner.yaml) as
// file trees that tests commit to a simulated repository or write to a
// directory, with variants for monorepos and for failing deployments.
package sampleapp

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/apprunneryaml"
)

// ConfigFile is the name of App Runner's configuration file, which every
// app has in its source directory.
const ConfigFile = "apprunner.yaml"

// App is a sample application. Every app is an HTTP server using only its
// language's standard library: it listens on all interfaces on the port
// named by $PORT (or by the variable of WithPortEnv) and answers
//
//	GET /            200, Message followed by one "\n"
//	GET /env?name=N  200 with the value of environment variable N, or 404 if unset
//	GET /env-hash?name=N  200 with the SHA-256 of that value in hex, or 404
//	GET /sleep?ms=N  200 "slept" after N milliseconds (the Go app only; for load tests)
//
// and 404 to anything else.
type App struct {
	// Language is "python", "node" or "go".
	Language string
	// Message is what GET / answers, without the trailing newline.
	Message string
	// Dir is the source directory holding the app and its apprunner.yaml:
	// slash-separated, without leading slash, "" for the repository root.
	// A service's SourceDirectory is "/" + Dir.
	Dir string
	// Files is the repository: slash-separated paths from its root to
	// file contents. It is a plain map, so it can be passed to a function
	// taking map[string]string (providersim's Repo.Commit) as it is.
	Files map[string]string
	// Runtime is the apprunner.yaml runtime name: "python311", "nodejs22"
	// or "go1".
	Runtime string
	// Values configure the same build, start command and port through the
	// API (ConfigurationSource API, CodeConfigurationValues), which ignores
	// apprunner.yaml. The API has no build.env: WithBuildEnv has no
	// equivalent here, and WithRunEnv's variables are in Values.Env.
	Values openrunner.CodeValues
}

// Option changes an app.
type Option func(*options)

type options struct {
	dir         string
	brokenBuild bool
	invalid     bool
	port        int
	portEnv     string
	buildEnv    []openrunner.EnvVar
	runEnv      []openrunner.EnvVar
	secrets     []openrunner.EnvVar // name → value-from
}

// WithDir puts the app and its apprunner.yaml in the subdirectory dir of
// the repository instead of its root, as in a monorepo; a README.md stays at
// the root. dir is slash-separated; a leading slash is ignored, so
// SourceDirectory values such as "/services/api" can be given as they are.
// It panics if dir leaves the repository.
func WithDir(dir string) Option {
	d := path.Clean(strings.TrimLeft(dir, "/"))
	switch {
	case d == ".":
		d = ""
	case d == ".." || strings.HasPrefix(d, "../"):
		panic(fmt.Sprintf("sampleapp: directory %q leaves the repository", dir))
	}
	return func(o *options) { o.dir = d }
}

// WithRunSecret adds a run.secrets entry (and a Values.Secrets entry):
// the running app gets the value of the secret or parameter valueFrom
// names as the variable name.
func WithRunSecret(name, valueFrom string) Option {
	return func(o *options) { o.secrets = append(o.secrets, openrunner.EnvVar{Name: name, Value: valueFrom}) }
}

// WithBrokenBuild adds, after the real build command, one that prints
// BrokenBuildLine to stderr and exits with status 1, in apprunner.yaml
// and in Values.BuildCommand.
func WithBrokenBuild() Option { return func(o *options) { o.brokenBuild = true } }

// BrokenBuildLine is what the failing command of WithBrokenBuild prints.
const BrokenBuildLine = "sampleapp: this build fails on purpose"

// BrokenBuildCommand is the failing build command of WithBrokenBuild.
const BrokenBuildCommand = "echo '" + BrokenBuildLine + "' >&2; exit 1"

// WithInvalidConfig misspells the run section's "network" key as
// "netwrok" in apprunner.yaml, which App Runner rejects as an unknown key
// (apprunneryaml.Parse fails naming InvalidConfigKey). Values are not
// affected.
func WithInvalidConfig() Option { return func(o *options) { o.invalid = true } }

// InvalidConfigKey is the misspelt key of WithInvalidConfig.
const InvalidConfigKey = "netwrok"

// WithPort sets run.network.port and Values.Port; the default is 8080.
// The app still listens where the port variable says: runtimes that choose
// the port themselves (the process runtime) set it accordingly.
func WithPort(port int) Option { return func(o *options) { o.port = port } }

// WithPortEnv sets run.network.env: App Runner passes the port in the
// variable name as well as in PORT, and the app listens on the port name
// holds (falling back to PORT), so a runtime that does not set name
// leaves it on PORT. The API has no equivalent: with Values the app
// listens on PORT.
func WithPortEnv(name string) Option { return func(o *options) { o.portEnv = name } }

// WithBuildEnv adds a build.env variable: the build sees it, the running
// app does not.
func WithBuildEnv(name, value string) Option {
	return func(o *options) { o.buildEnv = append(o.buildEnv, openrunner.EnvVar{Name: name, Value: value}) }
}

// WithRunEnv adds a run.env variable (and a Values.Env entry): the running
// app sees it, the build does not.
func WithRunEnv(name, value string) Option {
	return func(o *options) { o.runEnv = append(o.runEnv, openrunner.EnvVar{Name: name, Value: value}) }
}

// lang is what differs between the apps.
type lang struct {
	name, runtime, apiRuntime string
	build, start              string
	files                     func(msg, portEnv string) map[string]string
}

// Python returns a Python 3.11 app (runtime python311, the revised build):
// app.py on http.server, built with "pip3 install -r requirements.txt"
// (an empty requirements.txt, so the build needs no network) and started
// with "python3 app.py". msg must be valid UTF-8.
func Python(msg string, opts ...Option) App {
	return newApp(lang{
		name: "python", runtime: "python311", apiRuntime: "PYTHON_311",
		build: "pip3 install -r requirements.txt", start: "python3 app.py",
		files: pythonFiles,
	}, msg, opts)
}

// Node returns a Node.js 22 app (runtime nodejs22, the revised build):
// server.js on the http module, with a package.json without dependencies,
// so that "npm install" (its build command) works offline, started with
// "node server.js". msg must be valid UTF-8.
func Node(msg string, opts ...Option) App {
	return newApp(lang{
		name: "node", runtime: "nodejs22", apiRuntime: "NODEJS_22",
		build: "npm install", start: "node server.js",
		files: nodeFiles,
	}, msg, opts)
}

// Go returns a Go app (runtime go1, the original build, whose build
// commands run twice): main.go on net/http with a go.mod for Go 1.18 (the
// version of App Runner's go1 runtime) and no dependencies, built with
// "go build -o app ." and started with "./app". go1 is past its end of
// support (December 1, 2025): App Runner refuses new services on it, so a
// test creating one must allow end-of-support runtimes. msg must be valid
// UTF-8.
func Go(msg string, opts ...Option) App {
	return newApp(lang{
		name: "go", runtime: "go1", apiRuntime: "GO_1",
		build: "go build -o app .", start: "./app",
		files: goFiles,
	}, msg, opts)
}

func newApp(l lang, msg string, opts []Option) App {
	o := options{port: apprunneryaml.DefaultPort}
	for _, opt := range opts {
		opt(&o)
	}
	a := App{
		Language: l.name,
		Message:  msg,
		Dir:      o.dir,
		Runtime:  l.runtime,
		Files:    map[string]string{"README.md": "# Sample " + l.name + " app\n\nAn OpenRunner test application.\n"},
		Values: openrunner.CodeValues{
			Runtime:      l.apiRuntime,
			BuildCommand: l.build,
			StartCommand: l.start,
			Port:         strconv.Itoa(o.port),
		},
	}
	if o.brokenBuild {
		a.Values.BuildCommand += " && " + BrokenBuildCommand
	}
	if len(o.runEnv) > 0 {
		a.Values.Env = map[string]string{}
		for _, v := range o.runEnv {
			a.Values.Env[v.Name] = v.Value
		}
	}
	if len(o.secrets) > 0 {
		a.Values.Secrets = map[string]string{}
		for _, v := range o.secrets {
			a.Values.Secrets[v.Name] = v.Value
		}
	}
	for name, content := range l.files(msg, o.portEnv) {
		a.Files[a.Path(name)] = content
	}
	a.Files[a.Path(ConfigFile)] = config(l, o)
	return a
}

// Path returns the repository path of name, a path relative to the app's
// source directory.
func (a App) Path(name string) string {
	if a.Dir == "" {
		return name
	}
	return a.Dir + "/" + name
}

// SourceDirectory returns the app's directory as the API's
// CodeRepository.SourceDirectory takes it: "/" or "/services/api".
func (a App) SourceDirectory() string { return "/" + a.Dir }

// Config parses the app's apprunner.yaml. It fails for WithInvalidConfig.
func (a App) Config() (*apprunneryaml.Config, error) {
	return apprunneryaml.Parse([]byte(a.Files[a.Path(ConfigFile)]))
}

// APIConfig returns the configuration the API path makes of Values.
func (a App) APIConfig() (*apprunneryaml.Config, error) {
	return apprunneryaml.FromAPI(apprunneryaml.CodeValues(a.Values))
}

// Write writes the app's files under dir, which it creates if needed.
func (a App) Write(dir string) error {
	names := make([]string, 0, len(a.Files))
	for name := range a.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(a.Files[name]), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// BuildSpec returns the build of conf (from Config or APIConfig) for the
// app written to sourceDir, as the deployer makes it: the steps of conf's
// build process with build.env, its runtime and version prefix, its port
// and the app's directory. ServiceARN, RevisionID and Log are left to the
// caller.
func (a App) BuildSpec(conf *apprunneryaml.Config, sourceDir string) openrunner.BuildSpec {
	spec := openrunner.BuildSpec{
		SourceDir:      sourceDir,
		Directory:      a.Dir,
		Runtime:        conf.Runtime.Name,
		RuntimeVersion: conf.LockedVersion(),
		Port:           conf.Run.Port,
	}
	for _, st := range conf.Steps() {
		bs := openrunner.BuildStep{Phase: string(st.Phase), OnRunImage: st.Image == apprunneryaml.RunImage, Commands: st.Commands}
		for _, v := range st.Env {
			bs.Env = append(bs.Env, openrunner.EnvVar{Name: v.Name, Value: v.Value})
		}
		spec.Steps = append(spec.Steps, bs)
	}
	return spec
}

// RunEnv returns conf's run.env as a map, as InstanceSpec.Env takes it
// (PORT and run.network.env are the runtime's to set).
func RunEnv(conf *apprunneryaml.Config) map[string]string {
	env := map[string]string{}
	for _, v := range conf.Run.Env {
		env[v.Name] = v.Value
	}
	return env
}

// config returns the apprunner.yaml of an app.
func config(l lang, o options) string {
	var b strings.Builder
	fmt.Fprintf(&b, "version: 1.0\nruntime: %s\nbuild:\n  commands:\n    build:\n      - %s\n", l.runtime, quote(l.build))
	if o.brokenBuild {
		fmt.Fprintf(&b, "      - %s\n", quote(BrokenBuildCommand))
	}
	writeEnv(&b, "  ", o.buildEnv)
	fmt.Fprintf(&b, "run:\n  command: %s\n", quote(l.start))
	network := "network"
	if o.invalid {
		network = InvalidConfigKey
	}
	fmt.Fprintf(&b, "  %s:\n    port: %d\n", network, o.port)
	if o.portEnv != "" {
		fmt.Fprintf(&b, "    env: %s\n", quote(o.portEnv))
	}
	writeEnv(&b, "  ", o.runEnv)
	if len(o.secrets) > 0 {
		b.WriteString("  secrets:\n")
		for _, v := range o.secrets {
			fmt.Fprintf(&b, "    - name: %s\n      value-from: %s\n", quote(v.Name), quote(v.Value))
		}
	}
	return b.String()
}

func writeEnv(b *strings.Builder, indent string, env []openrunner.EnvVar) {
	if len(env) == 0 {
		return
	}
	fmt.Fprintf(b, "%senv:\n", indent)
	for _, v := range env {
		fmt.Fprintf(b, "%s  - name: %s\n%s    value: %s\n", indent, quote(v.Name), indent, quote(v.Value))
	}
}

// quote returns s as a YAML double-quoted scalar: Go's escapes (\n, \t,
// \xXX, \uXXXX, ...) are all valid YAML escapes.
func quote(s string) string { return strconv.Quote(s) }

// jsString returns s as a JSON string, which is also a Python and a
// JavaScript string literal.
func jsString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(b)
}

// portVars returns the variables an app reads its port from, in order.
func portVars(portEnv string) []string {
	if portEnv == "" || portEnv == "PORT" {
		return []string{"PORT"}
	}
	return []string{portEnv, "PORT"}
}

func pythonFiles(msg, portEnv string) map[string]string {
	var port []string
	for _, v := range portVars(portEnv) {
		port = append(port, "os.environ.get("+jsString(v)+")")
	}
	port = append(port, `"8080"`)
	return map[string]string{
		"requirements.txt": "",
		"app.py": `"""A sample App Runner service: GET / answers MESSAGE."""

import hashlib
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MESSAGE = ` + jsString(msg) + `


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/":
            self.reply(200, MESSAGE + "\n")
        elif url.path == "/env":
            name = parse_qs(url.query).get("name", [""])[0]
            if name in os.environ:
                self.reply(200, os.environ[name])
            else:
                self.reply(404, "not set\n")
        elif url.path == "/env-hash":
            name = parse_qs(url.query).get("name", [""])[0]
            if name in os.environ:
                self.reply(200, hashlib.sha256(os.environ[name].encode("utf-8")).hexdigest())
            else:
                self.reply(404, "not set\n")
        else:
            self.reply(404, "not found\n")

    def reply(self, code, text):
        body = text.encode("utf-8")
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        print("%s %s" % (self.address_string(), format % args), flush=True)


if __name__ == "__main__":
    port = int(` + strings.Join(port, " or ") + `)
    server = ThreadingHTTPServer(("", port), Handler)
    print("listening on port %d" % port, flush=True)
    server.serve_forever()
`,
	}
}

func nodeFiles(msg, portEnv string) map[string]string {
	var port []string
	for _, v := range portVars(portEnv) {
		port = append(port, "process.env["+jsString(v)+"]")
	}
	return map[string]string{
		"package.json": `{
  "name": "sampleapp",
  "version": "1.0.0",
  "private": true,
  "description": "A sample App Runner service",
  "main": "server.js",
  "scripts": {
    "start": "node server.js"
  }
}
`,
		"server.js": `// A sample App Runner service: GET / answers MESSAGE.
"use strict";

const http = require("http");

const MESSAGE = ` + jsString(msg) + `;

const server = http.createServer((req, res) => {
  const url = new URL(req.url, "http://localhost");
  const reply = (code, text) => {
    res.writeHead(code, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(text);
  };
  if (req.method === "GET" && url.pathname === "/") {
    reply(200, MESSAGE + "\n");
  } else if (req.method === "GET" && url.pathname === "/env") {
    const name = url.searchParams.get("name") || "";
    if (Object.prototype.hasOwnProperty.call(process.env, name)) {
      reply(200, process.env[name]);
    } else {
      reply(404, "not set\n");
    }
  } else if (req.method === "GET" && url.pathname === "/env-hash") {
    const name = url.searchParams.get("name") || "";
    if (Object.prototype.hasOwnProperty.call(process.env, name)) {
      reply(200, require("crypto").createHash("sha256").update(process.env[name]).digest("hex"));
    } else {
      reply(404, "not set\n");
    }
  } else {
    reply(404, "not found\n");
  }
  console.log(req.method + " " + req.url);
});

const port = Number(` + strings.Join(port, " || ") + ` || 8080);
server.listen(port, () => console.log("listening on port " + port));

// As PID 1 in a container Node ignores SIGTERM unless it handles it.
process.on("SIGTERM", () => server.close(() => process.exit(0)));
`,
	}
}

func goFiles(msg, portEnv string) map[string]string {
	var port []string
	for _, v := range portVars(portEnv) {
		port = append(port, strconv.Quote(v))
	}
	return map[string]string{
		"go.mod": "module sampleapp\n\ngo 1.18\n",
		"main.go": `// Command sampleapp is a sample App Runner service: GET / answers message.
package main

import (
	"crypto/sha256"
	"fmt"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

const message = ` + strconv.Quote(msg) + `

func main() {
	port := "8080"
	for _, name := range []string{` + strings.Join(port, ", ") + `} {
		if v := os.Getenv(name); v != "" {
			port = v
			break
		}
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		switch {
		case r.Method != http.MethodGet:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		case r.URL.Path == "/":
			fmt.Fprintln(w, message)
		case r.URL.Path == "/env":
			v, ok := os.LookupEnv(r.URL.Query().Get("name"))
			if !ok {
				http.Error(w, "not set", http.StatusNotFound)
				return
			}
			fmt.Fprint(w, v)
		case r.URL.Path == "/env-hash":
			v, ok := os.LookupEnv(r.URL.Query().Get("name"))
			if !ok {
				http.Error(w, "not set", http.StatusNotFound)
				return
			}
			fmt.Fprintf(w, "%x", sha256.Sum256([]byte(v)))
		case r.URL.Path == "/sleep":
			ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
			if ms > 60000 {
				ms = 60000
			}
			time.Sleep(time.Duration(ms) * time.Millisecond)
			fmt.Fprintln(w, "slept")
			return
		default:
			http.NotFound(w, r)
		}
		log.Printf("%s %s", r.Method, r.URL)
	})
	log.Printf("listening on port %s", port)
	log.Fatal(http.ListenAndServe(":"+port, nil))
}
`,
	}
}
