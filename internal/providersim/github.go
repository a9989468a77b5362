package providersim

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// GitHub lifetimes, as documented.
const (
	ghCodeLifetime         = 10 * time.Minute       // "The temporary code will expire after 10 minutes."
	ghUserTokenLifetime    = 8 * time.Hour          // expires_in 28800
	ghRefreshTokenLifetime = 15897600 * time.Second // refresh_token_expires_in 15897600 ("6 months")
	ghInstallationLifetime = time.Hour              // "The installation access token will expire after 1 hour."
	ghMaxTokenRepositories = 500                    // "You can list up to 500 repositories."
	ghDocsREST             = "https://docs.github.com/rest"
	ghDocsGetUser          = "https://docs.github.com/rest/users/users#get-the-authenticated-user"
	ghDocsListUserInst     = "https://docs.github.com/rest/apps/installations#list-app-installations-accessible-to-the-user-access-token"
	ghDocsCreateInstToken  = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"
	ghDocsTokenErrors      = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/"
	ghDocsAuthorizeErrors  = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/"
	// The messages below are GitHub's live wording, seen in public
	// reports; the docs name the statuses but not all the texts.
	// msgPermissionsNotGiven is the simulator's own wording (UNCONFIRMED).
	msgNoAppUserToken      = "You must authenticate with an access token authorized to a GitHub App in order to list installations"
	msgNotAccessibleByApp  = "Resource not accessible by integration"
	msgBadCredentials      = "Bad credentials"
	msgRequiresAuth        = "Requires authentication"
	msgPermissionsNotGiven = "The permissions requested are not granted to this installation."
)

// GitHubOAuthApp registers an OAuth app (tokens start with gho_).
type GitHubOAuthApp struct {
	ClientID     string
	ClientSecret string
	Name         string // shown on the consent page; default: the client ID
	// CallbackURLs are the registered authorization callback URLs. A
	// redirect_uri must match one as GitHub documents for OAuth apps (same
	// host and port, path at or below the callback's; any port for a
	// loopback host). Empty: any redirect_uri is accepted (a simulator
	// convenience for tests that learn their callback URL late).
	CallbackURLs []string
	// ExpiringTokens makes access tokens expire after 8 hours and come
	// with refresh tokens, as GitHub Apps' user tokens do by default.
	ExpiringTokens bool
}

// GitHubApp registers a GitHub App: its app JWTs are verified with
// PublicKey, its user access tokens start with ghu_, its installation
// tokens with ghs_.
type GitHubApp struct {
	ID           int64
	Slug         string // the install page is {GitHubURL}/apps/{Slug}/installations/new
	Name         string
	ClientID     string
	ClientSecret string
	PublicKey    *rsa.PublicKey
	// CallbackURLs must match a redirect_uri exactly. Empty: any
	// redirect_uri is accepted (simulator convenience).
	CallbackURLs []string
	// SetupURL receives ?installation_id=N&setup_action=install after an
	// install, unless RequestOAuthOnInstall is set.
	SetupURL string
	// RequestOAuthOnInstall chains the web application flow right after an
	// install ("Request user authorization (OAuth) during installation").
	RequestOAuthOnInstall bool
	// NonExpiringUserTokens opts out of expiring user access tokens (on by
	// default at GitHub, as here).
	NonExpiringUserTokens bool
	// Permissions granted to the app. Default: contents and metadata read.
	Permissions map[string]string
	// Events the app subscribes to. Default: push.
	Events []string
	// WebhookURL, if set, receives the app's webhook deliveries: a push
	// to a hosted repository of an account the app is installed on is
	// delivered there with an "installation" field. WebhookSecret signs
	// them.
	WebhookURL    string
	WebhookSecret string
}

// GitHubInstallation is an installation of a GitHub App on an account.
type GitHubInstallation struct {
	ID                  int64
	AppID               int64
	Account             string // login of the user or organization
	Permissions         map[string]string
	Events              []string
	RepositorySelection string // "all" or "selected"
	CreatedAt           time.Time
}

// ghClient is an OAuth client: an OAuth app or a GitHub App.
type ghClient struct {
	clientID  string
	secret    string
	name      string
	callbacks []string
	expiring  bool
	appID     int64 // 0 for an OAuth app
}

type ghApp struct {
	GitHubApp
	createdAt time.Time
}

type installation struct {
	GitHubInstallation
}

// AddGitHubOAuthApp registers an OAuth app.
func (s *Sim) AddGitHubOAuthApp(app GitHubOAuthApp) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := app.Name
	if name == "" {
		name = app.ClientID
	}
	s.ghClients[app.ClientID] = &ghClient{
		clientID:  app.ClientID,
		secret:    app.ClientSecret,
		name:      name,
		callbacks: slices.Clone(app.CallbackURLs),
		expiring:  app.ExpiringTokens,
	}
}

// AddGitHubApp registers a GitHub App. ID and PublicKey are required;
// ClientID defaults to "Iv1.app<ID>" and Slug to "app-<ID>".
func (s *Sim) AddGitHubApp(app GitHubApp) {
	if app.ID == 0 || app.PublicKey == nil {
		panic("providersim: AddGitHubApp needs ID and PublicKey")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if app.ClientID == "" {
		app.ClientID = fmt.Sprintf("Iv1.app%d", app.ID)
	}
	if app.Slug == "" {
		app.Slug = fmt.Sprintf("app-%d", app.ID)
	}
	if app.Name == "" {
		app.Name = app.Slug
	}
	if app.Permissions == nil {
		app.Permissions = map[string]string{"contents": "read", "metadata": "read"}
	}
	if app.Events == nil {
		app.Events = []string{"push"}
	}
	app.Permissions = maps.Clone(app.Permissions)
	app.Events = slices.Clone(app.Events)
	app.CallbackURLs = slices.Clone(app.CallbackURLs)
	s.ghApps[app.ID] = &ghApp{GitHubApp: app, createdAt: s.clock()}
	s.ghClients[app.ClientID] = &ghClient{
		clientID:  app.ClientID,
		secret:    app.ClientSecret,
		name:      app.Name,
		callbacks: app.CallbackURLs,
		expiring:  !app.NonExpiringUserTokens,
		appID:     app.ID,
	}
}

// AddInstallation installs the GitHub App on an account (a user or
// organization login, created as a user if missing) with all the app's
// permissions and all repositories, and returns it.
func (s *Sim) AddInstallation(appID int64, account string) GitHubInstallation {
	s.mu.Lock()
	defer s.mu.Unlock()
	app, ok := s.ghApps[appID]
	if !ok {
		panic(fmt.Sprintf("providersim: AddInstallation: no GitHub App %d", appID))
	}
	if _, ok := s.users[account]; !ok {
		s.addAccount(account, "User")
	}
	return s.install(app, account).GitHubInstallation
}

// install returns the app's installation on account, creating it if need be.
func (s *Sim) install(app *ghApp, account string) *installation {
	for _, in := range s.installations {
		if in.AppID == app.ID && in.Account == account {
			return in
		}
	}
	s.nextInstID++
	in := &installation{GitHubInstallation{
		ID:                  s.nextInstID,
		AppID:               app.ID,
		Account:             account,
		Permissions:         maps.Clone(app.Permissions),
		Events:              slices.Clone(app.Events),
		RepositorySelection: "all",
		CreatedAt:           s.clock().UTC().Truncate(time.Second),
	}}
	s.installations[in.ID] = in
	return in
}

// Installations lists the installations of a GitHub App, by ID.
func (s *Sim) Installations(appID int64) []GitHubInstallation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []GitHubInstallation
	for _, in := range s.installations {
		if in.AppID == appID {
			out = append(out, in.GitHubInstallation)
		}
	}
	slices.SortFunc(out, func(a, b GitHubInstallation) int { return int(a.ID - b.ID) })
	return out
}

// DeleteInstallation uninstalls: its installation tokens stop working and
// POST .../access_tokens answers 404.
func (s *Sim) DeleteInstallation(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.installations, id)
	for _, t := range s.tokens {
		if t.installationID == id {
			t.revoked = true
		}
	}
}

// IssueGitHubToken creates a personal access token (classic, ghp_) for the
// user with the given OAuth scopes. It never expires.
func (s *Sim) IssueGitHubToken(login string, scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[login]; !ok {
		s.addAccount(login, "User")
	}
	return s.issue("ghp_", &token{kind: ghPAT, login: login, scope: strings.Join(scopes, ",")})
}

func (s *Sim) routeGitHub(mux *http.ServeMux) {
	gh := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, s.wrap("github", h)) }
	gh("GET /github/login/oauth/authorize", s.ghAuthorizePage)
	gh("POST /github/login/oauth/authorize", s.ghAuthorizeDecision)
	gh("POST /github/login/oauth/access_token", s.ghAccessToken)
	gh("GET /github/apps/{slug}/installations/new", s.ghInstallPage)
	gh("POST /github/apps/{slug}/installations/new", s.ghInstallDecision)
	gh("GET /github-api/user", s.ghGetUser)
	gh("GET /github-api/user/installations", s.ghUserInstallations)
	gh("GET /github-api/app", s.ghGetApp)
	gh("GET /github-api/app/installations", s.ghAppInstallations)
	gh("GET /github-api/app/installations/{installation_id}", s.ghAppInstallation)
	gh("POST /github-api/app/installations/{installation_id}/access_tokens", s.ghCreateInstallationToken)
	gh("/github-api/", func(w http.ResponseWriter, r *http.Request) {
		ghError(w, http.StatusNotFound, "Not Found", ghDocsREST)
	})
}

// ghError writes GitHub's REST error body.
func ghError(w http.ResponseWriter, status int, msg, doc string) {
	writeJSON(w, status, map[string]string{
		"message":           msg,
		"documentation_url": doc,
		"status":            strconv.Itoa(status),
	})
}

// --- web application flow: /login/oauth/authorize ---

// redirectFor resolves the redirect URI for an authorization request: the
// given one if allowed, else the first callback URL. ok is false when the
// given URI does not match a registered callback.
func (c *ghClient) redirectFor(given string) (target string, ok bool) {
	if given == "" {
		if len(c.callbacks) == 0 {
			return "", false
		}
		return c.callbacks[0], true
	}
	if len(c.callbacks) == 0 {
		return given, true
	}
	for _, cb := range c.callbacks {
		if c.appID != 0 {
			// GitHub Apps: "This must be an exact match to one of the
			// URLs you provided as a Callback URL".
			if given == cb {
				return given, true
			}
		} else if oauthRedirectOK(cb, given) {
			return given, true
		}
	}
	return "", false
}

// oauthRedirectOK applies GitHub's rule for OAuth apps: the redirect URL's
// host and port must match the callback URL's (any port for a loopback
// host) and its path must be the callback's path or below it.
func oauthRedirectOK(callback, redirect string) bool {
	cb, err1 := url.Parse(callback)
	rd, err2 := url.Parse(redirect)
	if err1 != nil || err2 != nil || cb.Scheme != rd.Scheme || cb.Hostname() != rd.Hostname() {
		return false
	}
	loopback := rd.Hostname() == "localhost"
	if ip := net.ParseIP(rd.Hostname()); ip != nil && ip.IsLoopback() {
		loopback = true
	}
	if !loopback && cb.Port() != rd.Port() {
		return false
	}
	cp := strings.TrimSuffix(cb.Path, "/")
	return rd.Path == cb.Path || rd.Path == cp || strings.HasPrefix(rd.Path, cp+"/")
}

// scopeList splits a scope parameter (space- or comma-delimited).
func scopeList(s string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
	slices.Sort(f)
	return slices.Compact(f)
}

func (s *Sim) ghAuthorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.ghClients[q.Get("client_id")]
	if !ok {
		renderError(w, http.StatusNotFound, "Not Found", "No application is registered with this client_id.")
		return
	}
	target, ok := c.redirectFor(q.Get("redirect_uri"))
	if !ok {
		if len(c.callbacks) == 0 {
			renderError(w, http.StatusBadRequest, "Redirect URI missing", "The application has no callback URL and no redirect_uri was given.")
			return
		}
		// "GitHub will redirect to the registered callback URL with the
		// following parameters summarizing the error".
		params := url.Values{
			"error":             {"redirect_uri_mismatch"},
			"error_description": {"The redirect_uri MUST match the registered callback URL for this application."},
			"error_uri":         {ghDocsAuthorizeErrors + "#redirect-uri-mismatch"},
		}
		if q.Has("state") {
			params.Set("state", q.Get("state"))
		}
		http.Redirect(w, r, withQuery(c.callbacks[0], params), http.StatusFound)
		return
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge != "" || method != "" {
		// PKCE: "Must be S256 - the plain code challenge method is not
		// supported", and the challenge is "a 43 character SHA-256 hash".
		// GitHub's answer to bad PKCE parameters is undocumented
		// (UNCONFIRMED); the simulator shows an error page.
		if method != "S256" || !validChallenge(challenge) {
			renderError(w, http.StatusBadRequest, "Invalid PKCE parameters",
				"code_challenge must be a 43-character base64url SHA-256 hash and code_challenge_method must be S256.")
			return
		}
	}
	login := s.signedIn
	if l := q.Get("login"); l != "" {
		if u, ok := s.users[l]; ok && u.Type == "User" {
			login = l
		}
	}
	p := &pendingConsent{
		provider:    "github",
		clientID:    c.clientID,
		redirectURI: target,
		givenURI:    q.Get("redirect_uri"),
		state:       q.Get("state"),
		hasState:    q.Has("state"),
		scope:       strings.Join(scopeList(q.Get("scope")), ","),
		challenge:   challenge,
		login:       login,
	}
	if c.appID != 0 {
		// User access tokens of GitHub Apps have no scopes.
		p.scope = ""
	}
	if s.opts.RememberGitHubAuthorizations && s.granted(login, c.clientID, p.scope) {
		http.Redirect(w, r, s.ghApprove(p, login), http.StatusFound)
		return
	}
	lines := []string{fmt.Sprintf("%s wants to access your %s account.", c.name, login)}
	if p.scope != "" {
		lines = append(lines, "Requested scopes: "+strings.ReplaceAll(p.scope, ",", ", ")+".")
	}
	lines = append(lines, "Authorizing will redirect to "+target)
	renderConsent(w, consentPage{
		Title:        "Authorize application",
		Heading:      "Authorize " + c.name,
		Lines:        lines,
		Action:       s.GitHubURL() + "/login/oauth/authorize",
		RequestID:    s.newPending(p),
		Login:        login,
		Users:        s.people(),
		ApproveLabel: "Authorize " + c.name,
		DenyLabel:    "Cancel",
	})
}

// validChallenge reports whether c looks like a base64url SHA-256 digest.
func validChallenge(c string) bool {
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(c) == 43 && len(b) == sha256.Size
}

// granted reports whether login already authorized clientID for scope.
func (s *Sim) granted(login, clientID, scope string) bool {
	g, ok := s.grants[login+"\x00"+clientID]
	if !ok {
		return false
	}
	for _, sc := range scopeList(scope) {
		if !g[sc] {
			return false
		}
	}
	return true
}

func (s *Sim) ghAuthorizeDecision(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[r.PostForm.Get("request_id")]
	if !ok || p.provider != "github" {
		renderError(w, http.StatusUnprocessableEntity, "Authorization expired", "This authorization request is unknown or was already answered.")
		return
	}
	delete(s.pending, r.PostForm.Get("request_id"))
	login := s.formLogin(r, p)
	if r.PostForm.Get("decision") != "approve" {
		params := url.Values{
			"error":             {"access_denied"},
			"error_description": {"The user has denied your application access."},
			"error_uri":         {ghDocsAuthorizeErrors + "#access-denied"},
		}
		if p.hasState {
			params.Set("state", p.state)
		}
		http.Redirect(w, r, withQuery(p.redirectURI, params), http.StatusFound)
		return
	}
	http.Redirect(w, r, s.ghApprove(p, login), http.StatusFound)
}

// formLogin is the person a consent form was answered as: the form's
// login field if it names a person, else whom the page was shown to.
func (s *Sim) formLogin(r *http.Request, p *pendingConsent) string {
	if l := r.PostForm.Get("login"); l != "" {
		if u, ok := s.users[l]; ok && u.Type == "User" {
			return l
		}
	}
	if p.login != "" {
		return p.login
	}
	return s.signedIn
}

// ghApprove records the grant, issues a code and returns the redirect URL.
func (s *Sim) ghApprove(p *pendingConsent, login string) string {
	key := login + "\x00" + p.clientID
	if s.grants[key] == nil {
		s.grants[key] = map[string]bool{}
	}
	for _, sc := range scopeList(p.scope) {
		s.grants[key][sc] = true
	}
	code := randHex(20)
	s.codes[code] = &authCode{
		provider:    "github",
		clientID:    p.clientID,
		login:       login,
		redirectURI: p.givenURI,
		scope:       p.scope,
		challenge:   p.challenge,
		expires:     s.clock().Add(ghCodeLifetime),
	}
	params := url.Values{"code": {code}}
	if p.hasState {
		params.Set("state", p.state)
	}
	// An install that chains the web flow reports the installation too.
	if id, ok := s.installHandoff[key]; ok {
		delete(s.installHandoff, key)
		params.Set("installation_id", strconv.FormatInt(id, 10))
		params.Set("setup_action", "install")
	}
	return withQuery(p.redirectURI, params)
}

// --- POST /login/oauth/access_token ---

// ghParams merges query, form and JSON body parameters.
func ghParams(w http.ResponseWriter, r *http.Request) url.Values {
	v := url.Values{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var body map[string]any
		if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&body) == nil {
			for k, val := range body {
				noteParams(r, k)
				switch x := val.(type) {
				case string:
					v.Set(k, x)
				case float64:
					v.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
				}
			}
		}
	} else {
		_ = r.ParseForm()
		for k, vs := range r.PostForm {
			v[k] = vs
		}
	}
	for k, vs := range r.URL.Query() {
		if !v.Has(k) {
			v[k] = vs
		}
	}
	return v
}

// ghTokenReply writes a token endpoint answer: JSON if the client accepts
// it, form-encoded otherwise ("The format of these responses is determined
// by the accept header you pass"). Errors are answered with 200 too.
func ghTokenReply(w http.ResponseWriter, r *http.Request, fields map[string]any) {
	if strings.Contains(r.Header.Get("Accept"), "json") {
		writeJSON(w, http.StatusOK, fields)
		return
	}
	v := url.Values{}
	for k, x := range fields {
		v.Set(k, fmt.Sprint(x))
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = w.Write([]byte(v.Encode()))
}

func ghTokenError(w http.ResponseWriter, r *http.Request, code, desc, uri string) {
	ghTokenReply(w, r, map[string]any{"error": code, "error_description": desc, "error_uri": uri})
}

func (s *Sim) ghAccessToken(w http.ResponseWriter, r *http.Request) {
	p := ghParams(w, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.ghClients[p.Get("client_id")]
	if !ok || subtle.ConstantTimeCompare([]byte(p.Get("client_secret")), []byte(c.secret)) != 1 || c.secret == "" {
		ghTokenError(w, r, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.",
			ghDocsTokenErrors+"#incorrect-client-credentials")
		return
	}
	markAuth(r, "client:"+c.clientID)
	switch gt := p.Get("grant_type"); gt {
	case "", "authorization_code":
		s.ghExchangeCode(w, r, c, p)
	case "refresh_token":
		s.ghRefresh(w, r, c, p)
	default:
		ghTokenError(w, r, "unsupported_grant_type", "The grant type is not supported.", ghDocsTokenErrors)
	}
}

func (s *Sim) ghExchangeCode(w http.ResponseWriter, r *http.Request, c *ghClient, p url.Values) {
	now := s.clock()
	code, ok := s.codes[p.Get("code")]
	if !ok || code.provider != "github" || code.used || !now.Before(code.expires) || code.clientID != c.clientID {
		ghTokenError(w, r, "bad_verification_code", "The code passed is incorrect or expired.",
			ghDocsTokenErrors+"#bad-verification-code")
		return
	}
	if given := p.Get("redirect_uri"); given != "" {
		match := given == code.redirectURI
		if code.redirectURI == "" {
			_, match = c.redirectFor(given)
		}
		if !match {
			ghTokenError(w, r, "redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.",
				ghDocsAuthorizeErrors+"#redirect-uri-mismatch2")
			return
		}
	}
	if code.challenge != "" {
		sum := sha256.Sum256([]byte(p.Get("code_verifier")))
		if p.Get("code_verifier") == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != code.challenge {
			// GitHub does not document the PKCE failure; the code does
			// not "match what you received", so it answers as for a bad code.
			ghTokenError(w, r, "bad_verification_code", "The code passed is incorrect or expired.",
				ghDocsTokenErrors+"#bad-verification-code")
			return
		}
	}
	code.used = true
	ghTokenReply(w, r, s.ghIssueUserToken(c, code.login, code.scope))
}

func (s *Sim) ghRefresh(w http.ResponseWriter, r *http.Request, c *ghClient, p url.Values) {
	rt, ok := s.tokens[p.Get("refresh_token")]
	if !ok || rt.kind != ghRefresh || rt.clientID != c.clientID || !rt.live(s.clock()) {
		ghTokenError(w, r, "bad_refresh_token", "The refresh token passed is incorrect or expired.", ghDocsTokenErrors)
		return
	}
	// "Once you use a refresh token, that refresh token and the old user
	// access token will no longer work."
	rt.revoked = true
	if at, ok := s.tokens[rt.pair]; ok {
		at.revoked = true
	}
	ghTokenReply(w, r, s.ghIssueUserToken(c, rt.login, rt.scope))
}

// ghIssueUserToken issues a user token (and refresh token when the client
// has expiring tokens) and returns the token endpoint's fields.
func (s *Sim) ghIssueUserToken(c *ghClient, login, scope string) map[string]any {
	now := s.clock()
	kind, prefix := ghOAuth, "gho_"
	if c.appID != 0 {
		kind, prefix, scope = ghUser, "ghu_", ""
	}
	at := &token{kind: kind, login: login, clientID: c.clientID, scope: scope}
	out := map[string]any{"token_type": "bearer", "scope": scope}
	if !c.expiring {
		out["access_token"] = s.issue(prefix, at)
		return out
	}
	at.expires = now.Add(ghUserTokenLifetime)
	rt := &token{kind: ghRefresh, login: login, clientID: c.clientID, scope: scope, expires: now.Add(ghRefreshTokenLifetime)}
	av := s.issue(prefix, at)
	rv := "ghr_" + randString(76, alnum)
	s.tokens[rv] = rt
	at.pair, rt.pair = rv, av
	out["access_token"] = av
	out["expires_in"] = int(ghUserTokenLifetime / time.Second)
	out["refresh_token"] = rv
	out["refresh_token_expires_in"] = int(ghRefreshTokenLifetime / time.Second)
	return out
}

// --- install flow: /apps/{slug}/installations/new ---

func (s *Sim) appBySlug(slug string) *ghApp {
	for _, a := range s.ghApps {
		if a.Slug == slug {
			return a
		}
	}
	return nil
}

// accountsFor lists where login may install an app: itself and the
// organizations it belongs to.
func (s *Sim) accountsFor(login string) []string {
	out := []string{login}
	for _, l := range s.userOrder {
		if u := s.users[l]; u.Type == "Organization" && slices.Contains(u.Members, login) {
			out = append(out, l)
		}
	}
	return out
}

func (s *Sim) ghInstallPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.appBySlug(r.PathValue("slug"))
	if app == nil {
		renderError(w, http.StatusNotFound, "Not Found", "No GitHub App has this name.")
		return
	}
	login := s.signedIn
	renderConsent(w, consentPage{
		Title:        "Install " + app.Name,
		Heading:      "Install " + app.Name,
		Lines:        []string{"Install on your personal account or an organization, with access to all repositories."},
		Action:       s.GitHubURL() + "/apps/" + app.Slug + "/installations/new",
		RequestID:    s.newPending(&pendingConsent{provider: "github-install", appID: app.ID, login: login}),
		Login:        login,
		Users:        s.people(),
		Accounts:     s.accountsFor(login),
		ApproveLabel: "Install",
		DenyLabel:    "Cancel",
	})
}

func (s *Sim) ghInstallDecision(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PostForm.Get("request_id")
	p, ok := s.pending[id]
	app := s.appBySlug(r.PathValue("slug"))
	if !ok || p.provider != "github-install" || app == nil || app.ID != p.appID {
		renderError(w, http.StatusUnprocessableEntity, "Installation expired", "This installation request is unknown or was already answered.")
		return
	}
	delete(s.pending, id)
	if r.PostForm.Get("decision") != "approve" {
		renderError(w, http.StatusOK, "Installation cancelled", app.Name+" was not installed.")
		return
	}
	login := s.formLogin(r, p)
	account := login
	if a := r.PostForm.Get("account"); slices.Contains(s.accountsFor(login), a) {
		account = a
	}
	_, existed := s.installationOf(app.ID, account)
	in := s.install(app, account)
	switch {
	case app.RequestOAuthOnInstall:
		s.installHandoff[login+"\x00"+app.ClientID] = in.ID
		http.Redirect(w, r, withQuery(s.GitHubURL()+"/login/oauth/authorize", url.Values{"client_id": {app.ClientID}}), http.StatusFound)
	case app.SetupURL != "":
		action := "install"
		if existed {
			action = "update"
		}
		http.Redirect(w, r, withQuery(app.SetupURL, url.Values{
			"installation_id": {strconv.FormatInt(in.ID, 10)},
			"setup_action":    {action},
		}), http.StatusFound)
	default:
		renderError(w, http.StatusOK, "Installed", fmt.Sprintf("%s was installed on %s (installation %d).", app.Name, account, in.ID))
	}
}

func (s *Sim) installationOf(appID int64, account string) (*installation, bool) {
	for _, in := range s.installations {
		if in.AppID == appID && in.Account == account {
			return in, true
		}
	}
	return nil, false
}
