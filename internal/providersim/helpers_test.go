package providersim

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// testClock is a settable clock for Options.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 9, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// MustNew starts a simulator that is closed when the test ends.
func MustNew(tb testing.TB, opts Options) *Sim {
	tb.Helper()
	s := New(opts)
	tb.Cleanup(s.Close)
	return s
}

// pkcePair returns a code_verifier and its S256 code_challenge.
func pkcePair(tb testing.TB) (verifier, challenge string) {
	tb.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

var (
	keyOnce  sync.Once
	testKeys [2]*rsa.PrivateKey
)

// rsaKey returns one of two RSA keys shared by the tests (generating keys
// is slow).
func rsaKey(tb testing.TB, i int) *rsa.PrivateKey {
	tb.Helper()
	keyOnce.Do(func() {
		for j := range testKeys {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			testKeys[j] = k
		}
	})
	return testKeys[i]
}

// signJWT builds an RS256 JWT with the given claims.
func signJWT(tb testing.TB, key *rsa.PrivateKey, claims map[string]any) string {
	tb.Helper()
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT"}`))
	body, err := json.Marshal(claims)
	if err != nil {
		tb.Fatal(err)
	}
	signed := hdr + "." + base64.RawURLEncoding.EncodeToString(body)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		tb.Fatal(err)
	}
	return signed + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// appJWT is a JWT as GitHub's docs build it: iat 60 s in the past, exp
// 9 minutes ahead.
func appJWT(tb testing.TB, key *rsa.PrivateKey, iss any, now time.Time) string {
	tb.Helper()
	return signJWT(tb, key, map[string]any{
		"iat": now.Add(-60 * time.Second).Unix(),
		"exp": now.Add(9 * time.Minute).Unix(),
		"iss": iss,
	})
}

// do sends a request with the simulator's non-redirecting client and
// returns the status, headers and body.
func do(tb testing.TB, s *Sim, method, rawURL string, body io.Reader, hdr map[string]string) (int, http.Header, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, rawURL, body)
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// postForm POSTs form values with extra headers.
func postForm(tb testing.TB, s *Sim, rawURL string, form url.Values, hdr map[string]string) (int, http.Header, []byte) {
	tb.Helper()
	h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
	for k, v := range hdr {
		h[k] = v
	}
	return do(tb, s, http.MethodPost, rawURL, strings.NewReader(form.Encode()), h)
}

// decode unmarshals a JSON body into a map.
func decode(tb testing.TB, b []byte) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("body is not a JSON object: %v: %s", err, b)
	}
	return m
}

// mustConsent answers a consent page and returns the redirect.
func mustConsent(tb testing.TB, s *Sim, pageURL string, approve bool, login string) *url.URL {
	tb.Helper()
	u, err := s.Consent(pageURL, approve, login)
	if err != nil {
		tb.Fatal(err)
	}
	if u == nil {
		tb.Fatal("consent answered with a page, want a redirect")
	}
	return u
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }
