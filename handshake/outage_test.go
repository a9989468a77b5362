package handshake_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// outage is an http.RoundTripper in front of the simulator that answers
// for the provider when fail says so, as an unwell provider would.
type outage struct {
	fail func(*http.Request) *http.Response
}

func (o outage) RoundTrip(r *http.Request) (*http.Response, error) {
	if resp := o.fail(r); resp != nil {
		resp.Request = r
		return resp, nil
	}
	return http.DefaultTransport.RoundTrip(r)
}

// answer builds a provider answer.
func answer(status int, hdr http.Header, body string) *http.Response {
	if hdr == nil {
		hdr = http.Header{}
	}
	hdr.Set("Content-Type", "application/json")
	return &http.Response{StatusCode: status, Header: hdr, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}
}

// TestProviderTrouble checks that answers which say nothing about the
// credential (server errors, rate limits, OpenRunner's own client
// credentials refused) never set a connection to ERROR nor drop its
// credential.
func TestProviderTrouble(t *testing.T) {
	t.Run("ExchangeServerError", func(t *testing.T) {
		e := newEnv(t, options{})
		cfg := e.config()
		cfg.HTTPClient = &http.Client{Transport: outage{func(r *http.Request) *http.Response {
			if strings.HasSuffix(r.URL.Path, "/login/oauth/access_token") {
				return answer(http.StatusBadGateway, nil, `{"message":"Server Error"}`)
			}
			return nil
		}}}
		e.svc = e.newService(cfg)
		c := e.create(openrunner.ProviderGitHub, "gh")
		got, err := e.finish("s", e.browse(e.begin(c.ARN(), "s"), true))
		wantCode(t, err, openrunner.EINTERNAL)
		if got != nil || !strings.Contains(openrunner.ErrorMessage(err), "GitHub at "+e.sim.GitHubURL()+" is unavailable (HTTP 502)") {
			t.Fatalf("got %v, %q", got, openrunner.ErrorMessage(err))
		}
		e.wantUnchanged(c.ARN())
	})

	t.Run("VerifyRateLimited", func(t *testing.T) {
		e := newEnv(t, options{})
		c := e.create(openrunner.ProviderGitHub, "gh")
		e.handshake(c)
		cfg := e.config()
		cfg.HTTPClient = &http.Client{Transport: outage{func(r *http.Request) *http.Response {
			if r.URL.Path == "/github-api/user" {
				return answer(http.StatusForbidden, http.Header{"X-Ratelimit-Remaining": {"0"}}, `{"message":"API rate limit exceeded"}`)
			}
			return nil
		}}}
		e.svc = e.newService(cfg)
		wantCode(t, e.svc.Verify(ctxA(), c.ARN()), openrunner.EINTERNAL)
		if got := e.conn(c.ARN()); got.Status != openrunner.ConnectionAvailable {
			t.Fatalf("status %s %q", got.Status, got.StatusMessage)
		}
		if _, ok := e.stored(c.ARN()); !ok {
			t.Fatal("credential dropped")
		}
	})

	t.Run("RefreshWithWrongClientSecret", func(t *testing.T) {
		for _, provider := range []string{openrunner.ProviderGitHub, openrunner.ProviderBitbucket} {
			t.Run(provider, func(t *testing.T) {
				e := newEnv(t, options{})
				c := e.create(provider, "conn")
				e.handshake(c)
				before, _ := e.stored(c.ARN())
				cfg := e.config()
				cfg.GitHub.ClientSecret, cfg.Bitbucket.ClientSecret = "mistyped-gh-secret", "mistyped-bb-secret"
				e.addSecret("mistyped-gh-secret", "mistyped-bb-secret")
				e.svc = e.newService(cfg)
				e.clock.Advance(9 * time.Hour)

				_, err := e.accessToken(c.ARN())
				wantCode(t, err, openrunner.EINTERNAL)
				if msg := openrunner.ErrorMessage(err); !strings.Contains(msg, "does not accept OpenRunner's OAuth client credentials") {
					t.Fatalf("message %q", msg)
				}
				if got := e.conn(c.ARN()); got.Status != openrunner.ConnectionAvailable {
					t.Fatalf("status %s %q", got.Status, got.StatusMessage)
				}
				// With the right secret again, the kept refresh token works.
				e.svc = e.newService(e.config())
				if _, err := e.accessToken(c.ARN()); err != nil {
					t.Fatal(err)
				}
				if after, _ := e.stored(c.ARN()); after.RefreshToken == before.RefreshToken {
					t.Fatal("not refreshed")
				}
			})
		}
	})
}
