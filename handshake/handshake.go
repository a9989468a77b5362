package handshake

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/forge"
	"github.com/openrunner/openrunner/vault"
)

// Defaults and limits.
const (
	DefaultGitHubURL       = forge.DefaultGitHubURL
	DefaultGitHubAPIURL    = forge.DefaultGitHubAPIURL
	DefaultBitbucketURL    = forge.DefaultBitbucketURL
	DefaultBitbucketAPIURL = forge.DefaultBitbucketAPIURL

	// StateLifetime is how long a started browser handshake may take.
	StateLifetime = 10 * time.Minute

	// GitHubScopes are the OAuth scopes asked of a GitHub OAuth app: repo
	// is the only scope that reads private repositories (and it covers
	// repository webhooks); admin:repo_hook adds deleting the push
	// webhooks OpenRunner creates. GitHub Apps ignore scopes (their
	// permissions are set on the app), so none are sent for them.
	GitHubScopes = "repo admin:repo_hook"

	// refreshMargin: an OAuth access token that expires within this is
	// refreshed before it is handed out.
	refreshMargin = time.Minute
	// installationMargin: a cached installation token is replaced this
	// long before it expires, so a clone never starts with a dying token.
	installationMargin = 5 * time.Minute
	// maxPending bounds the in-flight handshakes kept in memory.
	maxPending = 10000
	// maxTokenLen bounds a token given to HandshakeWithToken.
	maxTokenLen = 4096
)

// msgBadState is the one answer to every unusable state, so that a
// caller learns nothing about why it was refused.
const msgBadState = "The handshake link is invalid or has expired. Start the handshake again."

// Config configures a Service. Zero values of optional fields are defaults.
type Config struct {
	// Connections is the store of connections and their sealed credentials.
	Connections openrunner.ConnectionService
	// Vault seals credentials; the connection ARN is the sealing context.
	Vault *vault.Vault
	// CallbackURL is the absolute URL of the console's OAuth callback, e.g.
	// http://127.0.0.1:4590/console/oauth/callback; both providers redirect
	// there. It must also be registered with the GitHub OAuth app or App
	// (Callback URL) and the Bitbucket OAuth consumer (Callback URL).
	CallbackURL string

	GitHub    GitHubConfig
	Bitbucket BitbucketConfig

	// HTTPClient calls the providers. Default: a client with a 30 s timeout.
	HTTPClient *http.Client
	// Now is the clock for state and token expiry. Default: time.Now.
	Now func() time.Time
	// Logger receives events; never tokens. Default: discard.
	Logger *slog.Logger
	// Shared, when set, keeps started handshakes where every server on
	// the database finds them, so the provider's redirect may reach any
	// server. Nil keeps them in this process.
	Shared openrunner.EphemeralService
}

// GitHubConfig is OpenRunner's registration with GitHub.
type GitHubConfig struct {
	// ClientID and ClientSecret of the OAuth app, or of the GitHub App
	// when AppID is set. Both are needed for browser handshakes.
	ClientID, ClientSecret string
	// URL is GitHub's web address: /login/oauth/authorize and
	// /login/oauth/access_token live under it. Default https://github.com.
	URL string
	// APIURL is the REST API. Default https://api.github.com.
	APIURL string
	// AppID, if set, makes repository access use installation tokens of
	// this GitHub App: after the OAuth handshake the person's installation
	// is found and AccessToken mints tokens for it.
	AppID int64
	// AppPrivateKeyPEM is the App's private key (PEM, PKCS#1 or PKCS#8).
	AppPrivateKeyPEM []byte
}

// BitbucketConfig is OpenRunner's OAuth consumer on Bitbucket Cloud.
type BitbucketConfig struct {
	// ClientID and ClientSecret are the consumer's key and secret.
	ClientID, ClientSecret string
	// URL is Bitbucket's web address: /site/oauth2/authorize and
	// /site/oauth2/access_token live under it (the token call uses HTTP
	// Basic with the key and secret). Default https://bitbucket.org.
	URL string
	// APIURL is the REST API. Default https://api.bitbucket.org/2.0.
	APIURL string
}

// Service implements openrunner.HandshakeService. In-flight browser
// handshakes live in memory only: a restart invalidates them and the
// person starts again.
type Service struct {
	conns    openrunner.ConnectionService
	vault    *vault.Vault
	callback string
	gh       GitHubConfig
	bb       BitbucketConfig
	appKey   *rsa.PrivateKey
	now      func() time.Time
	log      *slog.Logger

	// The providers' OAuth endpoints (web) and REST APIs.
	ghWeb, ghAPI, bbWeb, bbAPI forge.Client

	locks keyedLocks

	mu       sync.Mutex
	pending  map[string]*pendingHandshake // by state
	shared   openrunner.EphemeralService
	instToks map[string]installationToken // by connection key
}

var _ openrunner.HandshakeService = (*Service)(nil)

// pendingHandshake is a started browser handshake, keyed by its state.
type pendingHandshake struct {
	scope    openrunner.Scope
	arn      string
	provider string
	binding  [sha256.Size]byte // sha256 of the binding; the value is not kept
	verifier string            // PKCE code_verifier
	expires  time.Time
}

// installationToken is a cached GitHub App installation token.
type installationToken struct {
	installationID int64
	token          secret
	expires        time.Time
}

// New returns a Service. It fails when a setting is unusable: a partial
// OAuth registration, a bad callback URL or GitHub App key.
func New(cfg Config) (*Service, error) {
	if cfg.Connections == nil || cfg.Vault == nil {
		return nil, errors.New("handshake: Connections and Vault are required")
	}
	s := &Service{
		conns:    cfg.Connections,
		vault:    cfg.Vault,
		callback: cfg.CallbackURL,
		gh:       cfg.GitHub,
		bb:       cfg.Bitbucket,
		now:      cfg.Now,
		log:      cfg.Logger,
		pending:  map[string]*pendingHandshake{},
		shared:   cfg.Shared,
		instToks: map[string]installationToken{},
	}
	client := cfg.HTTPClient
	if client == nil {
		// Never follow a redirect: a POST to the token endpoint carries
		// the client secret.
		client = forge.NewHTTPClient()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s.gh.URL = strings.TrimSuffix(cmp.Or(s.gh.URL, DefaultGitHubURL), "/")
	s.gh.APIURL = strings.TrimSuffix(cmp.Or(s.gh.APIURL, DefaultGitHubAPIURL), "/")
	s.bb.URL = strings.TrimSuffix(cmp.Or(s.bb.URL, DefaultBitbucketURL), "/")
	s.bb.APIURL = strings.TrimSuffix(cmp.Or(s.bb.APIURL, DefaultBitbucketAPIURL), "/")
	for _, u := range []string{s.gh.URL, s.gh.APIURL, s.bb.URL, s.bb.APIURL} {
		if !absoluteHTTP(u) {
			return nil, fmt.Errorf("handshake: provider URL %q must be an absolute http(s) URL", u)
		}
	}
	gh, bb := openrunner.ProviderGitHub, openrunner.ProviderBitbucket
	// The token endpoint on github.com answers JSON only when asked for
	// application/json; it is not the REST API (no API version header).
	s.ghWeb = forge.Client{Provider: gh, BaseURL: s.gh.URL, HTTP: client, Accept: "application/json", Logger: s.log}
	s.ghAPI = forge.Client{Provider: gh, BaseURL: s.gh.APIURL, HTTP: client, Logger: s.log}
	s.bbWeb = forge.Client{Provider: bb, BaseURL: s.bb.URL, HTTP: client, Logger: s.log}
	s.bbAPI = forge.Client{Provider: bb, BaseURL: s.bb.APIURL, HTTP: client, Logger: s.log}

	if (s.gh.ClientID == "") != (s.gh.ClientSecret == "") {
		return nil, errors.New("handshake: GitHub OAuth needs both OPENRUNNER_GITHUB_CLIENT_ID and OPENRUNNER_GITHUB_CLIENT_SECRET")
	}
	if (s.bb.ClientID == "") != (s.bb.ClientSecret == "") {
		return nil, errors.New("handshake: Bitbucket OAuth needs both OPENRUNNER_BITBUCKET_CLIENT_ID and OPENRUNNER_BITBUCKET_CLIENT_SECRET")
	}
	if (s.gh.ClientID != "" || s.bb.ClientID != "") && !absoluteHTTP(s.callback) {
		return nil, fmt.Errorf("handshake: the OAuth callback URL %q must be an absolute http(s) URL", s.callback)
	}
	switch {
	case s.gh.AppID != 0 && len(s.gh.AppPrivateKeyPEM) == 0:
		return nil, errors.New("handshake: the GitHub App needs its private key")
	case s.gh.AppID == 0 && len(s.gh.AppPrivateKeyPEM) != 0:
		return nil, errors.New("handshake: a GitHub App private key was given without the App ID")
	case s.gh.AppID != 0:
		k, err := parseRSAKey(s.gh.AppPrivateKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("handshake: %w", err)
		}
		s.appKey = k
	}
	// The key is parsed; do not keep a second copy of the PEM around.
	s.gh.AppPrivateKeyPEM = nil
	return s, nil
}

func absoluteHTTP(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// clientSettings names the settings of a provider's OAuth registration.
func clientSettings(provider string) string {
	if provider == openrunner.ProviderGitHub {
		return "OPENRUNNER_GITHUB_CLIENT_ID and OPENRUNNER_GITHUB_CLIENT_SECRET"
	}
	return "OPENRUNNER_BITBUCKET_CLIENT_ID and OPENRUNNER_BITBUCKET_CLIENT_SECRET"
}

// oauthConfigured reports whether browser handshakes work for provider.
func (s *Service) oauthConfigured(provider string) bool {
	if provider == openrunner.ProviderGitHub {
		return s.gh.ClientID != ""
	}
	return s.bb.ClientID != ""
}

// handshakeable reports whether a connection in status may (re)do a
// handshake: App Runner connections are immutable once AVAILABLE.
func handshakeable(status string) bool {
	return status == openrunner.ConnectionPendingHandshake || status == openrunner.ConnectionError
}

func errNotHandshakeable(c *openrunner.Connection) error {
	return openrunner.Errorf(openrunner.EINVALIDSTATE,
		"The connection %s is %s. Only a connection in PENDING_HANDSHAKE or ERROR status can complete a handshake.", c.Name, c.Status)
}

// lockKey names a connection for locks and caches; the ARN alone would
// do, but the scope keeps a foreign ARN from sharing anything.
func lockKey(scope openrunner.Scope, arn string) string {
	return scope.AccountID + "\x00" + scope.Region + "\x00" + arn
}

// randomToken returns n random bytes in base64url.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// BeginHandshake implements openrunner.HandshakeService. binding must not
// be empty: an unbound flow could be completed from another browser.
func (s *Service) BeginHandshake(ctx context.Context, arn, binding string) (string, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return "", err
	}
	conn, err := s.conns.FindConnectionByARN(ctx, arn)
	if err != nil {
		return "", err
	}
	if !handshakeable(conn.Status) {
		return "", errNotHandshakeable(conn)
	}
	provider := conn.ProviderType
	if !s.oauthConfigured(provider) {
		return "", openrunner.Errorf(openrunner.EINVALID, "%s OAuth is not configured: set %s.", forge.Name(provider), clientSettings(provider))
	}
	if binding == "" {
		return "", openrunner.Errorf(openrunner.EINVALID, "The handshake must be started from a browser session.")
	}

	// 256 bits: the state is the only capability a redirect carries.
	state := randomToken(32)
	// PKCE (RFC 7636): 32 random bytes give the 43-character verifier.
	verifier := randomToken(32)
	now := s.now()
	p := &pendingHandshake{
		scope:    scope,
		arn:      arn,
		provider: provider,
		binding:  sha256.Sum256([]byte(binding)),
		verifier: verifier,
		expires:  now.Add(StateLifetime),
	}
	if s.shared != nil {
		if err := s.putShared(ctx, state, p); err != nil {
			return "", err
		}
	} else {
		s.mu.Lock()
		s.sweepLocked(now)
		s.capAccountLocked(scope.AccountID)
		s.pending[state] = p
		s.mu.Unlock()
	}

	var u string
	switch provider {
	case openrunner.ProviderGitHub:
		sum := sha256.Sum256([]byte(verifier))
		q := url.Values{
			"client_id":             {s.gh.ClientID},
			"redirect_uri":          {s.callback},
			"state":                 {state},
			"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
			"code_challenge_method": {"S256"},
		}
		if s.gh.AppID == 0 {
			q.Set("scope", GitHubScopes)
		}
		u = s.gh.URL + "/login/oauth/authorize?" + q.Encode()
	default:
		// Bitbucket documents no PKCE and takes its scopes from the
		// consumer's settings; redirect_uri must extend the consumer's
		// callback URL.
		q := url.Values{
			"client_id":     {s.bb.ClientID},
			"response_type": {"code"},
			"redirect_uri":  {s.callback},
			"state":         {state},
		}
		u = s.bb.URL + "/site/oauth2/authorize?" + q.Encode()
	}
	s.log.Info("handshake started", "arn", arn, "provider", provider)
	return u, nil
}

// sweepLocked drops expired handshakes and, past maxPending, the oldest.
func (s *Service) sweepLocked(now time.Time) {
	for k, p := range s.pending {
		if !now.Before(p.expires) {
			delete(s.pending, k)
		}
	}
	if len(s.pending) < maxPending {
		return
	}
	keys := make([]string, 0, len(s.pending))
	for k := range s.pending {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return s.pending[a].expires.Compare(s.pending[b].expires) })
	for _, k := range keys[:len(keys)-maxPending+1] {
		delete(s.pending, k)
	}
}

// maxPendingPerAccount bounds one account's handshakes in flight, so no
// account can push another's out of the shared table (maxPending).
const maxPendingPerAccount = 100

// capAccountLocked makes room for one more handshake of the account by
// dropping its handshake that expires first, when it has too many.
func (s *Service) capAccountLocked(account string) {
	var n int
	var oldest string
	for k, p := range s.pending {
		if p.scope.AccountID != account {
			continue
		}
		n++
		if oldest == "" || p.expires.Before(s.pending[oldest].expires) {
			oldest = k
		}
	}
	if n >= maxPendingPerAccount {
		delete(s.pending, oldest)
	}
}

// takePending removes and returns the handshake of state if it is
// usable by this scope and binding, or nil. The state is consumed either
// way: a state is tried once.
func (s *Service) takePending(scope openrunner.Scope, binding, state string) (*pendingHandshake, string) {
	var p *pendingHandshake
	var ok bool
	if s.shared != nil {
		p = s.takeShared(state)
		ok = p != nil
	} else {
		s.mu.Lock()
		p, ok = s.pending[state]
		delete(s.pending, state)
		s.mu.Unlock()
	}
	sum := sha256.Sum256([]byte(binding))
	switch {
	case !ok:
		return nil, "unknown or used state"
	case !s.now().Before(p.expires):
		return nil, "expired state"
	case p.scope != scope:
		return nil, "state of another account or Region"
	case subtle.ConstantTimeCompare(sum[:], p.binding[:]) != 1:
		return nil, "state bound to another browser session"
	}
	return p, ""
}

// FinishHandshake implements openrunner.HandshakeService. A provider that
// cannot be reached (or answers with a server error) leaves the connection
// as it was and returns EINTERNAL; the person starts again later.
func (s *Service) FinishHandshake(ctx context.Context, binding, state, code, providerError, providerErrorDescription string) (*openrunner.Connection, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	p, why := s.takePending(scope, binding, state)
	if p == nil {
		s.log.Warn("handshake callback refused", "reason", why)
		return nil, openrunner.Errorf(openrunner.EINVALID, msgBadState)
	}
	unlock, err := s.locks.lock(ctx, lockKey(scope, p.arn))
	if err != nil {
		return nil, err
	}
	defer unlock()
	conn, err := s.conns.FindConnectionByARN(ctx, p.arn)
	if err != nil {
		return nil, err
	}
	if !handshakeable(conn.Status) {
		return nil, errNotHandshakeable(conn)
	}
	name := forge.Name(p.provider)
	if providerError != "" {
		reason := forge.Reason(cmp.Or(providerErrorDescription, providerError))
		return s.fail(ctx, p.arn, openrunner.EINVALID, fmt.Sprintf("%s did not authorize the connection: %s.", name, reason))
	}
	if code == "" {
		return s.fail(ctx, p.arn, openrunner.EINVALID, name+" returned no authorization code. Start the handshake again.")
	}

	form := url.Values{"code": {code}}
	switch p.provider {
	case openrunner.ProviderGitHub:
		form.Set("redirect_uri", s.callback)
		form.Set("code_verifier", p.verifier)
	default:
		// RFC 6749 §4.1.3: redirect_uri is required here because it was
		// given to /authorize.
		form.Set("grant_type", "authorization_code")
		form.Set("redirect_uri", s.callback)
	}
	now := s.now()
	grant, err := s.tokenRequest(ctx, p.provider, form)
	if rej, ok := errors.AsType[*rejectedError](err); ok {
		return s.fail(ctx, p.arn, openrunner.EINVALID, fmt.Sprintf("%s did not accept the authorization code: %s. Start the handshake again.", name, rej.Reason))
	} else if err != nil {
		return nil, err
	}
	cred := &credential{Kind: kindOAuth}
	cred.setGrant(grant, now)

	login, err := s.whoAmI(ctx, p.provider, forge.Bearer(string(cred.AccessToken)))
	if rej, ok := errors.AsType[*rejectedError](err); ok {
		return s.fail(ctx, p.arn, openrunner.EINVALID, fmt.Sprintf("%s did not accept the new access token: %s. Start the handshake again.", name, rej.Reason))
	} else if err != nil {
		return nil, err
	}

	if p.provider == openrunner.ProviderGitHub && s.appKey != nil {
		in, err := s.pickInstallation(ctx, cred.AccessToken, login)
		if rej, ok := errors.AsType[*rejectedError](err); ok {
			return s.fail(ctx, p.arn, openrunner.EINVALID, fmt.Sprintf("GitHub did not list the GitHub App installations of %s: %s.", login, rej.Reason))
		} else if err != nil {
			return nil, err
		}
		if in == nil {
			return s.fail(ctx, p.arn, openrunner.EINVALID, fmt.Sprintf(
				"The GitHub App is not installed on any account that %s can access. Install it, then complete the handshake again.", login))
		}
		cred.InstallationID, cred.InstallationAccount = in.ID, in.Account.Login
	}
	return s.succeed(ctx, scope, p.arn, p.provider, login, cred)
}

// setGrant stores a token endpoint's answer in c, measuring lifetimes
// from now. A grant without a refresh token keeps the current one
// (Bitbucket before rotation returned the same; some grants omit it).
func (c *credential) setGrant(g *tokenGrant, now time.Time) {
	c.AccessToken = g.access
	if g.refresh != "" {
		c.RefreshToken = g.refresh
	}
	c.Expiry, c.RefreshExpiry = time.Time{}, time.Time{}
	if g.expiresIn > 0 {
		c.Expiry = now.Add(g.expiresIn)
	}
	if g.refreshLives > 0 {
		c.RefreshExpiry = now.Add(g.refreshLives)
	}
}

// pickInstallation chooses the GitHub App installation a connection uses,
// among those the person's user token can see: the only one, or else the
// most recently created, which is the one a person who just went through
// "Install" then "Authorize" created. nil: there is none.
func (s *Service) pickInstallation(ctx context.Context, userToken secret, login string) (*ghInstallation, error) {
	list, err := s.userInstallations(ctx, userToken)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	best := slices.MaxFunc(list, func(a, b ghInstallation) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	if len(list) > 1 {
		s.log.Info("several GitHub App installations; using the newest", "login", login, "installation_id", best.ID, "account", best.Account.Login)
	}
	return &best, nil
}

// succeed seals cred and makes the connection AVAILABLE in one update.
func (s *Service) succeed(ctx context.Context, scope openrunner.Scope, arn, provider, login string, cred *credential) (*openrunner.Connection, error) {
	sealed, err := seal(s.vault, arn, cred)
	if err != nil {
		return nil, err
	}
	status, empty := openrunner.ConnectionAvailable, ""
	// The provider has issued the credential; do not lose it to a caller
	// that gave up a moment too early.
	conn, err := s.conns.UpdateConnection(context.WithoutCancel(ctx), arn, openrunner.ConnectionUpdate{
		Status: &status, StatusMessage: &empty, ProviderAccount: &login, Secret: sealed,
	})
	if err != nil {
		return nil, err
	}
	s.forgetInstallationToken(lockKey(scope, arn))
	attrs := []any{"arn", arn, "provider", provider, "account", login, "kind", cred.Kind}
	if cred.InstallationID != 0 {
		attrs = append(attrs, "installation_id", cred.InstallationID, "installation_account", cred.InstallationAccount)
	}
	s.log.Info("connection available", attrs...)
	return conn, nil
}

// fail sets the connection to ERROR with msg, drops its credential, and
// returns the connection with an error of the given code carrying msg.
func (s *Service) fail(ctx context.Context, arn, code, msg string) (*openrunner.Connection, error) {
	status := openrunner.ConnectionError
	conn, err := s.conns.UpdateConnection(context.WithoutCancel(ctx), arn, openrunner.ConnectionUpdate{
		Status: &status, StatusMessage: &msg, ClearSecret: true,
	})
	if err != nil {
		return nil, err
	}
	if scope, ok := openrunner.ScopeFromContext(ctx); ok {
		s.forgetInstallationToken(lockKey(scope, arn))
	}
	s.log.Warn("connection error", "arn", arn, "provider", conn.ProviderType, "reason", msg)
	return conn, openrunner.Errorf(code, "%s", msg)
}

// HandshakeWithToken implements openrunner.HandshakeService. Like
// BeginHandshake it returns EINVALIDSTATE unless the connection is
// PENDING_HANDSHAKE or ERROR, and EINVALID without changing the connection
// for an empty or malformed token. A provider that cannot be reached
// leaves the connection unchanged and returns EINTERNAL.
func (s *Service) HandshakeWithToken(ctx context.Context, arn, token string) (*openrunner.Connection, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	tok := secret(strings.TrimSpace(token))
	switch {
	case tok == "":
		return nil, openrunner.Errorf(openrunner.EINVALID, "Enter a token.")
	case len(tok) > maxTokenLen:
		return nil, openrunner.Errorf(openrunner.EINVALID, "The token is too long (at most %d characters).", maxTokenLen)
	case strings.IndexFunc(string(tok), func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return nil, openrunner.Errorf(openrunner.EINVALID, "The token must not contain spaces or control characters.")
	}
	unlock, err := s.locks.lock(ctx, lockKey(scope, arn))
	if err != nil {
		return nil, err
	}
	defer unlock()
	conn, err := s.conns.FindConnectionByARN(ctx, arn)
	if err != nil {
		return nil, err
	}
	if !handshakeable(conn.Status) {
		return nil, errNotHandshakeable(conn)
	}

	provider := conn.ProviderType
	cred := &credential{Kind: kindToken, AccessToken: tok}
	a := forge.Bearer(string(tok))
	if user, pass, ok := strings.Cut(string(tok), ":"); ok && provider == openrunner.ProviderBitbucket {
		// "user:api-token": an Atlassian API token, used with HTTP Basic.
		// Atlassian documents the account email as the user for the REST
		// API; whatever the person typed is sent as given.
		if user == "" || pass == "" {
			return nil, openrunner.Errorf(openrunner.EINVALID, "Give a Bitbucket API token as email:api-token.")
		}
		cred = &credential{Kind: kindBasic, AccessToken: secret(pass), Username: user}
		a = forge.Basic(user, pass)
	}
	login, err := s.whoAmI(ctx, provider, a)
	if rej, ok := errors.AsType[*rejectedError](err); ok {
		return s.fail(ctx, arn, openrunner.EINVALID, fmt.Sprintf("%s rejected the token: %s.", forge.Name(provider), rej.Reason))
	} else if err != nil {
		return nil, err
	}
	return s.succeed(ctx, scope, arn, provider, login, cred)
}

// keyedLocks is a set of mutexes by key whose Lock honours a context.
// Entries exist only while held or awaited.
type keyedLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	ch   chan struct{} // holds one token while locked
	refs int
}

// lock acquires the lock of key, or returns ctx's error.
func (k *keyedLocks) lock(ctx context.Context, key string) (unlock func(), err error) {
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	l := k.m[key]
	if l == nil {
		l = &keyLock{ch: make(chan struct{}, 1)}
		k.m[key] = l
	}
	l.refs++
	k.mu.Unlock()

	release := func() {
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case l.ch <- struct{}{}:
		return func() { <-l.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "The request was cancelled.")
	}
}
