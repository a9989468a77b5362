package console

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/sqlite"
)

// Test credentials: two access keys of two accounts.
const (
	testKeyID     = "AKIAOPENRUNNERTEST01"
	testSecret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYTESTSECRET"
	testAccount   = "123456789012"
	otherKeyID    = "AKIAOPENRUNNERTEST02"
	otherSecret   = "otherSecretAccessKeyValueForTests000000"
	otherAccount  = "210987654321"
	defaultRegion = "us-east-1"
)

// clock is a settable test clock.
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

// env is a console under test with its store, handshake fake, clock,
// captured log and recorded sign-in delays.
type env struct {
	t       *testing.T
	console *Console
	srv     *httptest.Server
	conns   *sqlite.ConnectionService
	db      *sqlite.DB
	hs      *fakeHandshakes
	clock   *clock
	logs    *syncBuffer

	mu     sync.Mutex
	delays []time.Duration
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newEnv starts a console on the real SQLite store; edit adjusts the
// Config before New.
func newEnv(t *testing.T, edit func(*Config)) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "openrunner.db"))
	db.Now = clk.Now
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	conns := sqlite.NewConnectionService(db)
	e := &env{t: t, conns: conns, db: db, clock: clk, logs: &syncBuffer{}}
	e.hs = &fakeHandshakes{conns: conns, flows: map[string]flow{}}
	cfg := Config{
		Connections: conns,
		Handshakes:  e.hs,
		SignIn: func(_ context.Context, id, secret string) (string, bool, error) {
			switch {
			case id == testKeyID && secret == testSecret:
				return testAccount, true, nil
			case id == otherKeyID && secret == otherSecret:
				return otherAccount, true, nil
			}
			return "", false, nil
		},
		Now:    clk.Now,
		Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	e.console = New(cfg)
	e.console.wait = func(_ context.Context, d time.Duration) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.delays = append(e.delays, d)
	}
	mux := http.NewServeMux()
	mux.Handle("/console/", e.console)
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// scope returns a context in the given Scope, for direct store calls.
func scope(account, region string) context.Context {
	return openrunner.NewContextWithScope(context.Background(), openrunner.Scope{AccountID: account, Region: region})
}

// browser is a cookie-keeping client that does not follow redirects, so
// tests see every 303.
type browser struct {
	e      *env
	client *http.Client
	csrf   string // from the last page that had a form
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// response is a finished request.
type response struct {
	*http.Response
	Body string
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) do(req *http.Request) response {
	b.e.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfRE.FindStringSubmatch(string(body)); m != nil {
		b.csrf = m[1]
	}
	return response{resp, string(body)}
}

func (b *browser) get(path string) response {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.srv.URL+path, nil)
	return b.do(req)
}

// postRaw posts form as is.
func (b *browser) postRaw(path string, form url.Values) response {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// post posts form with the CSRF token of the last page.
func (b *browser) post(path string, form url.Values) response {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(csrfField, b.csrf)
	return b.postRaw(path, form)
}

// signIn signs in with the key pair and checks that it worked.
func (b *browser) signIn(keyID, secret string) {
	b.e.t.Helper()
	b.get(pathSignIn)
	resp := b.post(pathSignIn, url.Values{"access_key_id": {keyID}, "secret_access_key": {secret}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != pathConnections {
		b.e.t.Fatalf("sign-in: %s %s\n%s", resp.Status, resp.Header.Get("Location"), resp.Body)
	}
	b.get(pathConnections) // picks up the session's CSRF token
}

// cookie returns the value of the browser's cookie name for the console.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.e.srv.URL + pathRoot)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// wantRedirect checks a 303 to location.
func wantRedirect(tb testing.TB, resp response, location string) {
	tb.Helper()
	if resp.StatusCode != http.StatusSeeOther {
		tb.Fatalf("status = %s, want 303 See Other\n%s", resp.Status, resp.Body)
	}
	if got := resp.Header.Get("Location"); got != location {
		tb.Fatalf("Location = %q, want %q", got, location)
	}
}

// wantText checks that the page shows text (HTML-escaped as the template
// would write it).
func wantText(tb testing.TB, resp response, text string) {
	tb.Helper()
	if !strings.Contains(resp.Body, html.EscapeString(text)) {
		tb.Fatalf("page does not show %q:\n%s", text, resp.Body)
	}
}

// wantHTML checks that the page's markup contains s.
func wantHTML(tb testing.TB, resp response, s string) {
	tb.Helper()
	if !strings.Contains(resp.Body, s) {
		tb.Fatalf("page does not contain %q:\n%s", s, resp.Body)
	}
}

func wantNoText(tb testing.TB, resp response, text string) {
	tb.Helper()
	if strings.Contains(resp.Body, text) {
		tb.Fatalf("page shows %q:\n%s", text, resp.Body)
	}
}

// fakeHandshakes is an in-test HandshakeService: Begin hands out a state
// tied to the binding, Finish applies the provider's answer to the
// connection in the store. Only goodCode is accepted.
type fakeHandshakes struct {
	conns openrunner.ConnectionService

	mu    sync.Mutex
	flows map[string]flow // by state
	// lastBinding is the binding of the last BeginHandshake.
	lastBinding string
}

type flow struct {
	scope   openrunner.Scope
	arn     string
	binding string
}

var _ openrunner.HandshakeService = (*fakeHandshakes)(nil)

const (
	fakeProviderURL = "https://provider.test/authorize"
	// goodCode is distinctive, so tests can check it never reaches a log.
	goodCode = "code-7f3a9c51e0"
)

func (f *fakeHandshakes) BeginHandshake(ctx context.Context, arn, binding string) (string, error) {
	s, err := openrunner.MustScope(ctx)
	if err != nil {
		return "", err
	}
	c, err := f.conns.FindConnectionByARN(ctx, arn)
	if err != nil {
		return "", err
	}
	if c.Status != openrunner.ConnectionPendingHandshake && c.Status != openrunner.ConnectionError {
		return "", openrunner.Errorf(openrunner.EINVALIDSTATE, "The connection %s is %s; only a PENDING_HANDSHAKE or ERROR connection can complete a handshake.", c.Name, c.Status)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	state := hex.EncodeToString(b[:])
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flows[state] = flow{scope: s, arn: arn, binding: binding}
	f.lastBinding = binding
	return fakeProviderURL + "?" + url.Values{"state": {state}}.Encode(), nil
}

func (f *fakeHandshakes) FinishHandshake(ctx context.Context, binding, state, code, providerError, desc string) (*openrunner.Connection, error) {
	s, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	// Like package handshake: a state is used once, and only by the
	// browser session and in the Scope that started it.
	f.mu.Lock()
	fl, ok := f.flows[state]
	delete(f.flows, state)
	f.mu.Unlock()
	if !ok || fl.binding != binding || fl.scope != s {
		return nil, openrunner.Errorf(openrunner.EINVALID, "The handshake link is invalid or has expired. Start the handshake again.")
	}
	if providerError != "" || code != goodCode {
		msg := "The provider did not authorize OpenRunner: " + desc
		c, err := f.conns.UpdateConnection(ctx, fl.arn, openrunner.ConnectionUpdate{
			Status: ptr(openrunner.ConnectionError), StatusMessage: &msg,
		})
		if err != nil {
			return nil, err
		}
		return c, openrunner.Errorf(openrunner.EINVALID, "%s", msg)
	}
	return f.conns.UpdateConnection(ctx, fl.arn, openrunner.ConnectionUpdate{
		Status: ptr(openrunner.ConnectionAvailable), StatusMessage: ptr(""), ProviderAccount: ptr("octocat"),
	})
}

func (f *fakeHandshakes) HandshakeWithToken(context.Context, string, string) (*openrunner.Connection, error) {
	return nil, openrunner.Errorf(openrunner.ENOTIMPLEMENTED, "not in this fake")
}

func (f *fakeHandshakes) AccessToken(context.Context, string) (openrunner.ProviderCredential, error) {
	return openrunner.ProviderCredential{}, openrunner.Errorf(openrunner.ENOTIMPLEMENTED, "not in this fake")
}

func ptr[T any](v T) *T { return &v }
