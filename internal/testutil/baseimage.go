package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// baseRecipe numbers the recipe of the build base image; change it when
// the recipe changes so that engines with an older image build it again.
const baseRecipe = "2"

// baseSuite and baseMirror are where the build base image's Debian comes
// from; OPENRUNNER_TEST_DEBIAN_MIRROR replaces the mirror.
const (
	baseSuite  = "bookworm"
	baseMirror = "http://deb.debian.org/debian"
)

var (
	baseOnce sync.Once
	baseRef  string
	baseErr  error
	baseSkip string
)

// NeedBuildBaseImage returns a local image with /bin/sh, python3, node,
// npm and go on its PATH, for source-code builds that cannot pull their
// managed-runtime images (nothing is pulled from Docker Hub on these
// machines). Its tag names the recipe and the Go version, so an engine
// that has it reuses it; otherwise it is built, once per engine, from a
// Debian root file system made with debootstrap --variant=minbase, with
// python3, pip, nodejs and npm, plus the host's Go toolchain (without its tests
// and commands' sources), and imported with `docker import`. A file lock
// keeps test binaries that run at once from building it twice. Building
// needs root (or sudo without a password) and the Debian mirror; it
// installs debootstrap with apt-get when it is missing.
//
// It skips the test when no Docker engine answers, or when the image
// cannot be built for want of root, except when CI=true: then it fails.
func NeedBuildBaseImage(t testing.TB) string {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Docker engine answers (run scripts/start-docker): %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	baseOnce.Do(func() {
		start := time.Now()
		var steps []string
		baseRef, steps, baseSkip, baseErr = ensureBaseImage()
		if len(steps) > 0 {
			t.Logf("built the build base image %s in %v (%s)", baseRef, time.Since(start).Round(100*time.Millisecond), strings.Join(steps, ", "))
		}
	})
	switch {
	case baseSkip != "" && os.Getenv("CI") == "true":
		t.Fatalf("cannot build the build base image: %s", baseSkip)
	case baseSkip != "":
		t.Skip("cannot build the build base image: " + baseSkip)
	case baseErr != nil:
		t.Fatalf("building the build base image: %v", baseErr)
	}
	return baseRef
}

// ensureBaseImage returns the base image's reference, building it unless
// the engine has it; steps are the times the steps of building it took.
// skip is set when this machine cannot build it.
func ensureBaseImage() (ref string, steps []string, skip string, err error) {
	goroot, goversion, err := goToolchain()
	if err != nil {
		return "", nil, "", err
	}
	ref = "openrunner-test/base:" + baseRecipe + "-" + goversion

	// Another test binary may be building it: wait for it, then look.
	unlock, err := lockFile(filepath.Join(os.TempDir(), "openrunner-test-base-image.lock"))
	if err != nil {
		return "", nil, "", err
	}
	defer unlock()
	if exec.Command("docker", "image", "inspect", ref).Run() == nil {
		return ref, nil, "", nil
	}
	sudo, skip := rootCommand()
	if skip != "" {
		return "", nil, skip, nil
	}
	steps, err = buildBaseImage(ref, goroot, sudo)
	if err != nil {
		return "", nil, "", err
	}
	return ref, steps, "", nil
}

// goToolchain returns the host's GOROOT and Go version ("go1.26.8").
func goToolchain() (goroot, version string, err error) {
	out, err := exec.Command("go", "env", "GOROOT", "GOVERSION").Output()
	if err != nil {
		return "", "", fmt.Errorf("go env: %w", err)
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return "", "", fmt.Errorf("go env GOROOT GOVERSION printed %q", out)
	}
	// A tag allows [A-Za-z0-9_.-]; a development toolchain's version has
	// spaces and more.
	version = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, f[1])
	return f[0], truncateString(version, 100), nil
}

func truncateString(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// lockFile takes an exclusive lock on path, waiting for it, and returns
// the function that releases it.
func lockFile(path string) (func(), error) {
	// Read-only: flock needs no more, and another user's lock file
	// (0644 after the umask) can be opened so.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// rootCommand returns the prefix that runs a command as root: nothing for
// root, "sudo -n" where sudo needs no password. skip says why neither
// works.
func rootCommand() (prefix []string, skip string) {
	if os.Geteuid() == 0 {
		return nil, ""
	}
	if exec.Command("sudo", "-n", "true").Run() == nil {
		return []string{"sudo", "-n"}, ""
	}
	return nil, "debootstrap needs root or sudo without a password"
}

// buildBaseImage makes the root file system in a temporary directory and
// imports it as ref. It returns how long each step took.
func buildBaseImage(ref, goroot string, sudo []string) (steps []string, err error) {
	last := time.Now()
	step := func(name string) {
		now := time.Now()
		steps = append(steps, fmt.Sprintf("%s %v", name, now.Sub(last).Round(100*time.Millisecond)))
		last = now
	}
	dir, err := os.MkdirTemp("", "openrunner-base-")
	if err != nil {
		return nil, err
	}
	rootfs := filepath.Join(dir, "rootfs")
	defer func() {
		if cerr := removeRootfs(dir, sudo); err == nil {
			err = cerr
		}
	}()
	// run runs a command as root with env added to its environment.
	run := func(env []string, name string, args ...string) error {
		var cmd *exec.Cmd
		if len(sudo) > 0 {
			// sudo resets the environment; env(1) sets it again.
			argv := append(append(append(slices.Clone(sudo), "env"), env...), name)
			argv = append(argv, args...)
			cmd = exec.Command(argv[0], argv[1:]...)
		} else {
			cmd = exec.Command(name, args...)
			cmd.Env = append(os.Environ(), env...)
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, lastLines(out.Bytes(), 30))
		}
		return nil
	}

	if _, err := os.Stat("/usr/sbin/debootstrap"); err != nil {
		if err := run([]string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", "install", "-y", "-qq", "debootstrap"); err != nil {
			// The package lists may be missing or stale.
			if err := run(nil, "apt-get", "update", "-qq"); err != nil {
				return nil, err
			}
			if err := run([]string{"DEBIAN_FRONTEND=noninteractive"}, "apt-get", "install", "-y", "-qq", "debootstrap"); err != nil {
				return nil, err
			}
		}
		step("install debootstrap")
	}
	mirror := os.Getenv("OPENRUNNER_TEST_DEBIAN_MIRROR")
	if mirror == "" {
		mirror = baseMirror
	}
	// debootstrap's own dependency resolution cannot install npm (it does
	// not follow virtual packages), so npm comes from apt in the new
	// system, which debootstrap leaves with its package lists.
	if err := run(nil, "/usr/sbin/debootstrap", "--variant=minbase", "--include=python3,nodejs", baseSuite, rootfs, mirror); err != nil {
		return nil, err
	}
	step("debootstrap")
	// dpkg's fsync after every file is most of an install's time, and a
	// crash here only means building again.
	unsafeIO := filepath.Join(rootfs, "etc/dpkg/dpkg.cfg.d/openrunner-unsafe-io")
	if err := run(nil, "sh", "-c", `echo force-unsafe-io > "$1"`, "sh", unsafeIO); err != nil {
		return nil, err
	}
	if err := run([]string{"DEBIAN_FRONTEND=noninteractive"}, "/usr/sbin/chroot", rootfs, "apt-get", "install", "-y", "-qq", "--no-install-recommends", "npm", "python3-pip"); err != nil {
		return nil, err
	}
	step("npm")
	// What no build needs: downloaded packages, package lists,
	// documentation and translations; and Debian's PEP 668 marker, which
	// the official python images do not have (pip installs system-wide
	// there, as App Runner's python runtimes let it).
	if err := run(nil, "sh", "-c", `cd "$1" && rm -rf "$2" var/cache/apt/archives/*.deb var/cache/apt/*.bin var/lib/apt/lists/* usr/share/doc usr/share/man usr/share/info usr/share/locale usr/lib/python3*/EXTERNALLY-MANAGED`, "sh", rootfs, unsafeIO); err != nil {
		return nil, err
	}
	if err := copyGo(goroot, filepath.Join(rootfs, "usr/local/go"), sudo); err != nil {
		return nil, err
	}
	step("trim and copy Go")

	// tar | docker import, with the environment a build expects: go on
	// PATH, no cgo (the image has no C compiler), and no toolchain
	// downloads.
	rootfsRef := ref + "-rootfs"
	tarArgs := append(slices.Clone(sudo), "tar", "-C", rootfs, "--numeric-owner", "-cf", "-", ".")
	tarCmd := exec.Command(tarArgs[0], tarArgs[1:]...)
	importCmd := exec.Command("docker", "import",
		"--change", "ENV PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--change", "ENV LANG=C.UTF-8",
		"--change", "ENV CGO_ENABLED=0",
		"--change", "ENV GOTOOLCHAIN=local",
		"--change", `CMD ["/bin/sh"]`,
		"-", rootfsRef)
	pipe, err := tarCmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	importCmd.Stdin = pipe
	var tarErr, importOut bytes.Buffer
	tarCmd.Stderr = &tarErr
	importCmd.Stdout, importCmd.Stderr = &importOut, &importOut
	if err := tarCmd.Start(); err != nil {
		return nil, err
	}
	ierr := importCmd.Run()
	terr := tarCmd.Wait()
	switch {
	case terr != nil:
		return nil, fmt.Errorf("tar of the root file system: %v: %s", terr, tarErr.Bytes())
	case ierr != nil:
		return nil, fmt.Errorf("docker import: %v: %s", ierr, importOut.Bytes())
	}
	step("import")
	defer func() {
		if err != nil {
			// What the failed build below leaves is of no use.
			_ = exec.Command("docker", "image", "rm", rootfsRef).Run()
		}
	}()

	// A Go build in a fresh container compiles the standard library
	// first: half a minute for net/http on two cores, twice per build of
	// the original build. Compiled once here, it is in every build's
	// GOCACHE.
	build := exec.Command("docker", "build", "-q", "-t", ref, "-")
	build.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	build.Stdin = strings.NewReader("FROM " + rootfsRef + "\nRUN go build net/http\n")
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker build %s: %v: %s", ref, err, out)
	}
	// The imported image stays as the parent of ref.
	if out, err := exec.Command("docker", "image", "rm", rootfsRef).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("docker image rm %s: %v: %s", rootfsRef, err, out)
	}
	step("go build net/http")
	return steps, nil
}

// copyGo copies what `go build` needs of the toolchain at goroot to dst:
// the go command, the compiler, assembler, linker, cgo and vet, and the
// standard library's sources without tests, test data or the sources of
// the commands (the toolchain's own, already built).
func copyGo(goroot, dst string, sudo []string) error {
	// Written as this user into a directory of its own, then moved into
	// the root file system, which belongs to root.
	tmp, err := os.MkdirTemp("", "openrunner-go-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	tools := map[string]bool{"compile": true, "link": true, "asm": true, "cgo": true, "vet": true}
	err = filepath.WalkDir(goroot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(goroot, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		keep := rel == "." || rel == "VERSION" || rel == "go.env" ||
			rel == "bin" || rel == "bin/go" || rel == "bin/gofmt" ||
			rel == "pkg" || rel == "pkg/tool" || rel == "pkg/include" || strings.HasPrefix(rel, "pkg/include/") ||
			rel == "src" || strings.HasPrefix(rel, "src/")
		if strings.HasPrefix(rel, "pkg/tool/") {
			parts := strings.Split(rel, "/")
			keep = len(parts) == 3 || len(parts) == 4 && tools[parts[3]]
		}
		if rel == "src/cmd" || d.Name() == "testdata" || strings.HasSuffix(rel, "_test.go") {
			keep = false
		}
		if !keep {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		target := filepath.Join(tmp, "go", rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type().IsRegular():
			return copyFile(path, target)
		}
		return nil // symbolic links and the like: the toolchain has none it needs
	})
	if err != nil {
		return fmt.Errorf("copy the Go toolchain: %w", err)
	}
	args := append(slices.Clone(sudo), "sh", "-c", `mkdir -p "$(dirname "$2")" && cp -a "$1" "$2" && chown -R 0:0 "$2"`, "sh", filepath.Join(tmp, "go"), dst)
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("copy the Go toolchain into the root file system: %v: %s", err, out)
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeRootfs removes the temporary directory of a root file system.
// debootstrap mounts /proc and /sys in it, and binds the host's /dev where
// it cannot make device nodes; a failed run can leave them mounted, so
// whatever is still mounted under dir is unmounted first, and dir is left
// in place (and reported) if that fails: removing files through a bound
// /dev would remove the host's.
func removeRootfs(dir string, sudo []string) error {
	mounts, err := mountsUnder(dir)
	if err != nil {
		return err
	}
	// Deepest first.
	slices.SortFunc(mounts, func(a, b string) int { return len(b) - len(a) })
	for _, m := range mounts {
		args := append(slices.Clone(sudo), "umount", "-l", m)
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("unmount %s (left %s in place): %v: %s", m, dir, err, out)
		}
	}
	if mounts, err := mountsUnder(dir); err != nil || len(mounts) > 0 {
		return fmt.Errorf("%s still has mounts %v (%v): left in place", dir, mounts, err)
	}
	args := append(slices.Clone(sudo), "rm", "-rf", "--one-file-system", dir)
	if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
		return fmt.Errorf("remove %s: %v: %s", dir, err, out)
	}
	return nil
}

// mountsUnder returns the mount points at or below dir.
func mountsUnder(dir string) ([]string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// Field 5 is the mount point, with spaces and the like escaped
		// as octal.
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			out = append(out, mp)
		}
	}
	return out, sc.Err()
}

func unescapeMountinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if c, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(c))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// lastLines returns the last n lines of out.
func lastLines(out []byte, n int) []byte {
	lines := bytes.Split(bytes.TrimRight(out, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return bytes.Join(lines, []byte("\n"))
}
