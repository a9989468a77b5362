package providersim

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// gitClone runs the real git CLI: clone u into a temp dir. It returns the
// directory and git's combined output.
func gitClone(t *testing.T, u string) (string, string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	cmd := exec.Command(gitBinary(), "clone", "--quiet", u, dir)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_ASKPASS=/bin/false")
	out, err := cmd.CombinedOutput()
	return dir, string(out), err
}

// withCreds puts user:secret into a clone URL.
func withCreds(t *testing.T, cloneURL, user, secret string) string {
	t.Helper()
	u, err := url.Parse(cloneURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(user, secret)
	return u.String()
}

func TestGitCloneGitHub(t *testing.T) {
	s := MustNew(t, Options{Now: newTestClock().Now})
	repo := s.AddRepo("github", "octocat", "hello", "main")
	sha, err := repo.Commit("main", map[string]string{"README.md": "hello\n", "app/main.go": "package main\n"}, "first")
	if err != nil {
		t.Fatal(err)
	}
	if got := repo.Head("main"); got != sha {
		t.Fatalf("Head = %q, want %q", got, sha)
	}
	if repo.Head("nope") != "" {
		t.Fatal("Head of a missing branch is not empty")
	}
	pat := s.IssueGitHubToken("octocat", "repo")
	patNoRepo := s.IssueGitHubToken("octocat", "read:user")
	stranger := s.IssueGitHubToken("mallory", "repo")
	s.AddGitHubApp(GitHubApp{ID: 7, PublicKey: &rsaKey(t, 0).PublicKey})
	in := s.AddInstallation(7, "octocat")
	s.mu.Lock()
	inst := s.issue("ghs_", &token{kind: ghInstallation, installationID: in.ID, permissions: map[string]string{"contents": "read"}, expires: s.clock().Add(time.Hour)})
	otherRepoOnly := s.issue("ghs_", &token{kind: ghInstallation, installationID: in.ID, permissions: map[string]string{"contents": "read"}, repositories: []string{"other"}, expires: s.clock().Add(time.Hour)})
	s.mu.Unlock()

	for _, tc := range []struct {
		name, user, secret string
		ok                 bool
		status             string // substring of git's output on failure
	}{
		{"installation token", "x-access-token", inst, true, ""},
		{"PAT any username", "someone", pat, true, ""},
		{"PAT x-access-token", "x-access-token", pat, true, ""},
		{"bad token", "x-access-token", "ghp_wrong", false, "authentication failed"},
		{"installation token wrong user", "git", inst, false, "authentication failed"},
		{"PAT without repo scope", "octocat", patNoRepo, false, "not found"},
		{"stranger", "mallory", stranger, false, "not found"},
		{"down-scoped away", "x-access-token", otherRepoOnly, false, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, out, err := gitClone(t, withCreds(t, repo.CloneURL(), tc.user, tc.secret))
			if tc.ok {
				if err != nil {
					t.Fatalf("clone: %v: %s", err, out)
				}
				b, err := os.ReadFile(filepath.Join(dir, "app", "main.go"))
				if err != nil || string(b) != "package main\n" {
					t.Fatalf("cloned file = %q, %v", b, err)
				}
				return
			}
			if err == nil {
				t.Fatal("clone succeeded, want failure")
			}
			if !strings.Contains(strings.ToLower(out), tc.status) {
				t.Fatalf("output %q does not mention %q", out, tc.status)
			}
		})
	}

	// No credentials at all: 401 with a Basic challenge.
	resp, err := http.Get(repo.CloneURL() + "/info/refs?service=git-upload-pack")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("anonymous: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// Pushing over HTTP is refused.
	req, _ := http.NewRequest(http.MethodGet, repo.CloneURL()+"/info/refs?service=git-receive-pack", nil)
	req.SetBasicAuth("x", pat)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("receive-pack: %d, want 403", resp.StatusCode)
	}
	// Tokens never reach the request log.
	for _, rq := range s.Requests() {
		if strings.Contains(rq.Path, pat) || strings.Contains(strings.Join(rq.Params, ","), pat) {
			t.Fatal("token in request log")
		}
	}
}

func TestGitCloneBitbucket(t *testing.T) {
	s := MustNew(t, Options{})
	repo := s.AddRepo("bitbucket", "team", "svc", "")
	if _, err := repo.Commit("main", map[string]string{"a.txt": "A"}, "first"); err != nil {
		t.Fatal(err)
	}
	oauth := s.IssueBitbucketToken("team")
	s.AddBitbucketAPIToken("team", "ATATT-api-token")
	s.AddBitbucketAPIToken("eve", "ATATT-eve")
	for _, tc := range []struct {
		name, user, secret string
		ok                 bool
	}{
		{"oauth x-token-auth", "x-token-auth", oauth, true},
		{"api token username", "team", "ATATT-api-token", true},
		{"api token x-bitbucket-api-token-auth", "x-bitbucket-api-token-auth", "ATATT-api-token", true},
		{"oauth wrong username", "team", oauth, false},
		{"bad token", "x-token-auth", "nope", false},
		{"other account", "eve", "ATATT-eve", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, out, err := gitClone(t, withCreds(t, repo.CloneURL(), tc.user, tc.secret))
			if !tc.ok {
				if err == nil {
					t.Fatal("clone succeeded, want failure")
				}
				return
			}
			if err != nil {
				t.Fatalf("clone: %v: %s", err, out)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "a.txt")); string(b) != "A" {
				t.Fatalf("a.txt = %q", b)
			}
		})
	}
	// An expired access token is refused with 401.
	s.ExpireAccessTokens()
	req, _ := http.NewRequest(http.MethodGet, repo.CloneURL()+"/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth("x-token-auth", oauth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
		t.Fatalf("expired token: %d", resp.StatusCode)
	}
}

// receiver is an httptest webhook receiver that records what it gets.
type receiver struct {
	mu   sync.Mutex
	got  []*http.Request
	body [][]byte
	srv  *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, r)
		rc.body = append(rc.body, b)
		rc.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) last(t *testing.T, event string) (*http.Request, []byte) {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for i := len(rc.got) - 1; i >= 0; i-- {
		if rc.got[i].Header.Get("X-GitHub-Event") == event || rc.got[i].Header.Get("X-Event-Key") == event {
			return rc.got[i], rc.body[i]
		}
	}
	t.Fatalf("no %s delivery received", event)
	return nil, nil
}

func validSig(header, secret string, body []byte) bool {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	want := "sha256=" + hex.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(header), []byte(want))
}

func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReader(string(b))
}

func TestGitHubWebhooks(t *testing.T) {
	s := MustNew(t, Options{Now: newTestClock().Now})
	repo := s.AddRepo("github", "octocat", "hello", "main")
	rc := newReceiver(t)
	const secret = "It's a Secret to Everybody"
	hooksURL := s.GitHubAPIURL() + "/repos/octocat/hello/hooks"
	create := map[string]any{"name": "web", "active": true, "events": []string{"push"},
		"config": map[string]any{"url": rc.srv.URL, "content_type": "json", "secret": secret, "insecure_ssl": "0"}}

	// Denied without a hook scope (GitHub hides the repository: 404), and
	// for an app token without repository_hooks (403).
	noScope := s.IssueGitHubToken("octocat", "read:user")
	if st, _, _ := do(t, s, http.MethodPost, hooksURL, jsonBody(t, create), map[string]string{"Authorization": "Bearer " + noScope}); st != http.StatusNotFound {
		t.Fatalf("create without scope: %d, want 404", st)
	}
	s.AddGitHubApp(GitHubApp{ID: 9, PublicKey: &rsaKey(t, 0).PublicKey})
	in := s.AddInstallation(9, "octocat")
	s.mu.Lock()
	inst := s.issue("ghs_", &token{kind: ghInstallation, installationID: in.ID, permissions: map[string]string{"contents": "read"}, expires: s.clock().Add(time.Hour)})
	s.mu.Unlock()
	if st, _, body := do(t, s, http.MethodPost, hooksURL, jsonBody(t, create), map[string]string{"Authorization": "Bearer " + inst}); st != http.StatusForbidden {
		t.Fatalf("create with installation token lacking repository_hooks: %d %s, want 403", st, body)
	}
	if st, _, _ := do(t, s, http.MethodPost, hooksURL, jsonBody(t, create), nil); st != http.StatusUnauthorized {
		t.Fatalf("create anonymously: %d, want 401", st)
	}

	tok := s.IssueGitHubToken("octocat", "admin:repo_hook")
	auth := map[string]string{"Authorization": "Bearer " + tok}
	st, _, body := do(t, s, http.MethodPost, hooksURL, jsonBody(t, create), auth)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	h := decode(t, body)
	if h["config"].(map[string]any)["secret"] == secret {
		t.Fatal("secret echoed back")
	}
	s.WaitDeliveries()
	ping, pingBody := rc.last(t, "ping")
	if !validSig(ping.Header.Get("X-Hub-Signature-256"), secret, pingBody) {
		t.Fatal("ping signature invalid")
	}
	st, _, body = do(t, s, http.MethodGet, hooksURL, nil, auth)
	if st != http.StatusOK || !strings.Contains(string(body), rc.srv.URL) {
		t.Fatalf("list: %d %s", st, body)
	}

	first, err := repo.Commit("main", map[string]string{"README.md": "v1", "old.txt": "x"}, "one")
	if err != nil {
		t.Fatal(err)
	}
	second, err := repo.CommitChanges("main", map[string]string{"README.md": "v2", "new.txt": "n"}, []string{"old.txt"}, "two")
	if err != nil {
		t.Fatal(err)
	}
	req, raw := rc.last(t, "push")
	if !validSig(req.Header.Get("X-Hub-Signature-256"), secret, raw) {
		t.Fatal("push signature invalid")
	}
	if req.Header.Get("Content-Type") != "application/json" || req.Header.Get("X-GitHub-Delivery") == "" {
		t.Fatalf("headers: %v", req.Header)
	}
	var p struct {
		Ref, Before, After string
		Created            bool
		Commits            []struct {
			ID                       string
			Added, Removed, Modified []string
		}
		Repository struct {
			FullName      string `json:"full_name"`
			CloneURL      string `json:"clone_url"`
			DefaultBranch string `json:"default_branch"`
		}
		Pusher struct{ Name string }
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	if p.Ref != "refs/heads/main" || p.Before != first || p.After != second || p.Created ||
		len(p.Commits) != 1 || p.Commits[0].ID != second ||
		strings.Join(p.Commits[0].Added, ",") != "new.txt" || strings.Join(p.Commits[0].Removed, ",") != "old.txt" ||
		strings.Join(p.Commits[0].Modified, ",") != "README.md" ||
		p.Repository.FullName != "octocat/hello" || p.Repository.CloneURL != repo.CloneURL() || p.Pusher.Name != "octocat" {
		t.Fatalf("payload: %+v", p)
	}

	// Redelivery keeps the delivery ID, headers and body.
	id := req.Header.Get("X-GitHub-Delivery")
	d, err := s.Redeliver(id)
	if err != nil || d.ID != id || d.Status != http.StatusAccepted || d.Attempt != 2 {
		t.Fatalf("Redeliver = %+v, %v", d, err)
	}
	req2, raw2 := rc.last(t, "push")
	if req2.Header.Get("X-GitHub-Delivery") != id || string(raw2) != string(raw) || !validSig(req2.Header.Get("X-Hub-Signature-256"), secret, raw2) {
		t.Fatal("redelivery differs")
	}
	if _, err := s.Redeliver("nope"); err == nil {
		t.Fatal("Redeliver of an unknown ID succeeded")
	}
	n := 0
	for _, d := range s.Deliveries() {
		if d.ID == id {
			n++
		}
	}
	if n != 2 {
		t.Fatalf("%d records for delivery %s, want 2", n, id)
	}

	// Delete needs admin and removes the hook.
	hookURL := hooksURL + "/" + strings.TrimSuffix(strings.TrimPrefix(h["url"].(string), hooksURL+"/"), "/")
	if st, _, _ := do(t, s, http.MethodDelete, hookURL, nil, auth); st != http.StatusNoContent {
		t.Fatalf("delete: %d", st)
	}
	before := len(s.Deliveries())
	if _, err := repo.Commit("main", map[string]string{"c": "c"}, "three"); err != nil {
		t.Fatal(err)
	}
	if len(s.Deliveries()) != before {
		t.Fatal("delivered to a deleted hook")
	}
}

func TestGitHubAppWebhook(t *testing.T) {
	s := MustNew(t, Options{})
	rc := newReceiver(t)
	s.AddGitHubApp(GitHubApp{ID: 3, PublicKey: &rsaKey(t, 0).PublicKey, WebhookURL: rc.srv.URL, WebhookSecret: "appsecret"})
	in := s.AddInstallation(3, "acme")
	repo := s.AddRepo("github", "acme", "api", "main")
	sha, err := repo.Commit("main", map[string]string{"x": "1"}, "init")
	if err != nil {
		t.Fatal(err)
	}
	req, raw := rc.last(t, "push")
	if !validSig(req.Header.Get("X-Hub-Signature-256"), "appsecret", raw) {
		t.Fatal("signature invalid")
	}
	var p struct {
		After, Before string
		Created       bool
		Installation  struct{ ID int64 }
	}
	_ = json.Unmarshal(raw, &p)
	if p.After != sha || p.Before != zeroSHA || !p.Created || p.Installation.ID != in.ID {
		t.Fatalf("payload %+v", p)
	}
}

func TestBitbucketWebhooks(t *testing.T) {
	s := MustNew(t, Options{})
	repo := s.AddRepo("bitbucket", "team", "svc", "main")
	rc := newReceiver(t)
	hooksURL := s.BitbucketAPIURL() + "/repositories/team/svc/hooks"
	create := map[string]any{"description": "openrunner", "url": rc.srv.URL, "active": true, "events": []string{"repo:push"}, "secret": "bbsecret"}

	// Without the webhook scope: 403 naming the missing scope.
	plain := s.IssueBitbucketToken("team")
	st, _, body := do(t, s, http.MethodPost, hooksURL, jsonBody(t, create), map[string]string{"Authorization": "Bearer " + plain})
	if st != http.StatusForbidden || !strings.Contains(string(body), "privilege scopes") {
		t.Fatalf("create without webhook scope: %d %s", st, body)
	}
	tok := s.IssueBitbucketToken("team", "repository", "webhook")
	auth := map[string]string{"Authorization": "Bearer " + tok}
	st, _, body = do(t, s, http.MethodPost, hooksURL, jsonBody(t, create), auth)
	if st != http.StatusCreated {
		t.Fatalf("create: %d %s", st, body)
	}
	h := decode(t, body)
	if h["secret_set"] != true || h["secret"] != nil {
		t.Fatalf("hook: %v", h)
	}
	// Basic with an API token lists it.
	s.AddBitbucketAPIToken("team", "ATATT-x")
	req, _ := http.NewRequest(http.MethodGet, hooksURL, nil)
	req.SetBasicAuth("team@example.com", "ATATT-x")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(lb), h["uuid"].(string)) {
		t.Fatalf("list: %d %s", resp.StatusCode, lb)
	}

	first, _ := repo.Commit("main", map[string]string{"a": "1"}, "one")
	second, err := repo.Commit("main", map[string]string{"a": "2"}, "two")
	if err != nil {
		t.Fatal(err)
	}
	got, raw := rc.last(t, "repo:push")
	if !validSig(got.Header.Get("X-Hub-Signature"), "bbsecret", raw) {
		t.Fatal("signature invalid")
	}
	if got.Header.Get("X-Request-UUID") == "" || got.Header.Get("X-Hook-UUID") != trimBraces(h["uuid"].(string)) || got.Header.Get("X-Attempt-Number") != "1" {
		t.Fatalf("headers %v", got.Header)
	}
	var p struct {
		Push struct {
			Changes []struct {
				New struct {
					Name   string
					Target struct{ Hash string }
				}
				Old struct {
					Target struct{ Hash string }
				}
				Created bool
			}
		}
		Repository struct {
			FullName string `json:"full_name"`
		}
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	c := p.Push.Changes
	if len(c) != 1 || c[0].New.Name != "main" || c[0].New.Target.Hash != second || c[0].Old.Target.Hash != first || c[0].Created || p.Repository.FullName != "team/svc" {
		t.Fatalf("payload %+v", p)
	}
	id := got.Header.Get("X-Request-UUID")
	d, err := s.Redeliver(id)
	if err != nil || d.ID != id || d.Header.Get("X-Attempt-Number") != "2" {
		t.Fatalf("Redeliver = %+v, %v", d, err)
	}
	got2, raw2 := rc.last(t, "repo:push")
	if got2.Header.Get("X-Request-UUID") != id || string(raw2) != string(raw) {
		t.Fatal("redelivery differs")
	}
	// Delete.
	del := hooksURL + "/" + url.PathEscape(h["uuid"].(string))
	if st, _, b := do(t, s, http.MethodDelete, del, nil, auth); st != http.StatusNoContent {
		t.Fatalf("delete: %d %s", st, b)
	}
}
