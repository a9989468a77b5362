package handshake_test

import (
	"crypto/x509"
	"encoding/pem"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/handshake"
	"github.com/openrunner/openrunner/internal/providersim"
)

func TestGitHubHandshake(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		au, err := url.Parse(e.begin(c.ARN(), "session-1"))
		if err != nil {
			t.Fatal(err)
		}
		q := au.Query()
		if got, want := au.Scheme+"://"+au.Host+au.Path, e.sim.GitHubURL()+"/login/oauth/authorize"; got != want {
			t.Errorf("authorize URL %s, want %s", got, want)
		}
		for k, want := range map[string]string{
			"client_id": ghClientID, "redirect_uri": callbackURL, "code_challenge_method": "S256", "scope": handshake.GitHubScopes,
		} {
			if got := q.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if len(q.Get("state")) < 22 { // 128 bits in base64url
			t.Errorf("state %q is too short", q.Get("state"))
		}
		if len(q.Get("code_challenge")) != 43 {
			t.Errorf("code_challenge %q is not an S256 challenge", q.Get("code_challenge"))
		}

		cb := e.browse(au.String(), true)
		got, err := e.finish("session-1", cb)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != openrunner.ConnectionAvailable || got.ProviderAccount != "octocat" || got.StatusMessage != "" {
			t.Fatalf("got %s %q %q, want AVAILABLE octocat", got.Status, got.ProviderAccount, got.StatusMessage)
		}
		if c := e.conn(c.ARN()); c.Status != openrunner.ConnectionAvailable || c.ProviderAccount != "octocat" {
			t.Fatalf("stored %s %q", c.Status, c.ProviderAccount)
		}
		s, ok := e.stored(c.ARN())
		if !ok || s.Kind != "oauth" || !strings.HasPrefix(s.AccessToken, "gho_") || !strings.HasPrefix(s.RefreshToken, "ghr_") {
			t.Fatalf("stored credential: kind %q, access %t, refresh %t", s.Kind, s.AccessToken != "", s.RefreshToken != "")
		}
		if want := e.clock.Now().Add(8 * time.Hour); !s.Expiry.Equal(want) {
			t.Errorf("expiry %v, want %v", s.Expiry, want)
		}
		// The exchange sent the PKCE verifier and the redirect URI.
		exchanges := slices.DeleteFunc(e.sim.Requests(), func(r providersim.Request) bool { return r.Path != ghTokenPath })
		if len(exchanges) != 1 || !slices.Contains(exchanges[0].Params, "code_verifier") || !slices.Contains(exchanges[0].Params, "redirect_uri") {
			t.Fatalf("token requests: %+v", exchanges)
		}
		pc, err := e.accessToken(c.ARN())
		if err != nil || pc.Token != s.AccessToken || pc.Provider != openrunner.ProviderGitHub || pc.Username != "" {
			t.Fatalf("AccessToken: %v (same token %t)", err, pc.Token == s.AccessToken)
		}
	})

	t.Run("ErrDenied", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		cb := e.browse(e.begin(c.ARN(), "s"), false)
		got, err := e.finish("s", cb)
		wantCode(t, err, openrunner.EINVALID)
		const reason = "The user has denied your application access."
		if got == nil || got.Status != openrunner.ConnectionError || !strings.Contains(got.StatusMessage, reason) || strings.Contains(got.StatusMessage, "..") {
			t.Fatalf("got %+v", got)
		}
		if !strings.Contains(openrunner.ErrorMessage(err), reason) {
			t.Errorf("error %q lacks the reason", openrunner.ErrorMessage(err))
		}
		if c := e.conn(c.ARN()); c.Status != openrunner.ConnectionError || c.StatusMessage != got.StatusMessage {
			t.Fatalf("stored %s %q", c.Status, c.StatusMessage)
		}

		// An ERROR connection may try again.
		e.handshake(c)
		if c := e.conn(c.ARN()); c.StatusMessage != "" {
			t.Errorf("status message %q after success", c.StatusMessage)
		}
	})

	t.Run("ErrPKCEVerifierMismatch", func(t *testing.T) {
		// Two flows of one browser; the code of the second is presented
		// with the state (and so the verifier) of the first: GitHub must
		// refuse it, which shows the verifier is sent and checked.
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		cb1 := e.browse(e.begin(c.ARN(), "s"), true)
		cb2 := e.browse(e.begin(c.ARN(), "s"), true)
		got, err := e.finish("s", callback{state: cb1.state, code: cb2.code})
		wantCode(t, err, openrunner.EINVALID)
		if got.Status != openrunner.ConnectionError || !strings.Contains(got.StatusMessage, "The code passed is incorrect or expired.") {
			t.Fatalf("got %s %q", got.Status, got.StatusMessage)
		}
		// The second flow, with its own verifier, still works.
		got, err = e.finish("s", cb2)
		if err != nil || got.Status != openrunner.ConnectionAvailable {
			t.Fatalf("second flow: %v", err)
		}
	})

	t.Run("ErrOtherProviderError", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		cb := e.browse(e.begin(c.ARN(), "s"), true)
		got, err := e.finish("s", callback{state: cb.state, err: "redirect_uri_mismatch"})
		wantCode(t, err, openrunner.EINVALID)
		if got.Status != openrunner.ConnectionError || !strings.Contains(got.StatusMessage, "redirect_uri_mismatch") {
			t.Fatalf("got %s %q", got.Status, got.StatusMessage)
		}
	})
}

func TestFinishHandshake_ErrBadState(t *testing.T) {
	e := newEnv(t, options{})
	check := func(t *testing.T, got *openrunner.Connection, err error) {
		t.Helper()
		wantCode(t, err, openrunner.EINVALID)
		if msg := openrunner.ErrorMessage(err); msg != "The handshake link is invalid or has expired. Start the handshake again." {
			t.Errorf("message %q", msg)
		}
		if got != nil {
			t.Errorf("returned a connection: %+v", got)
		}
	}

	t.Run("Replayed", func(t *testing.T) {
		c := e.create(openrunner.ProviderGitHub, "replayed")
		cb := e.browse(e.begin(c.ARN(), "s"), false)
		if _, err := e.finish("s", cb); err == nil {
			t.Fatal("denied handshake succeeded")
		}
		before := e.conn(c.ARN())
		// Replaying the same redirect, even with another outcome, is refused.
		got, err := e.finish("s", callback{state: cb.state, code: "whatever"})
		check(t, got, err)
		if after := e.conn(c.ARN()); after.Status != before.Status || after.StatusMessage != before.StatusMessage {
			t.Fatalf("connection changed: %s %q", after.Status, after.StatusMessage)
		}
	})

	t.Run("ReplayedAfterSuccess", func(t *testing.T) {
		c := e.create(openrunner.ProviderGitHub, "replayed-ok")
		cb := e.browse(e.begin(c.ARN(), "s"), true)
		if _, err := e.finish("s", cb); err != nil {
			t.Fatal(err)
		}
		got, err := e.finish("s", cb)
		check(t, got, err)
		if c := e.conn(c.ARN()); c.Status != openrunner.ConnectionAvailable {
			t.Fatalf("status %s", c.Status)
		}
	})

	t.Run("WrongBinding", func(t *testing.T) {
		c := e.create(openrunner.ProviderGitHub, "binding")
		cb := e.browse(e.begin(c.ARN(), "victim-session"), true)
		got, err := e.finish("attacker-session", cb)
		check(t, got, err)
		e.wantUnchanged(c.ARN())
		// A state is tried once: the right session cannot use it after.
		got, err = e.finish("victim-session", cb)
		check(t, got, err)
		e.wantUnchanged(c.ARN())
	})

	t.Run("Expired", func(t *testing.T) {
		c := e.create(openrunner.ProviderGitHub, "expired")
		cb := e.browse(e.begin(c.ARN(), "s"), true)
		e.clock.Advance(handshake.StateLifetime + time.Second)
		got, err := e.finish("s", cb)
		check(t, got, err)
		e.wantUnchanged(c.ARN())
	})

	t.Run("AnotherConnection", func(t *testing.T) {
		// The state of c1's flow arrives in the browser session that
		// started c2's flow.
		c1 := e.create(openrunner.ProviderGitHub, "one")
		c2 := e.create(openrunner.ProviderGitHub, "two")
		cb1 := e.browse(e.begin(c1.ARN(), "session-1"), true)
		e.begin(c2.ARN(), "session-2")
		got, err := e.finish("session-2", cb1)
		check(t, got, err)
		e.wantUnchanged(c1.ARN())
		e.wantUnchanged(c2.ARN())
	})

	t.Run("AnotherScope", func(t *testing.T) {
		c := e.create(openrunner.ProviderGitHub, "scoped")
		cb := e.browse(e.begin(c.ARN(), "s"), true)
		got, err := e.svc.FinishHandshake(openrunner.NewContextWithScope(t.Context(), scopeB), "s", cb.state, cb.code, "", "")
		check(t, got, err)
		e.wantUnchanged(c.ARN())
	})

	t.Run("Unknown", func(t *testing.T) {
		for _, state := range []string{"", "nope", strings.Repeat("A", 43)} {
			got, err := e.finish("s", callback{state: state, code: "c"})
			check(t, got, err)
		}
	})
}

func TestBeginHandshake_Err(t *testing.T) {
	t.Run("NotFound", func(t *testing.T) {
		e := newEnv(t, options{})
		_, err := e.svc.BeginHandshake(ctxA(), "arn:aws:apprunner:us-east-1:111111111111:connection/x/0123456789abcdef0123456789abcdef", "s")
		wantCode(t, err, openrunner.ENOTFOUND)
	})
	t.Run("OtherScope", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		_, err := e.svc.BeginHandshake(openrunner.NewContextWithScope(t.Context(), scopeB), c.ARN(), "s")
		wantCode(t, err, openrunner.ENOTFOUND)
	})
	t.Run("Available", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		e.handshake(c)
		_, err := e.svc.BeginHandshake(ctxA(), c.ARN(), "s")
		wantCode(t, err, openrunner.EINVALIDSTATE)
	})
	t.Run("NotConfigured", func(t *testing.T) {
		e := newEnv(t, options{noOAuth: true})
		for provider, setting := range map[string]string{
			openrunner.ProviderGitHub:    "OPENRUNNER_GITHUB_CLIENT_ID",
			openrunner.ProviderBitbucket: "OPENRUNNER_BITBUCKET_CLIENT_ID",
		} {
			c := e.create(provider, "c-"+strings.ToLower(provider))
			_, err := e.svc.BeginHandshake(ctxA(), c.ARN(), "s")
			wantCode(t, err, openrunner.EINVALID)
			if !strings.Contains(openrunner.ErrorMessage(err), setting) {
				t.Errorf("%s: message %q does not name %s", provider, openrunner.ErrorMessage(err), setting)
			}
		}
	})
	t.Run("NoBinding", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		_, err := e.svc.BeginHandshake(ctxA(), c.ARN(), "")
		wantCode(t, err, openrunner.EINVALID)
	})
}

func TestBitbucketHandshake(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderBitbucket, "bb")
		au, _ := url.Parse(e.begin(c.ARN(), "s"))
		q := au.Query()
		if au.Path != "/bitbucket/site/oauth2/authorize" || q.Get("client_id") != bbKey || q.Get("response_type") != "code" || q.Get("state") == "" {
			t.Fatalf("authorize URL %s", au.Redacted())
		}
		got, err := e.finish("s", e.browse(au.String(), true))
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != openrunner.ConnectionAvailable || got.ProviderAccount != "octocat" {
			t.Fatalf("got %s %q", got.Status, got.ProviderAccount)
		}
		s, _ := e.stored(c.ARN())
		if s.Kind != "oauth" || s.RefreshToken == "" || !s.Expiry.Equal(e.clock.Now().Add(2*time.Hour)) {
			t.Fatalf("stored kind %q, refresh %t, expiry %v", s.Kind, s.RefreshToken != "", s.Expiry)
		}
		pc, err := e.accessToken(c.ARN())
		if err != nil || pc.Token != s.AccessToken || pc.Provider != openrunner.ProviderBitbucket {
			t.Fatalf("AccessToken: %v", err)
		}
	})
	t.Run("OtherUser", func(t *testing.T) {
		e := newEnv(t, options{})
		e.sim.AddUser("alice")
		c := e.create(openrunner.ProviderBitbucket, "bb")
		u, err := e.sim.Consent(e.begin(c.ARN(), "s"), true, "alice")
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.finish("s", callback{state: u.Query().Get("state"), code: u.Query().Get("code")})
		if err != nil || got.ProviderAccount != "alice" {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("ErrDenied", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderBitbucket, "bb")
		got, err := e.finish("s", e.browse(e.begin(c.ARN(), "s"), false))
		wantCode(t, err, openrunner.EINVALID)
		if got.Status != openrunner.ConnectionError || !strings.Contains(got.StatusMessage, "The user denied access.") {
			t.Fatalf("got %s %q", got.Status, got.StatusMessage)
		}
	})
	t.Run("ErrCodeReused", func(t *testing.T) {
		// A code presented again, with the fresh state of another flow,
		// is refused by Bitbucket.
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderBitbucket, "bb")
		cb := e.browse(e.begin(c.ARN(), "s"), true)
		if _, err := e.finish("s", cb); err != nil {
			t.Fatal(err)
		}
		c2 := e.create(openrunner.ProviderBitbucket, "bb2")
		cb2 := e.browse(e.begin(c2.ARN(), "s"), true)
		got, err := e.finish("s", callback{state: cb2.state, code: cb.code})
		wantCode(t, err, openrunner.EINVALID)
		if got.Status != openrunner.ConnectionError || !strings.Contains(got.StatusMessage, "The specified code is not valid.") {
			t.Fatalf("got %s %q", got.Status, got.StatusMessage)
		}
	})
}

func TestHandshakeWithToken(t *testing.T) {
	t.Run("GitHubPAT", func(t *testing.T) {
		e := newEnv(t, options{})
		pat := e.sim.IssueGitHubToken("octocat", "repo", "admin:repo_hook")
		e.addSecret(pat)
		c := e.create(openrunner.ProviderGitHub, "gh")
		got, err := e.svc.HandshakeWithToken(ctxA(), c.ARN(), pat+"\n")
		if err != nil || got.Status != openrunner.ConnectionAvailable || got.ProviderAccount != "octocat" {
			t.Fatalf("got %+v, %v", got, err)
		}
		if s, _ := e.stored(c.ARN()); s.Kind != "token" || s.AccessToken != pat || !s.Expiry.IsZero() {
			t.Fatalf("stored kind %q", s.Kind)
		}
		pc, err := e.accessToken(c.ARN())
		if err != nil || pc.Token != pat || pc.Username != "" {
			t.Fatalf("AccessToken: %v", err)
		}
		if err := e.svc.Verify(ctxA(), c.ARN()); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("BitbucketAccessToken", func(t *testing.T) {
		e := newEnv(t, options{})
		tok := e.sim.IssueBitbucketToken("alice")
		e.addSecret(tok)
		c := e.create(openrunner.ProviderBitbucket, "bb")
		got, err := e.svc.HandshakeWithToken(ctxA(), c.ARN(), tok)
		if err != nil || got.Status != openrunner.ConnectionAvailable || got.ProviderAccount != "alice" {
			t.Fatalf("got %+v, %v", got, err)
		}
		pc, err := e.accessToken(c.ARN())
		if err != nil || pc.Token != tok || pc.Username != "" {
			t.Fatalf("AccessToken: %v", err)
		}
	})
	t.Run("BitbucketAPIToken", func(t *testing.T) {
		e := newEnv(t, options{})
		const apiToken = "ATATT3xFfGF0bobsApiToken0123456789"
		e.sim.AddBitbucketAPIToken("bob", apiToken)
		e.addSecret(apiToken)
		c := e.create(openrunner.ProviderBitbucket, "bb")
		got, err := e.svc.HandshakeWithToken(ctxA(), c.ARN(), "bob@example.com:"+apiToken)
		if err != nil || got.Status != openrunner.ConnectionAvailable || got.ProviderAccount != "bob" {
			t.Fatalf("got %+v, %v", got, err)
		}
		if s, _ := e.stored(c.ARN()); s.Kind != "basic" || s.Username != "bob@example.com" || s.AccessToken != apiToken {
			t.Fatalf("stored kind %q user %q", s.Kind, s.Username)
		}
		pc, err := e.accessToken(c.ARN())
		if err != nil || pc.Token != apiToken || pc.Username != "bob@example.com" {
			t.Fatalf("AccessToken: %q, %v", pc.Username, err)
		}
		if err := e.svc.Verify(ctxA(), c.ARN()); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})
	t.Run("ErrBadGitHubToken", func(t *testing.T) {
		e := newEnv(t, options{})
		const bad = "ghp_000000000000000000000000000000000000"
		e.addSecret(bad)
		c := e.create(openrunner.ProviderGitHub, "gh")
		got, err := e.svc.HandshakeWithToken(ctxA(), c.ARN(), bad)
		wantCode(t, err, openrunner.EINVALID)
		if got.Status != openrunner.ConnectionError || got.StatusMessage != "GitHub rejected the token: Bad credentials." {
			t.Fatalf("got %s %q", got.Status, got.StatusMessage)
		}
		if openrunner.ErrorMessage(err) != got.StatusMessage {
			t.Errorf("error %q", openrunner.ErrorMessage(err))
		}
		if _, ok := e.stored(c.ARN()); ok {
			t.Error("a rejected token was stored")
		}
	})
	t.Run("ErrBadBitbucketAPIToken", func(t *testing.T) {
		e := newEnv(t, options{})
		const apiToken = "ATATT3xFfGF0bobsApiToken0123456789"
		e.sim.AddBitbucketAPIToken("bob", apiToken)
		e.addSecret(apiToken)
		c := e.create(openrunner.ProviderBitbucket, "bb")
		// The username is not what Atlassian accepts with an API token.
		got, err := e.svc.HandshakeWithToken(ctxA(), c.ARN(), "bob:"+apiToken)
		wantCode(t, err, openrunner.EINVALID)
		if got.Status != openrunner.ConnectionError || got.StatusMessage != "Bitbucket rejected the token: Invalid credentials." {
			t.Fatalf("got %s %q", got.Status, got.StatusMessage)
		}
		// An ERROR connection takes a good token.
		got, err = e.svc.HandshakeWithToken(ctxA(), c.ARN(), "bob@example.com:"+apiToken)
		if err != nil || got.Status != openrunner.ConnectionAvailable || got.StatusMessage != "" {
			t.Fatalf("retry: %+v, %v", got, err)
		}
	})
	t.Run("ErrMalformed", func(t *testing.T) {
		e := newEnv(t, options{})
		gh := e.create(openrunner.ProviderGitHub, "gh")
		bb := e.create(openrunner.ProviderBitbucket, "bb")
		for _, tc := range []struct {
			arn, token string
		}{
			{gh.ARN(), ""}, {gh.ARN(), "  \n"}, {gh.ARN(), "two words"}, {gh.ARN(), strings.Repeat("x", 5000)},
			{bb.ARN(), ":secret"}, {bb.ARN(), "user:"},
		} {
			_, err := e.svc.HandshakeWithToken(ctxA(), tc.arn, tc.token)
			wantCode(t, err, openrunner.EINVALID)
		}
		e.wantUnchanged(gh.ARN())
		e.wantUnchanged(bb.ARN())
		if n := len(e.sim.Requests()); n != 0 {
			t.Errorf("%d provider requests for malformed tokens", n)
		}
	})
	t.Run("ErrAvailable", func(t *testing.T) {
		e := newEnv(t, options{})
		pat := e.sim.IssueGitHubToken("octocat")
		e.addSecret(pat)
		c := e.create(openrunner.ProviderGitHub, "gh")
		if _, err := e.svc.HandshakeWithToken(ctxA(), c.ARN(), pat); err != nil {
			t.Fatal(err)
		}
		_, err := e.svc.HandshakeWithToken(ctxA(), c.ARN(), pat)
		wantCode(t, err, openrunner.EINVALIDSTATE)
	})
	t.Run("ErrUnreachable", func(t *testing.T) {
		dead := httptest.NewServer(nil)
		deadURL := dead.URL
		dead.Close()
		e := newEnv(t, options{ghAPIURL: deadURL})
		pat := e.sim.IssueGitHubToken("octocat")
		e.addSecret(pat)
		c := e.create(openrunner.ProviderGitHub, "gh")
		got, err := e.svc.HandshakeWithToken(ctxA(), c.ARN(), pat)
		wantCode(t, err, openrunner.EINTERNAL)
		msg := openrunner.ErrorMessage(err)
		if got != nil || !strings.Contains(msg, "Could not reach GitHub at "+deadURL) || strings.Contains(msg, pat) {
			t.Fatalf("got %v, %q", got, msg)
		}
		e.wantUnchanged(c.ARN())
	})
}

func TestNew(t *testing.T) {
	e := newEnv(t, options{})
	base := e.config()
	pkcs8, err := x509.MarshalPKCS8PrivateKey(rsaKey(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OKPKCS8", func(t *testing.T) {
		cfg := base
		cfg.GitHub.AppID = 1
		cfg.GitHub.AppPrivateKeyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
		if _, err := handshake.New(cfg); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OKNoOAuth", func(t *testing.T) {
		cfg := base
		cfg.GitHub, cfg.Bitbucket, cfg.CallbackURL = handshake.GitHubConfig{}, handshake.BitbucketConfig{}, ""
		if _, err := handshake.New(cfg); err != nil {
			t.Fatal(err)
		}
	})
	for name, mutate := range map[string]func(*handshake.Config){
		"ErrNoStore":       func(c *handshake.Config) { c.Connections = nil },
		"ErrNoVault":       func(c *handshake.Config) { c.Vault = nil },
		"ErrHalfGitHub":    func(c *handshake.Config) { c.GitHub.ClientSecret = "" },
		"ErrHalfBitbucket": func(c *handshake.Config) { c.Bitbucket.ClientID = "" },
		"ErrNoCallback":    func(c *handshake.Config) { c.CallbackURL = "" },
		"ErrRelCallback":   func(c *handshake.Config) { c.CallbackURL = "/console/oauth/callback" },
		"ErrBadAPIURL":     func(c *handshake.Config) { c.GitHub.APIURL = "api.github.com" },
		"ErrAppNoKey":      func(c *handshake.Config) { c.GitHub.AppID = 1 },
		"ErrKeyNoApp":      func(c *handshake.Config) { c.GitHub.AppPrivateKeyPEM = []byte("x") },
		"ErrAppBadKey": func(c *handshake.Config) {
			c.GitHub.AppID = 1
			c.GitHub.AppPrivateKeyPEM = []byte("-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n")
		},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := base
			mutate(&cfg)
			if _, err := handshake.New(cfg); err == nil {
				t.Fatal("New accepted the configuration")
			}
		})
	}
}
