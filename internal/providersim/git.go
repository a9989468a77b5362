package providersim

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// zeroSHA is the all-zero object name that webhooks use for "no commit"
// (a branch's "before" when it is created).
const zeroSHA = "0000000000000000000000000000000000000000"

// Repo is a bare git repository the simulator hosts for one provider. Its
// clone URL is {GitHubURL}/{Owner}/{Name}.git or {BitbucketURL}/{Owner}/{Name}.git.
// The repositories are private: cloning needs credentials (see doc.go).
type Repo struct {
	s             *Sim
	Provider      string // "github" or "bitbucket"
	Owner         string // GitHub account or Bitbucket workspace
	Name          string // GitHub repository name or Bitbucket repo slug
	DefaultBranch string
	// ID is the GitHub repository ID (installation tokens can be
	// down-scoped by it); UUID the Bitbucket repository UUID, braces included.
	ID        int64
	UUID      string
	CreatedAt time.Time

	dir string
	mu  sync.Mutex // serializes commits
}

// FullName is "owner/name".
func (r *Repo) FullName() string { return r.Owner + "/" + r.Name }

// CloneURL is the repository's HTTP clone URL (without credentials).
func (r *Repo) CloneURL() string {
	if r.Provider == "bitbucket" {
		return r.s.BitbucketURL() + "/" + r.FullName() + ".git"
	}
	return r.s.GitHubURL() + "/" + r.FullName() + ".git"
}

// gitBinary is the git executable; /usr/bin/git unless PATH has another.
func gitBinary() string {
	if p, err := exec.LookPath("git"); err == nil {
		return p
	}
	return "/usr/bin/git"
}

// gitEnv is the environment of every git process the simulator runs: no
// system or global configuration, so the host's settings cannot leak in.
func (s *Sim) gitEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.gitRoot,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"LC_ALL=C",
	}
}

// AddRepo creates an empty bare repository for provider ("github" or
// "bitbucket") whose HEAD names defaultBranch (default "main"). The owner
// account is created if missing. Adding an existing repository returns it.
func (s *Sim) AddRepo(provider, owner, name, defaultBranch string) *Repo {
	if provider != "github" && provider != "bitbucket" {
		panic(fmt.Sprintf("providersim: AddRepo: unknown provider %q", provider))
	}
	if defaultBranch == "" {
		defaultBranch = "main"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := repoKey(provider, owner, name)
	if r, ok := s.repos[key]; ok {
		return r
	}
	if s.gitRoot == "" {
		dir, err := os.MkdirTemp("", "providersim-git-")
		if err != nil {
			panic(fmt.Sprintf("providersim: AddRepo: %v", err))
		}
		s.gitRoot = dir
	}
	if _, ok := s.users[owner]; !ok {
		s.addAccount(owner, "User")
	}
	s.nextRepoID++
	r := &Repo{
		s: s, Provider: provider, Owner: owner, Name: name, DefaultBranch: defaultBranch,
		ID: s.nextRepoID, UUID: "{" + uuid4() + "}", CreatedAt: s.clock(),
		dir: filepath.Join(s.gitRoot, provider, owner, name+".git"),
	}
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		panic(fmt.Sprintf("providersim: AddRepo: %v", err))
	}
	if _, err := r.git(nil, nil, "init", "--quiet", "--bare"); err != nil {
		panic(fmt.Sprintf("providersim: AddRepo: %v", err))
	}
	if _, err := r.git(nil, nil, "symbolic-ref", "HEAD", "refs/heads/"+defaultBranch); err != nil {
		panic(fmt.Sprintf("providersim: AddRepo: %v", err))
	}
	s.repos[key] = r
	return r
}

// Repo returns a repository added with AddRepo.
func (s *Sim) Repo(provider, owner, name string) (*Repo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.repos[repoKey(provider, owner, name)]
	return r, ok
}

// repoKey is the repos map key. GitHub and Bitbucket match owner and
// repository names case-insensitively.
func repoKey(provider, owner, name string) string {
	return provider + "/" + strings.ToLower(owner) + "/" + strings.ToLower(name)
}

// git runs git in the repository with extra environment and stdin.
func (r *Repo) git(env []string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command(gitBinary(), args...)
	cmd.Dir = r.dir
	cmd.Env = append(r.s.gitEnv(), "GIT_DIR="+r.dir)
	cmd.Env = append(cmd.Env, env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// Head returns the commit the branch points at, or "" if it does not exist.
func (r *Repo) Head(branch string) string {
	out, err := r.git(nil, nil, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch+"^{commit}")
	if err != nil {
		return ""
	}
	return out
}

// Commit writes files (path -> content) on top of the branch's head (the
// branch is created if missing) as one commit, moves the branch to it and
// delivers a push webhook to every hook registered for the repository
// (and, on GitHub, to the webhook of every GitHub App installed on the
// owner). The author and committer are the signed-in user (see SignIn),
// the time is the simulator's clock. It returns the new commit's SHA.
func (r *Repo) Commit(branch string, files map[string]string, message string) (string, error) {
	return r.CommitChanges(branch, files, nil, message)
}

// CommitChanges is Commit that also deletes the paths in remove.
func (r *Repo) CommitChanges(branch string, files map[string]string, remove []string, message string) (string, error) {
	ev, err := r.commit(branch, files, remove, message)
	if err != nil {
		return "", err
	}
	r.s.deliverPush(r, ev)
	return ev.after, nil
}

// pushEvent describes a branch update for the webhook payloads.
type pushEvent struct {
	branch          string
	before, after   string
	created         bool
	tree            string
	message         string
	time            time.Time
	pusher          User
	added, modified []string
	removed         []string
}

func (r *Repo) commit(branch string, files map[string]string, remove []string, message string) (*pushEvent, error) {
	if branch == "" {
		return nil, errors.New("providersim: Commit: empty branch name")
	}
	if len(files) == 0 && len(remove) == 0 {
		return nil, errors.New("providersim: Commit: nothing to commit")
	}
	r.mu.Lock()
	defer r.mu.Unlock()

	r.s.mu.Lock()
	pusher := *r.s.users[r.s.signedIn]
	now := r.s.clock().UTC().Truncate(time.Second)
	r.s.mu.Unlock()

	tmp, err := os.MkdirTemp(r.s.gitRoot, "index-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	idx := []string{"GIT_INDEX_FILE=" + filepath.Join(tmp, "index")}

	old := r.Head(branch)
	if old != "" {
		_, err = r.git(idx, nil, "read-tree", old)
	} else {
		_, err = r.git(idx, nil, "read-tree", "--empty")
	}
	if err != nil {
		return nil, err
	}
	var info bytes.Buffer
	for _, p := range slices.Sorted(maps.Keys(files)) {
		blob, err := r.git(nil, []byte(files[p]), "hash-object", "-w", "--stdin")
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&info, "100644 %s\t%s\n", blob, p)
	}
	for _, p := range remove {
		// Mode 0 removes the path from the index.
		fmt.Fprintf(&info, "0 %s\t%s\n", zeroSHA, p)
	}
	if _, err := r.git(idx, info.Bytes(), "update-index", "--index-info"); err != nil {
		return nil, err
	}
	tree, err := r.git(idx, nil, "write-tree")
	if err != nil {
		return nil, err
	}
	date := fmt.Sprintf("@%d +0000", now.Unix())
	env := []string{
		"GIT_AUTHOR_NAME=" + pusher.Name, "GIT_AUTHOR_EMAIL=" + pusher.Email, "GIT_AUTHOR_DATE=" + date,
		"GIT_COMMITTER_NAME=" + pusher.Name, "GIT_COMMITTER_EMAIL=" + pusher.Email, "GIT_COMMITTER_DATE=" + date,
	}
	args := []string{"commit-tree", tree}
	if old != "" {
		args = append(args, "-p", old)
	}
	sha, err := r.git(env, []byte(message), args...)
	if err != nil {
		return nil, err
	}
	oldRef := old
	if oldRef == "" {
		oldRef = zeroSHA // the ref must not exist yet
	}
	if _, err := r.git(nil, nil, "update-ref", "refs/heads/"+branch, sha, oldRef); err != nil {
		return nil, err
	}
	ev := &pushEvent{branch: branch, before: old, after: sha, created: old == "", tree: tree,
		message: message, time: now, pusher: pusher}
	if ev.before == "" {
		ev.before = zeroSHA
	}
	diff, err := r.git(nil, nil, "diff-tree", "-r", "--root", "--no-commit-id", "--no-renames", "--name-status", "-z", sha)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(strings.TrimRight(diff, "\x00"), "\x00")
	for i := 0; i+1 < len(parts); i += 2 {
		switch parts[i] {
		case "A":
			ev.added = append(ev.added, parts[i+1])
		case "D":
			ev.removed = append(ev.removed, parts[i+1])
		default:
			ev.modified = append(ev.modified, parts[i+1])
		}
	}
	return ev, nil
}

// --- git smart HTTP ---

func (s *Sim) routeGit(mux *http.ServeMux) {
	mux.HandleFunc("/github/{owner}/{repo}/{rest...}", s.wrap("github", s.serveGit("github")))
	mux.HandleFunc("/bitbucket/{owner}/{repo}/{rest...}", s.wrap("bitbucket", s.serveGit("bitbucket")))
}

// serveGit serves git's smart HTTP protocol, reads only (git-upload-pack),
// through git http-backend, after checking HTTP Basic credentials.
func (s *Sim) serveGit(provider string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutSuffix(r.PathValue("repo"), ".git")
		if !ok {
			http.NotFound(w, r)
			return
		}
		rest := r.PathValue("rest")
		service := r.URL.Query().Get("service")
		switch {
		case rest == "info/refs" && r.Method == http.MethodGet && service == "git-upload-pack":
		case rest == "git-upload-pack" && r.Method == http.MethodPost:
		case rest == "info/refs" && service == "git-receive-pack", rest == "git-receive-pack":
			// The simulator hosts reads only; tests push with Repo.Commit.
			http.Error(w, "providersim: pushing over HTTP is not supported; use Repo.Commit", http.StatusForbidden)
			return
		default:
			// Dumb HTTP and anything else: not served.
			http.NotFound(w, r)
			return
		}
		s.mu.Lock()
		repo := s.repos[repoKey(provider, r.PathValue("owner"), name)]
		principal, authed, allowed := s.gitAccess(provider, r, repo)
		s.mu.Unlock()
		if !authed {
			// Both providers answer a missing or wrong credential with a
			// Basic challenge, whether or not the repository exists.
			realm := "GitHub"
			if provider == "bitbucket" {
				realm = "Bitbucket.org HTTP"
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
			http.Error(w, "Invalid username or token.", http.StatusUnauthorized)
			return
		}
		markAuth(r, principal)
		if repo == nil || !allowed {
			// A valid credential without access sees no repository
			// ("Repository not found."); Bitbucket's status is UNCONFIRMED.
			http.Error(w, "Repository not found.", http.StatusNotFound)
			return
		}
		// git http-backend receives no credential: the Authorization
		// header would otherwise reach its environment as HTTP_AUTHORIZATION.
		r2 := r.Clone(r.Context())
		r2.Header.Del("Authorization")
		h := &cgi.Handler{
			Path: gitBinary(),
			Root: "/" + provider,
			Args: []string{"http-backend"},
			Env: append(s.gitEnv(),
				"GIT_PROJECT_ROOT="+filepath.Join(s.gitRoot, provider),
				"GIT_HTTP_EXPORT_ALL=1",
				"REMOTE_USER="+principal),
		}
		// The CGI handler builds PATH_INFO from the request path; use the
		// repository's stored spelling so case-insensitive names work.
		r2.URL.Path = "/" + provider + "/" + repo.FullName() + ".git/" + rest
		h.ServeHTTP(w, r2)
	}
}

// gitAccess checks r's HTTP Basic credentials for a git read of repo
// (which may be nil). authed reports whether the credential is valid at
// all; allowed whether it may read repo. s.mu must be held.
func (s *Sim) gitAccess(provider string, r *http.Request, repo *Repo) (principal string, authed, allowed bool) {
	user, secret, ok := r.BasicAuth()
	if !ok || secret == "" {
		return "", false, false
	}
	t, ok := s.tokens[secret]
	if !ok || !t.live(s.clock()) {
		return "", false, false
	}
	if provider == "github" {
		switch t.kind {
		case ghInstallation:
			// "x-access-token" is the documented username for
			// installation tokens; the simulator insists on it.
			if user != "x-access-token" {
				return "", false, false
			}
			return fmt.Sprintf("installation:%d", t.installationID), true, repo != nil && s.installationCanRead(t, repo)
		case ghPAT, ghOAuth, ghUser:
			// Any username goes with a user's token, x-access-token included.
			return t.login, true, repo != nil && s.ghUserCan(t, repo, "contents", "read") == accessOK
		}
		return "", false, false
	}
	switch t.kind {
	case bbAccess:
		if user != "x-token-auth" {
			return "", false, false
		}
		return t.login, true, repo != nil && s.isMember(t.login, repo.Owner) && hasScope(t.scope, "repository", "repository:write", "repository:admin")
	case bbAPIToken:
		if user != "x-bitbucket-api-token-auth" && user != t.login && !strings.EqualFold(user, s.users[t.login].Email) {
			return "", false, false
		}
		return t.login, true, repo != nil && s.isMember(t.login, repo.Owner)
	}
	return "", false, false
}

// isMember reports whether login is the account or a member of it.
func (s *Sim) isMember(login, account string) bool {
	if strings.EqualFold(login, account) {
		return true
	}
	if a, ok := s.users[account]; ok {
		return slices.Contains(a.Members, login)
	}
	return false
}

// hasScope reports whether the comma- or space-separated scope list holds
// any of want.
func hasScope(scope string, want ...string) bool {
	for _, sc := range strings.FieldsFunc(scope, func(r rune) bool { return r == ',' || r == ' ' }) {
		if slices.Contains(want, sc) {
			return true
		}
	}
	return false
}

type access int

const (
	accessOK        access = iota
	accessNotFound         // the caller cannot see the repository: 404
	accessForbidden        // it can, but the app lacks the permission: 403
)

// installationCanRead reports whether an installation token may read repo.
func (s *Sim) installationCanRead(t *token, repo *Repo) bool {
	return s.installationCan(t, repo, "contents", "read") == accessOK
}

// installationCan checks an installation token against repo and a
// permission at a level. s.mu must be held.
func (s *Sim) installationCan(t *token, repo *Repo, perm, level string) access {
	in, ok := s.installations[t.installationID]
	if !ok || repo.Provider != "github" || !strings.EqualFold(in.Account, repo.Owner) {
		return accessNotFound
	}
	if len(t.repositories)+len(t.repositoryIDs) > 0 &&
		!slices.ContainsFunc(t.repositories, func(n string) bool { return strings.EqualFold(n, repo.Name) }) &&
		!slices.Contains(t.repositoryIDs, repo.ID) {
		return accessNotFound
	}
	if permissionLevel[t.permissions[perm]] < permissionLevel[level] {
		if perm == "contents" {
			return accessNotFound
		}
		return accessForbidden
	}
	return accessOK
}

// ghUserCan checks a user-acting GitHub token (ghp_, gho_, ghu_) against
// repo for an app permission (for ghu_) and the matching classic OAuth
// scopes (for ghp_ and gho_). s.mu must be held.
func (s *Sim) ghUserCan(t *token, repo *Repo, perm, level string) access {
	if repo.Provider != "github" || !s.isMember(t.login, repo.Owner) {
		return accessNotFound
	}
	switch t.kind {
	case ghPAT, ghOAuth:
		// The repositories are private: reading code needs "repo"; the
		// hook endpoints take repo or the matching *:repo_hook scope.
		// Without them GitHub hides the repository (404).
		want := []string{"repo"}
		if perm == "repository_hooks" {
			want = append(want, "admin:repo_hook")
			if level != "admin" {
				want = append(want, "write:repo_hook")
			}
			if level == "read" {
				want = append(want, "read:repo_hook")
			}
		}
		if !hasScope(t.scope, want...) {
			return accessNotFound
		}
		return accessOK
	case ghUser:
		// A user access token can do what both the user and the app can:
		// the app must be installed on the owner with the permission.
		c := s.ghClients[t.clientID]
		if c == nil {
			return accessNotFound
		}
		in, ok := s.installationOf(c.appID, repo.Owner)
		if !ok {
			return accessNotFound
		}
		if permissionLevel[in.Permissions[perm]] < permissionLevel[level] {
			if perm == "contents" {
				return accessNotFound
			}
			return accessForbidden
		}
		return accessOK
	}
	return accessNotFound
}
