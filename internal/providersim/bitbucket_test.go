package providersim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	bbKey      = "bbConsumerKey"
	bbSecret   = "bbConsumerSecret"
	bbCallback = "https://openrunner.example/callback/bitbucket"
)

func bbAuthorizeURL(s *Sim, params url.Values) string {
	return s.BitbucketURL() + "/site/oauth2/authorize?" + params.Encode()
}

// bbToken posts the token endpoint with the consumer's Basic credentials.
func bbToken(t *testing.T, s *Sim, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.BitbucketURL()+"/site/oauth2/access_token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(bbKey, bbSecret)
	status, _, body := doReq(t, s, req)
	return status, decode(t, body)
}

func doReq(t *testing.T, s *Sim, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	hdr := map[string]string{}
	for k := range req.Header {
		hdr[k] = req.Header.Get(k)
	}
	return do(t, s, req.Method, req.URL.String(), req.Body, hdr)
}

func bbCode(t *testing.T, s *Sim) string {
	t.Helper()
	u := mustConsent(t, s, bbAuthorizeURL(s, url.Values{"client_id": {bbKey}, "response_type": {"code"}, "state": {"bb-state"}}), true, "")
	if u.Query().Get("state") != "bb-state" || u.Query().Get("code") == "" {
		t.Fatalf("redirect = %s", u)
	}
	return u.Query().Get("code")
}

func bbUser(t *testing.T, s *Sim, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	status, _, body := do(t, s, http.MethodGet, s.BitbucketAPIURL()+"/user", nil, hdr)
	return status, decode(t, body)
}

func TestBitbucketAuthorize(t *testing.T) {
	s := MustNew(t, Options{})
	s.AddBitbucketConsumer(BitbucketConsumer{Key: bbKey, Secret: bbSecret, Name: "OpenRunner", CallbackURL: bbCallback})

	t.Run("Page", func(t *testing.T) {
		status, _, body := do(t, s, http.MethodGet, bbAuthorizeURL(s, url.Values{"client_id": {bbKey}, "response_type": {"code"}}), nil, nil)
		if status != http.StatusOK {
			t.Fatalf("status = %d", status)
		}
		for _, want := range []string{`id="approve"`, `id="deny"`, "OpenRunner requests access", "Grant access"} {
			if !strings.Contains(string(body), want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	t.Run("ApproveToCallback", func(t *testing.T) {
		u := mustConsent(t, s, bbAuthorizeURL(s, url.Values{"client_id": {bbKey}, "response_type": {"code"}, "state": {"s1"}}), true, "")
		if !strings.HasPrefix(u.String(), bbCallback+"?") || u.Query().Get("code") == "" || u.Query().Get("state") != "s1" {
			t.Errorf("redirect = %s", u)
		}
	})

	t.Run("ApproveToRedirectURIUnderCallback", func(t *testing.T) {
		u := mustConsent(t, s, bbAuthorizeURL(s, url.Values{"client_id": {bbKey}, "response_type": {"code"}, "redirect_uri": {bbCallback + "/conn-1"}}), true, "")
		if !strings.HasPrefix(u.String(), bbCallback+"/conn-1?") {
			t.Errorf("redirect = %s", u)
		}
	})

	t.Run("Deny", func(t *testing.T) {
		u := mustConsent(t, s, bbAuthorizeURL(s, url.Values{"client_id": {bbKey}, "response_type": {"code"}, "state": {"s2"}}), false, "")
		q := u.Query()
		if q.Get("error") != "access_denied" || q.Get("error_description") == "" || q.Get("state") != "s2" || q.Has("code") {
			t.Errorf("redirect = %s", u)
		}
	})

	for name, params := range map[string]url.Values{
		"ErrUnknownClient":    {"client_id": {"nope"}, "response_type": {"code"}},
		"ErrNoResponseType":   {"client_id": {bbKey}},
		"ErrForeignRedirect":  {"client_id": {bbKey}, "response_type": {"code"}, "redirect_uri": {"https://evil.example/cb"}},
		"ErrImplicitNotSimul": {"client_id": {bbKey}, "response_type": {"token"}},
	} {
		t.Run(name, func(t *testing.T) {
			status, _, body := do(t, s, http.MethodGet, bbAuthorizeURL(s, params), nil, nil)
			if status != http.StatusBadRequest || !strings.Contains(string(body), `id="error"`) {
				t.Errorf("status = %d, want a 400 error page", status)
			}
		})
	}
}

func TestBitbucketAccessToken(t *testing.T) {
	clock := newTestClock()
	s := MustNew(t, Options{Now: clock.Now})
	s.AddBitbucketConsumer(BitbucketConsumer{Key: bbKey, Secret: bbSecret, CallbackURL: bbCallback, Scopes: []string{"account", "repository", "webhook"}})

	t.Run("OK", func(t *testing.T) {
		status, tok := bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {bbCode(t, s)}})
		if status != http.StatusOK {
			t.Fatalf("status = %d: %v", status, tok)
		}
		want := map[string]any{"token_type": "bearer", "expires_in": float64(7200), "state": "authorization_code", "scope": "account repository webhook"}
		for k, v := range want {
			if tok[k] != v {
				t.Errorf("%s = %v, want %v", k, tok[k], v)
			}
		}
		if _, ok := tok["scopes"]; ok {
			t.Error(`response has "scopes"; Bitbucket returns "scope" since May 2026`)
		}
		at, _ := tok["access_token"].(string)
		if at == "" || tok["refresh_token"] == "" {
			t.Fatalf("tokens missing: %v", tok)
		}
		status, u := bbUser(t, s, bearer(at))
		if status != http.StatusOK {
			t.Fatalf("GET /2.0/user: status = %d: %v", status, u)
		}
		if u["type"] != "user" || u["username"] != "octocat" || !strings.HasPrefix(u["uuid"].(string), "{") || u["account_id"] == "" || u["display_name"] != "octocat" {
			t.Errorf("user = %v", u)
		}
	})

	t.Run("OKCredentialsInBody", func(t *testing.T) {
		status, _, body := postForm(t, s, s.BitbucketURL()+"/site/oauth2/access_token",
			url.Values{"grant_type": {"authorization_code"}, "code": {bbCode(t, s)}, "client_id": {bbKey}, "client_secret": {bbSecret}}, nil)
		if status != http.StatusOK || decode(t, body)["access_token"] == nil {
			t.Errorf("status = %d body = %s", status, body)
		}
	})

	t.Run("ErrReplayedCode", func(t *testing.T) {
		code := bbCode(t, s)
		bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {code}})
		status, tok := bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {code}})
		if status != http.StatusBadRequest || tok["error"] != "invalid_grant" || tok["error_description"] != "The specified code is not valid." {
			t.Errorf("status = %d: %v", status, tok)
		}
	})

	t.Run("ErrExpiredCode", func(t *testing.T) {
		code := bbCode(t, s)
		clock.Advance(11 * time.Minute)
		if status, tok := bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {code}}); status != 400 || tok["error"] != "invalid_grant" {
			t.Errorf("status = %d: %v", status, tok)
		}
	})

	t.Run("ErrClientCredentials", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, s.BitbucketURL()+"/site/oauth2/access_token",
			strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {bbCode(t, s)}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(bbKey, "wrong")
		status, _, body := doReq(t, s, req)
		if tok := decode(t, body); status != http.StatusBadRequest || tok["error"] != "unauthorized_client" {
			t.Errorf("status = %d: %v", status, tok)
		}
	})

	t.Run("ErrUnsupportedGrant", func(t *testing.T) {
		if status, tok := bbToken(t, s, url.Values{"grant_type": {"password"}}); status != 400 || tok["error"] != "unsupported_grant_type" {
			t.Errorf("status = %d: %v", status, tok)
		}
	})

	t.Run("ExpiryAndRefresh", func(t *testing.T) {
		_, first := bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {bbCode(t, s)}})
		at, rt := first["access_token"].(string), first["refresh_token"].(string)
		clock.Advance(2 * time.Hour)
		status, body := bbUser(t, s, bearer(at))
		wantErr := map[string]any{"type": "error", "error": map[string]any{"message": msgBBTokenExpired}}
		if status != http.StatusUnauthorized || body["type"] != wantErr["type"] || body["error"].(map[string]any)["message"] != msgBBTokenExpired {
			t.Fatalf("expired token: status = %d body = %v", status, body)
		}
		status, second := bbToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if status != http.StatusOK || second["state"] != "refresh_token" || second["expires_in"] != float64(7200) {
			t.Fatalf("refresh: status = %d: %v", status, second)
		}
		if second["refresh_token"] == rt {
			t.Error("refresh token was not rotated")
		}
		if status, _ := bbUser(t, s, bearer(second["access_token"].(string))); status != http.StatusOK {
			t.Errorf("refreshed token: status = %d", status)
		}
		status, again := bbToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if status != http.StatusBadRequest || again["error"] != "invalid_grant" {
			t.Errorf("reused refresh token: status = %d: %v", status, again)
		}
	})

	t.Run("ErrRefreshUnusedThreeMonths", func(t *testing.T) {
		_, tok := bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {bbCode(t, s)}})
		clock.Advance(90 * 24 * time.Hour)
		if status, got := bbToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}); status != 400 {
			t.Errorf("status = %d: %v", status, got)
		}
	})

	t.Run("ExpireAccessTokens", func(t *testing.T) {
		at := s.IssueBitbucketToken("octocat")
		s.ExpireAccessTokens()
		if status, body := bbUser(t, s, bearer(at)); status != http.StatusUnauthorized || body["error"].(map[string]any)["message"] != msgBBTokenExpired {
			t.Errorf("status = %d body = %v", status, body)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		at := s.IssueBitbucketToken("octocat")
		s.RevokeToken(at)
		if status, body := bbUser(t, s, bearer(at)); status != http.StatusUnauthorized || body["error"].(map[string]any)["message"] != msgBBTokenInvalid {
			t.Errorf("status = %d body = %v", status, body)
		}
	})

	t.Run("RevokeAuthorization", func(t *testing.T) {
		_, tok := bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {bbCode(t, s)}})
		s.RevokeAuthorization("octocat", bbKey)
		if status, _ := bbUser(t, s, bearer(tok["access_token"].(string))); status != http.StatusUnauthorized {
			t.Errorf("access token: status = %d, want 401", status)
		}
		if status, _ := bbToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}}); status != 400 {
			t.Errorf("refresh token: status = %d, want 400", status)
		}
	})
}

func TestBitbucketLegacyTokens(t *testing.T) {
	s := MustNew(t, Options{BitbucketLegacyTokens: true})
	s.AddBitbucketConsumer(BitbucketConsumer{Key: bbKey, Secret: bbSecret, CallbackURL: bbCallback})
	_, first := bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {bbCode(t, s)}})
	if first["scopes"] != "account repository" || first["scope"] != nil {
		t.Errorf("legacy response = %v, want scopes", first)
	}
	rt := first["refresh_token"].(string)
	for i := range 2 {
		status, next := bbToken(t, s, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
		if status != http.StatusOK || next["refresh_token"] != rt {
			t.Errorf("refresh %d: status = %d refresh_token changed: %v", i, status, next)
		}
	}
}

func TestBitbucketAPIToken(t *testing.T) {
	s := MustNew(t, Options{})
	s.AddBitbucketAPIToken("octocat", "ATATT3xFfGF0-api-token")
	get := func(user, pass string) int {
		req, _ := http.NewRequest(http.MethodGet, s.BitbucketAPIURL()+"/user", nil)
		req.SetBasicAuth(user, pass)
		status, _, _ := doReq(t, s, req)
		return status
	}

	t.Run("OKEmail", func(t *testing.T) {
		if got := get("octocat@example.com", "ATATT3xFfGF0-api-token"); got != http.StatusOK {
			t.Errorf("status = %d, want 200", got)
		}
	})
	t.Run("ErrWrongToken", func(t *testing.T) {
		if got := get("octocat@example.com", "nope"); got != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", got)
		}
	})
	t.Run("ErrUsernameNotEmail", func(t *testing.T) {
		if got := get("octocat", "ATATT3xFfGF0-api-token"); got != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", got)
		}
	})
	t.Run("ErrBearer", func(t *testing.T) {
		status, body := bbUser(t, s, bearer("ATATT3xFfGF0-api-token"))
		if status != http.StatusUnauthorized || body["error"].(map[string]any)["message"] != msgBBTokenInvalid {
			t.Errorf("status = %d body = %v", status, body)
		}
	})
	t.Run("ErrNoAuth", func(t *testing.T) {
		if status, _ := bbUser(t, s, nil); status != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", status)
		}
	})
	t.Run("ErrRevoked", func(t *testing.T) {
		s.RevokeToken("ATATT3xFfGF0-api-token")
		if got := get("octocat@example.com", "ATATT3xFfGF0-api-token"); got != http.StatusUnauthorized {
			t.Errorf("status = %d, want 401", got)
		}
	})
}
