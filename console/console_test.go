package console

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

func TestTemplatesParse(t *testing.T) {
	if parseErr != nil {
		t.Fatal(parseErr)
	}
}

func TestSignIn(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		e := newEnv(t, nil)
		b := e.browser()
		page := b.get(pathSignIn)
		if page.StatusCode != http.StatusOK {
			t.Fatalf("GET signin: %s", page.Status)
		}
		wantText(t, page, "Access key ID")
		resp := b.post(pathSignIn, url.Values{"access_key_id": {testKeyID}, "secret_access_key": {testSecret}})
		wantRedirect(t, resp, pathConnections)

		var sc *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookie {
				sc = c
			}
		}
		if sc == nil {
			t.Fatalf("no %s cookie in %v", sessionCookie, resp.Header.Values("Set-Cookie"))
		}
		if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/console/" || sc.Secure {
			t.Fatalf("cookie attributes: %+v", sc)
		}
		// 256 random bits, unpadded base64url.
		if len(sc.Value) != 43 {
			t.Fatalf("session id %q has %d characters, want 43", sc.Value, len(sc.Value))
		}
		page = b.get(pathConnections)
		if page.StatusCode != http.StatusOK {
			t.Fatalf("GET connections: %s", page.Status)
		}
		wantText(t, page, testAccount)
		wantHTML(t, page, `<option value="us-east-1" selected>`)
		wantText(t, page, "Sign out")
		if b.cookie(signInCookie) != "" {
			t.Fatal("the sign-in form cookie survived sign-in")
		}
		if strings.Contains(e.logs.String(), testSecret) || strings.Contains(e.logs.String(), sc.Value) {
			t.Fatalf("log holds a secret:\n%s", e.logs)
		}
	})

	t.Run("SecureCookie", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Secure = true })
		rec := httptest.NewRecorder()
		e.console.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, pathSignIn, nil))
		token := rec.Result().Cookies()[0].Value
		form := url.Values{csrfField: {token}, "access_key_id": {testKeyID}, "secret_access_key": {testSecret}}
		req := httptest.NewRequest(http.MethodPost, pathSignIn, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: signInCookie, Value: token})
		rec = httptest.NewRecorder()
		e.console.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
		for _, c := range rec.Result().Cookies() {
			if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
				t.Fatalf("cookie %s: %+v", c.Name, c)
			}
		}
	})

	t.Run("ErrWrongCredentials", func(t *testing.T) {
		e := newEnv(t, nil)
		b := e.browser()
		b.get(pathSignIn)
		var bodies []string
		for _, pair := range [][2]string{{testKeyID, "wrong-secret"}, {"AKIAUNKNOWN000000000", testSecret}, {testKeyID, otherSecret}} {
			resp := b.post(pathSignIn, url.Values{"access_key_id": {pair[0]}, "secret_access_key": {pair[1]}})
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status = %s, want 401", resp.Status)
			}
			wantText(t, resp, msgBadCredentials)
			wantNoText(t, resp, pair[1])
			// The key id comes back in the field; the secret never does.
			wantHTML(t, resp, `value="`+pair[0]+`"`)
			if b.cookie(sessionCookie) != "" {
				t.Fatal("a failed sign-in set a session cookie")
			}
			bodies = append(bodies, strings.ReplaceAll(resp.Body, pair[0], ""))
		}
		// No hint which half was wrong: the pages differ only in the
		// echoed key id.
		if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
			t.Fatal("wrong-secret and wrong-key-id pages differ")
		}
		if got, want := fmt.Sprint(e.delays), "[250ms 500ms 1s]"; got != want {
			t.Fatalf("delays = %s, want %s", got, want)
		}
		if strings.Contains(e.logs.String(), "wrong-secret") || strings.Contains(e.logs.String(), testSecret) {
			t.Fatalf("log holds a secret:\n%s", e.logs)
		}

		// A success forgets the failures.
		b.signIn(testKeyID, testSecret)
		b2 := e.browser()
		b2.get(pathSignIn)
		b2.post(pathSignIn, url.Values{"access_key_id": {testKeyID}, "secret_access_key": {"nope"}})
		if got := e.delays[len(e.delays)-1]; got != failDelay {
			t.Fatalf("delay after a success = %s, want %s", got, failDelay)
		}
	})

	t.Run("ErrEmptyFields", func(t *testing.T) {
		e := newEnv(t, nil)
		b := e.browser()
		b.get(pathSignIn)
		resp := b.post(pathSignIn, url.Values{"access_key_id": {testKeyID}})
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status = %s", resp.Status)
		}
		wantText(t, resp, "Enter an access key ID and its secret access key.")
	})

	t.Run("ErrSignInFails", func(t *testing.T) {
		e := newEnv(t, func(c *Config) {
			c.SignIn = func(context.Context, string, string) (string, bool, error) {
				return "", false, errors.New("credentials file unreadable: /etc/secret")
			}
		})
		b := e.browser()
		b.get(pathSignIn)
		resp := b.post(pathSignIn, url.Values{"access_key_id": {testKeyID}, "secret_access_key": {testSecret}})
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status = %s", resp.Status)
		}
		wantText(t, resp, "Sign-in is not available right now.")
		wantNoText(t, resp, "/etc/secret")
	})

	t.Run("ErrNoFormToken", func(t *testing.T) {
		e := newEnv(t, nil)
		b := e.browser()
		// No GET first: no cookie, no token (a login CSRF attempt).
		resp := b.postRaw(pathSignIn, url.Values{"access_key_id": {testKeyID}, "secret_access_key": {testSecret}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status = %s, want 403", resp.Status)
		}
		b.get(pathSignIn)
		resp = b.postRaw(pathSignIn, url.Values{csrfField: {"forged"}, "access_key_id": {testKeyID}, "secret_access_key": {testSecret}})
		if resp.StatusCode != http.StatusForbidden || b.cookie(sessionCookie) != "" {
			t.Fatalf("status = %s, want 403 and no session", resp.Status)
		}
	})

	t.Run("Next", func(t *testing.T) {
		e := newEnv(t, nil)
		b := e.browser()
		target := pathDelete + "?arn=x"
		wantRedirect(t, b.get(target), pathSignIn+"?next="+url.QueryEscape(target))
		wantRedirect(t, b.get(pathConnections), pathSignIn)
		b.get(pathSignIn + "?next=" + url.QueryEscape(target))
		resp := b.post(pathSignIn, url.Values{"access_key_id": {testKeyID}, "secret_access_key": {testSecret}, "next": {target}})
		wantRedirect(t, resp, target)
		// Signed in: the sign-in page moves on.
		wantRedirect(t, b.get(pathSignIn), pathConnections)
		wantRedirect(t, b.get(pathRoot), pathConnections)
	})
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"":                                   pathConnections,
		"/console/connections":               "/console/connections",
		"/console/connections/delete?arn=a":  "/console/connections/delete?arn=a",
		"https://evil.test/console/":         pathConnections,
		"//evil.test/console/":               pathConnections,
		"/\\evil.test":                       pathConnections,
		"/other/":                            pathConnections,
		"/console/signout":                   pathConnections,
		"/console/oauth/callback?code=x":     pathConnections,
		"javascript:alert(1)":                pathConnections,
		"/console/connections\r\nSet-Cookie": pathConnections,
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSessionExpiry(t *testing.T) {
	t.Run("IdleTimeout", func(t *testing.T) {
		e := newEnv(t, nil)
		b := e.browser()
		b.signIn(testKeyID, testSecret)
		e.clock.Advance(SessionIdleTimeout - time.Second)
		if resp := b.get(pathConnections); resp.StatusCode != http.StatusOK {
			t.Fatalf("before the idle timeout: %s", resp.Status)
		}
		e.clock.Advance(SessionIdleTimeout)
		wantRedirect(t, b.get(pathConnections), pathSignIn)
	})

	t.Run("Lifetime", func(t *testing.T) {
		e := newEnv(t, nil)
		b := e.browser()
		b.signIn(testKeyID, testSecret)
		// Regular use slides the idle timeout, up to the lifetime.
		for used := time.Duration(0); used+50*time.Minute < SessionLifetime; used += 50 * time.Minute {
			e.clock.Advance(50 * time.Minute)
			if resp := b.get(pathConnections); resp.StatusCode != http.StatusOK {
				t.Fatalf("after %s: %s", used, resp.Status)
			}
		}
		e.clock.Advance(50 * time.Minute)
		wantRedirect(t, b.get(pathConnections), pathSignIn)
		if n := e.console.sessions.len(); n != 0 {
			t.Fatalf("%d sessions stored after expiry", n)
		}
	})

	t.Run("SignOut", func(t *testing.T) {
		e := newEnv(t, nil)
		b := e.browser()
		b.signIn(testKeyID, testSecret)
		old := b.cookie(sessionCookie)
		wantRedirect(t, b.post(pathSignOut, nil), pathSignIn+"?signedout=1")
		if b.cookie(sessionCookie) != "" {
			t.Fatal("session cookie kept after sign-out")
		}
		wantText(t, b.get(pathSignIn+"?signedout=1"), "You have signed out.")
		// The old cookie is dead on the server too.
		b.client.Jar.SetCookies(mustURL(e.srv.URL+pathRoot), []*http.Cookie{{Name: sessionCookie, Value: old, Path: cookiePath}})
		wantRedirect(t, b.get(pathConnections), pathSignIn)
	})
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	other := e.browser()
	other.signIn(otherKeyID, otherSecret)

	create := url.Values{"name": {"csrf-test"}, "provider": {"GITHUB"}}
	for name, token := range map[string]string{
		"ErrMissing":      "",
		"ErrWrong":        strings.Repeat("A", 43),
		"ErrOtherSession": other.csrf,
		"ErrPrefix":       b.csrf[:20],
	} {
		t.Run(name, func(t *testing.T) {
			form := url.Values{"name": create["name"], "provider": create["provider"]}
			if token != "" {
				form.Set(csrfField, token)
			}
			for _, path := range []string{pathConnections, pathDelete, pathHandshake, pathRegion, pathSignOut,
				pathServiceCreate, pathServiceAction, pathServiceEdit, pathServiceDelete, pathAutoScaling, pathASCDefault, pathASCDelete, pathDomains} {
				resp := b.postRaw(path, form)
				if resp.StatusCode != http.StatusForbidden {
					t.Fatalf("POST %s: status = %s, want 403", path, resp.Status)
				}
				wantText(t, resp, "This form has expired")
			}
		})
	}
	t.Run("ErrNoSession", func(t *testing.T) {
		anon := e.browser()
		resp := anon.postRaw(pathConnections, url.Values{csrfField: {b.csrf}, "name": {"csrf-test"}, "provider": {"GITHUB"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status = %s, want 403", resp.Status)
		}
	})
	page, err := e.conns.FindConnections(scope(testAccount, defaultRegion), openrunner.ConnectionFilter{})
	if err != nil || len(page.Connections) != 0 {
		t.Fatalf("connections after refused POSTs: %v, %v", page.Connections, err)
	}
	// Still signed in: the refused sign-out did nothing.
	if resp := b.get(pathConnections); resp.StatusCode != http.StatusOK {
		t.Fatalf("after refused sign-out: %s", resp.Status)
	}
	t.Run("OK", func(t *testing.T) {
		wantRedirect(t, b.post(pathConnections, create), pathConnections)
	})
}

func TestRegion(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Regions = []string{"us-east-1", "eu-west-1", "eu-west-1", " "} })
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	if got := e.console.regions; fmt.Sprint(got) != "[us-east-1 eu-west-1]" {
		t.Fatalf("regions = %v", got)
	}
	wantRedirect(t, b.post(pathConnections, url.Values{"name": {"in-us-east"}, "provider": {"GITHUB"}}), pathConnections)
	wantText(t, b.get(pathConnections), "Connection in-us-east created.")

	t.Run("OK", func(t *testing.T) {
		wantRedirect(t, b.post(pathRegion, url.Values{"region": {"eu-west-1"}, "next": {pathConnections}}), pathConnections)
		page := b.get(pathConnections)
		wantHTML(t, page, `<option value="eu-west-1" selected>`)
		wantText(t, page, "Connections in eu-west-1")
		wantNoText(t, page, "in-us-east")
		wantRedirect(t, b.post(pathConnections, url.Values{"name": {"in-eu-west"}, "provider": {"BITBUCKET"}}), pathConnections)
		got, err := e.conns.FindConnections(scope(testAccount, "eu-west-1"), openrunner.ConnectionFilter{})
		if err != nil || len(got.Connections) != 1 || got.Connections[0].Name != "in-eu-west" {
			t.Fatalf("eu-west-1 connections: %v, %v", got.Connections, err)
		}
		got, _ = e.conns.FindConnections(scope(testAccount, "us-east-1"), openrunner.ConnectionFilter{})
		if len(got.Connections) != 1 || got.Connections[0].Name != "in-us-east" {
			t.Fatalf("us-east-1 connections: %v", got.Connections)
		}
		// The other account sees neither.
		o := e.browser()
		o.signIn(otherKeyID, otherSecret)
		page = o.get(pathConnections)
		wantNoText(t, page, "in-us-east")
		wantText(t, page, "No connections yet.")
	})

	t.Run("ErrUnknownRegion", func(t *testing.T) {
		wantRedirect(t, b.post(pathRegion, url.Values{"region": {"mars-north-1"}}), pathConnections)
		page := b.get(pathConnections)
		wantText(t, page, "That Region is not offered by this console.")
		wantHTML(t, page, `<option value="eu-west-1" selected>`)
	})

	t.Run("NextIsKept", func(t *testing.T) {
		wantRedirect(t, b.post(pathRegion, url.Values{"region": {"us-east-1"}, "next": {"https://evil.test/"}}), pathConnections)
		wantText(t, b.get(pathConnections), "in-us-east")
	})
}

func TestCreateConnection(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	ctx := scope(testAccount, defaultRegion)

	t.Run("OK", func(t *testing.T) {
		wantRedirect(t, b.post(pathConnections, url.Values{"name": {"my-github"}, "provider": {"GITHUB"}}), pathConnections)
		page := b.get(pathConnections)
		wantText(t, page, "Connection my-github created.")
		wantHTML(t, page, `<span class="badge badge-pending">PENDING_HANDSHAKE</span>`)
		wantText(t, page, "Complete handshake")
		// The flash is shown once.
		wantNoText(t, b.get(pathConnections), "Connection my-github created.")
		c, err := e.conns.FindConnections(ctx, openrunner.ConnectionFilter{Name: ptr("my-github")})
		if err != nil || len(c.Connections) != 1 || c.Connections[0].ProviderType != "GITHUB" || c.Connections[0].Status != "PENDING_HANDSHAKE" {
			t.Fatalf("stored: %v, %v", c.Connections, err)
		}
		wantText(t, page, c.Connections[0].ARN())
	})

	// Each invalid form shows exactly the API's message, and comes back
	// filled in.
	for name, form := range map[string]url.Values{
		"ErrTooShort":    {"name": {"ab"}, "provider": {"GITHUB"}},
		"ErrPattern":     {"name": {"bad name!"}, "provider": {"GITHUB"}},
		"ErrEmpty":       {"name": {""}, "provider": {"BITBUCKET"}},
		"ErrTooLong":     {"name": {strings.Repeat("x", 40)}, "provider": {"GITHUB"}},
		"ErrProvider":    {"name": {"good-name"}, "provider": {"GITLAB"}},
		"ErrNoProvider":  {"name": {"good-name"}},
		"ErrNoFields":    {},
		"ErrHTMLEscaped": {"name": {`<script>alert(1)</script>`}, "provider": {"GITHUB"}},
	} {
		t.Run(name, func(t *testing.T) {
			in := wire.CreateConnectionInput{}
			if form.Has("name") {
				in.ConnectionName = ptr(form.Get("name"))
			}
			if form.Has("provider") {
				in.ProviderType = ptr(wire.ProviderType(form.Get("provider")))
			}
			want := openrunner.ErrorMessage(in.Validate())
			if want == "" {
				t.Fatal("the case is valid")
			}
			wantRedirect(t, b.post(pathConnections, form), pathConnections)
			page := b.get(pathConnections)
			wantText(t, page, want)
			wantNoText(t, page, "<script>")
			if form.Get("name") != "" {
				wantHTML(t, page, `id="name" name="name" value="`+html.EscapeString(form.Get("name"))+`"`)
			}
		})
	}

	t.Run("ErrDuplicate", func(t *testing.T) {
		wantRedirect(t, b.post(pathConnections, url.Values{"name": {"dup-name"}, "provider": {"GITHUB"}}), pathConnections)
		b.get(pathConnections)
		wantRedirect(t, b.post(pathConnections, url.Values{"name": {"dup-name"}, "provider": {"BITBUCKET"}}), pathConnections)
		// The store's message, as the API returns it.
		err := e.conns.CreateConnection(ctx, &openrunner.Connection{Name: "dup-name", ProviderType: "GITHUB"}, nil)
		if openrunner.ErrorCode(err) != openrunner.ECONFLICT {
			t.Fatalf("direct create: %v", err)
		}
		page := b.get(pathConnections)
		wantText(t, page, openrunner.ErrorMessage(err))
		wantHTML(t, page, `<option value="BITBUCKET" selected>`)
	})

	t.Run("ErrQuota", func(t *testing.T) {
		page, _ := e.conns.FindConnections(ctx, openrunner.ConnectionFilter{})
		for i := len(page.Connections); i < openrunner.DefaultMaxConnections; i++ {
			wantRedirect(t, b.post(pathConnections, url.Values{"name": {fmt.Sprintf("fill-%02d", i)}, "provider": {"GITHUB"}}), pathConnections)
		}
		b.get(pathConnections)
		wantRedirect(t, b.post(pathConnections, url.Values{"name": {"one-too-many"}, "provider": {"GITHUB"}}), pathConnections)
		err := e.conns.CreateConnection(ctx, &openrunner.Connection{Name: "one-too-many", ProviderType: "GITHUB"}, nil)
		if openrunner.ErrorCode(err) != openrunner.EQUOTA {
			t.Fatalf("direct create: %v", err)
		}
		wantText(t, b.get(pathConnections), openrunner.ErrorMessage(err))
	})
}

func TestDeleteConnection(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	ctx := scope(testAccount, defaultRegion)
	c := &openrunner.Connection{Name: "to-delete", ProviderType: "BITBUCKET"}
	if err := e.conns.CreateConnection(ctx, c, nil); err != nil {
		t.Fatal(err)
	}
	foreign := &openrunner.Connection{Name: "foreign", ProviderType: "GITHUB"}
	if err := e.conns.CreateConnection(scope(otherAccount, defaultRegion), foreign, nil); err != nil {
		t.Fatal(err)
	}

	t.Run("ConfirmPage", func(t *testing.T) {
		page := b.get(pathDelete + "?arn=" + url.QueryEscape(c.ARN()))
		if page.StatusCode != http.StatusOK {
			t.Fatalf("status %s", page.Status)
		}
		wantHTML(t, page, "Delete connection <span class=\"mono\">to-delete</span>?")
		wantText(t, page, c.ARN())
		wantHTML(t, page, `id="confirm-delete"`)
	})

	t.Run("ErrOtherAccount", func(t *testing.T) {
		wantRedirect(t, b.get(pathDelete+"?arn="+url.QueryEscape(foreign.ARN())), pathConnections)
		wantText(t, b.get(pathConnections), "No connection found for the ARN")
		wantRedirect(t, b.post(pathDelete, url.Values{"arn": {foreign.ARN()}}), pathConnections)
		wantText(t, b.get(pathConnections), "No connection found for the ARN")
		if _, err := e.conns.FindConnectionByARN(scope(otherAccount, defaultRegion), foreign.ARN()); err != nil {
			t.Fatalf("foreign connection: %v", err)
		}
	})

	t.Run("ErrBadARN", func(t *testing.T) {
		wantRedirect(t, b.post(pathDelete, url.Values{"arn": {"not-an-arn"}}), pathConnections)
		wantText(t, b.get(pathConnections), "The ARN you specified isn't a valid App Runner ARN.")
	})

	t.Run("OK", func(t *testing.T) {
		wantRedirect(t, b.post(pathDelete, url.Values{"arn": {c.ARN()}}), pathConnections)
		page := b.get(pathConnections)
		wantText(t, page, "Connection to-delete deleted.")
		wantNoText(t, page, c.ARN())
		if _, err := e.conns.FindConnectionByARN(ctx, c.ARN()); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
			t.Fatalf("after delete: %v", err)
		}
	})
}

func TestHandshake(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	ctx := scope(testAccount, defaultRegion)
	create := func(t *testing.T, name, provider string) *openrunner.Connection {
		t.Helper()
		c := &openrunner.Connection{Name: name, ProviderType: provider}
		if err := e.conns.CreateConnection(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		return c
	}
	// begin presses Complete handshake and returns the provider URL.
	begin := func(t *testing.T, b *browser, c *openrunner.Connection) *url.URL {
		t.Helper()
		b.get(pathConnections)
		resp := b.post(pathHandshake, url.Values{"arn": {c.ARN()}})
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), fakeProviderURL+"?") {
			t.Fatalf("handshake: %s %s", resp.Status, resp.Header.Get("Location"))
		}
		u, _ := url.Parse(resp.Header.Get("Location"))
		return u
	}

	t.Run("OK", func(t *testing.T) {
		c := create(t, "gh-ok", "GITHUB")
		u := begin(t, b, c)
		sid := b.cookie(sessionCookie)
		if e.hs.lastBinding == "" || e.hs.lastBinding == sid || strings.Contains(e.hs.lastBinding, sid) {
			t.Fatalf("binding %q must be derived from, not equal to, the session id", e.hs.lastBinding)
		}
		resp := b.get(PathCallback + "?" + url.Values{"state": {u.Query().Get("state")}, "code": {goodCode}}.Encode())
		wantRedirect(t, resp, pathConnections)
		page := b.get(pathConnections)
		wantText(t, page, "Connection gh-ok is now AVAILABLE.")
		wantHTML(t, page, `<span class="badge badge-ok">AVAILABLE</span>`)
		wantText(t, page, "as octocat")
		got, err := e.conns.FindConnectionByARN(ctx, c.ARN())
		if err != nil || got.Status != openrunner.ConnectionAvailable {
			t.Fatalf("stored: %+v, %v", got, err)
		}
		// An AVAILABLE connection has no button.
		row := page.Body[strings.Index(page.Body, `id="conn-gh-ok"`):]
		row = row[:strings.Index(row, "</tr>")]
		if strings.Contains(row, "Complete handshake") {
			t.Fatalf("AVAILABLE row offers a handshake:\n%s", row)
		}
		wantHTML(t, page, `title="Signed in with access key `+testKeyID+`"`)
		logs := e.logs.String()
		for what, v := range map[string]string{
			"OAuth code": goodCode, "OAuth state": u.Query().Get("state"), "session id": sid,
			"binding": e.hs.lastBinding, "CSRF token": b.csrf, "secret": testSecret,
		} {
			if strings.Contains(logs, v) {
				t.Fatalf("the log holds the %s:\n%s", what, logs)
			}
		}
	})

	t.Run("Denied", func(t *testing.T) {
		c := create(t, "bb-deny", "BITBUCKET")
		u := begin(t, b, c)
		resp := b.get(PathCallback + "?" + url.Values{
			"state": {u.Query().Get("state")}, "error": {"access_denied"}, "error_description": {"The user denied <access>."},
		}.Encode())
		wantRedirect(t, resp, pathConnections)
		page := b.get(pathConnections)
		wantText(t, page, "The handshake of connection bb-deny failed: The provider did not authorize OpenRunner: The user denied <access>.")
		wantHTML(t, page, `<span class="badge badge-error">ERROR</span>`)
		wantHTML(t, page, `<div class="status-message">The provider did not authorize OpenRunner: The user denied &lt;access&gt;.</div>`)
		got, _ := e.conns.FindConnectionByARN(ctx, c.ARN())
		if got.Status != openrunner.ConnectionError {
			t.Fatalf("stored status %s", got.Status)
		}
		// An ERROR connection can try again.
		begin(t, b, c)
	})

	t.Run("ErrOtherSession", func(t *testing.T) {
		c := create(t, "gh-stolen", "GITHUB")
		u := begin(t, b, c)
		// Another browser (an attacker who got the link) cannot finish it.
		o := e.browser()
		o.signIn(testKeyID, testSecret)
		wantRedirect(t, o.get(PathCallback+"?"+url.Values{"state": {u.Query().Get("state")}, "code": {goodCode}}.Encode()), pathConnections)
		wantText(t, o.get(pathConnections), "The handshake link is invalid or has expired.")
		got, _ := e.conns.FindConnectionByARN(ctx, c.ARN())
		if got.Status != openrunner.ConnectionPendingHandshake {
			t.Fatalf("stored status %s", got.Status)
		}
	})

	t.Run("ErrNoSession", func(t *testing.T) {
		anon := e.browser()
		resp := anon.get(PathCallback + "?state=x&code=" + goodCode)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("status %s", resp.Status)
		}
		wantText(t, resp, "Your session has ended")
	})

	t.Run("ErrAvailable", func(t *testing.T) {
		page, _ := e.conns.FindConnections(ctx, openrunner.ConnectionFilter{Name: ptr("gh-ok")})
		b.get(pathConnections)
		wantRedirect(t, b.post(pathHandshake, url.Values{"arn": {page.Connections[0].ARN()}}), pathConnections)
		wantText(t, b.get(pathConnections), "The connection gh-ok is AVAILABLE;")
	})

	t.Run("SwitchesRegionBack", func(t *testing.T) {
		c := create(t, "gh-region", "GITHUB")
		u := begin(t, b, c)
		wantRedirect(t, b.post(pathRegion, url.Values{"region": {"eu-west-1"}}), pathConnections)
		b.get(PathCallback + "?" + url.Values{"state": {u.Query().Get("state")}, "code": {goodCode}}.Encode())
		page := b.get(pathConnections)
		wantHTML(t, page, `<option value="us-east-1" selected>`)
		wantText(t, page, "Connection gh-region is now AVAILABLE.")
	})

	t.Run("ErrNotConfigured", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.Handshakes = nil })
		b := e.browser()
		b.signIn(testKeyID, testSecret)
		c := &openrunner.Connection{Name: "no-oauth", ProviderType: "GITHUB"}
		if err := e.conns.CreateConnection(ctx, c, nil); err != nil {
			t.Fatal(err)
		}
		b.get(pathConnections)
		wantRedirect(t, b.post(pathHandshake, url.Values{"arn": {c.ARN()}}), pathConnections)
		wantText(t, b.get(pathConnections), "Provider handshakes are not configured")
	})
}

func TestErrorPages(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	for _, tc := range []struct {
		method, path string
		status       int
		text         string
	}{
		{"GET", "/console/nope", 404, "Page not found"},
		{"GET", "/console/static/passwd", 404, "Page not found"},
		{"GET", pathSignOut, 405, "Method not allowed"},
		{"DELETE", pathConnections, 405, "Method not allowed"},
		{"PUT", PathCallback, 405, "Method not allowed"},
	} {
		req, _ := http.NewRequest(tc.method, e.srv.URL+tc.path, nil)
		resp := b.do(req)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %s, want %d", tc.method, tc.path, resp.Status, tc.status)
			continue
		}
		wantText(t, resp, tc.text)
		if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
		}
	}
	resp := b.get(pathSignIn)
	for h, want := range map[string]string{
		"X-Frame-Options":        "DENY",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "same-origin",
		"Cache-Control":          "no-store",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q", csp)
	}
	if resp := b.get(pathSignOut[:0] + "/console/static/style.css"); resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(resp.Body, ".badge-ok") {
		t.Errorf("style.css: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
}

// TestNoPanics throws odd requests at a console with and without its
// dependencies; every answer must be a page, never a panic or a 5xx
// other than a friendly one.
func TestNoPanics(t *testing.T) {
	failing := &failingConnections{}
	for name, cfg := range map[string]func(*Config){
		"Configured":   nil,
		"Empty":        func(c *Config) { *c = Config{Logger: c.Logger, Now: c.Now} },
		"StoreFailing": func(c *Config) { c.Connections = failing },
	} {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, cfg)
			b := e.browser()
			if cfg == nil || name == "StoreFailing" {
				b.signIn(testKeyID, testSecret)
			}
			forms := []url.Values{
				nil,
				{"name": {"\x00\xff"}, "provider": {strings.Repeat("G", 10000)}},
				{"arn": {"arn:aws:apprunner:us-east-1:123456789012:connection/x/y"}},
				{"arn": {"arn:aws:apprunner:us-east-1:123456789012:service/x/y"}},
				{"region": {""}, "next": {"%zz"}},
				{"access_key_id": {strings.Repeat("k", 500)}, "secret_access_key": {"s"}},
			}
			paths := []string{pathRoot, pathSignIn, pathSignOut, pathRegion, pathConnections, pathDelete, pathDelete + "?arn=%00",
				pathHandshake, PathCallback, PathCallback + "?state=&code=&error=x", pathCSS, "/console/x/../connections"}
			for _, p := range paths {
				for _, f := range forms {
					for _, m := range []string{"GET", "POST", "HEAD"} {
						var resp response
						if m == "POST" {
							resp = b.post(p, f)
						} else {
							req, _ := http.NewRequest(m, e.srv.URL+p, nil)
							resp = b.do(req)
						}
						if resp.StatusCode >= 500 && !strings.Contains(resp.Body, "error") && m != "HEAD" {
							t.Errorf("%s %s: %s\n%s", m, p, resp.Status, resp.Body)
						}
						if strings.Contains(resp.Body, "goroutine ") || strings.Contains(resp.Body, "panic") {
							t.Errorf("%s %s shows a stack trace", m, p)
						}
					}
				}
			}
			if strings.Contains(e.logs.String(), "console: panic") {
				t.Fatalf("panicked:\n%s", e.logs)
			}
		})
	}
	// A huge form is refused, not read.
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	resp := b.post(pathConnections, url.Values{"name": {strings.Repeat("x", 2*maxFormBytes)}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("huge form: %s", resp.Status)
	}
}

// failingConnections fails every call with an internal error whose text
// must never reach a page.
type failingConnections struct{}

var _ openrunner.ConnectionService = (*failingConnections)(nil)

var errDisk = errors.New("disk I/O error at /var/lib/openrunner/openrunner.db")

func (failingConnections) CreateConnection(context.Context, *openrunner.Connection, []openrunner.Tag) error {
	return errDisk
}

func (failingConnections) FindConnections(context.Context, openrunner.ConnectionFilter) (openrunner.ConnectionPage, error) {
	return openrunner.ConnectionPage{}, errDisk
}

func (failingConnections) FindConnectionByARN(context.Context, string) (*openrunner.Connection, error) {
	return nil, errDisk
}

func (failingConnections) UpdateConnection(context.Context, string, openrunner.ConnectionUpdate) (*openrunner.Connection, error) {
	return nil, errDisk
}

func (failingConnections) FindConnectionSecret(context.Context, string) ([]byte, error) {
	return nil, errDisk
}

func (failingConnections) DeleteConnection(context.Context, string) (*openrunner.Connection, error) {
	return nil, errDisk
}

func TestStoreFailure(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Connections = failingConnections{} })
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	page := b.get(pathConnections)
	if page.StatusCode != http.StatusInternalServerError {
		t.Fatalf("status %s", page.Status)
	}
	wantText(t, page, "An internal error occurred.")
	wantNoText(t, page, "/var/lib")
	wantRedirect(t, b.post(pathConnections, url.Values{"name": {"fine-name"}, "provider": {"GITHUB"}}), pathConnections)
	page = b.get(pathConnections)
	wantText(t, page, "An internal error occurred.")
	wantNoText(t, page, "/var/lib")
	if !strings.Contains(e.logs.String(), "disk I/O error") {
		t.Fatalf("the cause is not logged:\n%s", e.logs)
	}
}

func TestThrottle(t *testing.T) {
	clk := &clock{t: time.Unix(0, 0)}
	th := newThrottle(clk.Now)
	var got []time.Duration
	for range 9 {
		got = append(got, th.fail("a"))
	}
	if want := "[250ms 500ms 1s 2s 4s 8s 8s 8s 8s]"; fmt.Sprint(got) != want {
		t.Fatalf("delays = %v, want %s", got, want)
	}
	if d := th.fail("b"); d != failDelay {
		t.Fatalf("another client: %s", d)
	}
	clk.Advance(failWindow)
	if d := th.fail("a"); d != failDelay {
		t.Fatalf("after the window: %s", d)
	}
}

func TestSessionStoreBound(t *testing.T) {
	clk := &clock{t: time.Unix(0, 0)}
	st := newSessionStore(clk.Now)
	first, err := st.create(testAccount, testKeyID, defaultRegion)
	if err != nil {
		t.Fatal(err)
	}
	for range maxSessions {
		clk.Advance(time.Millisecond)
		if _, err := st.create(testAccount, testKeyID, defaultRegion); err != nil {
			t.Fatal(err)
		}
	}
	if n := st.len(); n != maxSessions {
		t.Fatalf("%d sessions", n)
	}
	if _, ok := st.get(first); ok {
		t.Fatal("the oldest session survived")
	}
}
