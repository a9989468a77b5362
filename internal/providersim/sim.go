package providersim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Options configures a Sim. The zero value is a usable default.
type Options struct {
	// Now is the simulator's clock. Token and code lifetimes are measured
	// against it, so tests can expire tokens by moving it forward. Default:
	// time.Now. Sim.Advance shifts whatever clock is used.
	Now func() time.Time

	// Logf, if set, receives one line per request (method, path, status).
	// It never receives tokens, codes, secrets or query values.
	Logf func(format string, args ...any)

	// DefaultLogin is the person who is signed in to both providers'
	// websites when a consent page is shown. Default: "octocat", which New
	// creates.
	DefaultLogin string

	// BitbucketLegacyTokens makes POST /site/oauth2/access_token behave as
	// Bitbucket Cloud did before 4 May 2026: the response carries "scopes"
	// (not "scope"), and a refresh returns the same refresh token, which
	// never expires. The default is the current, documented behaviour:
	// "scope", and a new refresh token on every refresh (the old one stops
	// working), unused refresh tokens expiring after three months.
	BitbucketLegacyTokens bool

	// RememberGitHubAuthorizations makes GET /login/oauth/authorize skip
	// the consent page, as GitHub does, when the signed-in user has
	// already authorized the same client (and, for OAuth apps, every
	// requested scope). Off by default so that every handshake in a test
	// shows the page.
	RememberGitHubAuthorizations bool
}

// Sim is a running simulator of the GitHub and Bitbucket Cloud endpoints
// that OpenRunner's connections use. It is safe for concurrent use.
type Sim struct {
	srv  *httptest.Server
	opts Options
	now  func() time.Time

	mu       sync.Mutex
	offset   time.Duration
	signedIn string

	users      map[string]*User // by login
	userOrder  []string
	nextUserID int64

	ghClients     map[string]*ghClient // OAuth apps and GitHub Apps, by client ID
	ghApps        map[int64]*ghApp     // GitHub Apps, by app ID
	installations map[int64]*installation
	nextInstID    int64
	grants        map[string]map[string]bool // login+"\x00"+clientID -> granted scopes
	// installHandoff carries an install's ID to the web flow GitHub chains
	// after it (RequestOAuthOnInstall), keyed like grants.
	installHandoff map[string]int64

	bbConsumers map[string]*bbConsumer // by key

	tokens  map[string]*token
	codes   map[string]*authCode
	pending map[string]*pendingConsent

	requests []Request

	// Git hosting and webhooks (git.go, hooks.go).
	gitRoot    string // temp dir holding {provider}/{owner}/{name}.git
	repos      map[string]*Repo
	nextRepoID int64
	hooks      []*hook
	nextHookID int64
	deliveries []Delivery
	deliverWG  sync.WaitGroup // asynchronous deliveries (GitHub pings)
}

// Request is one call the simulator received, for assertions. It never
// holds a secret: only parameter names are kept, never their values.
type Request struct {
	Time     time.Time
	Provider string // "github" or "bitbucket"
	Method   string
	Path     string
	// Params are the names of the query, form and JSON body parameters,
	// sorted, without their values.
	Params []string
	// Auth is the credential scheme presented in the Authorization
	// header: "", "bearer", "token", "basic" or "other".
	Auth string
	// Authenticated reports whether the presented credentials were
	// accepted (a valid token, app JWT or client secret).
	Authenticated bool
	// Principal names who was authenticated: a login, "app:<id>",
	// "installation:<id>" or "client:<client id>". Never a secret.
	Principal string
	Status    int
}

// New starts a simulator on a loopback httptest.Server. Close it when done.
func New(opts Options) *Sim {
	s := &Sim{
		opts:           opts,
		now:            opts.Now,
		users:          map[string]*User{},
		ghClients:      map[string]*ghClient{},
		ghApps:         map[int64]*ghApp{},
		installations:  map[int64]*installation{},
		nextInstID:     1000,
		grants:         map[string]map[string]bool{},
		installHandoff: map[string]int64{},
		bbConsumers:    map[string]*bbConsumer{},
		tokens:         map[string]*token{},
		codes:          map[string]*authCode{},
		pending:        map[string]*pendingConsent{},
		repos:          map[string]*Repo{},
		nextRepoID:     100000,
		nextHookID:     500000,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.opts.DefaultLogin == "" {
		s.opts.DefaultLogin = "octocat"
	}
	s.AddUser(s.opts.DefaultLogin)
	s.signedIn = s.opts.DefaultLogin

	mux := http.NewServeMux()
	s.routeGitHub(mux)
	s.routeBitbucket(mux)
	s.routeGit(mux)
	s.routeHooks(mux)
	mux.HandleFunc("/", s.wrap("", func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	s.srv = httptest.NewServer(mux)
	return s
}

// Close shuts the server down, waits for webhook deliveries in flight and
// removes the hosted repositories.
func (s *Sim) Close() {
	s.deliverWG.Wait()
	s.srv.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gitRoot != "" {
		_ = os.RemoveAll(s.gitRoot)
		s.gitRoot = ""
	}
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Sim) URL() string { return s.srv.URL }

// Client returns an *http.Client for the server that does not follow
// redirects, so a test can read the Location of an OAuth redirect.
func (s *Sim) Client() *http.Client {
	c := *s.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// GitHubURL is the stand-in for https://github.com: /login/oauth/authorize,
// /login/oauth/access_token and /apps/{slug}/installations/new live under it.
func (s *Sim) GitHubURL() string { return s.srv.URL + "/github" }

// GitHubAPIURL is the stand-in for https://api.github.com.
func (s *Sim) GitHubAPIURL() string { return s.srv.URL + "/github-api" }

// BitbucketURL is the stand-in for https://bitbucket.org:
// /site/oauth2/authorize and /site/oauth2/access_token live under it.
func (s *Sim) BitbucketURL() string { return s.srv.URL + "/bitbucket" }

// BitbucketAPIURL is the stand-in for https://api.bitbucket.org/2.0.
func (s *Sim) BitbucketAPIURL() string { return s.srv.URL + "/bitbucket-api/2.0" }

// Now reports the simulator's current time (the clock plus Advance).
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock()
}

// clock is Now for callers that hold s.mu.
func (s *Sim) clock() time.Time { return s.now().Add(s.offset) }

// Advance moves the simulator's clock forward by d, so that codes and
// tokens age without the test waiting.
func (s *Sim) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.offset += d
}

// SignIn makes login the person signed in to the providers' websites: the
// one whose consent pages are shown. The user must exist.
func (s *Sim) SignIn(login string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[login]; !ok {
		panic(fmt.Sprintf("providersim: SignIn: no user %q", login))
	}
	s.signedIn = login
}

// Requests returns a copy of the log of calls received so far.
func (s *Sim) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ResetRequests empties the request log.
func (s *Sim) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// reqInfo is what a handler tells the logging wrapper about a request.
type reqInfo struct {
	authenticated bool
	principal     string
	params        []string
}

type reqInfoKey struct{}

// markAuth records that r's credentials were accepted for principal.
func markAuth(r *http.Request, principal string) {
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		ri.authenticated = true
		ri.principal = principal
	}
}

// noteParams records parameter names (from a JSON body) for the log.
func noteParams(r *http.Request, names ...string) {
	if ri, ok := r.Context().Value(reqInfoKey{}).(*reqInfo); ok {
		ri.params = append(ri.params, names...)
	}
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// wrap adds request logging around h. Every route goes through it, so the
// log and Logf see the same calls; neither records header or parameter
// values, which is where tokens and secrets travel.
func (s *Sim) wrap(provider string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ri := &reqInfo{}
		r = r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri))
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		names := append([]string(nil), ri.params...)
		for k := range r.URL.Query() {
			names = append(names, k)
		}
		for k := range r.PostForm {
			names = append(names, k)
		}
		slices.Sort(names)
		names = slices.Compact(names)
		rec := Request{
			Provider:      provider,
			Method:        r.Method,
			Path:          r.URL.Path,
			Params:        names,
			Auth:          authScheme(r),
			Authenticated: ri.authenticated,
			Principal:     ri.principal,
			Status:        sw.status,
		}
		s.mu.Lock()
		rec.Time = s.clock()
		s.requests = append(s.requests, rec)
		s.mu.Unlock()
		if s.opts.Logf != nil {
			s.opts.Logf("providersim: %s %s -> %d", r.Method, r.URL.Path, sw.status)
		}
	}
}

// authScheme names the scheme of r's Authorization header, lower-cased.
func authScheme(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		return ""
	}
	scheme, _, _ := strings.Cut(h, " ")
	switch s := strings.ToLower(scheme); s {
	case "bearer", "token", "basic":
		return s
	default:
		return "other"
	}
}

// credential splits an Authorization header into its scheme and value.
// For Basic, user and secret are both set; otherwise secret is the token.
func credential(r *http.Request) (scheme, user, secret string) {
	scheme = authScheme(r)
	switch scheme {
	case "basic":
		u, p, ok := r.BasicAuth()
		if !ok {
			return scheme, "", ""
		}
		return scheme, u, p
	case "bearer", "token":
		_, v, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		return scheme, "", strings.TrimSpace(v)
	}
	return scheme, "", ""
}

// writeJSON writes v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randString returns n random characters from alphabet.
func randString(n int, alphabet string) string {
	b := make([]byte, n)
	max := big.NewInt(int64(len(alphabet)))
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(err) // crypto/rand does not fail on supported platforms
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}

func randHex(n int) string { return randString(n, "0123456789abcdef") }

// withQuery returns base with params added to its query string.
func withQuery(base string, params url.Values) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}
