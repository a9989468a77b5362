package handshake

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/openrunner/openrunner"
)

// maxBody bounds what is read from a provider answer.
const maxBody = 1 << 20

// Provider names as people read them.
func providerName(p string) string {
	switch p {
	case openrunner.ProviderGitHub:
		return "GitHub"
	case openrunner.ProviderBitbucket:
		return "Bitbucket"
	}
	return p
}

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
	return fmt.Sprintf("%s refused the request (HTTP %d): %s", providerName(e.Provider), e.Status, e.Reason)
}

// auth is how a request authenticates: a bearer token, or HTTP Basic.
type auth struct {
	bearer   secret
	user     string
	password secret
	basic    bool
}

func (a auth) apply(r *http.Request) {
	switch {
	case a.basic:
		r.SetBasicAuth(a.user, string(a.password))
	case a.bearer != "":
		r.Header.Set("Authorization", "Bearer "+string(a.bearer))
	}
}

// secrets lists the values a provider answer must not echo back.
func (a auth) secrets() []string {
	return []string{string(a.bearer), string(a.password)}
}

// answer is a provider's HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// call sends one request and reads the answer. A transport failure becomes
// EINTERNAL naming the provider and base URL, never the request's
// credentials (URLs built here never carry secrets).
func (s *Service) call(ctx context.Context, provider, base, method, endpoint string, body io.Reader, contentType string, a auth, accept string) (*answer, error) {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, body)
	if err != nil {
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "The %s URL %s is not valid.", providerName(provider), base)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", userAgent)
	if provider == openrunner.ProviderGitHub && accept == ghAccept {
		req.Header.Set("X-GitHub-Api-Version", ghAPIVersion)
	}
	a.apply(req)
	resp, err := s.client.Do(req)
	if err != nil {
		detail := err.Error()
		// *url.Error repeats method and URL; keep only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			detail = ue.Err.Error()
		}
		detail = reasonText(detail, a.secrets()...)
		s.log.Warn("provider unreachable", "provider", provider, "url", base, "err", detail)
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "Could not reach %s at %s: %s. Try again later.",
			providerName(provider), base, detail)
	}
	defer resp.Body.Close()
	buf, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "Could not read the answer of %s at %s. Try again later.", providerName(provider), base)
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: buf}, nil
}

// unavailable is the error for an answer that says nothing about the
// credential: a server error, a rate limit, or something unexpected.
func unavailable(provider, base string, status int) error {
	what := fmt.Sprintf("answered HTTP %d", status)
	switch {
	case status == http.StatusTooManyRequests:
		what = "is rate limiting OpenRunner"
	case status >= 500:
		what = fmt.Sprintf("is unavailable (HTTP %d)", status)
	}
	return openrunner.Errorf(openrunner.EINTERNAL, "%s at %s %s. Try again later.", providerName(provider), base, what)
}

// rateLimited reports whether a GitHub 403/429 is a rate limit rather
// than a refusal of the credential.
func rateLimited(a *answer) bool {
	return a.status == http.StatusTooManyRequests ||
		(a.status == http.StatusForbidden && (a.header.Get("X-RateLimit-Remaining") == "0" || a.header.Get("Retry-After") != ""))
}

// clean makes a provider-supplied text safe to store and show: it removes
// any secret OpenRunner sent, control characters, and excess length.
func clean(s string, secrets ...string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, redacted)
		}
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	return openrunner.Truncate(s, 300)
}

// reasonText is clean for a provider's explanation that OpenRunner puts
// inside its own sentence: without a final period, which the sentence adds.
func reasonText(s string, secrets ...string) string {
	return strings.TrimRight(clean(s, secrets...), ". ")
}

// errorMessage extracts the human message from a provider's error body:
// GitHub's {"message"}, Bitbucket's {"error":{"message"}}, or an OAuth
// {"error","error_description"}.
func errorMessage(body []byte) string {
	var v struct {
		Message          string          `json:"message"`
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
	}
	if json.Unmarshal(body, &v) != nil {
		return ""
	}
	if v.ErrorDescription != "" {
		return v.ErrorDescription
	}
	if v.Message != "" {
		return v.Message
	}
	var bb struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(v.Error, &bb) == nil && bb.Message != "" {
		return bb.Message
	}
	var code string
	if json.Unmarshal(v.Error, &code) == nil {
		return code
	}
	return ""
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
	var (
		base, endpoint string
		a              auth
		hide           = []string{form.Get("code"), form.Get("refresh_token"), form.Get("code_verifier")}
	)
	switch provider {
	case openrunner.ProviderGitHub:
		base, endpoint = s.gh.URL, s.gh.URL+"/login/oauth/access_token"
		form.Set("client_id", s.gh.ClientID)
		form.Set("client_secret", s.gh.ClientSecret)
		hide = append(hide, s.gh.ClientSecret)
	default:
		base, endpoint = s.bb.URL, s.bb.URL+"/site/oauth2/access_token"
		a = auth{basic: true, user: s.bb.ClientID, password: secret(s.bb.ClientSecret)}
		hide = append(hide, s.bb.ClientSecret)
	}
	ans, err := s.call(ctx, provider, base, http.MethodPost, endpoint, strings.NewReader(form.Encode()),
		"application/x-www-form-urlencoded", a, "application/json")
	if err != nil {
		return nil, err
	}
	var v struct {
		AccessToken           string          `json:"access_token"`
		RefreshToken          string          `json:"refresh_token"`
		ExpiresIn             json.RawMessage `json:"expires_in"`
		RefreshTokenExpiresIn json.RawMessage `json:"refresh_token_expires_in"`
		Error                 string          `json:"error"`
		ErrorDescription      string          `json:"error_description"`
	}
	jsonErr := json.Unmarshal(ans.body, &v)
	switch {
	case ans.status >= 500 || ans.status == http.StatusTooManyRequests:
		return nil, unavailable(provider, base, ans.status)
	case jsonErr == nil && clientErrors[v.Error]:
		// OpenRunner's own client ID or secret is wrong: a configuration
		// error, not a verdict on the connection's authorization.
		reason := reasonText(cmp.Or(v.ErrorDescription, v.Error), hide...)
		s.log.Error("provider rejected the OAuth client credentials", "provider", provider, "reason", reason)
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "%s does not accept OpenRunner's OAuth client credentials (%s): check %s.",
			providerName(provider), reason, clientSettings(provider))
	case jsonErr == nil && v.Error != "":
		reason := cmp.Or(v.ErrorDescription, v.Error)
		return nil, &rejectedError{Provider: provider, Status: ans.status, Reason: reasonText(reason, hide...)}
	case ans.status == http.StatusBadRequest || ans.status == http.StatusUnauthorized || ans.status == http.StatusForbidden:
		// A refusal without the OAuth error fields.
		reason := errorMessage(ans.body)
		if reason == "" {
			reason = http.StatusText(ans.status)
		}
		return nil, &rejectedError{Provider: provider, Status: ans.status, Reason: reasonText(reason, hide...)}
	case ans.status != http.StatusOK || jsonErr != nil || v.AccessToken == "":
		s.log.Warn("unexpected token endpoint answer", "provider", provider, "status", ans.status)
		return nil, openrunner.Errorf(openrunner.EINTERNAL, "%s at %s gave an unexpected answer to a token request (HTTP %d). Try again later.",
			providerName(provider), base, ans.status)
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
func (s *Service) apiGet(ctx context.Context, provider, path string, a auth) (*answer, error) {
	base, accept := s.gh.APIURL, ghAccept
	if provider == openrunner.ProviderBitbucket {
		base, accept = s.bb.APIURL, "application/json"
	}
	ans, err := s.call(ctx, provider, base, http.MethodGet, base+path, nil, "", a, accept)
	if err != nil {
		return nil, err
	}
	switch {
	case ans.status == http.StatusOK:
		return ans, nil
	case rateLimited(ans) || ans.status >= 500:
		return nil, unavailable(provider, base, ans.status)
	case ans.status == http.StatusUnauthorized || ans.status == http.StatusForbidden:
		reason := errorMessage(ans.body)
		if reason == "" {
			reason = http.StatusText(ans.status)
		}
		return nil, &rejectedError{Provider: provider, Status: ans.status, Reason: reasonText(reason, a.secrets()...)}
	default:
		return nil, unavailable(provider, base, ans.status)
	}
}

// whoAmI verifies a credential with GET /user and returns the account's
// login (GitHub) or username (Bitbucket).
func (s *Service) whoAmI(ctx context.Context, provider string, a auth) (string, error) {
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
	_ = json.Unmarshal(ans.body, &v)
	// Bitbucket may omit username for privacy; fall back to the nickname
	// and then the Atlassian account ID, which are stable too.
	for _, login := range []string{v.Login, v.Username, v.Nickname, v.AccountID} {
		if login != "" {
			return clean(login), nil
		}
	}
	return "", openrunner.Errorf(openrunner.EINTERNAL, "%s answered GET /user without an account name. Try again later.", providerName(provider))
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
	ans, err := s.apiGet(ctx, openrunner.ProviderGitHub, "/user/installations?per_page=100", auth{bearer: userToken})
	if err != nil {
		return nil, err
	}
	var v struct {
		Installations []ghInstallation `json:"installations"`
	}
	if err := json.Unmarshal(ans.body, &v); err != nil {
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
	base := s.gh.APIURL
	ans, err := s.call(ctx, openrunner.ProviderGitHub, base, http.MethodPost,
		fmt.Sprintf("%s/app/installations/%d/access_tokens", base, id), nil, "", auth{bearer: secret(jwt)}, ghAccept)
	if err != nil {
		return "", time.Time{}, err
	}
	switch {
	case ans.status == http.StatusCreated || ans.status == http.StatusOK:
	case rateLimited(ans) || ans.status >= 500:
		return "", time.Time{}, unavailable(openrunner.ProviderGitHub, base, ans.status)
	case ans.status == http.StatusUnauthorized:
		reason := reasonText(errorMessage(ans.body), jwt)
		s.log.Error("GitHub rejected the app JWT", "app_id", s.gh.AppID, "reason", reason)
		return "", time.Time{}, openrunner.Errorf(openrunner.EINTERNAL,
			"GitHub does not accept OpenRunner's GitHub App credentials (%s): check the GitHub App ID and private key.", reason)
	case ans.status == http.StatusNotFound || ans.status == http.StatusForbidden:
		reason := reasonText(errorMessage(ans.body), jwt)
		if reason == "" || reason == "Not Found" {
			reason = fmt.Sprintf("the GitHub App installation %d was removed", id)
		}
		return "", time.Time{}, &rejectedError{Provider: openrunner.ProviderGitHub, Status: ans.status, Reason: reason}
	default:
		return "", time.Time{}, unavailable(openrunner.ProviderGitHub, base, ans.status)
	}
	var v struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := json.Unmarshal(ans.body, &v); err != nil || v.Token == "" {
		return "", time.Time{}, openrunner.Errorf(openrunner.EINTERNAL, "GitHub gave an unexpected answer to an installation token request. Try again later.")
	}
	if v.ExpiresAt.IsZero() {
		// Documented lifetime: one hour.
		v.ExpiresAt = s.now().Add(time.Hour)
	}
	return secret(v.Token), v.ExpiresAt, nil
}
