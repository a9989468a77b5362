package process

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/openrunner/openrunner"
)

// Files and directories in a build's directory, Options.BuildDir/<revision>.
const (
	buildApp    = "app"        // the copy of the source snapshot; the image is app/<Directory>
	buildEnvDir = "env"        // the language environments the build installs into
	buildRecord = "build.json" // how instances run; written once the build succeeded
)

const (
	// versionTimeout bounds the toolchain's version command.
	versionTimeout = 30 * time.Second
	// outputDrain is how long a finished command's output is still read
	// once its process group is gone: only a process that left the group
	// can hold the pipe open longer.
	outputDrain = 2 * time.Second
)

// buildName matches revision IDs, which name build directories.
var buildName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// toolchain is what a managed runtime needs on the host.
type toolchain struct {
	lang     string   // the language environment to set up: "python", "node", "go", or "" for none
	commands []string // needed on PATH; the first is the one whose version is logged
	version  []string // the arguments that make commands[0] print its version
}

// toolchains maps every managed runtime of apprunner-runtime.md §2 to the
// host commands its builds and instances use.
var toolchains = func() map[string]toolchain {
	python := toolchain{lang: "python", commands: []string{"python3"}, version: []string{"--version"}}
	node := toolchain{lang: "node", commands: []string{"node", "npm"}, version: []string{"--version"}}
	java := toolchain{commands: []string{"java"}, version: []string{"-version"}}
	return map[string]toolchain{
		"python3":    python,
		"python311":  python,
		"nodejs12":   node,
		"nodejs14":   node,
		"nodejs16":   node,
		"nodejs18":   node,
		"nodejs22":   node,
		"go1":        {lang: "go", commands: []string{"go"}, version: []string{"version"}},
		"corretto8":  java,
		"corretto11": java,
		"dotnet6":    {commands: []string{"dotnet"}, version: []string{"--version"}},
		"php81":      {commands: []string{"php"}, version: []string{"--version"}},
		"ruby31":     {commands: []string{"ruby"}, version: []string{"--version"}},
	}
}()

// toolEnv is what a build's language environment adds to the host's: every
// build command runs with it, and every instance of the build (its record
// keeps it), so that the app finds what the build installed.
type toolEnv struct {
	Path []string            `json:"path,omitempty"` // directories put in front of PATH
	Env  []openrunner.EnvVar `json:"env,omitempty"`
}

// apply returns env (hostEnviron) with t's PATH directories and variables.
func (t *toolEnv) apply(env []string) []string {
	out := append([]string(nil), env...)
	if len(t.Path) > 0 {
		p := strings.Join(t.Path, string(filepath.ListSeparator))
		if host := getenv(env, "PATH"); host != "" {
			p += string(filepath.ListSeparator) + host
		}
		out = append(out, "PATH="+p)
	}
	for _, v := range t.Env {
		out = append(out, v.Name+"="+v.Value)
	}
	return out
}

// record is a finished build, as its build.json keeps it.
type record struct {
	RevisionID string    `json:"revisionId"`
	ServiceARN string    `json:"serviceArn"`
	Runtime    string    `json:"runtime"`
	Image      string    `json:"image"`
	ID         string    `json:"id"`
	BuiltAt    time.Time `json:"builtAt"`
	Tools      toolEnv   `json:"tools"`
}

// Build builds spec on the host, in a directory of its own,
// Options.BuildDir/<spec.RevisionID> (one left by an earlier attempt at the
// same revision is replaced):
//
//  1. The toolchain of spec.Runtime must be on the host's PATH (python3;
//     node and npm; go; java; dotnet; php; ruby); its version is logged,
//     with a warning (and no failure) when it does not start with
//     spec.RuntimeVersion.
//  2. spec.SourceDir is copied to app/; the image is app/<spec.Directory>.
//  3. A language environment keeps what the build installs out of the
//     host's: for Python, a virtual environment sharing the host's
//     site-packages (pip, pip3 and python3 -m pip install into it, and
//     PYTHONUSERBASE, for pip install --user, is in the build too); for
//     Node.js, npm's global prefix (npm install -g; node_modules stay in
//     app/); for Go, GOBIN, and GOTOOLCHAIN=local unless OpenRunner's
//     environment sets GOTOOLCHAIN, so that go never downloads a toolchain.
//  4. Every step's commands run in order, each with "/bin/sh -c" in the
//     image's directory, in a process group of its own, with the host's
//     environment (as instances get it), the language environment and the
//     step's Env. The host has one directory where App Runner has a build
//     and a run image, so OnRunImage changes nothing: the original build's
//     second Build step runs the build commands again in the same place,
//     as App Runner runs them again on the run image.
//
// Every output line, stdout and stderr alike, goes to spec.Log with its
// step's phase prefix ("[Build] ..."). When a command exits, whatever it
// left running in its process group is killed, as a RUN step's container
// stops; when ctx ends, the running command's whole group is killed and
// ctx's error returned. A failed build leaves nothing behind.
//
// The image is the absolute path of the image's directory, with ID
// "build:<revision>:sha256:<hash of the source tree>"; StartInstance gives
// its instances the language environment of the build. Returns EINVALID
// naming the phase, the command and its exit code when a command fails,
// naming the runtime and the missing commands when the toolchain is not on
// the host, and for a spec that cannot be built (an unknown runtime, a
// source directory that is not in the repository). Returns ECONFLICT if
// the revision is being built already.
func (r *Runtime) Build(ctx context.Context, spec openrunner.BuildSpec) (openrunner.Image, error) {
	if r.buildDir == "" {
		return openrunner.Image{}, errors.New("process: Options.BuildDir is not set: this runtime cannot build source code")
	}
	if err := checkBuildSpec(spec); err != nil {
		return openrunner.Image{}, err
	}
	tc, ok := toolchains[spec.Runtime]
	if !ok {
		return openrunner.Image{}, openrunner.Errorf(openrunner.EINVALID, "runtime %q is not a managed runtime", spec.Runtime)
	}
	r.mu.Lock()
	busy := r.building[spec.RevisionID]
	r.building[spec.RevisionID] = true
	r.mu.Unlock()
	if busy {
		return openrunner.Image{}, openrunner.Errorf(openrunner.ECONFLICT, "revision %s is already being built", spec.RevisionID)
	}
	defer func() {
		r.mu.Lock()
		delete(r.building, spec.RevisionID)
		r.mu.Unlock()
	}()

	logLine := spec.Log
	if logLine == nil {
		logLine = func(string) {}
	}
	phaseLog := func(phase string) func(string) {
		return func(line string) { logLine("[" + phase + "] " + line) }
	}
	first := "Build" // the phase of the lines logged before the first step
	if len(spec.Steps) > 0 && spec.Steps[0].Phase != "" {
		first = spec.Steps[0].Phase
	}
	begin := time.Now()

	host := r.hostEnviron()
	tool, version, err := r.checkToolchain(ctx, spec, tc, host, phaseLog(first))
	if err != nil {
		return openrunner.Image{}, err
	}

	dir := filepath.Join(r.buildDir, spec.RevisionID)
	if err := os.RemoveAll(dir); err != nil {
		return openrunner.Image{}, fmt.Errorf("process: remove an earlier build of %s: %w", spec.RevisionID, err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return openrunner.Image{}, fmt.Errorf("process: create the build directory: %w", err)
	}
	built := false
	defer func() {
		if !built {
			os.RemoveAll(dir)
		}
	}()

	app := filepath.Join(dir, buildApp)
	tree, err := copyTree(ctx, spec.SourceDir, app)
	if err != nil {
		if ctx.Err() != nil {
			return openrunner.Image{}, ctx.Err()
		}
		return openrunner.Image{}, fmt.Errorf("process: copy the source: %w", err)
	}
	work := filepath.Join(app, filepath.FromSlash(spec.Directory))
	if fi, err := os.Stat(work); err != nil || !fi.IsDir() {
		return openrunner.Image{}, openrunner.Errorf(openrunner.EINVALID, "the source directory /%s is not a directory of the repository", spec.Directory)
	}

	tools, err := r.languageEnv(ctx, tc, tool, version, dir, host, phaseLog(first))
	if err != nil {
		if ctx.Err() != nil {
			return openrunner.Image{}, ctx.Err()
		}
		return openrunner.Image{}, err
	}
	env := tools.apply(host)
	for _, st := range spec.Steps {
		stepEnv := slices.Clip(env) // appends copy: steps never share their Env
		for _, v := range st.Env {
			stepEnv = append(stepEnv, v.Name+"="+v.Value)
		}
		out := phaseLog(st.Phase)
		for i, c := range st.Commands {
			for j, l := range strings.Split(c, "\n") {
				if j == 0 {
					l = fmt.Sprintf("Step %d/%d : RUN %s", i+1, len(st.Commands), l)
				}
				out(l)
			}
			err := runCommand(ctx, work, stepEnv, []string{"/bin/sh", "-c", c}, out)
			if ctx.Err() != nil {
				return openrunner.Image{}, ctx.Err()
			}
			if err != nil {
				return openrunner.Image{}, commandFailed(st.Phase, c, err, out)
			}
		}
	}

	id := "build:" + spec.RevisionID + ":" + tree
	rec := record{
		RevisionID: spec.RevisionID, ServiceARN: spec.ServiceARN, Runtime: spec.Runtime,
		Image: work, ID: id, BuiltAt: r.now(), Tools: tools,
	}
	if err := writeJSON(filepath.Join(dir, buildRecord), rec); err != nil {
		return openrunner.Image{}, fmt.Errorf("process: record the build: %w", err)
	}
	built = true
	r.logger.Info("built revision", "revision", spec.RevisionID, "service", spec.ServiceARN, "runtime", spec.Runtime,
		"image", work, "took", time.Since(begin).Round(time.Millisecond))
	return openrunner.Image{Ref: work, ID: id}, nil
}

// checkBuildSpec returns EINVALID for a spec whose names would lead
// outside the build's directory.
func checkBuildSpec(spec openrunner.BuildSpec) error {
	switch d := spec.Directory; {
	case !buildName.MatchString(spec.RevisionID):
		return openrunner.Errorf(openrunner.EINVALID, "revision ID %q cannot name a build directory", spec.RevisionID)
	case !filepath.IsAbs(spec.SourceDir):
		return openrunner.Errorf(openrunner.EINVALID, "source snapshot %q is not an absolute path", spec.SourceDir)
	case d != "" && (path.Clean(d) != d || path.IsAbs(d) || d == ".." || strings.HasPrefix(d, "../") || strings.ContainsRune(d, 0)):
		return openrunner.Errorf(openrunner.EINVALID, "source directory %q is not a clean path inside the repository", d)
	}
	for _, st := range spec.Steps {
		for _, v := range st.Env {
			if v.Name == "" || strings.ContainsAny(v.Name, "=\x00") || strings.ContainsRune(v.Value, 0) {
				return openrunner.Errorf(openrunner.EINVALID, "%q is not a valid environment variable", v.Name)
			}
		}
		for _, c := range st.Commands {
			if strings.ContainsRune(c, 0) {
				return openrunner.Errorf(openrunner.EINVALID, "a %s command contains a NUL character", st.Phase)
			}
		}
	}
	return nil
}

// commandFailed returns the EINVALID of a build command that failed with
// err, after logging Docker's line for it.
func commandFailed(phase, command string, err error, out func(string)) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("process: run the %s command %q: %w", phase, command, err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		out(fmt.Sprintf("The command '/bin/sh -c %s' was killed by %s", command, signalName(ws.Signal())))
		return openrunner.Errorf(openrunner.EINVALID, "the %s command %q was killed by %s", phase, command, signalName(ws.Signal()))
	}
	// Docker's own words for a RUN step that fails.
	out(fmt.Sprintf("The command '/bin/sh -c %s' returned a non-zero code: %d", command, ee.ExitCode()))
	return openrunner.Errorf(openrunner.EINVALID, "the %s command %q failed with exit code %d", phase, command, ee.ExitCode())
}

// checkToolchain checks that the commands of tc are on the PATH of env
// and logs the version of the first, which it returns with its path.
// Returns EINVALID if a command is missing or does not run.
func (r *Runtime) checkToolchain(ctx context.Context, spec openrunner.BuildSpec, tc toolchain, env []string, log func(string)) (tool, version string, err error) {
	pathList := getenv(env, "PATH")
	var missing []string
	for i, c := range tc.commands {
		p, ok := lookPath(c, pathList)
		if !ok {
			missing = append(missing, c)
		} else if i == 0 {
			tool = p
		}
	}
	if len(missing) > 0 {
		return "", "", openrunner.Errorf(openrunner.EINVALID,
			"runtime %s needs %s on the host, and the host's PATH (%s) has no %s: install %s, or use the docker runtime (--runtime docker), which builds in container images that have the runtime's toolchain",
			spec.Runtime, andList(tc.commands), pathList, andList(missing), andList(missing))
	}
	vctx, cancel := context.WithTimeout(ctx, versionTimeout)
	defer cancel()
	var lines []string
	err = runCommand(vctx, "/", env, append([]string{tool}, tc.version...), func(l string) { lines = append(lines, l) })
	if ctx.Err() != nil {
		return "", "", ctx.Err()
	}
	first := ""
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			first = l
			break
		}
	}
	if err != nil {
		return "", "", openrunner.Errorf(openrunner.EINVALID,
			"runtime %s needs %s, and the host's %s does not run (%s %s: %v%s): fix it, or use the docker runtime (--runtime docker)",
			spec.Runtime, tc.commands[0], tool, tc.commands[0], strings.Join(tc.version, " "), err, quoteOutput(first))
	}
	version = hostVersion(first, tc)
	if first != "" {
		first = " (" + first + ")"
	}
	log(fmt.Sprintf("Using the host's %s%s for runtime %s", tc.commands[0], first, spec.Runtime))
	switch want := spec.RuntimeVersion; {
	case want == "":
	case version == "":
		log(fmt.Sprintf("Warning: cannot tell which version the host's %s is; runtime %s asks for %s: building with it anyway", tc.commands[0], spec.Runtime, want))
	case version != want && !strings.HasPrefix(version, want+"."):
		log(fmt.Sprintf("Warning: runtime %s asks for version %s, but the host's %s is %s: building with it anyway", spec.Runtime, want, tc.commands[0], version))
	}
	return tool, version, nil
}

var versionPattern = regexp.MustCompile(`\d+(\.\d+)+`)

// hostVersion returns the dotted version in a toolchain's version line:
// "3.11.7" of "Python 3.11.7", "1.26.8" of "go version go1.26.8
// linux/amd64". Java 8 calls itself 1.8: that is "8.0" here, as Corretto
// numbers it.
func hostVersion(line string, tc toolchain) string {
	v := versionPattern.FindString(line)
	if tc.commands[0] == "java" && strings.HasPrefix(v, "1.") {
		v = strings.TrimPrefix(v, "1.")
	}
	return v
}

func quoteOutput(line string) string {
	if line == "" {
		return ""
	}
	return fmt.Sprintf(": %q", line)
}

// andList returns "a", "a and b", "a, b and c".
func andList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// lookPath returns the executable name on pathList, as a shell would find
// it. Relative directories are skipped: a build's commands run elsewhere.
func lookPath(name, pathList string) (string, bool) {
	for _, d := range filepath.SplitList(pathList) {
		if !filepath.IsAbs(d) {
			continue
		}
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

// getenv returns the value of key in env, the last one as exec.Cmd does.
func getenv(env []string, key string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// languageEnv sets up the build's language environment under dir/env and
// returns what the build and its instances need to use it.
func (r *Runtime) languageEnv(ctx context.Context, tc toolchain, tool, version, dir string, host []string, log func(string)) (toolEnv, error) {
	envDir := filepath.Join(dir, buildEnvDir)
	switch tc.lang {
	case "python":
		return pythonEnv(ctx, tool, version, envDir, host, log)
	case "node":
		// npm install -g goes to the prefix; node_modules stay in app/.
		prefix := filepath.Join(envDir, "npm")
		return toolEnv{
			Path: []string{filepath.Join(prefix, "bin")},
			Env:  []openrunner.EnvVar{{Name: "npm_config_prefix", Value: prefix}},
		}, nil
	case "go":
		// The module and build caches stay the host's (GOPATH, GOCACHE
		// under HOME): they are caches, and keep builds fast.
		gobin := filepath.Join(envDir, "go", "bin")
		toolchain, ok := r.lookupEnv("GOTOOLCHAIN")
		if !ok || toolchain == "" {
			toolchain = "local"
		}
		return toolEnv{
			Path: []string{gobin},
			Env:  []openrunner.EnvVar{{Name: "GOBIN", Value: gobin}, {Name: "GOTOOLCHAIN", Value: toolchain}},
		}, nil
	}
	return toolEnv{}, nil
}

// pythonEnv creates the build's Python environment: a virtual environment
// without pip of its own that sees the host's site-packages, so that it
// takes a fraction of a second to create where "python3 -m venv" with
// ensurepip takes seconds. The host's pip, run by the environment's
// python, installs into the environment and leaves the host's packages
// alone ("Not uninstalling ... outside environment"); pip and pip3
// scripts in its bin run it so. PYTHONUSERBASE keeps pip install --user
// in the build too.
func pythonEnv(ctx context.Context, python, version, envDir string, host []string, log func(string)) (toolEnv, error) {
	venv := filepath.Join(envDir, "python")
	user := filepath.Join(envDir, "python-user")
	var lines []string
	err := runCommand(ctx, "/", host, []string{python, "-m", "venv", "--without-pip", "--system-site-packages", venv},
		func(l string) { lines = append(lines, l) })
	if err != nil {
		if ctx.Err() != nil {
			return toolEnv{}, ctx.Err()
		}
		for _, l := range lines {
			log(l)
		}
		return toolEnv{}, openrunner.Errorf(openrunner.EINVALID, "cannot create the build's Python environment with the host's %s -m venv: %v", python, err)
	}
	python = filepath.Join(venv, "bin", "python")
	names := []string{"pip", "pip3"}
	if f := strings.SplitN(version, ".", 3); len(f) >= 2 {
		names = append(names, "pip"+f[0]+"."+f[1])
	}
	script := "#!/bin/sh\n# pip of this build's Python environment (OpenRunner): what it installs stays in the build.\nexec " + shellQuote(python) + " -m pip \"$@\"\n"
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(venv, "bin", n), []byte(script), 0o755); err != nil {
			return toolEnv{}, fmt.Errorf("process: write %s: %w", n, err)
		}
	}
	log("Python packages install into the build's virtual environment " + venv + ", which also sees the host's packages")
	return toolEnv{
		Path: []string{filepath.Join(venv, "bin"), filepath.Join(user, "bin")},
		Env: []openrunner.EnvVar{
			{Name: "VIRTUAL_ENV", Value: venv},
			{Name: "PYTHONUSERBASE", Value: user},
			// Its advice to upgrade pip is wrong here (the pip is the
			// host's), and asking PyPI can stall an offline build.
			{Name: "PIP_DISABLE_PIP_VERSION_CHECK", Value: "1"},
		},
	}, nil
}

// shellQuote returns s as one word of /bin/sh.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// runCommand runs args in dir with env in a process group of its own,
// sending each line of its output (stdout and stderr, merged in order) to
// out from one goroutine at a time, and returns once the output has been
// read. When the process exits, the rest of its group is killed; when ctx
// ends, the whole group is. Its error is cmd.Wait's.
func runCommand(ctx context.Context, dir string, env, args []string, out func(string)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir, cmd.Env = dir, env
	// One pipe for both, as a terminal would show them; an *os.File, so
	// that Wait does not wait for the output (a process left in the
	// background would hold it open).
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err = cmd.Start()
	pw.Close()
	if err != nil {
		pr.Close()
		return err
	}
	read := make(chan struct{})
	go func() {
		defer close(read)
		copyLines(pr, out)
	}()
	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()
	pgid := cmd.Process.Pid
	select {
	case err = <-waited:
	case <-ctx.Done():
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		err = <-waited
	}
	// What it left running in its group goes too, as when a RUN step's
	// container stops. The group ID cannot have been reused while any of
	// its processes exists.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	_ = pr.SetReadDeadline(time.Now().Add(outputDrain))
	<-read
	pr.Close()
	return err
}

// copyLines sends each line read from rd to out, without its line ending
// and as valid UTF-8, until rd ends or fails.
func copyLines(rd io.Reader, out func(string)) {
	br := bufio.NewReaderSize(rd, maxLine)
	for {
		b, err := br.ReadSlice('\n')
		if len(b) > 0 {
			s := strings.TrimRight(string(b), "\r\n")
			out(strings.ToValidUTF8(s, "\uFFFD"))
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
}

// copyTree copies the tree at src to dst, which must not exist: directories
// and regular files with their permissions (plus the owner's write
// permission: builds write over them) and symbolic links as they are
// (never followed); anything else is skipped. It returns the tree's
// identity: "sha256:" and the hash of every entry's path, mode and content
// (a link's target), in path order.
func copyTree(ctx context.Context, src, dst string) (string, error) {
	fi, err := os.Stat(src)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", src)
	}
	tree := sha256.New()
	file := sha256.New()
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := info.Mode()
		var content string
		switch {
		case d.IsDir():
			// Writable by us whatever the snapshot says: builds write here.
			if err := os.Mkdir(target, mode.Perm()|0o700); err != nil {
				return err
			}
		case mode.IsRegular():
			if content, err = copyFile(p, target, mode.Perm(), file); err != nil {
				return err
			}
		case mode&fs.ModeSymlink != 0:
			if content, err = os.Readlink(p); err != nil {
				return err
			}
			if err := os.Symlink(content, target); err != nil {
				return err
			}
		default:
			return nil // sockets, devices, FIFOs: nothing a build needs
		}
		if rel != "." {
			r := filepath.ToSlash(rel)
			// Lengths first, so that no two trees write the same bytes.
			fmt.Fprintf(tree, "%d:%s %o %d:%s\n", len(r), r, uint32(mode.Type()|mode.Perm()), len(content), content)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	return "sha256:" + hex.EncodeToString(tree.Sum(nil)), nil
}

// copyFile copies the regular file src to dst with perm and returns the
// hex SHA-256 of its content, computed with h.
func copyFile(src, dst string, perm fs.FileMode, h hash.Hash) (string, error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o600)
	if err != nil {
		return "", err
	}
	h.Reset()
	if _, err := io.Copy(out, io.TeeReader(in, h)); err != nil {
		out.Close()
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// RemoveBuild deletes the directory of the build whose image is ref (a
// path, or a file URL of one, inside Options.BuildDir, as Build returned
// it). Removing a build that is gone is not an error. Returns EINVALID for
// a ref that is not inside BuildDir: nothing else is ever removed.
func (r *Runtime) RemoveBuild(ctx context.Context, ref string) error {
	p, err := refPath(ref)
	if err != nil {
		return err
	}
	name, ok := r.buildOf(p)
	if !ok {
		return openrunner.Errorf(openrunner.EINVALID, "image %s is not a build of this runtime: builds are in %s", ref, r.buildDir)
	}
	r.mu.Lock()
	busy := r.building[name]
	r.mu.Unlock()
	if busy {
		return openrunner.Errorf(openrunner.ECONFLICT, "revision %s is being built", name)
	}
	if err := os.RemoveAll(filepath.Join(r.buildDir, name)); err != nil {
		return fmt.Errorf("process: remove build %s: %w", name, err)
	}
	r.logger.Info("removed build", "revision", name)
	return nil
}

// refPath returns the path an image reference names, without checking
// that anything is there. Returns EINVALID for what is not an absolute path
// or a local file URL.
func refPath(ref string) (string, error) {
	p := ref
	if strings.HasPrefix(ref, "file:") {
		u, err := url.Parse(ref)
		if err != nil || (u.Host != "" && u.Host != "localhost") || u.RawQuery != "" || u.Fragment != "" {
			return "", openrunner.Errorf(openrunner.EINVALID, "image %s is not a file URL of a local path", ref)
		}
		p = u.Path
	}
	if !filepath.IsAbs(p) {
		return "", openrunner.Errorf(openrunner.EINVALID, "image %s is not an absolute path", ref)
	}
	return filepath.Clean(p), nil
}

// buildOf returns the name of the build directory that p (absolute,
// clean) is in, and false if p is not inside a build directory of
// BuildDir.
func (r *Runtime) buildOf(p string) (string, bool) {
	if r.buildDir == "" {
		return "", false
	}
	rel, err := filepath.Rel(r.buildDir, p)
	if err != nil || !filepath.IsLocal(rel) || rel == "." {
		return "", false
	}
	name, _, _ := strings.Cut(rel, string(filepath.Separator))
	if !buildName.MatchString(name) {
		return "", false
	}
	return name, true
}

// builtEnv returns the language environment of the build that the artifact
// at p belongs to, or nil if p is not in a build directory. Returns
// EINVALID for a path in a build directory whose build did not finish.
func (r *Runtime) builtEnv(p string) (*toolEnv, error) {
	rec, err := r.buildRecordOf(p)
	if rec == nil || err != nil {
		return nil, err
	}
	return &rec.Tools, nil
}

// buildRecordOf returns the record of the build that the artifact at p
// belongs to, or nil if p is not in a build directory; EINVALID for a
// build that did not finish.
func (r *Runtime) buildRecordOf(p string) (*record, error) {
	name, ok := r.buildOf(p)
	if !ok {
		return nil, nil
	}
	b, err := os.ReadFile(filepath.Join(r.buildDir, name, buildRecord))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, openrunner.Errorf(openrunner.EINVALID, "image %s is in the build directory, but its build did not finish", p)
	} else if err != nil {
		return nil, fmt.Errorf("process: read the record of build %s: %w", name, err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("process: read the record of build %s: %w", name, err)
	}
	return &rec, nil
}

// Builds implements openrunner.Builder: every directory of BuildDir that
// is named like a build, finished or not.
func (r *Runtime) Builds(ctx context.Context) ([]openrunner.BuiltImage, error) {
	if r.buildDir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(r.buildDir)
	if err != nil {
		return nil, fmt.Errorf("process: list builds: %w", err)
	}
	var out []openrunner.BuiltImage
	for _, e := range entries {
		if e.IsDir() && buildName.MatchString(e.Name()) {
			out = append(out, openrunner.BuiltImage{Ref: filepath.Join(r.buildDir, e.Name(), "app"), RevisionID: e.Name()})
		}
	}
	return out, nil
}
