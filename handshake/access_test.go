package handshake_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/providersim"
)

func TestAccessToken_Refresh(t *testing.T) {
	t.Run("GitHub", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		e.handshake(c)
		old, _ := e.stored(c.ARN())

		// Seven hours in, the token is still good and is handed out as is.
		e.clock.Advance(7 * time.Hour)
		if pc, err := e.accessToken(c.ARN()); err != nil || pc.Token != old.AccessToken {
			t.Fatalf("before expiry: %v (same %t)", err, pc.Token == old.AccessToken)
		}
		// Within a minute of expiry, it is refreshed first.
		e.clock.Advance(time.Hour - 30*time.Second)
		pc, err := e.accessToken(c.ARN())
		if err != nil {
			t.Fatal(err)
		}
		now, _ := e.stored(c.ARN())
		if pc.Token == old.AccessToken || pc.Token != now.AccessToken || now.RefreshToken == old.RefreshToken {
			t.Fatal("the token was not refreshed and stored")
		}
		if want := e.clock.Now().Add(8 * time.Hour); !now.Expiry.Equal(want) {
			t.Errorf("expiry %v, want %v", now.Expiry, want)
		}
		if n := e.count(refreshes(ghTokenPath)); n != 1 {
			t.Errorf("%d refreshes, want 1", n)
		}
		if got := e.getUser(e.sim.GitHubAPIURL(), pc.Token); got != http.StatusOK {
			t.Errorf("new token: GET /user %d", got)
		}
		if got := e.getUser(e.sim.GitHubAPIURL(), old.AccessToken); got != http.StatusUnauthorized {
			t.Errorf("old token: GET /user %d, want 401", got)
		}
		// The fresh token is not refreshed again.
		if _, err := e.accessToken(c.ARN()); err != nil || e.count(refreshes(ghTokenPath)) != 1 {
			t.Fatalf("second call: %v, %d refreshes", err, e.count(refreshes(ghTokenPath)))
		}
		if c := e.conn(c.ARN()); c.Status != openrunner.ConnectionAvailable || c.ProviderAccount != "octocat" {
			t.Fatalf("connection %s %q", c.Status, c.ProviderAccount)
		}
	})

	t.Run("BitbucketRotation", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderBitbucket, "bb")
		e.handshake(c)
		first, _ := e.stored(c.ARN())

		e.clock.Advance(2 * time.Hour)
		pc, err := e.accessToken(c.ARN())
		if err != nil {
			t.Fatal(err)
		}
		second, _ := e.stored(c.ARN())
		if pc.Token == first.AccessToken || pc.Token != second.AccessToken {
			t.Fatal("the access token was not refreshed")
		}
		if second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
			t.Fatal("the rotated refresh token was not stored")
		}
		// Bitbucket rotated: the old refresh token is dead.
		if got := e.bitbucketRefresh(first.RefreshToken); got != http.StatusBadRequest {
			t.Fatalf("old refresh token: %d, want 400", got)
		}

		// After a restart the stored (new) refresh token still works.
		e.reopen()
		e.clock.Advance(2 * time.Hour)
		pc, err = e.accessToken(c.ARN())
		if err != nil {
			t.Fatalf("after reopen: %v", err)
		}
		third, _ := e.stored(c.ARN())
		if pc.Token != third.AccessToken || third.RefreshToken == second.RefreshToken {
			t.Fatal("no refresh after reopen")
		}
		if got := e.getUser(e.sim.BitbucketAPIURL(), pc.Token); got != http.StatusOK {
			t.Errorf("GET /user with the refreshed token: %d", got)
		}
		if n := e.count(refreshes(bbTokenPath)); n != 3 { // two by the Service, one by the test
			t.Errorf("%d refresh requests, want 3", n)
		}
	})

	t.Run("Concurrent", func(t *testing.T) {
		for _, tc := range []struct{ provider, path string }{
			{openrunner.ProviderGitHub, ghTokenPath},
			{openrunner.ProviderBitbucket, bbTokenPath},
		} {
			t.Run(tc.provider, func(t *testing.T) {
				e := newEnv(t, options{})
				c := e.create(tc.provider, "conn")
				e.handshake(c)
				e.clock.Advance(9 * time.Hour) // both providers' tokens have expired
				e.sim.ResetRequests()

				var wg sync.WaitGroup
				toks := make([]string, 8)
				errs := make([]error, 8)
				for i := range toks {
					wg.Go(func() {
						pc, err := e.accessToken(c.ARN())
						toks[i], errs[i] = pc.Token, err
					})
				}
				wg.Wait()
				for i := range toks {
					if errs[i] != nil || toks[i] != toks[0] {
						t.Fatalf("caller %d: %v (same token %t)", i, errs[i], toks[i] == toks[0])
					}
				}
				if n := e.count(refreshes(tc.path)); n != 1 {
					t.Fatalf("%d refreshes, want exactly 1", n)
				}
				if c := e.conn(c.ARN()); c.Status != openrunner.ConnectionAvailable {
					t.Fatalf("status %s: %s", c.Status, c.StatusMessage)
				}
			})
		}
	})
}

func TestAccessToken_ErrRevoked(t *testing.T) {
	for _, tc := range []struct{ provider, client, reason string }{
		{openrunner.ProviderGitHub, ghClientID, "The refresh token passed is incorrect or expired."},
		{openrunner.ProviderBitbucket, bbKey, "Invalid refresh_token"},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			e := newEnv(t, options{})
			c := e.create(tc.provider, "conn")
			e.handshake(c)
			// The person removes OpenRunner's authorization at the provider.
			e.sim.RevokeAuthorization("octocat", tc.client)
			e.clock.Advance(9 * time.Hour)

			pc, err := e.accessToken(c.ARN())
			wantCode(t, err, openrunner.EINVALIDSTATE)
			if pc.Token != "" {
				t.Error("a token was returned")
			}
			got := e.conn(c.ARN())
			if got.Status != openrunner.ConnectionError ||
				!strings.Contains(got.StatusMessage, "no longer accepts this connection's authorization: "+tc.reason) ||
				!strings.HasSuffix(got.StatusMessage, "Complete the handshake again.") || strings.Contains(got.StatusMessage, "..") {
				t.Fatalf("connection %s %q", got.Status, got.StatusMessage)
			}
			if _, ok := e.stored(c.ARN()); ok {
				t.Error("the dead credential was kept")
			}
			// Later calls fail without asking the provider.
			n := len(e.sim.Requests())
			_, err = e.accessToken(c.ARN())
			wantCode(t, err, openrunner.EINVALIDSTATE)
			if !strings.Contains(openrunner.ErrorMessage(err), tc.reason) || len(e.sim.Requests()) != n {
				t.Fatalf("second call: %q", openrunner.ErrorMessage(err))
			}
			// A new handshake repairs the connection.
			e.handshake(c)
			if _, err := e.accessToken(c.ARN()); err != nil {
				t.Fatal(err)
			}
		})
	}

	t.Run("ErrPending", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		_, err := e.accessToken(c.ARN())
		wantCode(t, err, openrunner.EINVALIDSTATE)
	})
	t.Run("ErrOtherScope", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		e.handshake(c)
		_, err := e.svc.AccessToken(openrunner.NewContextWithScope(t.Context(), scopeB), c.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)
	})
}

func TestVerify(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderBitbucket, "bb")
		e.handshake(c)
		if err := e.svc.Verify(ctxA(), c.ARN()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("RefreshOn401", func(t *testing.T) {
		// The access token dies before its time (as when clocks disagree):
		// Verify refreshes once and succeeds.
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderBitbucket, "bb")
		e.handshake(c)
		old, _ := e.stored(c.ARN())
		e.sim.ExpireAccessTokens()
		if err := e.svc.Verify(ctxA(), c.ARN()); err != nil {
			t.Fatal(err)
		}
		if now, _ := e.stored(c.ARN()); now.AccessToken == old.AccessToken || e.count(refreshes(bbTokenPath)) != 1 {
			t.Fatal("no refresh")
		}
		if c := e.conn(c.ARN()); c.Status != openrunner.ConnectionAvailable {
			t.Fatalf("status %s", c.Status)
		}
	})
	t.Run("ErrRevoked", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		e.handshake(c)
		e.sim.RevokeAuthorization("octocat", ghClientID)
		err := e.svc.Verify(ctxA(), c.ARN())
		wantCode(t, err, openrunner.EINVALIDSTATE)
		if c := e.conn(c.ARN()); c.Status != openrunner.ConnectionError {
			t.Fatalf("status %s", c.Status)
		}
	})
	t.Run("ErrRevokedPAT", func(t *testing.T) {
		e := newEnv(t, options{})
		pat := e.sim.IssueGitHubToken("octocat", "repo")
		e.addSecret(pat)
		c := e.create(openrunner.ProviderGitHub, "gh")
		if _, err := e.svc.HandshakeWithToken(ctxA(), c.ARN(), pat); err != nil {
			t.Fatal(err)
		}
		e.sim.RevokeToken(pat)
		err := e.svc.Verify(ctxA(), c.ARN())
		wantCode(t, err, openrunner.EINVALIDSTATE)
		if got := e.conn(c.ARN()); got.Status != openrunner.ConnectionError || !strings.Contains(got.StatusMessage, "Bad credentials") {
			t.Fatalf("connection %s %q", got.Status, got.StatusMessage)
		}
	})
}

func TestGitHubApp(t *testing.T) {
	mints := func(r providersim.Request) bool {
		return r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/access_tokens") && r.Status == http.StatusCreated
	}

	t.Run("InstallationToken", func(t *testing.T) {
		e := newEnv(t, options{githubApp: true})
		inst := e.sim.AddInstallation(ghAppID, "octocat")
		c := e.create(openrunner.ProviderGitHub, "gh")
		if q := e.begin(c.ARN(), "x"); strings.Contains(q, "scope=") || !strings.Contains(q, "client_id="+ghAppClientID) {
			t.Fatalf("authorize URL %s", q)
		}
		got := e.handshake(c)
		if got.ProviderAccount != "octocat" {
			t.Fatalf("account %q", got.ProviderAccount)
		}
		s, _ := e.stored(c.ARN())
		if s.InstallationID != inst.ID || !strings.HasPrefix(s.AccessToken, "ghu_") {
			t.Fatalf("stored installation %d, want %d", s.InstallationID, inst.ID)
		}

		pc, err := e.accessToken(c.ARN())
		if err != nil || !strings.HasPrefix(pc.Token, "ghs_") || pc.Provider != openrunner.ProviderGitHub {
			t.Fatalf("AccessToken: %v", err)
		}
		// Cached: the same token, no new mint, until 5 minutes before
		// its one-hour expiry.
		e.clock.Advance(54 * time.Minute)
		if again, err := e.accessToken(c.ARN()); err != nil || again.Token != pc.Token || e.count(mints) != 1 {
			t.Fatalf("at 54 min: %v, same %t, %d mints", err, again.Token == pc.Token, e.count(mints))
		}
		e.clock.Advance(2 * time.Minute)
		fresh, err := e.accessToken(c.ARN())
		if err != nil || fresh.Token == pc.Token || e.count(mints) != 2 {
			t.Fatalf("at 56 min: %v, same %t, %d mints", err, fresh.Token == pc.Token, e.count(mints))
		}
		// The installation token works for the app's API calls.
		if got := e.getUser(e.sim.GitHubAPIURL(), fresh.Token); got != http.StatusForbidden {
			t.Errorf("GET /user with an installation token: %d, want 403", got)
		}
		if err := e.svc.Verify(ctxA(), c.ARN()); err != nil {
			t.Fatalf("Verify: %v", err)
		}
	})

	t.Run("ConcurrentMint", func(t *testing.T) {
		e := newEnv(t, options{githubApp: true})
		e.sim.AddInstallation(ghAppID, "octocat")
		c := e.create(openrunner.ProviderGitHub, "gh")
		e.handshake(c)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if _, err := e.accessToken(c.ARN()); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if n := e.count(mints); n != 1 {
			t.Fatalf("%d mints, want 1", n)
		}
	})

	t.Run("NewestOfSeveral", func(t *testing.T) {
		e := newEnv(t, options{githubApp: true})
		e.sim.AddInstallation(ghAppID, "octocat")
		e.clock.Advance(time.Minute)
		org := e.sim.AddGitHubOrg("octo-org", "octocat")
		inst := e.sim.AddInstallation(ghAppID, org.Login)
		c := e.create(openrunner.ProviderGitHub, "gh")
		e.handshake(c)
		if s, _ := e.stored(c.ARN()); s.InstallationID != inst.ID {
			t.Fatalf("installation %d, want the org's %d", s.InstallationID, inst.ID)
		}
	})

	t.Run("ErrNotInstalled", func(t *testing.T) {
		e := newEnv(t, options{githubApp: true})
		c := e.create(openrunner.ProviderGitHub, "gh")
		got, err := e.finish("s", e.browse(e.begin(c.ARN(), "s"), true))
		wantCode(t, err, openrunner.EINVALID)
		if got.Status != openrunner.ConnectionError || !strings.Contains(got.StatusMessage, "The GitHub App is not installed") {
			t.Fatalf("got %s %q", got.Status, got.StatusMessage)
		}
	})

	t.Run("ErrUninstalled", func(t *testing.T) {
		e := newEnv(t, options{githubApp: true})
		inst := e.sim.AddInstallation(ghAppID, "octocat")
		c := e.create(openrunner.ProviderGitHub, "gh")
		e.handshake(c)
		if _, err := e.accessToken(c.ARN()); err != nil {
			t.Fatal(err)
		}
		e.sim.DeleteInstallation(inst.ID)
		e.clock.Advance(time.Hour)
		_, err := e.accessToken(c.ARN())
		wantCode(t, err, openrunner.EINVALIDSTATE)
		if got := e.conn(c.ARN()); got.Status != openrunner.ConnectionError || !strings.Contains(got.StatusMessage, "Install the GitHub App again") {
			t.Fatalf("got %s %q", got.Status, got.StatusMessage)
		}
	})

	t.Run("ErrUninstalledVerify", func(t *testing.T) {
		// Verify does not trust the cache: the installation is gone now.
		e := newEnv(t, options{githubApp: true})
		inst := e.sim.AddInstallation(ghAppID, "octocat")
		c := e.create(openrunner.ProviderGitHub, "gh")
		e.handshake(c)
		if _, err := e.accessToken(c.ARN()); err != nil {
			t.Fatal(err)
		}
		e.sim.DeleteInstallation(inst.ID)
		wantCode(t, e.svc.Verify(ctxA(), c.ARN()), openrunner.EINVALIDSTATE)
		if got := e.conn(c.ARN()); got.Status != openrunner.ConnectionError {
			t.Fatalf("status %s", got.Status)
		}
	})
}

// TestNoSecretsAtRest runs every kind of credential through the store and
// then checks, with the database still open (so the -wal and -shm files
// are read too), that no token, refresh token, code or client secret is
// in any file of the data directory or in the logs. Every other test runs
// the same check when it ends.
func TestNoSecretsAtRest(t *testing.T) {
	e := newEnv(t, options{})
	gh := e.create(openrunner.ProviderGitHub, "gh")
	bb := e.create(openrunner.ProviderBitbucket, "bb")
	pat := e.create(openrunner.ProviderGitHub, "pat")
	api := e.create(openrunner.ProviderBitbucket, "api")
	e.handshake(gh)
	e.handshake(bb)
	tok := e.sim.IssueGitHubToken("octocat", "repo")
	const apiToken = "ATATT3xFfGF0octocatApiToken987654321"
	e.sim.AddBitbucketAPIToken("octocat", apiToken)
	e.addSecret(tok, apiToken)
	if _, err := e.svc.HandshakeWithToken(ctxA(), pat.ARN(), tok); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.HandshakeWithToken(ctxA(), api.ARN(), "octocat@example.com:"+apiToken); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(9 * time.Hour)
	for _, c := range []*openrunner.Connection{gh, bb, pat, api} {
		if _, err := e.accessToken(c.ARN()); err != nil {
			t.Fatal(err)
		}
		e.stored(c.ARN())
	}
	bad := "ghp_bad0000000000000000000000000000000"
	e.addSecret(bad)
	if _, err := e.svc.HandshakeWithToken(ctxA(), e.create(openrunner.ProviderGitHub, "bad").ARN(), bad); err == nil {
		t.Fatal("bad token accepted")
	}

	e.checkNoLeaks(t, "open")
	// The scan does read the database: the connections' ARNs are there.
	if all := readAll(t, e.dir); !strings.Contains(all, gh.ARN()) || !strings.Contains(all, api.ARN()) {
		t.Fatal("the data directory scan found no stored data; is it reading the database?")
	}
	if !strings.Contains(e.logs.String(), "connection available") {
		t.Fatal("no logs were captured")
	}
}
