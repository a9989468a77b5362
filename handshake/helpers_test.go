package handshake_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/handshake"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/sqlite"
	"github.com/openrunner/openrunner/vault"
)

// Registrations of OpenRunner with the simulated providers.
const (
	callbackURL = "http://127.0.0.1:4590/console/oauth/callback"

	ghClientID     = "Ov23liOpenRunnerTest"
	ghClientSecret = "gh-client-secret-4b1d9c2e7f"
	ghAppID        = 4242
	ghAppClientID  = "Iv23liOpenRunnerApp"
	ghAppSecret    = "gh-app-client-secret-9a8b7c6d"
	bbKey          = "bbConsumerKeyTest"
	bbSecret       = "bb-consumer-secret-5e6f7a8b"
)

var (
	scopeA = openrunner.Scope{AccountID: "111111111111", Region: "us-east-1"}
	scopeB = openrunner.Scope{AccountID: "222222222222", Region: "us-east-1"}
)

// ctxA is a context in scopeA, where the tests' connections live.
func ctxA() context.Context { return openrunner.NewContextWithScope(context.Background(), scopeA) }

// clock is a settable clock shared by the simulator and the Service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// options selects how an env registers OpenRunner with the providers.
type options struct {
	// githubApp makes GitHub handshakes go through a GitHub App (with
	// installation tokens) instead of an OAuth app.
	githubApp bool
	// noOAuth leaves both providers' OAuth unconfigured.
	noOAuth bool
	// ghAPIURL overrides the GitHub API URL (e.g. an unreachable one).
	ghAPIURL string
}

// env is one test's world: a simulator, a SQLite data directory, a vault
// and a Service, all on one clock, with the logs captured.
type env struct {
	t      *testing.T
	clock  *clock
	sim    *providersim.Sim
	dir    string
	master []byte
	vault  *vault.Vault
	db     *sqlite.DB
	conns  *sqlite.ConnectionService
	svc    *handshake.Service
	logs   *lockedBuffer
	opts   options
	appKey *rsa.PrivateKey

	mu      sync.Mutex
	secrets []string // every secret value seen; none may be at rest or in logs
}

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

// rsaKey returns the GitHub App key shared by the tests.
func rsaKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// newEnv builds an env. Its cleanup checks that no secret it saw was
// written in clear to any file of the data directory (while the database
// is open, so -wal and -shm are included, and after it is closed) or to
// the logs.
func newEnv(t *testing.T, o options) *env {
	t.Helper()
	e := &env{t: t, opts: o, clock: &clock{t: time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)}, logs: &lockedBuffer{}}
	e.sim = providersim.New(providersim.Options{Now: e.clock.Now})
	t.Cleanup(e.sim.Close)

	e.sim.AddGitHubOAuthApp(providersim.GitHubOAuthApp{
		ClientID: ghClientID, ClientSecret: ghClientSecret, Name: "OpenRunner",
		CallbackURLs: []string{callbackURL}, ExpiringTokens: true,
	})
	e.appKey = rsaKey(t)
	e.sim.AddGitHubApp(providersim.GitHubApp{
		ID: ghAppID, Slug: "openrunner", Name: "OpenRunner", ClientID: ghAppClientID, ClientSecret: ghAppSecret,
		PublicKey: &e.appKey.PublicKey, CallbackURLs: []string{callbackURL},
	})
	e.sim.AddBitbucketConsumer(providersim.BitbucketConsumer{
		Key: bbKey, Secret: bbSecret, Name: "OpenRunner", CallbackURL: callbackURL,
	})
	e.addSecret(ghClientSecret, ghAppSecret, bbSecret)

	e.dir = t.TempDir()
	e.master = make([]byte, 32)
	_, _ = rand.Read(e.master)
	v, err := vault.New(e.master)
	if err != nil {
		t.Fatal(err)
	}
	e.vault = v

	t.Cleanup(func() { e.checkNoLeaks(t, "after close") })
	e.open()
	t.Cleanup(func() { e.db.Close() })
	t.Cleanup(func() { e.checkNoLeaks(t, "while open") })
	return e
}

// open opens the database and a Service on it.
func (e *env) open() {
	e.t.Helper()
	e.db = sqlite.NewDB(filepath.Join(e.dir, "openrunner.db"))
	if err := e.db.Open(); err != nil {
		e.t.Fatal(err)
	}
	e.conns = sqlite.NewConnectionService(e.db)
	e.svc = e.newService(e.config())
}

// reopen closes the database and opens it again with a new Service, as
// after a restart (same data directory, same master key).
func (e *env) reopen() {
	e.t.Helper()
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	v, err := vault.New(e.master)
	if err != nil {
		e.t.Fatal(err)
	}
	e.vault = v
	e.open()
}

func (e *env) config() handshake.Config {
	cfg := handshake.Config{
		Connections: e.conns,
		Vault:       e.vault,
		CallbackURL: callbackURL,
		GitHub: handshake.GitHubConfig{
			ClientID: ghClientID, ClientSecret: ghClientSecret,
			URL: e.sim.GitHubURL(), APIURL: e.sim.GitHubAPIURL(),
		},
		Bitbucket: handshake.BitbucketConfig{
			ClientID: bbKey, ClientSecret: bbSecret,
			URL: e.sim.BitbucketURL(), APIURL: e.sim.BitbucketAPIURL(),
		},
		Now:    e.clock.Now,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if e.opts.githubApp {
		cfg.GitHub.ClientID, cfg.GitHub.ClientSecret = ghAppClientID, ghAppSecret
		cfg.GitHub.AppID = ghAppID
		cfg.GitHub.AppPrivateKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(e.appKey)})
	}
	if e.opts.noOAuth {
		cfg.GitHub.ClientID, cfg.GitHub.ClientSecret = "", ""
		cfg.Bitbucket.ClientID, cfg.Bitbucket.ClientSecret = "", ""
	}
	if e.opts.ghAPIURL != "" {
		cfg.GitHub.APIURL = e.opts.ghAPIURL
	}
	return cfg
}

func (e *env) newService(cfg handshake.Config) *handshake.Service {
	e.t.Helper()
	svc, err := handshake.New(cfg)
	if err != nil {
		e.t.Fatalf("handshake.New: %v", err)
	}
	return svc
}

// addSecret records values that must never be found in clear.
func (e *env) addSecret(vs ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range vs {
		if v != "" && !slices.Contains(e.secrets, v) {
			e.secrets = append(e.secrets, v)
		}
	}
}

// checkNoLeaks reads every file under the data directory and the logs
// and fails if any secret appears in them.
func (e *env) checkNoLeaks(t *testing.T, when string) {
	t.Helper()
	e.mu.Lock()
	secrets := slices.Clone(e.secrets)
	e.mu.Unlock()
	files := map[string][]byte{"(logs)": []byte(e.logs.String())}
	err := filepath.WalkDir(e.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // SQLite removed it meanwhile
		}
		files[filepath.Base(path)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		for _, s := range secrets {
			if bytes.Contains(b, []byte(s)) {
				// Name the token's kind by its public prefix (gho_, ghr_...), never more.
				kind, _, ok := strings.Cut(s, "_")
				if !ok || len(kind) > 4 {
					kind = "unprefixed"
				}
				t.Errorf("%s: %s holds a secret in clear (%s, %d characters)", when, name, kind, len(s))
			}
		}
	}
}

// readAll concatenates every file under dir.
func readAll(t *testing.T, dir string) string {
	t.Helper()
	var sb strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		sb.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return sb.String()
}

// create stores a new PENDING_HANDSHAKE connection in scopeA.
func (e *env) create(provider, name string) *openrunner.Connection {
	e.t.Helper()
	c := &openrunner.Connection{Name: name, ProviderType: provider}
	if err := e.conns.CreateConnection(ctxA(), c, nil); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// conn reads a connection back from the store.
func (e *env) conn(arn string) *openrunner.Connection {
	e.t.Helper()
	c, err := e.conns.FindConnectionByARN(ctxA(), arn)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// stored is the sealed credential document, as the test reads it by
// unsealing with the data directory's vault.
type stored struct {
	Kind           string    `json:"kind"`
	AccessToken    string    `json:"access_token"`
	RefreshToken   string    `json:"refresh_token"`
	Expiry         time.Time `json:"expiry"`
	RefreshExpiry  time.Time `json:"refresh_expiry"`
	Username       string    `json:"username"`
	InstallationID int64     `json:"github_installation_id"`
}

// stored unseals the connection's credential; ok is false if it has none.
func (e *env) stored(arn string) (s stored, ok bool) {
	e.t.Helper()
	sealed, err := e.conns.FindConnectionSecret(ctxA(), arn)
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return s, false
	} else if err != nil {
		e.t.Fatal(err)
	}
	plain, err := e.vault.Open(sealed, arn)
	if err != nil {
		e.t.Fatalf("vault.Open: %v", err)
	}
	if err := json.Unmarshal(plain, &s); err != nil {
		e.t.Fatal(err)
	}
	e.addSecret(s.AccessToken, s.RefreshToken)
	return s, true
}

// callback is what the browser brings back to the console.
type callback struct {
	state, code, err, desc string
}

// browse plays the person's browser: it opens the authorize URL, answers
// the consent page, and returns the redirect's parameters. The redirect
// must go to the callback URL.
func (e *env) browse(authorizeURL string, approve bool) callback {
	e.t.Helper()
	u, err := e.sim.Consent(authorizeURL, approve, "")
	if err != nil {
		e.t.Fatal(err)
	}
	if u == nil {
		e.t.Fatal("the provider answered with a page, want a redirect")
	}
	q := u.Query()
	u.RawQuery = ""
	if u.String() != callbackURL {
		e.t.Fatalf("redirected to %s, want %s", u, callbackURL)
	}
	e.addSecret(q.Get("code"))
	return callback{state: q.Get("state"), code: q.Get("code"), err: q.Get("error"), desc: q.Get("error_description")}
}

// begin starts a handshake and returns the authorize URL.
func (e *env) begin(arn, binding string) string {
	e.t.Helper()
	u, err := e.svc.BeginHandshake(ctxA(), arn, binding)
	if err != nil {
		e.t.Fatalf("BeginHandshake: %v", err)
	}
	return u
}

// finish completes a handshake from a callback.
func (e *env) finish(binding string, cb callback) (*openrunner.Connection, error) {
	return e.svc.FinishHandshake(ctxA(), binding, cb.state, cb.code, cb.err, cb.desc)
}

// handshake runs a whole approved browser handshake and checks that the
// connection is AVAILABLE.
func (e *env) handshake(c *openrunner.Connection) *openrunner.Connection {
	e.t.Helper()
	cb := e.browse(e.begin(c.ARN(), "browser-session"), true)
	got, err := e.finish("browser-session", cb)
	if err != nil {
		e.t.Fatalf("FinishHandshake: %v", err)
	}
	if got.Status != openrunner.ConnectionAvailable {
		e.t.Fatalf("status %s (%s), want AVAILABLE", got.Status, got.StatusMessage)
	}
	e.stored(c.ARN()) // records the tokens as secrets
	return got
}

// accessToken calls AccessToken and records the token as a secret.
func (e *env) accessToken(arn string) (openrunner.ProviderCredential, error) {
	pc, err := e.svc.AccessToken(ctxA(), arn)
	e.addSecret(pc.Token)
	return pc, err
}

// count reports how many simulator requests match.
func (e *env) count(match func(providersim.Request) bool) int {
	n := 0
	for _, r := range e.sim.Requests() {
		if match(r) {
			n++
		}
	}
	return n
}

// refreshes counts refresh grants at a token endpoint path.
func refreshes(path string) func(providersim.Request) bool {
	return func(r providersim.Request) bool {
		return r.Path == path && slices.Contains(r.Params, "refresh_token")
	}
}

const (
	ghTokenPath = "/github/login/oauth/access_token"
	bbTokenPath = "/bitbucket/site/oauth2/access_token"
)

// getUser calls GET /user on the simulator with a bearer token and
// returns the status.
func (e *env) getUser(apiURL, token string) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, apiURL+"/user", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := e.sim.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// bitbucketRefresh posts a refresh grant to the simulator directly and
// returns the status.
func (e *env) bitbucketRefresh(refreshToken string) int {
	e.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}}
	req, _ := http.NewRequest(http.MethodPost, e.sim.BitbucketURL()+"/site/oauth2/access_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(bbKey, bbSecret)
	resp, err := e.sim.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// wantCode fails unless err carries the application error code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := openrunner.ErrorCode(err); got != code {
		t.Fatalf("error code %q (%v), want %q", got, err, code)
	}
}

// wantUnchanged fails unless the connection is still PENDING_HANDSHAKE
// with no message and no credential.
func (e *env) wantUnchanged(arn string) {
	e.t.Helper()
	c := e.conn(arn)
	if c.Status != openrunner.ConnectionPendingHandshake || c.StatusMessage != "" || c.ProviderAccount != "" {
		e.t.Fatalf("connection changed: %s %q %q", c.Status, c.StatusMessage, c.ProviderAccount)
	}
	if _, ok := e.stored(arn); ok {
		e.t.Fatal("connection holds a credential")
	}
}
