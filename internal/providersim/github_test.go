package providersim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	ghClientID = "Iv1.oauthclient"
	ghSecret   = "oauth-secret-123"
	ghCallback = "https://openrunner.example/callback/github"
)

// authorizeURL builds a GitHub authorize URL.
func authorizeURL(s *Sim, params url.Values) string {
	return s.GitHubURL() + "/login/oauth/authorize?" + params.Encode()
}

// exchange posts the token endpoint with form params and Accept JSON.
func ghExchange(t *testing.T, s *Sim, form url.Values) map[string]any {
	t.Helper()
	status, hdr, body := postForm(t, s, s.GitHubURL()+"/login/oauth/access_token", form, map[string]string{"Accept": "application/json"})
	if status != http.StatusOK {
		t.Fatalf("token endpoint status = %d, want 200: %s", status, body)
	}
	if got := hdr.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Fatalf("Content-Type = %q, want JSON", got)
	}
	return decode(t, body)
}

// ghCode runs the consent step and returns the code from the redirect.
func ghCode(t *testing.T, s *Sim, params url.Values) string {
	t.Helper()
	u := mustConsent(t, s, authorizeURL(s, params), true, "")
	code := u.Query().Get("code")
	if code == "" {
		t.Fatalf("redirect %s has no code", u)
	}
	return code
}

func ghUserLogin(t *testing.T, s *Sim, hdr map[string]string) (int, string) {
	t.Helper()
	status, _, body := do(t, s, http.MethodGet, s.GitHubAPIURL()+"/user", nil, hdr)
	if status != http.StatusOK {
		return status, string(body)
	}
	return status, decode(t, body)["login"].(string)
}

func TestGitHubAuthorize(t *testing.T) {
	s := MustNew(t, Options{})
	s.AddGitHubOAuthApp(GitHubOAuthApp{ClientID: ghClientID, ClientSecret: ghSecret, Name: "OpenRunner", CallbackURLs: []string{ghCallback}})

	t.Run("PageHasApproveAndDeny", func(t *testing.T) {
		status, hdr, body := do(t, s, http.MethodGet, authorizeURL(s, url.Values{"client_id": {ghClientID}, "state": {"xyz"}}), nil, nil)
		if status != http.StatusOK {
			t.Fatalf("status = %d, want 200", status)
		}
		if got := hdr.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
			t.Errorf("Content-Type = %q, want text/html", got)
		}
		for _, want := range []string{`id="approve"`, `id="deny"`, `<form method="post"`, "octocat"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("page lacks %s", want)
			}
		}
		if strings.Contains(string(body), "<script") {
			t.Error("page uses JavaScript")
		}
	})

	t.Run("ApproveRedirectsWithCodeAndState", func(t *testing.T) {
		u := mustConsent(t, s, authorizeURL(s, url.Values{"client_id": {ghClientID}, "redirect_uri": {ghCallback + "/sub"}, "state": {"st-1"}}), true, "")
		if got, want := u.Scheme+"://"+u.Host+u.Path, ghCallback+"/sub"; got != want {
			t.Errorf("redirect = %s, want %s", got, want)
		}
		if got := u.Query().Get("state"); got != "st-1" {
			t.Errorf("state = %q, want st-1", got)
		}
		if got := u.Query().Get("code"); len(got) != 20 {
			t.Errorf("code = %q, want 20 characters", got)
		}
	})

	t.Run("DenyRedirectsWithAccessDenied", func(t *testing.T) {
		u := mustConsent(t, s, authorizeURL(s, url.Values{"client_id": {ghClientID}, "state": {"st-2"}}), false, "")
		q := u.Query()
		want := map[string]string{
			"error":             "access_denied",
			"error_description": "The user has denied your application access.",
			"error_uri":         ghDocsAuthorizeErrors + "#access-denied",
			"state":             "st-2",
		}
		for k, v := range want {
			if got := q.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if q.Has("code") {
			t.Error("denied redirect carries a code")
		}
		if !strings.Contains(u.RawQuery, "error_description=The+user+has+denied+your+application+access.") {
			t.Errorf("query %q does not encode the description as GitHub does", u.RawQuery)
		}
	})

	t.Run("ErrUnknownClient", func(t *testing.T) {
		status, _, body := do(t, s, http.MethodGet, authorizeURL(s, url.Values{"client_id": {"nope"}}), nil, nil)
		if status != http.StatusNotFound || !strings.Contains(string(body), `id="error"`) {
			t.Errorf("status = %d body = %s, want a 404 error page", status, body)
		}
	})

	t.Run("ErrRedirectURIMismatch", func(t *testing.T) {
		status, hdr, _ := do(t, s, http.MethodGet, authorizeURL(s, url.Values{"client_id": {ghClientID}, "redirect_uri": {"https://evil.example/cb"}, "state": {"s"}}), nil, nil)
		if status != http.StatusFound {
			t.Fatalf("status = %d, want 302", status)
		}
		u, _ := url.Parse(hdr.Get("Location"))
		if got := u.Scheme + "://" + u.Host + u.Path; got != ghCallback {
			t.Errorf("redirected to %s, want the registered callback", got)
		}
		if got := u.Query().Get("error"); got != "redirect_uri_mismatch" {
			t.Errorf("error = %q, want redirect_uri_mismatch", got)
		}
	})

	t.Run("ErrPKCEPlain", func(t *testing.T) {
		status, _, _ := do(t, s, http.MethodGet, authorizeURL(s, url.Values{"client_id": {ghClientID}, "code_challenge": {"abc"}, "code_challenge_method": {"plain"}}), nil, nil)
		if status != http.StatusBadRequest {
			t.Errorf("status = %d, want 400", status)
		}
	})

	t.Run("OtherUserByLoginParam", func(t *testing.T) {
		s.AddUser("hubot")
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}, "login": {"hubot"}})
		tok := ghExchange(t, s, url.Values{"client_id": {ghClientID}, "client_secret": {ghSecret}, "code": {code}})
		if _, got := ghUserLogin(t, s, bearer(tok["access_token"].(string))); got != "hubot" {
			t.Errorf("login = %q, want hubot", got)
		}
	})

	t.Run("OtherUserByFormField", func(t *testing.T) {
		s.AddUser("monalisa")
		u := mustConsent(t, s, authorizeURL(s, url.Values{"client_id": {ghClientID}}), true, "monalisa")
		tok := ghExchange(t, s, url.Values{"client_id": {ghClientID}, "client_secret": {ghSecret}, "code": {u.Query().Get("code")}})
		if _, got := ghUserLogin(t, s, bearer(tok["access_token"].(string))); got != "monalisa" {
			t.Errorf("login = %q, want monalisa", got)
		}
	})
}

func TestGitHubAccessToken(t *testing.T) {
	clock := newTestClock()
	s := MustNew(t, Options{Now: clock.Now})
	s.AddGitHubOAuthApp(GitHubOAuthApp{ClientID: ghClientID, ClientSecret: ghSecret, CallbackURLs: []string{ghCallback}})
	creds := func(code string) url.Values {
		return url.Values{"client_id": {ghClientID}, "client_secret": {ghSecret}, "code": {code}}
	}

	t.Run("OK", func(t *testing.T) {
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}, "scope": {"repo read:user"}})
		tok := ghExchange(t, s, creds(code))
		at, _ := tok["access_token"].(string)
		if !strings.HasPrefix(at, "gho_") {
			t.Errorf("access_token = %q, want gho_ prefix", at)
		}
		if got, want := tok["token_type"], "bearer"; got != want {
			t.Errorf("token_type = %v, want %v", got, want)
		}
		if got, want := tok["scope"], "read:user,repo"; got != want {
			t.Errorf("scope = %v, want %v", got, want)
		}
		for _, k := range []string{"expires_in", "refresh_token", "refresh_token_expires_in"} {
			if _, ok := tok[k]; ok {
				t.Errorf("non-expiring token response has %s", k)
			}
		}
		status, hdr, body := do(t, s, http.MethodGet, s.GitHubAPIURL()+"/user", nil, map[string]string{"Authorization": "token " + at})
		if status != http.StatusOK {
			t.Fatalf("GET /user status = %d: %s", status, body)
		}
		u := decode(t, body)
		if u["login"] != "octocat" || u["type"] != "User" || u["id"] != float64(1) {
			t.Errorf("user = %v", u)
		}
		if got, want := hdr.Get("X-OAuth-Scopes"), "read:user, repo"; got != want {
			t.Errorf("X-OAuth-Scopes = %q, want %q", got, want)
		}
	})

	t.Run("FormEncodedByDefault", func(t *testing.T) {
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}})
		status, hdr, body := postForm(t, s, s.GitHubURL()+"/login/oauth/access_token", creds(code), nil)
		if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "application/x-www-form-urlencoded") {
			t.Fatalf("status = %d Content-Type = %q", status, hdr.Get("Content-Type"))
		}
		v, err := url.ParseQuery(string(body))
		if err != nil || !strings.HasPrefix(v.Get("access_token"), "gho_") || v.Get("token_type") != "bearer" {
			t.Errorf("body = %q", body)
		}
	})

	t.Run("JSONBody", func(t *testing.T) {
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}})
		b, _ := json.Marshal(map[string]string{"client_id": ghClientID, "client_secret": ghSecret, "code": code})
		status, _, body := do(t, s, http.MethodPost, s.GitHubURL()+"/login/oauth/access_token", strings.NewReader(string(b)),
			map[string]string{"Content-Type": "application/json", "Accept": "application/json"})
		if status != http.StatusOK || !strings.HasPrefix(decode(t, body)["access_token"].(string), "gho_") {
			t.Errorf("status = %d body = %s", status, body)
		}
	})

	t.Run("ErrReplayedCode", func(t *testing.T) {
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}})
		ghExchange(t, s, creds(code))
		tok := ghExchange(t, s, creds(code))
		want := map[string]any{
			"error":             "bad_verification_code",
			"error_description": "The code passed is incorrect or expired.",
			"error_uri":         ghDocsTokenErrors + "#bad-verification-code",
		}
		for k, v := range want {
			if tok[k] != v {
				t.Errorf("%s = %v, want %v", k, tok[k], v)
			}
		}
	})

	t.Run("ErrExpiredCode", func(t *testing.T) {
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}})
		clock.Advance(10*time.Minute + time.Second)
		if got := ghExchange(t, s, creds(code))["error"]; got != "bad_verification_code" {
			t.Errorf("error = %v, want bad_verification_code", got)
		}
	})

	t.Run("ErrUnknownCode", func(t *testing.T) {
		if got := ghExchange(t, s, creds("0123456789abcdef0123"))["error"]; got != "bad_verification_code" {
			t.Errorf("error = %v, want bad_verification_code", got)
		}
	})

	t.Run("ErrIncorrectClientCredentials", func(t *testing.T) {
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}})
		f := creds(code)
		f.Set("client_secret", "wrong")
		tok := ghExchange(t, s, f)
		if tok["error"] != "incorrect_client_credentials" || tok["error_description"] != "The client_id and/or client_secret passed are incorrect." {
			t.Errorf("response = %v", tok)
		}
		// The code was not spent by the failed attempt.
		if got := ghExchange(t, s, creds(code))["access_token"]; got == nil {
			t.Error("code unusable after a failed client authentication")
		}
	})

	t.Run("ErrRedirectURIMismatch", func(t *testing.T) {
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}, "redirect_uri": {ghCallback + "/a"}})
		f := creds(code)
		f.Set("redirect_uri", ghCallback+"/b")
		if got := ghExchange(t, s, f)["error"]; got != "redirect_uri_mismatch" {
			t.Errorf("error = %v, want redirect_uri_mismatch", got)
		}
		f.Set("redirect_uri", ghCallback+"/a")
		if got := ghExchange(t, s, f)["access_token"]; got == nil {
			t.Error("matching redirect_uri refused")
		}
	})

	t.Run("PKCE", func(t *testing.T) {
		verifier, challenge := pkcePair(t)
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}})
		for _, bad := range []string{"", "wrong-verifier-wrong-verifier-wrong-verifier"} {
			f := creds(code)
			if bad != "" {
				f.Set("code_verifier", bad)
			}
			if got := ghExchange(t, s, f)["error"]; got != "bad_verification_code" {
				t.Errorf("verifier %q: error = %v, want bad_verification_code", bad, got)
			}
		}
		f := creds(code)
		f.Set("code_verifier", verifier)
		if got, _ := ghExchange(t, s, f)["access_token"].(string); !strings.HasPrefix(got, "gho_") {
			t.Errorf("right verifier: access_token = %q", got)
		}
	})

	t.Run("ErrUnsupportedGrantType", func(t *testing.T) {
		f := creds("x")
		f.Set("grant_type", "password")
		if got := ghExchange(t, s, f)["error"]; got != "unsupported_grant_type" {
			t.Errorf("error = %v, want unsupported_grant_type", got)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		code := ghCode(t, s, url.Values{"client_id": {ghClientID}})
		at := ghExchange(t, s, creds(code))["access_token"].(string)
		s.RevokeToken(at)
		status, _, body := do(t, s, http.MethodGet, s.GitHubAPIURL()+"/user", nil, bearer(at))
		if status != http.StatusUnauthorized {
			t.Fatalf("status = %d, want 401", status)
		}
		want := map[string]any{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}
		got := decode(t, body)
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %v, want %v", k, got[k], v)
			}
		}
	})
}

func TestGitHubGetUser(t *testing.T) {
	s := MustNew(t, Options{})
	pat := s.IssueGitHubToken("octocat", "repo")

	t.Run("OKBearer", func(t *testing.T) {
		if status, login := ghUserLogin(t, s, bearer(pat)); status != 200 || login != "octocat" {
			t.Errorf("status = %d login = %q", status, login)
		}
	})
	t.Run("OKBasic", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, s.GitHubAPIURL()+"/user", nil)
		req.SetBasicAuth("octocat", pat)
		resp, err := s.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status = %d, want 200", resp.StatusCode)
		}
	})
	t.Run("ErrRequiresAuthentication", func(t *testing.T) {
		status, _, body := do(t, s, http.MethodGet, s.GitHubAPIURL()+"/user", nil, nil)
		if status != http.StatusUnauthorized || decode(t, body)["message"] != "Requires authentication" {
			t.Errorf("status = %d body = %s", status, body)
		}
	})
	t.Run("ErrBadCredentials", func(t *testing.T) {
		if status, _ := ghUserLogin(t, s, bearer("ghp_doesnotexist")); status != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", status)
		}
	})
	t.Run("ErrUnknownRoute", func(t *testing.T) {
		status, _, body := do(t, s, http.MethodGet, s.GitHubAPIURL()+"/nope", nil, bearer(pat))
		if status != http.StatusNotFound || decode(t, body)["message"] != "Not Found" {
			t.Errorf("status = %d body = %s", status, body)
		}
	})
}

func TestGitHubExpiringTokens(t *testing.T) {
	clock := newTestClock()
	s := MustNew(t, Options{Now: clock.Now})
	s.AddGitHubApp(GitHubApp{ID: 42, Slug: "openrunner", ClientID: "Iv23liApp", ClientSecret: "app-secret", PublicKey: &rsaKey(t, 0).PublicKey})
	get := func() map[string]any {
		code := ghCode(t, s, url.Values{"client_id": {"Iv23liApp"}, "redirect_uri": {ghCallback}})
		return ghExchange(t, s, url.Values{"client_id": {"Iv23liApp"}, "client_secret": {"app-secret"}, "code": {code}})
	}
	refresh := func(rt string) map[string]any {
		return ghExchange(t, s, url.Values{"client_id": {"Iv23liApp"}, "client_secret": {"app-secret"}, "grant_type": {"refresh_token"}, "refresh_token": {rt}})
	}

	t.Run("ResponseParameters", func(t *testing.T) {
		tok := get()
		if at, _ := tok["access_token"].(string); !strings.HasPrefix(at, "ghu_") {
			t.Errorf("access_token = %q, want ghu_", at)
		}
		if rt, _ := tok["refresh_token"].(string); !strings.HasPrefix(rt, "ghr_") {
			t.Errorf("refresh_token = %q, want ghr_", rt)
		}
		if got := tok["expires_in"]; got != float64(28800) {
			t.Errorf("expires_in = %v, want 28800", got)
		}
		if got := tok["refresh_token_expires_in"]; got != float64(15897600) {
			t.Errorf("refresh_token_expires_in = %v, want 15897600", got)
		}
		if got := tok["scope"]; got != "" {
			t.Errorf("scope = %v, want empty", got)
		}
	})

	t.Run("ExpiryByClock", func(t *testing.T) {
		at := get()["access_token"].(string)
		clock.Advance(8*time.Hour - time.Second)
		if status, _ := ghUserLogin(t, s, bearer(at)); status != http.StatusOK {
			t.Fatalf("before 8 h: status = %d, want 200", status)
		}
		clock.Advance(time.Second)
		if status, _ := ghUserLogin(t, s, bearer(at)); status != http.StatusUnauthorized {
			t.Errorf("after 8 h: status = %d, want 401", status)
		}
	})

	t.Run("ExpireAccessTokens", func(t *testing.T) {
		at := get()["access_token"].(string)
		s.ExpireAccessTokens()
		if status, _ := ghUserLogin(t, s, bearer(at)); status != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", status)
		}
	})

	t.Run("Refresh", func(t *testing.T) {
		first := get()
		second := refresh(first["refresh_token"].(string))
		at, _ := second["access_token"].(string)
		if !strings.HasPrefix(at, "ghu_") || second["refresh_token"] == first["refresh_token"] {
			t.Fatalf("refresh response = %v", second)
		}
		if status, _ := ghUserLogin(t, s, bearer(at)); status != http.StatusOK {
			t.Errorf("new token: status = %d, want 200", status)
		}
		if status, _ := ghUserLogin(t, s, bearer(first["access_token"].(string))); status != http.StatusUnauthorized {
			t.Errorf("old access token: status = %d, want 401", status)
		}
		again := refresh(first["refresh_token"].(string))
		if again["error"] != "bad_refresh_token" {
			t.Errorf("reused refresh token: response = %v, want bad_refresh_token", again)
		}
	})

	t.Run("ErrRefreshTokenExpired", func(t *testing.T) {
		rt := get()["refresh_token"].(string)
		clock.Advance(15897600 * time.Second)
		if got := refresh(rt)["error"]; got != "bad_refresh_token" {
			t.Errorf("error = %v, want bad_refresh_token", got)
		}
	})

	t.Run("ErrRefreshOtherClient", func(t *testing.T) {
		s.AddGitHubOAuthApp(GitHubOAuthApp{ClientID: "other", ClientSecret: "other-secret", ExpiringTokens: true})
		rt := get()["refresh_token"].(string)
		got := ghExchange(t, s, url.Values{"client_id": {"other"}, "client_secret": {"other-secret"}, "grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if got["error"] != "bad_refresh_token" {
			t.Errorf("response = %v, want bad_refresh_token", got)
		}
	})

	t.Run("ErrRedirectURINotExact", func(t *testing.T) {
		s.AddGitHubApp(GitHubApp{ID: 43, ClientID: "Iv23liStrict", ClientSecret: "x", PublicKey: &rsaKey(t, 0).PublicKey, CallbackURLs: []string{ghCallback}})
		status, hdr, _ := do(t, s, http.MethodGet, authorizeURL(s, url.Values{"client_id": {"Iv23liStrict"}, "redirect_uri": {ghCallback + "/sub"}}), nil, nil)
		u, _ := url.Parse(hdr.Get("Location"))
		if status != http.StatusFound || u.Query().Get("error") != "redirect_uri_mismatch" {
			t.Errorf("status = %d location = %s, want redirect_uri_mismatch", status, u)
		}
	})
}

func TestGitHubAppInstallationToken(t *testing.T) {
	clock := newTestClock()
	s := MustNew(t, Options{Now: clock.Now})
	key := rsaKey(t, 0)
	s.AddGitHubApp(GitHubApp{ID: 42, Slug: "openrunner", ClientID: "Iv23liApp", ClientSecret: "app-secret", PublicKey: &key.PublicKey,
		Permissions: map[string]string{"contents": "read", "metadata": "read", "pull_requests": "write"}})
	s.AddGitHubApp(GitHubApp{ID: 99, ClientID: "Iv23liOther", PublicKey: &rsaKey(t, 1).PublicKey})
	inst := s.AddInstallation(42, "octocat")
	other := s.AddInstallation(99, "octocat")
	tokensURL := func(id int64) string {
		return s.GitHubAPIURL() + "/app/installations/" + itoa(id) + "/access_tokens"
	}
	post := func(jwt string, id int64, body string) (int, map[string]any) {
		t.Helper()
		hdr := map[string]string{"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
		if jwt != "" {
			hdr["Authorization"] = "Bearer " + jwt
		}
		status, _, b := do(t, s, http.MethodPost, tokensURL(id), strings.NewReader(body), hdr)
		return status, decode(t, b)
	}

	t.Run("OK", func(t *testing.T) {
		status, got := post(appJWT(t, key, 42, clock.Now()), inst.ID, "")
		if status != http.StatusCreated {
			t.Fatalf("status = %d, want 201: %v", status, got)
		}
		if tok, _ := got["token"].(string); !strings.HasPrefix(tok, "ghs_") {
			t.Errorf("token = %v, want ghs_", got["token"])
		}
		if want := clock.Now().Add(time.Hour).Format(time.RFC3339); got["expires_at"] != want {
			t.Errorf("expires_at = %v, want %s", got["expires_at"], want)
		}
		if got["repository_selection"] != "all" {
			t.Errorf("repository_selection = %v, want all", got["repository_selection"])
		}
		if p, _ := got["permissions"].(map[string]any); p["contents"] != "read" || p["pull_requests"] != "write" {
			t.Errorf("permissions = %v", got["permissions"])
		}
	})

	t.Run("OKIssuerClientIDAndString", func(t *testing.T) {
		for _, iss := range []any{"Iv23liApp", "42"} {
			if status, got := post(appJWT(t, key, iss, clock.Now()), inst.ID, ""); status != http.StatusCreated {
				t.Errorf("iss %v: status = %d: %v", iss, status, got)
			}
		}
	})

	t.Run("OKDownScoped", func(t *testing.T) {
		status, got := post(appJWT(t, key, 42, clock.Now()), inst.ID, `{"repositories":["hello-world"],"permissions":{"contents":"read"}}`)
		if status != http.StatusCreated {
			t.Fatalf("status = %d: %v", status, got)
		}
		if got["repository_selection"] != "selected" {
			t.Errorf("repository_selection = %v, want selected", got["repository_selection"])
		}
		if p, _ := got["permissions"].(map[string]any); len(p) != 1 || p["contents"] != "read" {
			t.Errorf("permissions = %v, want contents:read only", got["permissions"])
		}
	})

	t.Run("ErrPermissionNotGranted", func(t *testing.T) {
		status, got := post(appJWT(t, key, 42, clock.Now()), inst.ID, `{"permissions":{"contents":"write"}}`)
		if status != http.StatusUnprocessableEntity {
			t.Errorf("status = %d, want 422: %v", status, got)
		}
	})

	t.Run("ErrBadJSON", func(t *testing.T) {
		if status, got := post(appJWT(t, key, 42, clock.Now()), inst.ID, `{"permissions":`); status != http.StatusBadRequest || got["message"] != "Problems parsing JSON" {
			t.Errorf("status = %d: %v", status, got)
		}
	})

	now := clock.Now()
	rejects := []struct {
		name   string
		jwt    string
		id     int64
		status int
		msg    string
	}{
		{"ErrNoJWT", "", inst.ID, 401, msgJWTUndecodable},
		{"ErrNotAJWT", "ghp_notajwt", inst.ID, 401, msgJWTUndecodable},
		{"ErrWrongKey", appJWT(t, rsaKey(t, 1), 42, now), inst.ID, 401, msgJWTUndecodable},
		{"ErrExpTooFar", signJWT(t, key, map[string]any{"iat": now.Unix() - 60, "exp": now.Unix() + 601, "iss": 42}), inst.ID, 401, msgJWTExpTooFar},
		{"ErrExpired", signJWT(t, key, map[string]any{"iat": now.Unix() - 700, "exp": now.Unix() - 1, "iss": 42}), inst.ID, 401, msgJWTExpInvalid},
		{"ErrNoExp", signJWT(t, key, map[string]any{"iat": now.Unix() - 60, "iss": 42}), inst.ID, 401, msgJWTExpInvalid},
		{"ErrIatInFuture", signJWT(t, key, map[string]any{"iat": now.Unix() + 300, "exp": now.Unix() + 500, "iss": 42}), inst.ID, 401, msgJWTIatInvalid},
		{"ErrIatNotInteger", signJWT(t, key, map[string]any{"iat": "yesterday", "exp": now.Unix() + 500, "iss": 42}), inst.ID, 401, msgJWTIatInvalid},
		{"ErrUnknownIssuer", appJWT(t, key, 7, now), inst.ID, 404, "Integration not found"},
		{"ErrOtherAppsInstallation", appJWT(t, key, 42, now), other.ID, 404, "Not Found"},
		{"ErrNoSuchInstallation", appJWT(t, key, 42, now), 1, 404, "Not Found"},
	}
	for _, tc := range rejects {
		t.Run(tc.name, func(t *testing.T) {
			status, got := post(tc.jwt, tc.id, "")
			if status != tc.status || got["message"] != tc.msg {
				t.Errorf("status = %d message = %v, want %d %q", status, got["message"], tc.status, tc.msg)
			}
		})
	}

	t.Run("ErrTokenSchemeForJWT", func(t *testing.T) {
		status, _, _ := do(t, s, http.MethodPost, tokensURL(inst.ID), nil, map[string]string{"Authorization": "token " + appJWT(t, key, 42, clock.Now())})
		if status != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", status)
		}
	})

	t.Run("InstallationTokenOnGetUser", func(t *testing.T) {
		_, got := post(appJWT(t, key, 42, clock.Now()), inst.ID, "")
		tok := got["token"].(string)
		status, _, body := do(t, s, http.MethodGet, s.GitHubAPIURL()+"/user", nil, bearer(tok))
		if status != http.StatusForbidden || decode(t, body)["message"] != "Resource not accessible by integration" {
			t.Errorf("status = %d body = %s, want 403 Resource not accessible by integration", status, body)
		}
		clock.Advance(time.Hour)
		if status, _ := ghUserLogin(t, s, bearer(tok)); status != http.StatusUnauthorized {
			t.Errorf("after 1 h: status = %d, want 401", status)
		}
	})

	t.Run("DeleteInstallation", func(t *testing.T) {
		gone := s.AddInstallation(42, "hubot")
		_, got := post(appJWT(t, key, 42, clock.Now()), gone.ID, "")
		tok := got["token"].(string)
		s.DeleteInstallation(gone.ID)
		if status, _ := post(appJWT(t, key, 42, clock.Now()), gone.ID, ""); status != http.StatusNotFound {
			t.Errorf("token for deleted installation: status = %d, want 404", status)
		}
		if status, _ := ghUserLogin(t, s, bearer(tok)); status != http.StatusUnauthorized {
			t.Errorf("token of deleted installation: status = %d, want 401", status)
		}
	})

	t.Run("AppEndpoints", func(t *testing.T) {
		jwt := appJWT(t, key, 42, clock.Now())
		status, _, body := do(t, s, http.MethodGet, s.GitHubAPIURL()+"/app", nil, bearer(jwt))
		if status != http.StatusOK || decode(t, body)["slug"] != "openrunner" {
			t.Errorf("GET /app: status = %d body = %s", status, body)
		}
		status, _, body = do(t, s, http.MethodGet, s.GitHubAPIURL()+"/app/installations/"+itoa(inst.ID), nil, bearer(jwt))
		if status != http.StatusOK || decode(t, body)["app_id"] != float64(42) {
			t.Errorf("GET /app/installations/{id}: status = %d body = %s", status, body)
		}
		status, _, body = do(t, s, http.MethodGet, s.GitHubAPIURL()+"/app/installations", nil, bearer(jwt))
		var list []map[string]any
		if err := json.Unmarshal(body, &list); status != http.StatusOK || err != nil || len(list) == 0 {
			t.Errorf("GET /app/installations: status = %d body = %s", status, body)
		}
	})
}

func TestGitHubUserInstallations(t *testing.T) {
	s := MustNew(t, Options{})
	key := rsaKey(t, 0)
	s.AddGitHubApp(GitHubApp{ID: 42, Slug: "openrunner", ClientID: "Iv23liApp", ClientSecret: "app-secret", PublicKey: &key.PublicKey})
	s.AddGitHubOrg("octo-org", "octocat")
	mine := s.AddInstallation(42, "octocat")
	org := s.AddInstallation(42, "octo-org")
	s.AddInstallation(42, "someone-else")
	list := func(tok string) (int, map[string]any) {
		status, _, body := do(t, s, http.MethodGet, s.GitHubAPIURL()+"/user/installations", nil, bearer(tok))
		return status, decode(t, body)
	}

	t.Run("OK", func(t *testing.T) {
		code := ghCode(t, s, url.Values{"client_id": {"Iv23liApp"}, "redirect_uri": {ghCallback}})
		at := ghExchange(t, s, url.Values{"client_id": {"Iv23liApp"}, "client_secret": {"app-secret"}, "code": {code}})["access_token"].(string)
		status, got := list(at)
		if status != http.StatusOK || got["total_count"] != float64(2) {
			t.Fatalf("status = %d body = %v, want 2 installations", status, got)
		}
		insts := got["installations"].([]any)
		first, second := insts[0].(map[string]any), insts[1].(map[string]any)
		if first["id"] != float64(mine.ID) || second["id"] != float64(org.ID) {
			t.Errorf("ids = %v, %v, want %d, %d", first["id"], second["id"], mine.ID, org.ID)
		}
		if second["target_type"] != "Organization" || first["account"].(map[string]any)["login"] != "octocat" {
			t.Errorf("installations = %v", insts)
		}
	})

	t.Run("ErrNotAGitHubAppToken", func(t *testing.T) {
		status, got := list(s.IssueGitHubToken("octocat", "repo"))
		if status != http.StatusForbidden || got["message"] != msgNoAppUserToken {
			t.Errorf("status = %d body = %v", status, got)
		}
	})
}

func TestGitHubInstallFlow(t *testing.T) {
	s := MustNew(t, Options{})
	key := rsaKey(t, 0)

	t.Run("SetupURL", func(t *testing.T) {
		s.AddGitHubApp(GitHubApp{ID: 42, Slug: "openrunner", ClientID: "Iv23liApp", ClientSecret: "app-secret", PublicKey: &key.PublicKey,
			SetupURL: "https://openrunner.example/setup"})
		page := s.GitHubURL() + "/apps/openrunner/installations/new"
		u := mustConsent(t, s, page, true, "")
		id := u.Query().Get("installation_id")
		if !strings.HasPrefix(u.String(), "https://openrunner.example/setup?") || id == "" || u.Query().Get("setup_action") != "install" {
			t.Fatalf("redirect = %s", u)
		}
		insts := s.Installations(42)
		if len(insts) != 1 || itoa(insts[0].ID) != id || insts[0].Account != "octocat" {
			t.Errorf("installations = %+v, want one on octocat with id %s", insts, id)
		}
		// Installing again updates the same installation.
		u = mustConsent(t, s, page, true, "")
		if u.Query().Get("installation_id") != id || u.Query().Get("setup_action") != "update" {
			t.Errorf("second install redirect = %s", u)
		}
	})

	t.Run("Cancel", func(t *testing.T) {
		s.AddGitHubApp(GitHubApp{ID: 44, Slug: "cancelled", ClientID: "Iv23liC", PublicKey: &key.PublicKey, SetupURL: "https://openrunner.example/setup"})
		u, err := s.Consent(s.GitHubURL()+"/apps/cancelled/installations/new", false, "")
		if err != nil || u != nil {
			t.Errorf("cancel: redirect = %v err = %v, want a page", u, err)
		}
		if got := s.Installations(44); len(got) != 0 {
			t.Errorf("installations = %v, want none", got)
		}
	})

	t.Run("RequestOAuthOnInstall", func(t *testing.T) {
		s.AddGitHubApp(GitHubApp{ID: 45, Slug: "chained", ClientID: "Iv23liChain", ClientSecret: "chain-secret", PublicKey: &key.PublicKey,
			CallbackURLs: []string{ghCallback}, RequestOAuthOnInstall: true})
		u := mustConsent(t, s, s.GitHubURL()+"/apps/chained/installations/new", true, "")
		if !strings.HasPrefix(u.String(), s.GitHubURL()+"/login/oauth/authorize?client_id=Iv23liChain") {
			t.Fatalf("install redirect = %s, want the authorize page", u)
		}
		cb := mustConsent(t, s, u.String(), true, "")
		if !strings.HasPrefix(cb.String(), ghCallback+"?") || cb.Query().Get("code") == "" || cb.Query().Get("installation_id") != itoa(s.Installations(45)[0].ID) {
			t.Errorf("callback = %s", cb)
		}
	})
}

func TestGitHubRememberAuthorizations(t *testing.T) {
	s := MustNew(t, Options{RememberGitHubAuthorizations: true})
	s.AddGitHubOAuthApp(GitHubOAuthApp{ClientID: ghClientID, ClientSecret: ghSecret, CallbackURLs: []string{ghCallback}})
	page := authorizeURL(s, url.Values{"client_id": {ghClientID}, "scope": {"repo"}, "state": {"1"}})
	mustConsent(t, s, page, true, "")
	status, hdr, _ := do(t, s, http.MethodGet, page, nil, nil)
	if status != http.StatusFound || !strings.Contains(hdr.Get("Location"), "code=") {
		t.Errorf("second authorize: status = %d location = %q, want an immediate redirect", status, hdr.Get("Location"))
	}
	status, _, _ = do(t, s, http.MethodGet, authorizeURL(s, url.Values{"client_id": {ghClientID}, "scope": {"repo admin:org"}}), nil, nil)
	if status != http.StatusOK {
		t.Errorf("new scope: status = %d, want the consent page", status)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
