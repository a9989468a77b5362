package webhook

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/openrunner/openrunner"
)

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
		if got := nextLink(h); got != tt.want {
			t.Errorf("nextLink(%q) = %q, want %q", tt.link, got, tt.want)
		}
	}
}

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
