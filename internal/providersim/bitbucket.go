package providersim

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Bitbucket Cloud lifetimes.
const (
	// bbAccessLifetime: access tokens carry "expires_in": 7200 (2 hours).
	bbAccessLifetime = 2 * time.Hour
	// bbRefreshLifetime: "Unused refresh tokens will expire after 3
	// months" (enforced from 4 May 2026).
	bbRefreshLifetime = 90 * 24 * time.Hour
	// bbCodeLifetime is not documented; GitHub's 10 minutes is used.
	bbCodeLifetime = 10 * time.Minute

	msgBBTokenExpired = "Access token expired. Use your refresh token to obtain a new access token."
	msgBBTokenInvalid = "Token is invalid, expired, or not supported for this endpoint."
)

// BitbucketConsumer registers a Bitbucket Cloud OAuth consumer (key and
// secret).
type BitbucketConsumer struct {
	Key    string
	Secret string
	Name   string // shown on the consent page; default: the key
	// CallbackURL is the consumer's callback URL. A redirect_uri given
	// to /site/oauth2/authorize must start with it. Empty: any
	// redirect_uri is accepted and one must be given (a simulator
	// convenience; Bitbucket requires a callback URL).
	CallbackURL string
	// Scopes are the permissions the consumer was given, which every
	// token it obtains carries. Default: account, repository.
	Scopes []string
}

type bbConsumer struct {
	BitbucketConsumer
}

// AddBitbucketConsumer registers an OAuth consumer.
func (s *Sim) AddBitbucketConsumer(c BitbucketConsumer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Name == "" {
		c.Name = c.Key
	}
	if c.Scopes == nil {
		c.Scopes = []string{"account", "repository"}
	}
	c.Scopes = slices.Clone(c.Scopes)
	s.bbConsumers[c.Key] = &bbConsumer{c}
}

// IssueBitbucketToken creates a Bitbucket OAuth access token for the user,
// as if obtained through a consumer: it expires after 2 hours. Its scopes
// are the given ones, default "account repository" (the webhook endpoints
// need "webhook").
func (s *Sim) IssueBitbucketToken(login string, scopes ...string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[login]; !ok {
		s.addAccount(login, "User")
	}
	scope := "account repository"
	if len(scopes) > 0 {
		scope = strings.Join(scopes, " ")
	}
	return s.issue("", &token{kind: bbAccess, login: login, scope: scope, expires: s.clock().Add(bbAccessLifetime)})
}

// AddBitbucketAPIToken registers an Atlassian API token of the user. The
// REST API accepts it with HTTP Basic authentication as the user's
// Atlassian account email (User.Email) and the token, as Atlassian
// documents ("you will need the API token and your Atlassian account
// email").
func (s *Sim) AddBitbucketAPIToken(login, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[login]; !ok {
		s.addAccount(login, "User")
	}
	s.tokens[value] = &token{kind: bbAPIToken, login: login}
}

func (s *Sim) routeBitbucket(mux *http.ServeMux) {
	bb := func(pattern string, h http.HandlerFunc) { mux.HandleFunc(pattern, s.wrap("bitbucket", h)) }
	bb("GET /bitbucket/site/oauth2/authorize", s.bbAuthorizePage)
	bb("POST /bitbucket/site/oauth2/authorize", s.bbAuthorizeDecision)
	bb("POST /bitbucket/site/oauth2/access_token", s.bbAccessToken)
	bb("GET /bitbucket-api/2.0/user", s.bbGetUser)
	bb("/bitbucket-api/", func(w http.ResponseWriter, r *http.Request) {
		bbError(w, http.StatusNotFound, "Resource not found")
	})
}

// bbError writes Bitbucket's REST error envelope.
func bbError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"type": "error", "error": map[string]string{"message": msg}})
}

// bbOAuthError writes an OAuth token endpoint error.
func bbOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func (s *Sim) bbAuthorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.bbConsumers[q.Get("client_id")]
	if !ok {
		renderError(w, http.StatusBadRequest, "Invalid client_id", "No OAuth consumer has this key.")
		return
	}
	if rt := q.Get("response_type"); rt != "code" {
		renderError(w, http.StatusBadRequest, "Unsupported response_type",
			"The simulator implements the authorization code grant: response_type must be code.")
		return
	}
	given := q.Get("redirect_uri")
	target := c.CallbackURL
	if given != "" {
		// "If you do include the URL in a request it must be appended to
		// the same URL configured in the consumer."
		if c.CallbackURL != "" && !strings.HasPrefix(given, c.CallbackURL) {
			renderError(w, http.StatusBadRequest, "Invalid redirect_uri", "This integration is misconfigured. Contact the vendor for assistance.")
			return
		}
		target = given
	}
	if target == "" {
		renderError(w, http.StatusBadRequest, "Invalid redirect_uri", "The consumer has no callback URL.")
		return
	}
	login := s.signedIn
	if l := q.Get("login"); l != "" {
		if u, ok := s.users[l]; ok && u.Type == "User" {
			login = l
		}
	}
	p := &pendingConsent{
		provider:    "bitbucket",
		clientID:    c.Key,
		redirectURI: target,
		givenURI:    given,
		state:       q.Get("state"),
		hasState:    q.Has("state"),
		scope:       strings.Join(c.Scopes, " "),
		login:       login,
	}
	renderConsent(w, consentPage{
		Title:   "Bitbucket",
		Heading: c.Name + " requests access",
		Lines: []string{
			c.Name + " is requesting access to the following: " + strings.Join(c.Scopes, ", ") + ".",
			"Granting access will redirect to " + target,
		},
		Action:       s.BitbucketURL() + "/site/oauth2/authorize",
		RequestID:    s.newPending(p),
		Login:        login,
		Users:        s.people(),
		ApproveLabel: "Grant access",
		DenyLabel:    "Cancel",
	})
}

func (s *Sim) bbAuthorizeDecision(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PostForm.Get("request_id")
	p, ok := s.pending[id]
	if !ok || p.provider != "bitbucket" {
		renderError(w, http.StatusBadRequest, "Authorization expired", "This authorization request is unknown or was already answered.")
		return
	}
	delete(s.pending, id)
	params := url.Values{}
	if p.hasState {
		params.Set("state", p.state)
	}
	if r.PostForm.Get("decision") != "approve" {
		// RFC 6749 §4.1.2.1; Bitbucket's exact description is not documented.
		params.Set("error", "access_denied")
		params.Set("error_description", "The user denied access.")
		http.Redirect(w, r, withQuery(p.redirectURI, params), http.StatusFound)
		return
	}
	code := randString(18, alnum)
	s.codes[code] = &authCode{
		provider:    "bitbucket",
		clientID:    p.clientID,
		login:       s.formLogin(r, p),
		redirectURI: p.givenURI,
		scope:       p.scope,
		expires:     s.clock().Add(bbCodeLifetime),
	}
	params.Set("code", code)
	http.Redirect(w, r, withQuery(p.redirectURI, params), http.StatusFound)
}

func (s *Sim) bbAccessToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	key, secret, basic := r.BasicAuth()
	if !basic {
		key, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Bitbucket documents no token endpoint errors. Its live answers for
	// bad client credentials (400 unauthorized_client), a bad code (400
	// invalid_grant "The specified code is not valid.") and a bad refresh
	// token ("Invalid refresh_token") are taken from public reports
	// (UNCONFIRMED); RFC 6749 §5.2 would say 401 invalid_client.
	if key == "" {
		bbOAuthError(w, http.StatusBadRequest, "unauthorized_client", "Requests must be authenticated using OAuth client credentials")
		return
	}
	c, ok := s.bbConsumers[key]
	if !ok || c.Secret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(c.Secret)) != 1 {
		bbOAuthError(w, http.StatusBadRequest, "unauthorized_client", "Invalid OAuth client credentials")
		return
	}
	markAuth(r, "client:"+c.Key)
	switch gt := r.PostForm.Get("grant_type"); gt {
	case "authorization_code":
		s.bbExchangeCode(w, r, c)
	case "refresh_token":
		s.bbRefresh(w, r, c)
	case "":
		bbOAuthError(w, http.StatusBadRequest, "invalid_request", "Missing grant_type parameter")
	default:
		bbOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant type: "+gt)
	}
}

func (s *Sim) bbExchangeCode(w http.ResponseWriter, r *http.Request, c *bbConsumer) {
	code, ok := s.codes[r.PostForm.Get("code")]
	if !ok || code.provider != "bitbucket" || code.used || code.clientID != c.Key || !s.clock().Before(code.expires) {
		bbOAuthError(w, http.StatusBadRequest, "invalid_grant", "The specified code is not valid.")
		return
	}
	if given := r.PostForm.Get("redirect_uri"); given != "" && code.redirectURI != "" && given != code.redirectURI {
		bbOAuthError(w, http.StatusBadRequest, "invalid_grant", "The redirect_uri does not match the one used in the authorization request.")
		return
	}
	code.used = true
	writeJSON(w, http.StatusOK, s.bbIssue(c, code.login, code.scope, "authorization_code", ""))
}

func (s *Sim) bbRefresh(w http.ResponseWriter, r *http.Request, c *bbConsumer) {
	rv := r.PostForm.Get("refresh_token")
	rt, ok := s.tokens[rv]
	if !ok || rt.kind != bbRefresh || rt.clientID != c.Key || !rt.live(s.clock()) {
		bbOAuthError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh_token")
		return
	}
	// The access token issued with rt stays valid until it expires:
	// Bitbucket does not say that a refresh revokes it (UNCONFIRMED).
	keep := ""
	if s.opts.BitbucketLegacyTokens {
		keep = rv
	} else {
		// "each use of a refresh token will generate a new refresh token".
		rt.revoked = true
	}
	writeJSON(w, http.StatusOK, s.bbIssue(c, rt.login, rt.scope, "refresh_token", keep))
}

// bbIssue issues an access token and returns the token endpoint's fields.
// keepRefresh, if set, is returned as the refresh token instead of a new one.
func (s *Sim) bbIssue(c *bbConsumer, login, scope, grant, keepRefresh string) map[string]any {
	now := s.clock()
	av := s.issue("", &token{kind: bbAccess, login: login, clientID: c.Key, scope: scope, expires: now.Add(bbAccessLifetime)})
	rv := keepRefresh
	if rv == "" {
		rt := &token{kind: bbRefresh, login: login, clientID: c.Key, scope: scope}
		if !s.opts.BitbucketLegacyTokens {
			rt.expires = now.Add(bbRefreshLifetime)
		}
		rv = s.issue("", rt)
	}
	s.tokens[av].pair = rv
	out := map[string]any{
		"access_token":  av,
		"token_type":    "bearer",
		"expires_in":    int(bbAccessLifetime / time.Second),
		"refresh_token": rv,
		"state":         grant,
	}
	if s.opts.BitbucketLegacyTokens {
		out["scopes"] = scope
	} else {
		// "OAuth token response payloads will return "scope" instead of
		// "scopes"."
		out["scope"] = scope
	}
	return out
}

func (s *Sim) bbGetUser(w http.ResponseWriter, r *http.Request) {
	scheme, user, secret := credential(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock()
	switch scheme {
	case "bearer":
		t, ok := s.tokens[secret]
		switch {
		case ok && t.kind == bbAccess && !t.revoked && t.expired(now):
			bbError(w, http.StatusUnauthorized, msgBBTokenExpired)
			return
		case !ok || t.kind != bbAccess || !t.live(now):
			// API tokens are Basic-only; Bearer gets this answer too.
			bbError(w, http.StatusUnauthorized, msgBBTokenInvalid)
			return
		}
		markAuth(r, t.login)
		writeJSON(w, http.StatusOK, s.bbUserJSON(s.users[t.login]))
	case "basic":
		t, ok := s.tokens[secret]
		// The body of a failed Basic login is not documented (UNCONFIRMED).
		if !ok || t.kind != bbAPIToken || t.revoked || !strings.EqualFold(s.users[t.login].Email, user) {
			w.Header().Set("WWW-Authenticate", `Basic realm="Bitbucket.org HTTP"`)
			bbError(w, http.StatusUnauthorized, "Invalid credentials")
			return
		}
		markAuth(r, t.login)
		writeJSON(w, http.StatusOK, s.bbUserJSON(s.users[t.login]))
	default:
		w.Header().Set("WWW-Authenticate", `Basic realm="Bitbucket.org HTTP"`)
		bbError(w, http.StatusUnauthorized, "Unauthorized")
	}
}

// bbUserJSON renders an account as GET /2.0/user does.
func (s *Sim) bbUserJSON(u *User) map[string]any {
	esc := url.PathEscape(u.BitbucketUUID)
	return map[string]any{
		"type":         "user",
		"uuid":         u.BitbucketUUID,
		"username":     u.Login,
		"nickname":     u.Login,
		"display_name": u.Name,
		"account_id":   u.BitbucketAccountID,
		"links": map[string]any{
			"self":   map[string]string{"href": s.BitbucketAPIURL() + "/users/" + esc},
			"avatar": map[string]string{"href": s.BitbucketURL() + "/account/" + u.Login + "/avatar/"},
			"html":   map[string]string{"href": s.BitbucketURL() + "/" + esc + "/"},
		},
		"created_on":      "2011-01-25T18:44:36.000000+00:00",
		"account_status":  "active",
		"is_staff":        false,
		"has_2fa_enabled": nil,
		"location":        nil,
	}
}
