package forge_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/forge"
)

const token = "ghp_theTokenValue0123456789"

// seen is what the test server received.
type seen struct {
	method, path, query string
	header              http.Header
	body                string
}

// server answers every request with status, header and body, and records
// the request.
func server(t *testing.T, status int, header http.Header, body string) (*httptest.Server, *seen) {
	t.Helper()
	got := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*got = seen{method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: string(b)}
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, got
}

func TestDo_Headers(t *testing.T) {
	for _, tt := range []struct {
		name        string
		client      forge.Client
		req         forge.Request
		wantAccept  string
		wantVersion string
		wantAuth    string
		wantType    string
		wantBody    string
	}{
		{"GitHubAPI", forge.Client{Provider: openrunner.ProviderGitHub},
			forge.Request{Path: "/user", Auth: forge.Bearer(token)},
			"application/vnd.github+json", "2022-11-28", "Bearer " + token, "", ""},
		{"GitHubLowerCase", forge.Client{Provider: "github"},
			forge.Request{Method: http.MethodPost, Path: "/repos/o/r/hooks", Auth: forge.Bearer(token), JSON: map[string]any{"name": "web"}},
			"application/vnd.github+json", "2022-11-28", "Bearer " + token, "application/json", `{"name":"web"}`},
		{"GitHubOAuth", forge.Client{Provider: openrunner.ProviderGitHub, Accept: "application/json"},
			forge.Request{Method: http.MethodPost, Path: "/login/oauth/access_token", Form: url.Values{"code": {"c0de"}}},
			"application/json", "", "", "application/x-www-form-urlencoded", "code=c0de"},
		{"BitbucketBasic", forge.Client{Provider: openrunner.ProviderBitbucket},
			forge.Request{Path: "/user", Auth: forge.Basic("me@example.com", "api-token")},
			"application/json", "", "Basic bWVAZXhhbXBsZS5jb206YXBpLXRva2Vu", "", ""},
		{"NoAuth", forge.Client{Provider: openrunner.ProviderBitbucket},
			forge.Request{Path: "/x"}, "application/json", "", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, got := server(t, http.StatusOK, nil, `{}`)
			c := tt.client
			c.BaseURL = srv.URL
			resp, err := c.Do(t.Context(), tt.req)
			if err != nil || resp.Status != http.StatusOK || string(resp.Body) != "{}" {
				t.Fatalf("Do = %+v, %v", resp, err)
			}
			h := got.header
			if h.Get("Accept") != tt.wantAccept || h.Get("X-GitHub-Api-Version") != tt.wantVersion ||
				h.Get("Authorization") != tt.wantAuth || h.Get("Content-Type") != tt.wantType ||
				h.Get("User-Agent") != "OpenRunner" || got.body != tt.wantBody {
				t.Fatalf("request headers %v, body %q", h, got.body)
			}
			wantMethod := cmpOr(tt.req.Method, http.MethodGet)
			if got.method != wantMethod || got.path != tt.req.Path {
				t.Fatalf("request %s %s", got.method, got.path)
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestDo_URL(t *testing.T) {
	srv, got := server(t, http.StatusOK, nil, `[]`)
	c := forge.Client{Provider: openrunner.ProviderGitHub, BaseURL: srv.URL + "/api/v3"}
	if _, err := c.Do(t.Context(), forge.Request{URL: srv.URL + "/page?page=2"}); err != nil {
		t.Fatal(err)
	}
	if got.path != "/page" || got.query != "page=2" {
		t.Fatalf("requested %s?%s", got.path, got.query)
	}
	if _, err := c.Do(t.Context(), forge.Request{Path: "/repos/o/r/hooks?per_page=100"}); err != nil {
		t.Fatal(err)
	}
	if got.path != "/api/v3/repos/o/r/hooks" || got.query != "per_page=100" {
		t.Fatalf("requested %s?%s", got.path, got.query)
	}
}

func TestDo_StatusError(t *testing.T) {
	for _, tt := range []struct {
		name        string
		status      int
		header      http.Header
		body        string
		ok          []int
		wantErr     bool
		wantMessage string
		wantText    string
		rateLimited bool
		unavailable bool
	}{
		{"OK_2xx", http.StatusCreated, nil, `{}`, nil, false, "", "", false, false},
		{"OK_Listed", http.StatusNoContent, nil, ``, []int{http.StatusNoContent}, false, "", "", false, false},
		{"NotListed", http.StatusCreated, nil, `{}`, []int{http.StatusOK}, true, "", "Created", false, false},
		{"GitHub401", http.StatusUnauthorized, nil, `{"message":"Bad credentials","documentation_url":"https://docs.github.com"}`, nil,
			true, "Bad credentials", "Bad credentials", false, false},
		{"EchoedSecrets", http.StatusUnprocessableEntity, nil,
			`{"message":"Validation Failed.","errors":[{"message":"secret hook-secret-1 for ` + token + ` is bad."}]}`, nil,
			true, "Validation Failed. (secret [REDACTED] for [REDACTED] is bad.)", "Validation Failed. (secret [REDACTED] for [REDACTED] is bad.)", false, false},
		{"NoBody", http.StatusNotFound, nil, ``, nil, true, "", "Not Found", false, false},
		{"RateLimit403", http.StatusForbidden, http.Header{"X-Ratelimit-Remaining": {"0"}}, `{"message":"API rate limit exceeded"}`, nil,
			true, "API rate limit exceeded", "API rate limit exceeded", true, true},
		{"RetryAfter403", http.StatusForbidden, http.Header{"Retry-After": {"60"}}, `{}`, nil, true, "", "Forbidden", true, true},
		{"Plain403", http.StatusForbidden, nil, `{"type":"error","error":{"message":"Access denied"}}`, nil,
			true, "Access denied", "Access denied", false, false},
		{"TooMany", http.StatusTooManyRequests, nil, ``, nil, true, "", "Too Many Requests", true, true},
		{"ServerError", http.StatusBadGateway, nil, `<html>`, nil, true, "", "Bad Gateway", false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := server(t, tt.status, tt.header, tt.body)
			c := forge.Client{Provider: openrunner.ProviderGitHub, BaseURL: srv.URL}
			resp, err := c.Do(t.Context(), forge.Request{Auth: forge.Bearer(token), OK: tt.ok, Hide: []string{"hook-secret-1"}})
			if !tt.wantErr {
				if err != nil || resp.Status != tt.status {
					t.Fatalf("Do = %+v, %v", resp, err)
				}
				return
			}
			se, ok := errors.AsType[*forge.StatusError](err)
			if !ok || resp != nil {
				t.Fatalf("Do = %+v, %v; want a *StatusError", resp, err)
			}
			if se.Status != tt.status || se.Provider != openrunner.ProviderGitHub || se.BaseURL != srv.URL || string(se.Body) != tt.body {
				t.Fatalf("StatusError %+v", se)
			}
			if se.Message != tt.wantMessage || se.Text() != tt.wantText || se.RateLimited() != tt.rateLimited || se.Unavailable() != tt.unavailable {
				t.Fatalf("Message %q, Text %q, RateLimited %v, Unavailable %v", se.Message, se.Text(), se.RateLimited(), se.Unavailable())
			}
			if want := fmt.Sprintf("GitHub at %s answered HTTP %d", srv.URL, tt.status); !strings.HasPrefix(se.Error(), want) {
				t.Fatalf("Error() = %q, want prefix %q", se.Error(), want)
			}
			if strings.Contains(se.Error(), token) || strings.Contains(se.Error(), "hook-secret-1") {
				t.Fatalf("Error() leaks a secret: %s", se.Error())
			}
		})
	}
}

func TestDo_MaxBody(t *testing.T) {
	srv, _ := server(t, http.StatusOK, nil, strings.Repeat("x", 100))
	c := forge.Client{Provider: openrunner.ProviderBitbucket, BaseURL: srv.URL, MaxBody: 10}
	resp, err := c.Do(t.Context(), forge.Request{})
	if err != nil || len(resp.Body) != 10 {
		t.Fatalf("Do = %d bytes, %v; want 10", len(resp.Body), err)
	}
}

func TestDo_Unreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	var logs bytes.Buffer
	c := forge.Client{Provider: openrunner.ProviderBitbucket, BaseURL: base, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	_, err := c.Do(t.Context(), forge.Request{Path: "/user", Auth: forge.Basic("me", token)})
	if openrunner.ErrorCode(err) != openrunner.EINTERNAL {
		t.Fatalf("err = %v, want EINTERNAL", err)
	}
	msg := openrunner.ErrorMessage(err)
	if !strings.HasPrefix(msg, "Could not reach Bitbucket at "+base+": ") || !strings.HasSuffix(msg, ". Try again later.") ||
		strings.Contains(msg, "/user") || strings.Contains(msg, token) {
		t.Fatalf("message %q", msg)
	}
	if !strings.Contains(logs.String(), "provider unreachable") || strings.Contains(logs.String(), token) {
		t.Fatalf("logs %q", logs.String())
	}
}

// TestDo_NoRedirect: NewHTTPClient returns a redirect to the caller, so a
// POST carrying a client secret is never re-sent elsewhere.
func TestDo_NoRedirect(t *testing.T) {
	var elsewhere bool
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { elsewhere = true }))
	defer other.Close()
	srv, _ := server(t, http.StatusTemporaryRedirect, http.Header{"Location": {other.URL}}, "")
	c := forge.Client{Provider: openrunner.ProviderGitHub, BaseURL: srv.URL, HTTP: forge.NewHTTPClient()}
	_, err := c.Do(t.Context(), forge.Request{Method: http.MethodPost, Form: url.Values{"client_secret": {"s3cret"}}})
	if se, ok := errors.AsType[*forge.StatusError](err); !ok || se.Status != http.StatusTemporaryRedirect || elsewhere {
		t.Fatalf("err = %v, followed %v", err, elsewhere)
	}
}

func TestAuthRedacted(t *testing.T) {
	var logs bytes.Buffer
	for _, a := range []forge.Auth{forge.Bearer(token), forge.Basic("me", token)} {
		slog.New(slog.NewTextHandler(&logs, nil)).Info("x", "auth", a)
		slog.New(slog.NewJSONHandler(&logs, nil)).Info("x", "auth", a)
		req := forge.Request{Auth: a}
		j, _ := json.Marshal(req)
		for _, out := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v %s %q %x", a, a, a, a, a, a),
			fmt.Sprintf("%+v %#v", req, req), string(j), logs.String()} {
			if strings.Contains(out, token) || strings.Contains(out, fmt.Sprintf("%x", token)) {
				t.Fatalf("auth shown: %s", out)
			}
		}
	}
}

func TestSameOrigin(t *testing.T) {
	c := forge.Client{BaseURL: "https://api.github.com"}
	for u, want := range map[string]bool{
		"https://api.github.com/repositories/1/hooks?page=2": true,
		"https://API.GitHub.com/x":                           true,
		"http://api.github.com/x":                            false,
		"https://api.github.com.evil.example/x":              false,
		"https://elsewhere.example/x":                        false,
		"":                                                   false,
		"%zz":                                                false,
	} {
		if got := c.SameOrigin(u); got != want {
			t.Errorf("SameOrigin(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestNextLink(t *testing.T) {
	for _, tt := range []struct{ link, want string }{
		{`<https://api.github.com/repositories/1/hooks?page=2>; rel="next", <https://api.github.com/repositories/1/hooks?page=5>; rel="last"`,
			"https://api.github.com/repositories/1/hooks?page=2"},
		{`<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel=next`, "https://api.github.com/x?page=3"},
		{`<https://api.github.com/x?page=1>; rel="first"`, ""},
		{`garbage; rel="next"`, ""},
		{``, ""},
	} {
		h := http.Header{}
		if tt.link != "" {
			h.Set("Link", tt.link)
		}
		if got := forge.NextLink(h); got != tt.want {
			t.Errorf("NextLink(%q) = %q, want %q", tt.link, got, tt.want)
		}
	}
}

func TestMessage(t *testing.T) {
	for body, want := range map[string]string{
		`{"message":"Bad credentials"}`: "Bad credentials",
		`{"message":"Validation Failed","errors":[{"message":"Hook already exists"},{"code":"custom"}]}`: "Validation Failed (Hook already exists; custom)",
		`{"message":"Not Found","errors":"weird"}`:                                                       "Not Found",
		`{"type":"error","error":{"message":"Invalid credentials"}}`:                                     "Invalid credentials",
		`{"error":"invalid_grant","error_description":"The code is not valid."}`:                         "The code is not valid.",
		`{"error":"access_denied"}`:                                                                      "access_denied",
		`not json`:                                                                                       "",
		`{}`:                                                                                             "",
	} {
		if got := forge.Message([]byte(body)); got != want {
			t.Errorf("Message(%s) = %q, want %q", body, got, want)
		}
	}
}

func TestCleanAndReason(t *testing.T) {
	in := "The token\tghp_abc123 was\nrefused. "
	if got := forge.Clean(in, "ghp_abc123", "abc"); got != "The token [REDACTED] was refused." {
		t.Errorf("Clean = %q", got)
	}
	if got := forge.Reason(in, "ghp_abc123"); got != "The token [REDACTED] was refused" {
		t.Errorf("Reason = %q", got)
	}
	if got := forge.Clean(strings.Repeat("a", 1000)); len(got) > 310 {
		t.Errorf("Clean kept %d characters", len(got))
	}
	if forge.Name(openrunner.ProviderGitHub) != "GitHub" || forge.Name("bitbucket") != "Bitbucket" || forge.Name("gitlab") != "gitlab" {
		t.Error("Name")
	}
}
