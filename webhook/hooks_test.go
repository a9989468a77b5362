package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/sqlite"
	"github.com/openrunner/openrunner/webhook"
)

var (
	hooksScope  = openrunner.Scope{AccountID: "111111111111", Region: "us-east-1"}
	otherScope  = openrunner.Scope{AccountID: "222222222222", Region: "eu-west-1"}
	hooksMaster = bytes.Repeat([]byte{0x42}, 32)
)

// hooksEnv is a server with Hooks mounted as the daemon mounts it, on real
// SQLite stores, recording the services AutoDeploy is called for.
type hooksEnv struct {
	t        *testing.T
	conns    *sqlite.ConnectionService
	services *sqlite.ServiceService
	hooks    *webhook.Hooks
	srv      *httptest.Server

	mu     sync.Mutex
	kicked []string
	seq    int
}

// newHooksEnv starts the server once configure (if any) has set the
// Hooks' fields: they do not change while it serves.
func newHooksEnv(t *testing.T, configure ...func(*webhook.Hooks)) *hooksEnv {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "openrunner.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := &hooksEnv{t: t, conns: sqlite.NewConnectionService(db), services: sqlite.NewServiceService(db)}
	e.hooks = &webhook.Hooks{
		Connections: e.conns,
		Services:    e.services,
		MasterKey:   hooksMaster,
		AutoDeploy: func(arn string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.kicked = append(e.kicked, arn)
		},
	}
	mux := http.NewServeMux()
	mux.Handle(webhook.DeliveryPath, e.hooks)
	e.srv = httptest.NewUnstartedServer(mux)
	e.hooks.PublicURL = "http://" + e.srv.Listener.Addr().String()
	for _, f := range configure {
		f(e.hooks)
	}
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

func (e *hooksEnv) ctx(scope openrunner.Scope) context.Context {
	return openrunner.NewContextWithScope(context.Background(), scope)
}

// connection stores a connection in scope.
func (e *hooksEnv) connection(scope openrunner.Scope, provider, name string) *openrunner.Connection {
	e.t.Helper()
	c := &openrunner.Connection{Name: name, ProviderType: provider}
	if err := e.conns.CreateConnection(e.ctx(scope), c, nil); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// service stores a source-code service of conn that deploys branch of
// repoURL, and brings it to status.
func (e *hooksEnv) service(conn *openrunner.Connection, name, repoURL, branch, status string) *openrunner.Service {
	e.t.Helper()
	svc := &openrunner.Service{Name: name, Config: openrunner.ServiceConfig{Source: openrunner.SourceConfig{
		Code:                   &openrunner.CodeSource{RepositoryURL: repoURL, VersionType: "BRANCH", VersionValue: branch, ConfigurationSource: "REPOSITORY"},
		ConnectionARN:          conn.ARN(),
		AutoDeploymentsEnabled: true,
	}}}
	e.create(conn.Scope, svc, status)
	return svc
}

func (e *hooksEnv) create(scope openrunner.Scope, svc *openrunner.Service, status string) {
	e.t.Helper()
	op := &openrunner.Operation{}
	if err := e.services.CreateService(e.ctx(scope), svc, op, nil); err != nil {
		e.t.Fatal(err)
	}
	if status == openrunner.ServiceOperationInProgress {
		return
	}
	op.Status = openrunner.OperationSucceeded
	if status == openrunner.ServiceCreateFailed {
		op.Status = openrunner.OperationFailed
	}
	svc.Status = status
	if err := e.services.FinishOperation(e.ctx(scope), op, svc); err != nil {
		e.t.Fatal(err)
	}
}

// takeKicked returns and forgets the services kicked so far, sorted.
func (e *hooksEnv) takeKicked() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := e.kicked
	e.kicked = nil
	slices.Sort(k)
	return k
}

// post delivers a signed event to the connection's webhook URL with the
// given secret and returns the status.
func (e *hooksEnv) post(url, secret, event string, payload any) int {
	e.t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	e.mu.Lock()
	e.seq++
	id := fmt.Sprintf("delivery-%d", e.seq)
	e.mu.Unlock()
	if strings.Contains(url, "/bitbucket/") {
		req.Header.Set("X-Event-Key", event)
		req.Header.Set("X-Request-UUID", id)
		req.Header.Set("X-Hub-Signature", webhook.Signature([]byte(secret), body))
	} else {
		req.Header.Set("X-GitHub-Event", event)
		req.Header.Set("X-GitHub-Delivery", id)
		req.Header.Set("X-Hub-Signature-256", webhook.Signature([]byte(secret), body))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

const (
	sha1 = "1111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222"
	zero = "0000000000000000000000000000000000000000"
)

// ghPush is a GitHub push payload: ref is a full ref name.
func ghPush(repo, ref string, deleted bool) map[string]any {
	after := sha2
	if deleted {
		after = zero
	}
	return map[string]any{
		"ref": ref, "before": sha1, "after": after, "deleted": deleted,
		"commits":    []any{map[string]any{"modified": []string{"main.go"}}},
		"repository": map[string]any{"full_name": repo, "clone_url": "https://github.com/" + repo + ".git"},
	}
}

// bbPush is a Bitbucket repo:push payload updating one branch.
func bbPush(repo, branch string) map[string]any {
	ref := func(hash string) map[string]any {
		return map[string]any{"type": "branch", "name": branch, "target": map[string]any{"hash": hash}}
	}
	return map[string]any{
		"repository": map[string]any{"full_name": repo, "links": map[string]any{"html": map[string]any{"href": "https://bitbucket.org/" + repo}}},
		"push":       map[string]any{"changes": []any{map[string]any{"old": ref(sha1), "new": ref(sha2)}}},
	}
}

func arns(svcs ...*openrunner.Service) []string {
	var out []string
	for _, s := range svcs {
		out = append(out, s.ARN())
	}
	slices.Sort(out)
	return out
}

// TestHooks_Push checks which services a push kicks: those of the
// delivery's connection that deploy the pushed branch of the pushed
// repository and are RUNNING or OPERATION_IN_PROGRESS; nothing else.
func TestHooks_Push(t *testing.T) {
	e := newHooksEnv(t)
	gh := e.connection(hooksScope, openrunner.ProviderGitHub, "gh")
	gh2 := e.connection(hooksScope, openrunner.ProviderGitHub, "gh-two")
	bb := e.connection(hooksScope, openrunner.ProviderBitbucket, "bb")
	ghOther := e.connection(otherScope, openrunner.ProviderGitHub, "gh") // same name, another account

	const repo = "https://github.com/octocat/hello"
	running := e.service(gh, "running", repo, "main", openrunner.ServiceRunning)
	spelled := e.service(gh, "spelled", "https://github.com/Octocat/Hello.git", "main", openrunner.ServiceRunning)
	deploying := e.service(gh, "deploying", repo+".git", "main", openrunner.ServiceOperationInProgress)
	dev := e.service(gh, "dev", repo, "dev", openrunner.ServiceRunning)
	otherRepo := e.service(gh, "other-repo", "https://github.com/octocat/other", "main", openrunner.ServiceRunning)
	otherConn := e.service(gh2, "other-conn", repo, "main", openrunner.ServiceRunning)
	otherAccount := e.service(ghOther, "other-account", repo, "main", openrunner.ServiceRunning)
	e.service(gh, "paused", repo, "main", openrunner.ServicePaused)
	e.service(gh, "create-failed", repo, "main", openrunner.ServiceCreateFailed)
	e.service(gh, "deleted", repo, "main", openrunner.ServiceDeleted)
	// An image service names no connection or repository.
	e.create(hooksScope, &openrunner.Service{Name: "image", Config: openrunner.ServiceConfig{Source: openrunner.SourceConfig{
		Image: &openrunner.ImageSource{Identifier: "public.ecr.aws/nginx/nginx:latest", RepositoryType: "ECR_PUBLIC"},
	}}}, openrunner.ServiceRunning)
	bbMain := e.service(bb, "bb-main", "https://bitbucket.org/team/svc.git", "main", openrunner.ServiceRunning)

	ghURL, ghSecret := e.hooks.Webhook(t.Context(), gh)
	gh2URL, gh2Secret := e.hooks.Webhook(t.Context(), gh2)
	otherURL, otherSecret := e.hooks.Webhook(t.Context(), ghOther)
	bbURL, bbSecret := e.hooks.Webhook(t.Context(), bb)
	if want := e.srv.URL + "/_openrunner/webhooks/github/111111111111/us-east-1/gh/" + gh.ID; ghURL != want {
		t.Fatalf("Webhook URL %s, want %s", ghURL, want)
	}
	if !strings.Contains(bbURL, "/_openrunner/webhooks/bitbucket/") {
		t.Fatalf("Bitbucket webhook URL %s", bbURL)
	}
	if ghSecret == gh2Secret || ghSecret == otherSecret || len(ghSecret) != 64 {
		t.Fatalf("secrets are not distinct per connection: %q %q %q", ghSecret, gh2Secret, otherSecret)
	}
	if again, s := e.hooks.Webhook(t.Context(), gh); again != ghURL || s != ghSecret {
		t.Fatal("Webhook is not stable")
	}

	for _, tt := range []struct {
		name        string
		url, secret string
		event       string
		payload     any
		wantStatus  int
		want        []string
	}{
		{"OK_TrackedBranch", ghURL, ghSecret, "push", ghPush("octocat/hello", "refs/heads/main", false),
			http.StatusOK, arns(running, spelled, deploying)},
		{"OK_RepositoryCase", ghURL, ghSecret, "push", ghPush("OctoCat/HELLO", "refs/heads/main", false),
			http.StatusOK, arns(running, spelled, deploying)},
		{"OK_OtherBranch", ghURL, ghSecret, "push", ghPush("octocat/hello", "refs/heads/dev", false),
			http.StatusOK, arns(dev)},
		{"OK_OtherRepository", ghURL, ghSecret, "push", ghPush("octocat/other", "refs/heads/main", false),
			http.StatusOK, arns(otherRepo)},
		{"OK_OtherConnection", gh2URL, gh2Secret, "push", ghPush("octocat/hello", "refs/heads/main", false),
			http.StatusOK, arns(otherConn)},
		{"OK_OtherAccount", otherURL, otherSecret, "push", ghPush("octocat/hello", "refs/heads/main", false),
			http.StatusOK, arns(otherAccount)},
		{"OK_Bitbucket", bbURL, bbSecret, "repo:push", bbPush("team/svc", "main"),
			http.StatusOK, arns(bbMain)},
		{"None_UntrackedBranch", ghURL, ghSecret, "push", ghPush("octocat/hello", "refs/heads/feature", false),
			http.StatusOK, nil},
		{"None_UnknownRepository", ghURL, ghSecret, "push", ghPush("someone/else", "refs/heads/main", false),
			http.StatusOK, nil},
		{"None_DeletedBranch", ghURL, ghSecret, "push", ghPush("octocat/hello", "refs/heads/main", true),
			http.StatusOK, nil},
		{"None_Tag", ghURL, ghSecret, "push", ghPush("octocat/hello", "refs/tags/main", false),
			http.StatusAccepted, nil},
		{"None_GitHubRepoOnBitbucketConnection", bbURL, bbSecret, "repo:push", bbPush("octocat/hello", "main"),
			http.StatusOK, nil},
		{"ErrSecretOfAnotherConnection", ghURL, gh2Secret, "push", ghPush("octocat/hello", "refs/heads/main", false),
			http.StatusUnauthorized, nil},
		{"ErrUnknownConnection", strings.Replace(ghURL, gh.ID, "0123456789abcdef0123456789abcdef", 1), ghSecret, "push",
			ghPush("octocat/hello", "refs/heads/main", false), http.StatusNotFound, nil},
		{"ErrMalformedKey", e.srv.URL + webhook.DeliveryPath + "github/just-a-key", ghSecret, "push",
			ghPush("octocat/hello", "refs/heads/main", false), http.StatusNotFound, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.post(tt.url, tt.secret, tt.event, tt.payload); got != tt.wantStatus {
				t.Fatalf("delivery answered %d, want %d", got, tt.wantStatus)
			}
			if got := e.takeKicked(); !slices.Equal(got, tt.want) {
				t.Fatalf("kicked %v\nwant   %v", got, tt.want)
			}
		})
	}
}

// TestHooks_NoEngine: a server that runs no services (no Services, no
// AutoDeploy) still accepts deliveries and deploys nothing.
func TestHooks_NoEngine(t *testing.T) {
	for name, configure := range map[string]func(*webhook.Hooks){
		"NoAutoDeploy": func(h *webhook.Hooks) { h.AutoDeploy = nil },
		"NoServices":   func(h *webhook.Hooks) { h.Services = nil },
	} {
		t.Run(name, func(t *testing.T) {
			e := newHooksEnv(t, configure)
			gh := e.connection(hooksScope, openrunner.ProviderGitHub, "gh")
			e.service(gh, "running", "https://github.com/octocat/hello", "main", openrunner.ServiceRunning)
			url, secret := e.hooks.Webhook(t.Context(), gh)
			if got := e.post(url, secret, "push", ghPush("octocat/hello", "refs/heads/main", false)); got != http.StatusOK {
				t.Fatalf("delivery answered %d", got)
			}
			if got := e.takeKicked(); len(got) != 0 {
				t.Fatalf("kicked %v", got)
			}
		})
	}
}

// TestHooks_RegisterWithSimulator registers a service's webhook with the
// simulated GitHub and Bitbucket through Hooks, checks that a push to the
// repository then reaches AutoDeploy through the provider's delivery, and
// unregisters it again.
func TestHooks_RegisterWithSimulator(t *testing.T) {
	for _, provider := range []string{openrunner.ProviderGitHub, openrunner.ProviderBitbucket} {
		t.Run(provider, func(t *testing.T) {
			s := mustSim(t)
			e := newHooksEnv(t, func(h *webhook.Hooks) {
				h.GitHubAPIURL, h.BitbucketAPIURL, h.HTTPClient = s.GitHubAPIURL(), s.BitbucketAPIURL(), s.Client()
			})
			var repo *providersim.Repo
			var cred openrunner.ProviderCredential
			if provider == openrunner.ProviderGitHub {
				repo = s.AddRepo("github", "octocat", "hello", "main")
				cred = openrunner.ProviderCredential{Provider: provider, Token: s.IssueGitHubToken("octocat", "repo", "admin:repo_hook")}
			} else {
				repo = s.AddRepo("bitbucket", "team", "svc", "main")
				cred = openrunner.ProviderCredential{Provider: provider, Token: s.IssueBitbucketToken("team", "repository", "webhook")}
			}
			conn := e.connection(hooksScope, provider, "conn")
			svc := e.service(conn, "web", repo.CloneURL(), "main", openrunner.ServiceRunning)
			ctx := e.ctx(hooksScope)

			for range 2 { // the second finds the first's webhook
				if err := e.hooks.Register(ctx, svc, cred); err != nil {
					t.Fatalf("Register: %v", err)
				}
			}
			url, _ := e.hooks.Webhook(ctx, conn)
			if hooks := s.Hooks(); len(hooks) != 1 || hooks[0].URL != url {
				t.Fatalf("hooks %+v, want one delivering to %s", hooks, url)
			}
			if _, err := repo.CommitChanges("main", map[string]string{"main.go": "package main"}, nil, "change"); err != nil {
				t.Fatal(err)
			}
			s.WaitDeliveries()
			if got := e.takeKicked(); !slices.Equal(got, arns(svc)) {
				t.Fatalf("kicked %v, want %v", got, arns(svc))
			}

			if err := e.hooks.Unregister(ctx, svc, cred); err != nil {
				t.Fatalf("Unregister: %v", err)
			}
			if hooks := s.Hooks(); len(hooks) != 0 {
				t.Fatalf("hooks after Unregister: %+v", hooks)
			}
		})
	}
}

// TestHooks_RegisterErrors: a refusal keeps the provider's explanation
// and never shows the token; a service of a missing connection is
// ENOTFOUND.
func TestHooks_RegisterErrors(t *testing.T) {
	s := mustSim(t)
	e := newHooksEnv(t, func(h *webhook.Hooks) { h.GitHubAPIURL, h.HTTPClient = s.GitHubAPIURL(), s.Client() })
	repo := s.AddRepo("github", "octocat", "hello", "main")
	conn := e.connection(hooksScope, openrunner.ProviderGitHub, "conn")
	svc := e.service(conn, "web", repo.CloneURL(), "main", openrunner.ServiceRunning)
	tok := s.IssueGitHubToken("octocat", "read:user")
	err := e.hooks.Register(e.ctx(hooksScope), svc, openrunner.ProviderCredential{Provider: openrunner.ProviderGitHub, Token: tok})
	if openrunner.ErrorCode(err) != openrunner.EINVALID || !strings.Contains(openrunner.ErrorMessage(err), "admin:repo_hook") ||
		strings.Contains(err.Error(), tok) {
		t.Fatalf("Register with too little scope: %v", err)
	}

	orphan := *svc
	orphan.Config.Source.ConnectionARN = strings.Replace(conn.ARN(), conn.ID, "0123456789abcdef0123456789abcdef", 1)
	if err := e.hooks.Unregister(e.ctx(hooksScope), &orphan, openrunner.ProviderCredential{Token: tok}); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		t.Fatalf("Unregister of a missing connection's service: %v", err)
	}
}
