package handshake

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/forge"
)

// rejectedError means the provider answered and refused the credential,
// code or grant. Reason is the provider's own explanation, made safe to
// show (scrubbed of anything OpenRunner sent, bounded, one line). Callers
// turn it into an ERROR connection; every other error from the provider
// helpers (an *openrunner.Error) leaves the connection as it is.
type rejectedError struct {
	Provider string
	Status   int
	Reason   string
}

func (e *rejectedError) Error() string {
	return fmt.Sprintf("%s refused the request (HTTP %d): %s", forge.Name(e.Provider), e.Status, e.Reason)
}

// web is the client of the provider's OAuth endpoints, api of its REST API.
func (s *Service) web(provider string) *forge.Client {
	if provider == openrunner.ProviderGitHub {
		return &s.ghWeb
	}
	return &s.bbWeb
}

func (s *Service) api(provider string) *forge.Client {
	if provider == openrunner.ProviderGitHub {
		return &s.ghAPI
	}
	return &s.bbAPI
}

// unavailable is the error for an answer that says nothing about the
// credential: a server error, a rate limit, or something unexpected.
func unavailable(e *forge.StatusError) error {
	what := fmt.Sprintf("answered HTTP %d", e.Status)
	switch {
	case e.Status == http.StatusTooManyRequests:
		what = "is rate limiting OpenRunner"
	case e.Status >= 500:
		what = fmt.Sprintf("is unavailable (HTTP %d)", e.Status)
	}
	return openrunner.Errorf(openrunner.EINTERNAL, "%s at %s %s. Try again later.", forge.Name(e.Provider), e.BaseURL, what)
}

// clientErrors are the OAuth error codes that blame the client
// credentials: GitHub's incorrect_client_credentials, and RFC 6749's
// invalid_client and unauthorized_client, which Bitbucket answers for a
// bad consumer key or secret.
var clientErrors = map[string]bool{
	"incorrect_client_credentials": true,
	"invalid_client":               true,
	"unauthorized_client":          true,
}

// tokenGrant is an OAuth token endpoint's successful answer.
type tokenGrant struct {
	access, refresh         secret
	expiresIn, refreshLives time.Duration // zero: not given
}

// tokenRequest posts a grant to a provider's token endpoint. GitHub takes
// the client credentials in the form and reports errors with HTTP 200 and
// an "error" field; Bitbucket takes them with HTTP Basic and answers 4xx.
func (s *Service) tokenRequest(ctx context.Context, provider string, form url.Values) (*tokenGrant, error) {
	c := s.web(provider)
	req := forge.Request{
		Method: http.MethodPost,
		Form:   form,
		OK:     []int{http.StatusOK},
		Hide:   []string{form.Get("code"), form.Get("refresh_token"), form.Get("code_verifier")},
	}
	switch provider {
	case openrunner.ProviderGitHub:
		req.Path = "/login/oauth/access_token"
		form.Set("client_id", s.gh.ClientID)
		form.Set("client_secret", s.gh.ClientSecret)
		req.Hide = append(req.Hide, s.gh.ClientSecret)
	default:
		req.Path = "/site/oauth2/access_token"
		req.Auth = forge.Basic(s.bb.ClientID, s.bb.ClientSecret)
		req.Hide = append(req.Hide, s.bb.ClientSecret)
	}
	var v struct {
		AccessToken           string          `json:"access_token"`
		RefreshToken          string          `json:"refresh_token"`
		ExpiresIn             json.RawMessage `json:"expires_in"`
		RefreshTokenExpiresIn json.RawMessage `json:"refresh_token_expires_in"`
		Error                 string          `json:"error"`
		ErrorDescription      string          `json:"error_description"`
	}
	resp, err := c.Do(ctx, req)
	serr, refused := errors.AsType[*forge.StatusError](err)
	var status int
	var body []byte
	switch {
	case refused && (serr.Status >= 500 || serr.Status == http.StatusTooManyRequests):
		return nil, unavailable(serr)
	case refused:
		status, body = serr.Status, serr.Body
	case err != nil:
		return nil, err
	default:
		status, body = resp.Status, resp.Body
	}
	jsonErr := json.Unmarshal(body, &v)
	switch {
	case jsonErr == nil && clientErrors[v.Error]:
		// OpenRunner's own client ID or secret is wrong: a configuration
		// error, not a verdict on the connection's authorization.
		reason := forge.Reason(cmp.Or(v.ErrorDescription, v.Error), req.Hide...)
		s.log.Error("provider rejected the OAuth client credentials", "provider", provider, "reason", reason)
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "%s does not accept OpenRunner's OAuth client credentials (%s): check %s.",
			forge.Name(provider), reason, clientSettings(provider))
	case jsonErr == nil && v.Error != "":
		reason := cmp.Or(v.ErrorDescription, v.Error)
		return nil, &rejectedError{Provider: provider, Status: status, Reason: forge.Reason(reason, req.Hide...)}
	case status == http.StatusBadRequest || status == http.StatusUnauthorized || status == http.StatusForbidden:
		// A refusal without the OAuth error fields.
		return nil, &rejectedError{Provider: provider, Status: status, Reason: forge.Reason(serr.Text(), req.Hide...)}
	case status != http.StatusOK || jsonErr != nil || v.AccessToken == "":
		s.log.Warn("unexpected token endpoint answer", "provider", provider, "status", status)
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "%s at %s gave an unexpected answer to a token request (HTTP %d). Try again later.",
			forge.Name(provider), c.BaseURL, status)
	}
	return &tokenGrant{
		access:       secret(v.AccessToken),
		refresh:      secret(v.RefreshToken),
		expiresIn:    seconds(v.ExpiresIn),
		refreshLives: seconds(v.RefreshTokenExpiresIn),
	}, nil
}

// seconds reads a lifetime given as a JSON number or numeric string.
func seconds(raw json.RawMessage) time.Duration {
	s := strings.Trim(string(raw), `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// apiGet GETs a provider REST API path and returns the answer if it is
// 200. A 401 or 403 (not a rate limit) is a *rejectedError with the
// provider's message; anything else is EINTERNAL.
func (s *Service) apiGet(ctx context.Context, provider, path string, a forge.Auth) (*forge.Response, error) {
	resp, err := s.api(provider).Do(ctx, forge.Request{Path: path, Auth: a, OK: []int{http.StatusOK}})
	serr, ok := errors.AsType[*forge.StatusError](err)
	switch {
	case !ok:
		return resp, err
	case !serr.Unavailable() && (serr.Status == http.StatusUnauthorized || serr.Status == http.StatusForbidden):
		return nil, &rejectedError{Provider: provider, Status: serr.Status, Reason: serr.Text()}
	default:
		return nil, unavailable(serr)
	}
}

// whoAmI verifies a credential with GET /user and returns the account's
// login (GitHub) or username (Bitbucket).
func (s *Service) whoAmI(ctx context.Context, provider string, a forge.Auth) (string, error) {
	ans, err := s.apiGet(ctx, provider, "/user", a)
	if err != nil {
		return "", err
	}
	var v struct {
		Login     string `json:"login"`
		Username  string `json:"username"`
		Nickname  string `json:"nickname"`
		AccountID string `json:"account_id"`
	}
	_ = json.Unmarshal(ans.Body, &v)
	// Bitbucket may omit username for privacy; fall back to the nickname
	// and then the Atlassian account ID, which are stable too.
	for _, login := range []string{v.Login, v.Username, v.Nickname, v.AccountID} {
		if login != "" {
			return forge.Clean(login), nil
		}
	}
	return "", openrunner.Errorf(openrunner.EINTERNAL, "%s answered GET /user without an account name. Try again later.", forge.Name(provider))
}

// ghInstallation is the part of a GitHub App installation OpenRunner uses.
type ghInstallation struct {
	ID      int64 `json:"id"`
	AppID   int64 `json:"app_id"`
	Account struct {
		Login string `json:"login"`
	} `json:"account"`
	CreatedAt   time.Time `json:"created_at"`
	SuspendedAt *string   `json:"suspended_at"`
}

// userInstallations lists the installations of the configured GitHub App
// that the user access token can see (first 100; GET /user/installations).
func (s *Service) userInstallations(ctx context.Context, userToken secret) ([]ghInstallation, error) {
	ans, err := s.apiGet(ctx, openrunner.ProviderGitHub, "/user/installations?per_page=100", forge.Bearer(string(userToken)))
	if err != nil {
		return nil, err
	}
	var v struct {
		Installations []ghInstallation `json:"installations"`
	}
	if err := ans.Decode(&v); err != nil {
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "GitHub gave an unexpected answer listing app installations. Try again later.")
	}
	var out []ghInstallation
	for _, in := range v.Installations {
		if (in.AppID == 0 || in.AppID == s.gh.AppID) && in.SuspendedAt == nil {
			out = append(out, in)
		}
	}
	return out, nil
}

// installationToken mints a GitHub App installation token with an app
// JWT (POST /app/installations/{id}/access_tokens). A 403/404 (the
// installation was removed or suspended) is a *rejectedError; a 401 means
// GitHub does not accept the app's own JWT, a configuration error.
func (s *Service) installationToken(ctx context.Context, id int64) (secret, time.Time, error) {
	jwt, err := appJWT(s.appKey, s.gh.AppID, s.now())
	if err != nil {
		return "", time.Time{}, openrunner.Errorf(openrunner.EINTERNAL, "Could not sign the GitHub App JWT.")
	}
	resp, err := s.ghAPI.Do(ctx, forge.Request{
		Method: http.MethodPost,
		Path:   fmt.Sprintf("/app/installations/%d/access_tokens", id),
		Auth:   forge.Bearer(jwt),
		OK:     []int{http.StatusCreated, http.StatusOK},
	})
	serr, ok := errors.AsType[*forge.StatusError](err)
	switch {
	case err == nil:
	case !ok:
		return "", time.Time{}, err
	case serr.Unavailable():
		return "", time.Time{}, unavailable(serr)
	case serr.Status == http.StatusUnauthorized:
		s.log.Error("GitHub rejected the app JWT", "app_id", s.gh.AppID, "reason", serr.Message)
		return "", time.Time{}, openrunner.Errorf(openrunner.EINTERNAL,
			"GitHub does not accept OpenRunner's GitHub App credentials (%s): check the GitHub App ID and private key.", serr.Message)
	case serr.Status == http.StatusNotFound || serr.Status == http.StatusForbidden:
		reason := serr.Message
		if reason == "" || reason == "Not Found" {
			reason = fmt.Sprintf("the GitHub App installation %d was removed", id)
		}
		return "", time.Time{}, &rejectedError{Provider: openrunner.ProviderGitHub, Status: serr.Status, Reason: reason}
	default:
		return "", time.Time{}, unavailable(serr)
	}
	var v struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := resp.Decode(&v); err != nil || v.Token == "" {
		return "", time.Time{}, openrunner.Errorf(openrunner.EINTERNAL, "GitHub gave an unexpected answer to an installation token request. Try again later.")
	}
	if v.ExpiresAt.IsZero() {
		// Documented lifetime: one hour.
		v.ExpiresAt = s.now().Add(time.Hour)
	}
	return secret(v.Token), v.ExpiresAt, nil
}
