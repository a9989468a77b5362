package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openrunner/openrunner"
)

// TestRegister_GitHubPages lists hooks across pages, following Link only
// on the API's own origin, so the token never goes elsewhere.
func TestRegister_GitHubPages(t *testing.T) {
	const hookURL = "https://openrunner.example/_openrunner/webhooks/github/k"
	for _, tt := range []struct {
		name        string
		page2       string // the URL of the hook on page 2
		wantCreated bool
	}{
		{"OK_FoundOnPage2", hookURL, false},
		{"OK_ForeignNextNotFollowed", "https://elsewhere.example/2", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var foreign, posts atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				foreign.Add(1)
				_, _ = w.Write([]byte(`[]`))
			}))
			defer other.Close()
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" ||
					r.Header.Get("Accept") != "application/vnd.github+json" || r.URL.Path != "/repos/o/r/hooks" {
					w.WriteHeader(http.StatusNotFound)
					return
				}
				switch {
				case r.Method == http.MethodPost:
					posts.Add(1)
					w.WriteHeader(http.StatusCreated)
					_, _ = w.Write([]byte(`{"id":3}`))
				case r.URL.Query().Get("page") == "":
					w.Header().Set("Link", `<`+srv.URL+`/repos/o/r/hooks?page=2>; rel="next"`)
					_, _ = w.Write([]byte(`[{"id":1,"active":true,"events":["push"],"config":{"url":"https://elsewhere.example/1"}}]`))
				default:
					w.Header().Set("Link", `<`+other.URL+`/repos/o/r/hooks?page=3>; rel="next"`)
					_, _ = w.Write([]byte(`[{"id":2,"active":true,"events":["*"],"config":{"url":"` + tt.page2 + `"}}]`))
				}
			}))
			defer srv.Close()
			created, err := Register(context.Background(), srv.Client(), Registration{
				Provider: openrunner.ProviderGitHub, APIBase: srv.URL + "/", Repository: "o/r", HookURL: hookURL,
				Secret: "s", Credential: openrunner.ProviderCredential{Token: "tok"},
			})
			if err != nil || created != tt.wantCreated {
				t.Fatalf("Register = %v, %v; want %v", created, err, tt.wantCreated)
			}
			if got, want := posts.Load(), map[bool]int32{true: 1, false: 0}[tt.wantCreated]; got != want {
				t.Fatalf("%d creations, want %d", got, want)
			}
			if foreign.Load() != 0 {
				t.Fatal("followed a Link to another origin")
			}
		})
	}
}

// TestUnregister_Server checks Unregister's requests against a fake API:
// every match on every page is deleted (Bitbucket's UUID escaped with its
// braces), a webhook deleted meanwhile (404, then 404 on reading it back)
// is not an error, and a failing provider is EINTERNAL.
func TestUnregister_Server(t *testing.T) {
	const hookURL = "https://openrunner.example/_openrunner/webhooks/k"
	for _, tt := range []struct {
		name        string
		provider    string
		list        func(base string, page string) (link, body string)
		deletes     map[string]int // escaped path -> DELETE status
		gets        map[string]int // escaped path -> GET status (read back)
		wantDeleted bool
		wantCode    string
	}{
		{"OK_GitHubTwoPages", openrunner.ProviderGitHub,
			func(base, page string) (string, string) {
				if page == "" {
					return `<` + base + `/repos/o/r/hooks?page=2>; rel="next"`,
						`[{"id":1,"config":{"url":"` + hookURL + `"}},{"id":2,"config":{"url":"https://elsewhere.example"}}]`
				}
				return "", `[{"id":3,"config":{"url":"` + hookURL + `"}}]`
			},
			map[string]int{"/repos/o/r/hooks/1": 204, "/repos/o/r/hooks/3": 404},
			map[string]int{"/repos/o/r/hooks/3": 404},
			true, ""},
		{"OK_GitHubAlreadyGone", openrunner.ProviderGitHub,
			func(string, string) (string, string) { return "", `[{"id":7,"config":{"url":"` + hookURL + `"}}]` },
			map[string]int{"/repos/o/r/hooks/7": 404}, map[string]int{"/repos/o/r/hooks/7": 404},
			false, ""},
		{"OK_BitbucketBraces", openrunner.ProviderBitbucket,
			func(string, string) (string, string) {
				return "", `{"values":[{"uuid":"{a-b}","url":"` + hookURL + `"},{"uuid":"{c-d}","url":"https://elsewhere.example"}]}`
			},
			map[string]int{"/repositories/o/r/hooks/%7Ba-b%7D": 204}, nil,
			true, ""},
		{"ErrGitHubUnavailable", openrunner.ProviderGitHub,
			func(string, string) (string, string) { return "", `[{"id":1,"config":{"url":"` + hookURL + `"}}]` },
			map[string]int{"/repos/o/r/hooks/1": 502}, nil,
			false, openrunner.EINTERNAL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			var deleted []string
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer tok" {
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				p := r.URL.EscapedPath()
				switch {
				case r.Method == http.MethodGet && (p == "/repos/o/r/hooks" || p == "/repositories/o/r/hooks"):
					link, body := tt.list(srv.URL, r.URL.Query().Get("page"))
					if link != "" {
						w.Header().Set("Link", link)
					}
					_, _ = w.Write([]byte(body))
				case r.Method == http.MethodDelete && tt.deletes[p] != 0:
					mu.Lock()
					deleted = append(deleted, p)
					mu.Unlock()
					w.WriteHeader(tt.deletes[p])
				case r.Method == http.MethodGet && tt.gets[p] != 0:
					w.WriteHeader(tt.gets[p])
				default:
					t.Errorf("unexpected %s %s", r.Method, p)
					w.WriteHeader(http.StatusTeapot)
				}
			}))
			defer srv.Close()
			got, err := Unregister(context.Background(), srv.Client(), Registration{
				Provider: tt.provider, APIBase: srv.URL, Repository: "o/r", HookURL: hookURL,
				Credential: openrunner.ProviderCredential{Token: "tok"},
			})
			if got != tt.wantDeleted || openrunner.ErrorCode(err) != tt.wantCode {
				t.Fatalf("Unregister = %v, %v; want %v, code %q", got, err, tt.wantDeleted, tt.wantCode)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(deleted) != len(tt.deletes) {
				t.Fatalf("deleted %v, want %d deletions", deleted, len(tt.deletes))
			}
		})
	}
}
