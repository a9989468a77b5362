// Package source fetches the code of source-code services from their Git
// repositories over HTTPS with a connection's credentials, and keeps a
// snapshot of each deployed commit.
//
// It runs the git command line. The credential travels to git in its
// environment as an http.extraHeader set through GIT_CONFIG_COUNT, so it
// is never part of a URL, an argument list (visible to every user in ps),
// a configuration file or an error message. Each service has its own bare
// repository under Fetcher.Dir, fetched shallowly: a push costs one round
// trip and the new objects.
package source

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
)

// ErrRejected is returned (wrapped in an EINVALID error) when the provider
// refuses the connection's credentials.
var ErrRejected = errors.New("the provider rejected the connection's credentials")

// Fetcher fetches branches into per-service bare repositories.
type Fetcher struct {
	// Dir holds one bare repository per key. Required.
	Dir string
	// Git is the git executable; empty means "git" on PATH.
	Git string

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// lock serializes work on one key's repository.
func (f *Fetcher) lock(key string) func() {
	f.mu.Lock()
	if f.locks == nil {
		f.locks = map[string]*sync.Mutex{}
	}
	m := f.locks[key]
	if m == nil {
		m = new(sync.Mutex)
		f.locks[key] = m
	}
	f.mu.Unlock()
	m.Lock()
	return m.Unlock
}

var validKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func (f *Fetcher) repoDir(key string) (string, error) {
	if !validKey.MatchString(key) || strings.Contains(key, "..") {
		return "", fmt.Errorf("source: invalid repository key %q", key)
	}
	return filepath.Join(f.Dir, key+".git"), nil
}

// BasicAuth returns the HTTP Basic user and password git presents for a
// connection's credential: GitHub tokens as x-access-token, Bitbucket
// access tokens as x-token-auth, Bitbucket API tokens with their user.
func BasicAuth(c openrunner.ProviderCredential) (user, password string) {
	switch {
	case c.Username != "":
		return c.Username, c.Token
	case c.Provider == openrunner.ProviderBitbucket:
		return "x-token-auth", c.Token
	default:
		return "x-access-token", c.Token
	}
}

// env is git's environment: no system or global configuration, no
// prompts, no credential helpers, and the credential (if any) as an extra
// header.
func (f *Fetcher) env(cred *openrunner.ProviderCredential) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + f.Dir,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		// Only http(s): never file://, ssh or ext:: (which runs commands),
		// whatever a repository URL or a redirect says.
		"GIT_ALLOW_PROTOCOL=http:https",
		// SourceDirectory is a path, never a pathspec pattern.
		"GIT_LITERAL_PATHSPECS=1",
		// A provider that stops sending fails the fetch after a minute.
		"GIT_HTTP_LOW_SPEED_LIMIT=1000",
		"GIT_HTTP_LOW_SPEED_TIME=60",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"LC_ALL=C",
	}
	if cred != nil && cred.Token != "" {
		user, pass := BasicAuth(*cred)
		header := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
		env = append(env, "GIT_CONFIG_COUNT=2",
			"GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+header,
			"GIT_CONFIG_KEY_1=credential.helper", "GIT_CONFIG_VALUE_1=")
	}
	return env
}

func (f *Fetcher) git(ctx context.Context, dir string, cred *openrunner.ProviderCredential, stdout io.Writer, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, gitTimeout)
	defer cancel()
	bin := f.Git
	if bin == "" {
		bin = "git"
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = f.env(cred)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	var out bytes.Buffer
	if stdout != nil {
		cmd.Stdout = stdout
	} else {
		cmd.Stdout = &out
	}
	err := cmd.Run()
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, openrunner.Errorf(openrunner.EINVALID, "git %s did not finish within %s.", args[0], gitTimeout)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return stderr.Bytes(), &gitError{args: args[0], stderr: stderr.String(), err: err}
	}
	return out.Bytes(), nil
}

// gitTimeout bounds every git command, so a provider that accepts a
// connection and never answers cannot hold a service's worker.
const gitTimeout = 5 * time.Minute

type gitError struct {
	args   string
	stderr string
	err    error
}

func (e *gitError) Error() string {
	return fmt.Sprintf("git %s: %s", e.args, firstLine(e.stderr, e.err))
}

// firstLine is git's first line of complaint, which may quote what the
// remote said: bounded, and without control characters, before it goes to
// a service log.
func firstLine(stderr string, err error) string {
	for _, l := range strings.Split(stderr, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			l = strings.Map(func(r rune) rune {
				if r < 0x20 || r == 0x7f {
					return -1
				}
				return r
			}, l)
			return openrunner.Truncate(l, 300)
		}
	}
	return err.Error()
}

// ensureRepo creates the key's bare repository if missing.
func (f *Fetcher) ensureRepo(ctx context.Context, key string) (string, error) {
	dir, err := f.repoDir(key)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		// A git killed in the middle (with the server) leaves its lock
		// files; nothing else uses the repository while we hold its lock.
		_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".lock") {
				_ = os.Remove(p)
			}
			return nil
		})
		return dir, nil
	}
	tmp := dir + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return "", err
	}
	if _, err := f.git(ctx, tmp, nil, nil, "init", "--quiet", "--bare"); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	// Deployed commits are kept by refs; nothing else needs collecting
	// behind our back.
	if _, err := f.git(ctx, tmp, nil, nil, "config", "gc.auto", "0"); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	// Snapshots hold every file of the commit, as a clone would: the
	// repository's export-ignore and export-subst attributes are not
	// applied by git archive.
	if err := os.MkdirAll(filepath.Join(tmp, "info"), 0o700); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.WriteFile(filepath.Join(tmp, "info", "attributes"), []byte("* -export-ignore -export-subst\n"), 0o600); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	return dir, nil
}

// Fetch fetches the newest commit of branch from repoURL into key's
// repository and returns its id. Errors are EINVALID with a message for
// the service log: credentials refused (wrapping ErrRejected), repository
// not found or not readable with the credential, branch missing, or the
// provider unreachable.
func (f *Fetcher) Fetch(ctx context.Context, key, repoURL, branch string, cred openrunner.ProviderCredential) (string, error) {
	if err := openrunner.CheckBranch(branch); err != nil {
		return "", err
	}
	if err := openrunner.CheckRepositoryURL(repoURL); err != nil {
		return "", err
	}
	defer f.lock(key)()
	dir, err := f.ensureRepo(ctx, key)
	if err != nil {
		return "", err
	}
	// One ref for whatever branch the service follows now: branch names
	// like "a" and "a/b" cannot both be refs.
	ref := "refs/openrunner/fetched/HEAD"
	stderr, err := f.git(ctx, dir, &cred, nil, "fetch", "--quiet", "--no-tags", "--depth=1", "--", repoURL, "+refs/heads/"+branch+":"+ref)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", classify(repoURL, branch, string(stderr), err)
	}
	out, err := f.git(ctx, dir, nil, nil, "rev-parse", "--verify", ref+"^{commit}")
	if err != nil {
		return "", err
	}
	commit := strings.TrimSpace(string(out))
	// Keep the commit (and its tree) until Forget: later fetches are
	// shallow and would otherwise leave it unreferenced.
	if _, err := f.git(ctx, dir, nil, nil, "update-ref", "refs/openrunner/commits/"+commit, commit); err != nil {
		return "", err
	}
	return commit, nil
}

// RemoteHead returns the commit branch points at on repoURL without
// fetching anything (git ls-remote), for polling. Errors are as Fetch's.
func (f *Fetcher) RemoteHead(ctx context.Context, repoURL, branch string, cred openrunner.ProviderCredential) (string, error) {
	if err := openrunner.CheckBranch(branch); err != nil {
		return "", err
	}
	if err := openrunner.CheckRepositoryURL(repoURL); err != nil {
		return "", err
	}
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return "", err
	}
	out, err := f.git(ctx, f.Dir, &cred, nil, "ls-remote", "--", repoURL, "refs/heads/"+branch)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", classify(repoURL, branch, string(out), err)
	}
	fields := strings.Fields(string(out))
	if len(fields) < 2 {
		return "", openrunner.Errorf(openrunner.EINVALID, "The branch %s does not exist in %s.", branch, repoURL)
	}
	return fields[0], nil
}

// classify turns git's complaint into a message a user can act on, naming
// the repository but nothing of the credential.
func classify(repoURL, branch, stderr string, err error) error {
	s := strings.ToLower(stderr)
	switch {
	case strings.Contains(s, "authentication failed"),
		strings.Contains(s, "could not read username"),
		strings.Contains(s, "could not read password"),
		strings.Contains(s, "the requested url returned error: 401"):
		return fmt.Errorf("%w: %w", ErrRejected, openrunner.Errorf(openrunner.EINVALID, "The provider rejected the connection's credentials when fetching %s.", repoURL))
	case strings.Contains(s, "couldn't find remote ref"):
		return openrunner.Errorf(openrunner.EINVALID, "The branch %s does not exist in %s.", branch, repoURL)
	case strings.Contains(s, "not found"), strings.Contains(s, "returned error: 404"), strings.Contains(s, "returned error: 403"):
		return openrunner.Errorf(openrunner.EINVALID, "The repository %s does not exist, or the connection cannot read it.", repoURL)
	case strings.Contains(s, "could not resolve host"), strings.Contains(s, "failed to connect"), strings.Contains(s, "connection refused"), strings.Contains(s, "timed out"):
		return openrunner.Errorf(openrunner.EINVALID, "The repository %s cannot be reached: %s", repoURL, firstLine(stderr, err))
	}
	return openrunner.Errorf(openrunner.EINVALID, "Fetching %s failed: %s", repoURL, firstLine(stderr, err))
}

// Changed reports whether anything under dir ("" for the whole
// repository) differs between commits from and to. A from commit the
// repository no longer has counts as changed.
func (f *Fetcher) Changed(ctx context.Context, key, from, to, dir string) (bool, error) {
	if from == to {
		return false, nil
	}
	defer f.lock(key)()
	rd, err := f.repoDir(key)
	if err != nil {
		return false, err
	}
	if _, err := f.git(ctx, rd, nil, nil, "cat-file", "-e", from+"^{commit}"); err != nil {
		return true, nil
	}
	args := []string{"diff", "--quiet", from, to}
	if dir != "" {
		args = append(args, "--", dir)
	}
	_, err = f.git(ctx, rd, nil, nil, args...)
	var ge *gitError
	var ee *exec.ExitError
	switch {
	case err == nil:
		return false, nil
	case errors.As(err, &ge) && errors.As(ge.err, &ee) && ee.ExitCode() == 1:
		return true, nil
	}
	return false, err
}

// Snapshot writes the tree of commit into dst, which must not exist, and
// returns how many bytes of files it wrote. It is atomic: dst appears
// complete or not at all.
func (f *Fetcher) Snapshot(ctx context.Context, key, commit, dst string) (int64, error) {
	defer f.lock(key)()
	rd, err := f.repoDir(key)
	if err != nil {
		return 0, err
	}
	tmp := dst + ".tmp"
	_ = os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return 0, err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		_, err := f.git(ctx, rd, nil, pw, "archive", "--worktree-attributes", "--format=tar", commit)
		pw.CloseWithError(err)
		done <- err
	}()
	n, err := untar(pr, tmp)
	if err == nil {
		_, err = io.Copy(io.Discard, pr) // the archive's padding
	}
	pr.CloseWithError(errors.New("stopped reading"))
	if gerr := <-done; err == nil {
		err = gerr
	}
	if err != nil {
		os.RemoveAll(tmp)
		return 0, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		return 0, err
	}
	return n, nil
}

// untar extracts a git archive into dir: files, directories and symbolic
// links. Everything is written through an os.Root, so no entry lands
// outside dir, not even through a symbolic link an earlier entry made (a
// crafted tree can hold both "a" -> /elsewhere and "a/file").
func untar(r io.Reader, dir string) (int64, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
		name := path.Clean(h.Name)
		if name == "." {
			continue
		}
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			return total, fmt.Errorf("source: archive entry %q leaves the snapshot", h.Name)
		}
		p := filepath.FromSlash(name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(p, 0o755); err != nil {
				return total, fmt.Errorf("source: %s: %w", h.Name, err)
			}
		case tar.TypeReg:
			if err := root.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return total, fmt.Errorf("source: %s: %w", h.Name, err)
			}
			mode := os.FileMode(0o644)
			if h.Mode&0o111 != 0 {
				mode = 0o755
			}
			w, err := root.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
			if err != nil {
				return total, fmt.Errorf("source: %s: %w", h.Name, err)
			}
			n, err := io.Copy(w, tr)
			total += n
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return total, err
			}
		case tar.TypeSymlink:
			if err := root.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return total, fmt.Errorf("source: %s: %w", h.Name, err)
			}
			if err := root.Symlink(h.Linkname, p); err != nil {
				return total, fmt.Errorf("source: %s: %w", h.Name, err)
			}
		}
		// git archive writes a global header with the commit id, and
		// nothing else; other types are skipped.
	}
}

// Forget drops the commits a service no longer needs: every kept commit
// except those in keep.
func (f *Fetcher) Forget(ctx context.Context, key string, keep ...string) error {
	defer f.lock(key)()
	rd, err := f.repoDir(key)
	if err != nil {
		return err
	}
	if _, err := os.Stat(rd); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	out, err := f.git(ctx, rd, nil, nil, "for-each-ref", "--format=%(refname)", "refs/openrunner/commits/")
	if err != nil {
		return err
	}
	kept := map[string]bool{}
	for _, c := range keep {
		kept[c] = true
	}
	for _, ref := range strings.Fields(string(out)) {
		if !kept[path.Base(ref)] {
			if _, err := f.git(ctx, rd, nil, nil, "update-ref", "-d", ref); err != nil {
				return err
			}
		}
	}
	// Collect what no ref keeps once enough of it piles up (git's own
	// threshold); everything a deployment needs is behind a ref.
	_, err = f.git(ctx, rd, nil, nil, "-c", "gc.auto=6700", "gc", "--auto", "--quiet")
	return err
}

// Remove deletes key's repository (the service is gone).
func (f *Fetcher) Remove(key string) error {
	defer f.lock(key)()
	rd, err := f.repoDir(key)
	if err != nil {
		return err
	}
	return os.RemoveAll(rd)
}
