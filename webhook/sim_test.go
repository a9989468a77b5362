package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/webhook"
)

const prefix = "/_openrunner/webhooks/"

// receiver is an OpenRunner-like server with the Handler mounted as the
// daemon mounts it, knowing the secrets of some keys.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	secrets map[string]string
	pushes  map[string][]webhook.Push // by key
	fail    bool
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{secrets: map[string]string{}, pushes: map[string][]webhook.Push{}}
	h := &webhook.Handler{
		Resolve: func(_ context.Context, key string) ([]byte, error) {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			s, ok := rc.secrets[key]
			if !ok {
				return nil, openrunner.Errorf(openrunner.ENOTFOUND, "no webhook")
			}
			return []byte(s), nil
		},
		Deliver: func(_ context.Context, key string, p webhook.Push) error {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			if rc.fail {
				return openrunner.Errorf(openrunner.EINTERNAL, "engine stopped")
			}
			rc.pushes[key] = append(rc.pushes[key], p)
			return nil
		},
	}
	mux := http.NewServeMux()
	mux.Handle(prefix, http.StripPrefix(prefix, h))
	rc.srv = httptest.NewServer(mux)
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) hookURL(provider, key, secret string) string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.secrets[key] = secret
	return webhook.URL(rc.srv.URL+prefix, provider, key)
}

func (rc *receiver) delivered(key string) []webhook.Push {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]webhook.Push(nil), rc.pushes[key]...)
}

func (rc *receiver) setFail(v bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.fail = v
}

func mustSim(t *testing.T) *providersim.Sim {
	t.Helper()
	s := providersim.New(providersim.Options{})
	t.Cleanup(s.Close)
	return s
}

// lastDelivery returns the simulator's last delivery of event.
func lastDelivery(t *testing.T, s *providersim.Sim, event string) providersim.Delivery {
	t.Helper()
	ds := s.Deliveries()
	for i := len(ds) - 1; i >= 0; i-- {
		if ds[i].Event == event {
			return ds[i]
		}
	}
	t.Fatalf("no %s delivery", event)
	return providersim.Delivery{}
}

func mustCommit(t *testing.T, repo *providersim.Repo, branch string, files map[string]string, remove ...string) string {
	t.Helper()
	sha, err := repo.CommitChanges(branch, files, remove, "change")
	if err != nil {
		t.Fatal(err)
	}
	return sha
}

func TestGitHub(t *testing.T) {
	s := mustSim(t)
	rc := newReceiver(t)
	repo := s.AddRepo("github", "octocat", "hello", "main")
	const key = "123456789012/us-east-1/my-conn/0123abcd"
	reg := webhook.Registration{
		Provider:   "github",
		APIBase:    s.GitHubAPIURL(),
		Repository: "octocat/hello",
		HookURL:    rc.hookURL("github", key, "gh-secret-1"),
		Secret:     "gh-secret-1",
		Credential: openrunner.ProviderCredential{Provider: openrunner.ProviderGitHub, Token: s.IssueGitHubToken("octocat", "admin:repo_hook")},
	}
	created, err := webhook.Register(t.Context(), s.Client(), reg)
	if err != nil || !created {
		t.Fatalf("Register = %v, %v; want created", created, err)
	}
	created, err = webhook.Register(t.Context(), s.Client(), reg)
	if err != nil || created {
		t.Fatalf("second Register = %v, %v; want not created", created, err)
	}
	hooks := s.Hooks()
	if len(hooks) != 1 || hooks[0].URL != reg.HookURL || hooks[0].ContentType != "json" ||
		!reflect.DeepEqual(hooks[0].Events, []string{"push"}) || !hooks[0].Active {
		t.Fatalf("hooks = %+v", hooks)
	}
	if d := lastDelivery(t, s, "ping"); d.Status != http.StatusOK {
		t.Fatalf("ping answered %d, want 200", d.Status)
	}

	t.Run("OK_Created", func(t *testing.T) {
		first := mustCommit(t, repo, "main", map[string]string{"README.md": "v1", "app/main.go": "package main"})
		got := rc.delivered(key)
		want := webhook.Push{Provider: "github", DeliveryID: lastDelivery(t, s, "push").ID, Repository: "octocat/hello",
			CloneURLs: []string{repo.CloneURL()}, Branch: "main", After: first,
			Files: []string{"README.md", "app/main.go"}}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Fatalf("delivered %+v\nwant %+v", got, want)
		}
	})

	t.Run("OK_Update", func(t *testing.T) {
		before := repo.Head("main")
		after := mustCommit(t, repo, "main", map[string]string{"app/main.go": "package main // v2", "new.txt": "n"}, "README.md")
		got := rc.delivered(key)
		d := lastDelivery(t, s, "push")
		want := webhook.Push{Provider: "github", DeliveryID: d.ID, Repository: "octocat/hello",
			CloneURLs: []string{repo.CloneURL()}, Branch: "main", Before: before, After: after,
			Files: []string{"README.md", "app/main.go", "new.txt"}, FilesComplete: true}
		if len(got) != 2 || !reflect.DeepEqual(got[1], want) {
			t.Fatalf("delivered %+v\nwant %+v", got, want)
		}
		if d.Status != http.StatusOK {
			t.Fatalf("push answered %d", d.Status)
		}

		// Redelivery: 200, not delivered again.
		rd, err := s.Redeliver(d.ID)
		if err != nil || rd.Status != http.StatusOK {
			t.Fatalf("Redeliver = %+v, %v", rd, err)
		}
		if n := len(rc.delivered(key)); n != 2 {
			t.Fatalf("%d pushes after a redelivery, want 2", n)
		}
	})

	t.Run("OK_RetryAfterFailure", func(t *testing.T) {
		rc.setFail(true)
		mustCommit(t, repo, "main", map[string]string{"f": "1"})
		d := lastDelivery(t, s, "push")
		if d.Status != http.StatusInternalServerError {
			t.Fatalf("failed delivery answered %d, want 500", d.Status)
		}
		rc.setFail(false)
		n := len(rc.delivered(key))
		if rd, err := s.Redeliver(d.ID); err != nil || rd.Status != http.StatusOK {
			t.Fatalf("Redeliver = %+v, %v", rd, err)
		}
		if got := rc.delivered(key); len(got) != n+1 || got[n].DeliveryID != d.ID {
			t.Fatalf("redelivery after a failure was not delivered: %+v", got)
		}
	})

	t.Run("OK_FormContentType", func(t *testing.T) {
		const formKey = "123456789012/us-east-1/form-conn/feed"
		hookURL := rc.hookURL("github", formKey, "form-secret")
		body, _ := json.Marshal(map[string]any{"name": "web", "events": []string{"push"},
			"config": map[string]any{"url": hookURL, "content_type": "form", "secret": "form-secret"}})
		req, _ := http.NewRequest(http.MethodPost, s.GitHubAPIURL()+"/repos/octocat/hello/hooks", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+reg.Credential.Token)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create form hook: %d", resp.StatusCode)
		}
		s.WaitDeliveries()
		before := repo.Head("main")
		after := mustCommit(t, repo, "main", map[string]string{"docs/a.md": "a"})
		var formPush providersim.Delivery
		for _, d := range s.Deliveries() {
			if d.URL == hookURL {
				if d.Status != http.StatusOK || d.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
					t.Fatalf("form %s delivery: %d %s", d.Event, d.Status, d.Header.Get("Content-Type"))
				}
				formPush = d
			}
		}
		got := rc.delivered(formKey)
		if len(got) != 1 || got[0].Before != before || got[0].After != after || got[0].DeliveryID != formPush.ID ||
			!reflect.DeepEqual(got[0].Files, []string{"docs/a.md"}) {
			t.Fatalf("form delivery: %+v", got)
		}
	})

	t.Run("ErrWrongSecret", func(t *testing.T) {
		const badKey = "123456789012/us-east-1/bad-conn/0bad"
		r := reg
		r.HookURL = rc.hookURL("github", badKey, "what-openrunner-expects")
		r.Secret = "what-the-hook-was-given"
		if created, err := webhook.Register(t.Context(), s.Client(), r); err != nil || !created {
			t.Fatalf("Register = %v, %v", created, err)
		}
		mustCommit(t, repo, "main", map[string]string{"g": "1"})
		for _, d := range s.Deliveries() {
			if d.URL == r.HookURL && d.Status != http.StatusUnauthorized {
				t.Fatalf("%s delivery with a wrong secret answered %d, want 401", d.Event, d.Status)
			}
		}
		if got := rc.delivered(badKey); len(got) != 0 {
			t.Fatalf("delivered %+v despite a wrong secret", got)
		}
	})
}

func TestBitbucket(t *testing.T) {
	s := mustSim(t)
	rc := newReceiver(t)
	repo := s.AddRepo("bitbucket", "team", "svc", "main")
	const key = "123456789012/eu-west-1/bb-conn/0123abcd"
	const secret = "bb-secret-1"
	reg := webhook.Registration{
		Provider:   "BITBUCKET",
		APIBase:    s.BitbucketAPIURL(),
		Repository: "team/svc",
		HookURL:    rc.hookURL("bitbucket", key, secret),
		Secret:     secret,
		Credential: openrunner.ProviderCredential{Provider: openrunner.ProviderBitbucket, Token: s.IssueBitbucketToken("team", "repository", "webhook")},
	}
	created, err := webhook.Register(t.Context(), s.Client(), reg)
	if err != nil || !created {
		t.Fatalf("Register = %v, %v; want created", created, err)
	}
	// Again, with an API token (HTTP Basic): found, not created.
	s.AddBitbucketAPIToken("team", "ATATT3xFfGF0-test-token")
	reg.Credential = openrunner.ProviderCredential{Provider: openrunner.ProviderBitbucket, Username: "team@example.com", Token: "ATATT3xFfGF0-test-token"}
	created, err = webhook.Register(t.Context(), s.Client(), reg)
	if err != nil || created {
		t.Fatalf("second Register = %v, %v; want not created", created, err)
	}
	hooks := s.Hooks()
	if len(hooks) != 1 || hooks[0].URL != reg.HookURL || hooks[0].Description != "OpenRunner" ||
		!reflect.DeepEqual(hooks[0].Events, []string{"repo:push"}) || !hooks[0].Active {
		t.Fatalf("hooks = %+v", hooks)
	}

	first := mustCommit(t, repo, "main", map[string]string{"a": "1"})
	second := mustCommit(t, repo, "main", map[string]string{"a": "2"})
	d := lastDelivery(t, s, "repo:push")
	got := rc.delivered(key)
	want := []webhook.Push{
		{Provider: "bitbucket", Repository: "team/svc", CloneURLs: []string{repo.CloneURL()}, Branch: "main", After: first},
		{Provider: "bitbucket", DeliveryID: d.ID, Repository: "team/svc", CloneURLs: []string{repo.CloneURL()}, Branch: "main", Before: first, After: second},
	}
	if len(got) == 2 {
		got[0].DeliveryID = "" // checked below for the second one
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("delivered %+v\nwant %+v", got, want)
	}

	// Redelivery (X-Request-UUID kept, X-Attempt-Number 2): not delivered again.
	rd, err := s.Redeliver(d.ID)
	if err != nil || rd.Status != http.StatusOK || rd.Attempt != 2 {
		t.Fatalf("Redeliver = %+v, %v", rd, err)
	}
	if n := len(rc.delivered(key)); n != 2 {
		t.Fatalf("%d pushes after a redelivery, want 2", n)
	}

	// Branch deletion: the simulator cannot delete a branch, so send
	// what Bitbucket would (the last payload with "new" null), signed.
	var payload map[string]any
	if err := json.Unmarshal(d.Body, &payload); err != nil {
		t.Fatal(err)
	}
	change := payload["push"].(map[string]any)["changes"].([]any)[0].(map[string]any)
	change["old"] = change["new"]
	change["new"] = nil
	change["closed"] = true
	body, _ := json.Marshal(payload)
	req, _ := http.NewRequest(http.MethodPost, reg.HookURL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Event-Key", "repo:push")
	req.Header.Set("X-Request-UUID", "3e1b2c5a-0000-4000-8000-00000000dead")
	req.Header.Set("X-Hub-Signature", webhook.Signature([]byte(secret), body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("deletion delivery: %d", resp.StatusCode)
	}
	got = rc.delivered(key)
	del := webhook.Push{Provider: "bitbucket", DeliveryID: "3e1b2c5a-0000-4000-8000-00000000dead", Repository: "team/svc",
		CloneURLs: []string{repo.CloneURL()}, Branch: "main", Before: second, Deleted: true}
	if len(got) != 3 || !reflect.DeepEqual(got[2], del) {
		t.Fatalf("deletion delivered %+v\nwant %+v", got, del)
	}

	// The same body with a wrong signature: 401, nothing delivered.
	req, _ = http.NewRequest(http.MethodPost, reg.HookURL, bytes.NewReader(body))
	req.Header.Set("X-Event-Key", "repo:push")
	req.Header.Set("X-Request-UUID", "another")
	req.Header.Set("X-Hub-Signature", webhook.Signature([]byte("not-"+secret), body))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || len(rc.delivered(key)) != 3 {
		t.Fatalf("badly signed delivery: %d, %d pushes", resp.StatusCode, len(rc.delivered(key)))
	}
}

func TestRegister_Refused(t *testing.T) {
	s := mustSim(t)
	s.AddRepo("github", "octocat", "hello", "main")
	s.AddRepo("bitbucket", "team", "svc", "main")
	noHookScope := s.IssueGitHubToken("octocat", "read:user")
	noWebhookScope := s.IssueBitbucketToken("team", "repository")
	for _, tt := range []struct {
		name     string
		provider string
		repo     string
		cred     openrunner.ProviderCredential
		wantCode string
		want     []string // substrings of the message
	}{
		{"ErrGitHubScope", "github", "octocat/hello", openrunner.ProviderCredential{Token: noHookScope},
			openrunner.EINVALID, []string{"GitHub refused to list the webhooks of octocat/hello (HTTP 404", "admin:repo_hook"}},
		{"ErrGitHubBadToken", "github", "octocat/hello", openrunner.ProviderCredential{Token: "ghp_notAValidTokenAtAll000000000000000"},
			openrunner.EINVALID, []string{"GitHub rejected the connection's credential", "401", "Bad credentials"}},
		{"ErrGitHubNoRepo", "github", "octocat/missing", openrunner.ProviderCredential{Token: s.IssueGitHubToken("octocat", "admin:repo_hook")},
			openrunner.EINVALID, []string{"404", "octocat/missing"}},
		{"ErrBitbucketScope", "bitbucket", "team/svc", openrunner.ProviderCredential{Token: noWebhookScope},
			openrunner.EINVALID, []string{"Bitbucket refused to list the webhooks of team/svc (HTTP 403", "webhook scope", "Required scopes: webhook."}},
		{"ErrBitbucketBadToken", "bitbucket", "team/svc", openrunner.ProviderCredential{Token: "not-a-token"},
			openrunner.EINVALID, []string{"Bitbucket rejected the connection's credential", "401"}},
		{"ErrCredentialProvider", "github", "octocat/hello", openrunner.ProviderCredential{Provider: openrunner.ProviderBitbucket, Token: noHookScope},
			openrunner.EINVALID, []string{"The credential is for Bitbucket, not GitHub"}},
		{"ErrNoCredential", "github", "octocat/hello", openrunner.ProviderCredential{},
			openrunner.EINVALID, []string{"credential is required"}},
		{"ErrRepository", "github", "octocat", openrunner.ProviderCredential{Token: noHookScope},
			openrunner.EINVALID, []string{"not of the form owner/name"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := s.GitHubAPIURL()
			if tt.provider == "bitbucket" {
				base = s.BitbucketAPIURL()
			}
			created, err := webhook.Register(t.Context(), s.Client(), webhook.Registration{
				Provider: tt.provider, APIBase: base, Repository: tt.repo,
				HookURL: "https://openrunner.example/_openrunner/webhooks/x/k", Secret: "hook-secret-value", Credential: tt.cred,
			})
			if created || err == nil {
				t.Fatalf("Register = %v, %v; want an error", created, err)
			}
			if got := openrunner.ErrorCode(err); got != tt.wantCode {
				t.Fatalf("code = %s (%v), want %s", got, err, tt.wantCode)
			}
			msg := openrunner.ErrorMessage(err)
			t.Log(msg)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			for _, secret := range []string{tt.cred.Token, "hook-secret-value"} {
				if secret != "" && strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks a secret: %v", err)
				}
			}
		})
	}
	if n := len(s.Hooks()); n != 0 {
		t.Fatalf("%d hooks created by refused registrations", n)
	}
}

func TestRegister_Unreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	_, err := webhook.Register(t.Context(), nil, webhook.Registration{
		Provider: "github", APIBase: base, Repository: "o/r", HookURL: "https://x.example/h",
		Secret: "s", Credential: openrunner.ProviderCredential{Token: "tok-value-secret"},
	})
	if openrunner.ErrorCode(err) != openrunner.EINTERNAL || !strings.Contains(openrunner.ErrorMessage(err), "Try again later") ||
		strings.Contains(err.Error(), "tok-value-secret") {
		t.Fatalf("err = %v", err)
	}
}

// TestRegister_ExistingInactive checks that a disabled hook with the URL
// is reported, not silently accepted.
func TestRegister_ExistingInactive(t *testing.T) {
	s := mustSim(t)
	s.AddRepo("github", "octocat", "hello", "main")
	tok := s.IssueGitHubToken("octocat", "admin:repo_hook")
	const hookURL = "https://openrunner.example/_openrunner/webhooks/github/k"
	body, _ := json.Marshal(map[string]any{"name": "web", "active": false, "events": []string{"push"},
		"config": map[string]any{"url": hookURL, "content_type": "json", "secret": "x"}})
	req, _ := http.NewRequest(http.MethodPost, s.GitHubAPIURL()+"/repos/octocat/hello/hooks", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, err = webhook.Register(t.Context(), s.Client(), webhook.Registration{
		Provider: "github", APIBase: s.GitHubAPIURL(), Repository: "octocat/hello", HookURL: hookURL,
		Secret: "x", Credential: openrunner.ProviderCredential{Token: tok},
	})
	if openrunner.ErrorCode(err) != openrunner.EINVALID || !strings.Contains(openrunner.ErrorMessage(err), "inactive") {
		t.Fatalf("err = %v", err)
	}
}

func TestRepositoryFromURL(t *testing.T) {
	for _, tt := range []struct {
		provider, url string
		owner, name   string
		wantErr       bool
	}{
		{"github", "https://github.com/octocat/Hello-World", "octocat", "Hello-World", false},
		{"github", "https://github.com/octocat/Hello-World.git", "octocat", "Hello-World", false},
		{"github", "https://github.com/octocat/Hello-World/", "octocat", "Hello-World", false},
		{"GITHUB", "https://ghe.example.com/org/app.git", "org", "app", false},
		{"github", "http://127.0.0.1:1234/github/owner/repo.git", "owner", "repo", false},
		{"bitbucket", "https://bitbucket.org/workspace/slug", "workspace", "slug", false},
		{"bitbucket", "https://bitbucket.org/workspace/slug.git", "workspace", "slug", false},
		{"BITBUCKET", "https://user@bitbucket.org/workspace/slug.git", "workspace", "slug", false},
		{"github", "https://github.com/octocat", "", "", true},
		{"github", "https://github.com/", "", "", true},
		{"github", "https://github.com/octocat/.git", "", "", true},
		{"github", "git@github.com:octocat/hello.git", "", "", true},
		{"github", "ssh://git@github.com/octocat/hello.git", "", "", true},
		{"github", "/octocat/hello", "", "", true},
		{"gitlab", "https://gitlab.com/a/b", "", "", true},
	} {
		owner, name, err := webhook.RepositoryFromURL(tt.provider, tt.url)
		if (err != nil) != tt.wantErr || owner != tt.owner || name != tt.name {
			t.Errorf("RepositoryFromURL(%q, %q) = %q, %q, %v; want %q, %q, error %v",
				tt.provider, tt.url, owner, name, err, tt.owner, tt.name, tt.wantErr)
		}
		if err != nil && openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("RepositoryFromURL(%q): code %s, want EINVALID", tt.url, openrunner.ErrorCode(err))
		}
	}
	for _, u := range []string{"https://x-access-token:ghs_secret@github.com/o", "https://ghs_secret@github.com/o", "ftp://ghs_secret@github.com/o/r"} {
		_, _, err := webhook.RepositoryFromURL("github", u)
		if err == nil || strings.Contains(err.Error(), "ghs_secret") {
			t.Fatalf("RepositoryFromURL(%q): err = %v, want an error without the token", u, err)
		}
	}
}

// TestRegister_Concurrent registers the same hook from several goroutines:
// one creates it, the others find it (listing first, or after GitHub's 422
// "Hook already exists" when they race), and none fails.
func TestRegister_Concurrent(t *testing.T) {
	s := mustSim(t)
	s.AddRepo("github", "octocat", "hello", "main")
	reg := webhook.Registration{
		Provider: "github", APIBase: s.GitHubAPIURL(), Repository: "octocat/hello",
		HookURL: "https://openrunner.example/_openrunner/webhooks/github/k", Secret: "x",
		Credential: openrunner.ProviderCredential{Token: s.IssueGitHubToken("octocat", "repo")},
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdN := 0
	for range 8 {
		wg.Go(func() {
			created, err := webhook.Register(t.Context(), s.Client(), reg)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if created {
				createdN++
			}
		})
	}
	wg.Wait()
	if createdN != 1 || len(s.Hooks()) != 1 {
		t.Fatalf("%d created, %d hooks; want 1 and 1", createdN, len(s.Hooks()))
	}
}

// TestUnregister registers OpenRunner's hook and another one on each
// provider, then unregisters OpenRunner's: it is gone, pushes no longer
// reach OpenRunner, the other hook stays, and unregistering again is a
// no-op.
func TestUnregister(t *testing.T) {
	for _, tt := range []struct {
		provider, owner, name string
		event                 string
		cred                  func(s *providersim.Sim) openrunner.ProviderCredential
		base                  func(s *providersim.Sim) string
	}{
		{"github", "octocat", "hello", "push",
			func(s *providersim.Sim) openrunner.ProviderCredential {
				return openrunner.ProviderCredential{Provider: openrunner.ProviderGitHub, Token: s.IssueGitHubToken("octocat", "admin:repo_hook")}
			},
			(*providersim.Sim).GitHubAPIURL},
		{"bitbucket", "team", "svc", "repo:push",
			func(s *providersim.Sim) openrunner.ProviderCredential {
				return openrunner.ProviderCredential{Provider: openrunner.ProviderBitbucket, Token: s.IssueBitbucketToken("team", "repository", "webhook")}
			},
			(*providersim.Sim).BitbucketAPIURL},
	} {
		t.Run(tt.provider, func(t *testing.T) {
			s := mustSim(t)
			rc := newReceiver(t)
			repo := s.AddRepo(tt.provider, tt.owner, tt.name, "main")
			const key, otherKey = "123456789012/us-east-1/conn/0001", "123456789012/us-east-1/other/0002"
			reg := webhook.Registration{
				Provider: tt.provider, APIBase: tt.base(s), Repository: tt.owner + "/" + tt.name,
				HookURL: rc.hookURL(tt.provider, key, "secret-1"), Secret: "secret-1", Credential: tt.cred(s),
			}
			other := reg
			other.HookURL, other.Secret = rc.hookURL(tt.provider, otherKey, "secret-2"), "secret-2"
			for _, r := range []webhook.Registration{reg, other} {
				if created, err := webhook.Register(t.Context(), s.Client(), r); err != nil || !created {
					t.Fatalf("Register(%s) = %v, %v", r.HookURL, created, err)
				}
			}
			mustCommit(t, repo, "main", map[string]string{"a": "1"})
			if len(rc.delivered(key)) != 1 || len(rc.delivered(otherKey)) != 1 {
				t.Fatalf("before Unregister: %d and %d pushes, want 1 and 1", len(rc.delivered(key)), len(rc.delivered(otherKey)))
			}

			unreg := reg
			unreg.Secret = "" // not needed
			deleted, err := webhook.Unregister(t.Context(), s.Client(), unreg)
			if err != nil || !deleted {
				t.Fatalf("Unregister = %v, %v; want deleted", deleted, err)
			}
			hooks := s.Hooks()
			if len(hooks) != 1 || hooks[0].URL != other.HookURL {
				t.Fatalf("hooks after Unregister = %+v, want only %s", hooks, other.HookURL)
			}
			n := len(s.Deliveries())
			mustCommit(t, repo, "main", map[string]string{"a": "2"})
			if got := rc.delivered(key); len(got) != 1 {
				t.Fatalf("%d pushes delivered after Unregister, want still 1", len(got))
			}
			if got := rc.delivered(otherKey); len(got) != 2 {
				t.Fatalf("the other hook got %d pushes, want 2", len(got))
			}
			for _, d := range s.Deliveries()[n:] {
				if d.URL == reg.HookURL {
					t.Fatalf("%s delivered to the removed hook", d.Event)
				}
			}

			deleted, err = webhook.Unregister(t.Context(), s.Client(), unreg)
			if err != nil || deleted {
				t.Fatalf("second Unregister = %v, %v; want false, nil", deleted, err)
			}
			if len(s.Hooks()) != 1 {
				t.Fatalf("hooks = %+v", s.Hooks())
			}
		})
	}
}

// TestUnregister_Refused checks that a credential that cannot delete
// webhooks is a clear EINVALID error, leaving the hook in place.
func TestUnregister_Refused(t *testing.T) {
	s := mustSim(t)
	s.AddRepo("github", "octocat", "hello", "main")
	s.AddRepo("bitbucket", "team", "svc", "main")
	const hookURL = "https://openrunner.example/_openrunner/webhooks/x/k"
	for _, r := range []webhook.Registration{
		{Provider: "github", APIBase: s.GitHubAPIURL(), Repository: "octocat/hello", HookURL: hookURL, Secret: "hook-secret-value",
			Credential: openrunner.ProviderCredential{Token: s.IssueGitHubToken("octocat", "admin:repo_hook")}},
		{Provider: "bitbucket", APIBase: s.BitbucketAPIURL(), Repository: "team/svc", HookURL: hookURL, Secret: "hook-secret-value",
			Credential: openrunner.ProviderCredential{Token: s.IssueBitbucketToken("team", "webhook")}},
	} {
		if created, err := webhook.Register(t.Context(), s.Client(), r); err != nil || !created {
			t.Fatalf("Register(%s) = %v, %v", r.Provider, created, err)
		}
	}
	for _, tt := range []struct {
		name     string
		provider string
		repo     string
		cred     openrunner.ProviderCredential
		want     []string
	}{
		{"ErrGitHubNoHookScope", "github", "octocat/hello", openrunner.ProviderCredential{Token: s.IssueGitHubToken("octocat", "read:user")},
			[]string{"GitHub refused to list the webhooks of octocat/hello (HTTP 404", "admin:repo_hook"}},
		{"ErrGitHubReadOnlyScope", "github", "octocat/hello", openrunner.ProviderCredential{Token: s.IssueGitHubToken("octocat", "read:repo_hook")},
			[]string{"GitHub refused to delete a webhook of octocat/hello (HTTP 404", "admin:repo_hook"}},
		{"ErrGitHubBadToken", "github", "octocat/hello", openrunner.ProviderCredential{Token: "ghp_notAValidTokenAtAll000000000000000"},
			[]string{"GitHub rejected the connection's credential", "401"}},
		{"ErrBitbucketScope", "bitbucket", "team/svc", openrunner.ProviderCredential{Token: s.IssueBitbucketToken("team", "repository")},
			[]string{"Bitbucket refused to list the webhooks of team/svc (HTTP 403", "webhook scope", "Required scopes: webhook."}},
		{"ErrNoCredential", "bitbucket", "team/svc", openrunner.ProviderCredential{},
			[]string{"A Bitbucket credential is required to remove a webhook."}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := s.GitHubAPIURL()
			if tt.provider == "bitbucket" {
				base = s.BitbucketAPIURL()
			}
			deleted, err := webhook.Unregister(t.Context(), s.Client(), webhook.Registration{
				Provider: tt.provider, APIBase: base, Repository: tt.repo, HookURL: hookURL, Credential: tt.cred,
			})
			if deleted || err == nil {
				t.Fatalf("Unregister = %v, %v; want an error", deleted, err)
			}
			if got := openrunner.ErrorCode(err); got != openrunner.EINVALID {
				t.Fatalf("code = %s (%v), want EINVALID", got, err)
			}
			msg := openrunner.ErrorMessage(err)
			t.Log(msg)
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if tt.cred.Token != "" && strings.Contains(err.Error(), tt.cred.Token) {
				t.Fatalf("error leaks the token: %v", err)
			}
		})
	}
	if n := len(s.Hooks()); n != 2 {
		t.Fatalf("%d hooks after refused unregistrations, want 2", n)
	}
}
