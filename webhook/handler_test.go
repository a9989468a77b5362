package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// The test vector of GitHub's "Validating webhook deliveries".
const (
	vectorSecret    = "It's a Secret to Everybody"
	vectorPayload   = "Hello, World!"
	vectorSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func TestSignature(t *testing.T) {
	if got, want := Signature([]byte(vectorSecret), []byte(vectorPayload)), vectorSignature; got != want {
		t.Fatalf("Signature = %s, want %s", got, want)
	}
}

func TestVerifySignature(t *testing.T) {
	for _, tt := range []struct {
		name, secret, body, header string
		want                       bool
	}{
		{"OK", vectorSecret, vectorPayload, vectorSignature, true},
		{"OK_UpperHex", vectorSecret, vectorPayload, "sha256=" + strings.ToUpper(strings.TrimPrefix(vectorSignature, "sha256=")), true},
		{"ErrWrongSecret", "It's a secret to everybody", vectorPayload, vectorSignature, false},
		{"ErrChangedBody", vectorSecret, "Hello, World?", vectorSignature, false},
		{"ErrNoHeader", vectorSecret, vectorPayload, "", false},
		{"ErrNoPrefix", vectorSecret, vectorPayload, strings.TrimPrefix(vectorSignature, "sha256="), false},
		{"ErrSHA1Prefix", vectorSecret, vectorPayload, "sha1=" + strings.TrimPrefix(vectorSignature, "sha256="), false},
		{"ErrTruncated", vectorSecret, vectorPayload, vectorSignature[:len(vectorSignature)-2], false},
		{"ErrNotHex", vectorSecret, vectorPayload, vectorSignature[:len(vectorSignature)-2] + "zz", false},
		{"ErrTrailingGarbage", vectorSecret, vectorPayload, vectorSignature + "00", false},
		{"ErrEmptySecret", "", vectorPayload, Signature(nil, []byte(vectorPayload)), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifySignature([]byte(tt.secret), []byte(tt.body), tt.header); got != tt.want {
				t.Fatalf("VerifySignature = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	for _, tt := range []struct{ base, provider, key, want string }{
		{"https://or.example/_openrunner/webhooks/", "github", "123456789012/us-east-1/my-conn/0123abcd",
			"https://or.example/_openrunner/webhooks/github/123456789012/us-east-1/my-conn/0123abcd"},
		{"https://or.example/_openrunner/webhooks", "bitbucket", "k", "https://or.example/_openrunner/webhooks/bitbucket/k"},
		{"http://127.0.0.1:1/hooks/", "github", "a b/c%d?e#f", "http://127.0.0.1:1/hooks/github/a%20b/c%25d%3Fe%23f"},
	} {
		if got := URL(tt.base, tt.provider, tt.key); got != tt.want {
			t.Errorf("URL(%q, %q, %q) = %s, want %s", tt.base, tt.provider, tt.key, got, tt.want)
		}
	}
}

// TestURL_RoundTrip checks that a key reaches Resolve unchanged through
// http.StripPrefix, the way the daemon mounts the Handler.
func TestURL_RoundTrip(t *testing.T) {
	keys := make(chan string, 1)
	h := &Handler{
		Resolve: func(_ context.Context, key string) ([]byte, error) {
			keys <- key
			return nil, openrunner.Errorf(openrunner.ENOTFOUND, "no")
		},
		Deliver: func(context.Context, string, Push) error { return nil },
	}
	mux := http.NewServeMux()
	mux.Handle("/_openrunner/webhooks/", http.StripPrefix("/_openrunner/webhooks/", h))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	const key = "123456789012/us-east-1/my conn/0123?abcd"
	resp, err := http.Post(URL(srv.URL+"/_openrunner/webhooks/", GitHub, key), "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusNotFound; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
	if got := <-keys; got != key {
		t.Fatalf("Resolve got key %q, want %q", got, key)
	}
}

// testHandler is a Handler with one known key ("k", secret testSecret)
// that records what it delivers.
type testHandler struct {
	*Handler
	mu      sync.Mutex
	pushes  []Push
	fail    error
	logs    bytes.Buffer
	logsMu  sync.Mutex
	resolve error
}

const testSecret = "s3cr3t-webhook-value"

func newTestHandler() *testHandler {
	th := &testHandler{}
	th.Handler = &Handler{
		Resolve: func(_ context.Context, key string) ([]byte, error) {
			th.mu.Lock()
			defer th.mu.Unlock()
			if th.resolve != nil {
				return nil, th.resolve
			}
			if key != "k" && key != "a/b/c" {
				return nil, openrunner.Errorf(openrunner.ENOTFOUND, "no webhook %s", key)
			}
			return []byte(testSecret), nil
		},
		Deliver: func(_ context.Context, key string, p Push) error {
			th.mu.Lock()
			defer th.mu.Unlock()
			if th.fail != nil {
				return th.fail
			}
			th.pushes = append(th.pushes, p)
			return nil
		},
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&th.logsMu, &th.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	return th
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (th *testHandler) delivered() []Push {
	th.mu.Lock()
	defer th.mu.Unlock()
	return append([]Push(nil), th.pushes...)
}

// req is a delivery for ServeHTTP.
type req struct {
	method, path string
	header       map[string]string
	body         string
	chunked      bool // send without Content-Length
}

func (th *testHandler) do(t *testing.T, r req) *httptest.ResponseRecorder {
	t.Helper()
	if r.method == "" {
		r.method = http.MethodPost
	}
	var body io.Reader = strings.NewReader(r.body)
	if r.chunked {
		body = io.MultiReader(body) // hides the length from NewRequest
	}
	hr := httptest.NewRequest(r.method, "/"+r.path, body)
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	th.ServeHTTP(w, hr)
	return w
}

func ghHeaders(event, id, body string) map[string]string {
	return map[string]string{
		"Content-Type": "application/json", "X-GitHub-Event": event, "X-GitHub-Delivery": id,
		"X-Hub-Signature-256": Signature([]byte(testSecret), []byte(body)),
	}
}

func bbHeaders(id, body string) map[string]string {
	return map[string]string{
		"Content-Type": "application/json", "X-Event-Key": "repo:push", "X-Request-UUID": id,
		"X-Hub-Signature": Signature([]byte(testSecret), []byte(body)),
	}
}

func TestHandler(t *testing.T) {
	push := ghPushJSON("refs/heads/main", sha1a, sha1b, ``, `{"added":["x"]}`)
	form := "payload=" + url.QueryEscape(push)
	bbPush := bbPushJSON(`{"old":` + bbRefJSON("branch", "main", sha1a) + `,"new":` + bbRefJSON("branch", "main", sha1b) + `}`)
	withHeader := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{}
		for a, b := range h {
			out[a] = b
		}
		if v == "" {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	for _, tt := range []struct {
		name       string
		req        req
		wantStatus int
		wantBranch string // "" when nothing is delivered
	}{
		{"OK_GitHubPush", req{path: "github/k", header: ghHeaders("push", "d1", push), body: push}, 200, "main"},
		{"OK_KeyWithSlashes", req{path: "github/a/b/c", header: ghHeaders("push", "d1", push), body: push}, 200, "main"},
		{"OK_GitHubForm", req{path: "github/k", header: withHeader(ghHeaders("push", "d1", form), "Content-Type", "application/x-www-form-urlencoded"), body: form}, 200, "main"},
		{"OK_BitbucketPush", req{path: "bitbucket/k", header: bbHeaders("d1", bbPush), body: bbPush}, 200, "main"},
		{"OK_NoDeliveryID", req{path: "github/k", header: withHeader(ghHeaders("push", "", push), "X-GitHub-Delivery", ""), body: push}, 200, "main"},
		{"OK_Ping", req{path: "github/k", header: ghHeaders("ping", "d1", `{"zen":"x"}`), body: `{"zen":"x"}`}, 200, ""},
		{"IgnoredEvent", req{path: "github/k", header: ghHeaders("issues", "d1", `{}`), body: `{}`}, 202, ""},
		{"IgnoredBitbucketEvent", req{path: "bitbucket/k", header: withHeader(bbHeaders("d1", `{}`), "X-Event-Key", "repo:fork"), body: `{}`}, 202, ""},
		{"IgnoredTag", req{path: "github/k", header: ghHeaders("push", "d1", ghPushJSON("refs/tags/v1", zero, sha1b, ``, ``)), body: ghPushJSON("refs/tags/v1", zero, sha1b, ``, ``)}, 202, ""},
		{"ErrMethod", req{method: http.MethodGet, path: "github/k"}, 405, ""},
		{"ErrUnknownProvider", req{path: "gitlab/k", header: ghHeaders("push", "d1", push), body: push}, 404, ""},
		{"ErrNoKey", req{path: "github/", header: ghHeaders("push", "d1", push), body: push}, 404, ""},
		{"ErrUnknownKey", req{path: "github/nope", header: ghHeaders("push", "d1", push), body: push}, 404, ""},
		{"ErrUnsigned", req{path: "github/k", header: withHeader(ghHeaders("push", "d1", push), "X-Hub-Signature-256", ""), body: push}, 401, ""},
		{"ErrBadSignature", req{path: "github/k", header: withHeader(ghHeaders("push", "d1", push), "X-Hub-Signature-256", Signature([]byte("other"), []byte(push))), body: push}, 401, ""},
		{"ErrSHA1Only", req{path: "github/k", header: withHeader(withHeader(ghHeaders("push", "d1", push), "X-Hub-Signature-256", ""), "X-Hub-Signature", "sha1=0123"), body: push}, 401, ""},
		{"ErrBitbucketUnsigned", req{path: "bitbucket/k", header: withHeader(bbHeaders("d1", bbPush), "X-Hub-Signature", ""), body: bbPush}, 401, ""},
		{"ErrBitbucketGitHubHeader", req{path: "bitbucket/k", header: withHeader(withHeader(bbHeaders("d1", bbPush), "X-Hub-Signature", ""), "X-Hub-Signature-256", Signature([]byte(testSecret), []byte(bbPush))), body: bbPush}, 401, ""},
		{"ErrMalformed", req{path: "github/k", header: ghHeaders("push", "d1", `{"ref":`), body: `{"ref":`}, 400, ""},
		{"ErrFormWithoutPayload", req{path: "github/k", header: withHeader(ghHeaders("push", "d1", "a=b"), "Content-Type", "application/x-www-form-urlencoded"), body: "a=b"}, 400, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHandler()
			w := th.do(t, tt.req)
			if got := w.Code; got != tt.wantStatus {
				t.Fatalf("status = %d (%s), want %d", got, w.Body, tt.wantStatus)
			}
			if got := w.Header().Get("Content-Type"); got != "text/plain; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if tt.wantStatus == 405 && w.Header().Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", w.Header().Get("Allow"))
			}
			pushes := th.delivered()
			if tt.wantBranch == "" {
				if len(pushes) != 0 {
					t.Fatalf("delivered %+v, want nothing", pushes)
				}
				return
			}
			if len(pushes) != 1 || pushes[0].Branch != tt.wantBranch || pushes[0].After != sha1b || pushes[0].Before != sha1a {
				t.Fatalf("delivered %+v, want one push to %s %s..%s", pushes, tt.wantBranch, sha1a, sha1b)
			}
			if got, want := pushes[0].DeliveryID, tt.req.header[map[bool]string{true: "X-Request-UUID", false: "X-GitHub-Delivery"}[strings.HasPrefix(tt.req.path, "bitbucket")]]; got != want {
				t.Fatalf("DeliveryID = %q, want %q", got, want)
			}
		})
	}
}

func TestHandler_MaxBody(t *testing.T) {
	big := ghPushJSON("refs/heads/main", sha1a, sha1b, `"pad":"`+strings.Repeat("x", 2000)+`",`, ``)
	for _, tt := range []struct {
		name    string
		max     int64
		chunked bool
		want    int
	}{
		{"OK_UnderLimit", 4096, false, 200},
		{"OK_DefaultLimit", 0, false, 200},
		{"ErrContentLength", 1024, false, 413},
		{"ErrChunked", 1024, true, 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			th := newTestHandler()
			th.MaxBody = tt.max
			w := th.do(t, req{path: "github/k", header: ghHeaders("push", "d1", big), body: big, chunked: tt.chunked})
			if w.Code != tt.want {
				t.Fatalf("status = %d (%s), want %d", w.Code, w.Body, tt.want)
			}
			if n := len(th.delivered()); (n == 1) != (tt.want == 200) {
				t.Fatalf("delivered %d pushes", n)
			}
		})
	}
}

func TestHandler_DefaultMaxBody(t *testing.T) {
	th := newTestHandler()
	hr := httptest.NewRequest(http.MethodPost, "/github/k", strings.NewReader("{}"))
	hr.ContentLength = DefaultMaxBody + 1
	w := httptest.NewRecorder()
	th.ServeHTTP(w, hr)
	if got, want := w.Code, http.StatusRequestEntityTooLarge; got != want {
		t.Fatalf("status = %d, want %d", got, want)
	}
}

func TestHandler_Redelivery(t *testing.T) {
	th := newTestHandler()
	push := ghPushJSON("refs/heads/main", sha1a, sha1b, ``, `{"added":["x"]}`)
	r := req{path: "github/k", header: ghHeaders("push", "72d3162e-cc78-11e3-81ab-4c9367dc0958", push), body: push}
	if w := th.do(t, r); w.Code != 200 {
		t.Fatalf("first delivery: %d %s", w.Code, w.Body)
	}
	w := th.do(t, r)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "Already delivered") {
		t.Fatalf("redelivery: %d %s, want 200 Already delivered", w.Code, w.Body)
	}
	if n := len(th.delivered()); n != 1 {
		t.Fatalf("Deliver called %d times, want 1", n)
	}
	// The same ID for another key is another delivery.
	r.path = "github/a/b/c"
	if w := th.do(t, r); w.Code != 200 || len(th.delivered()) != 2 {
		t.Fatalf("other key: %d, %d pushes", w.Code, len(th.delivered()))
	}
}

func TestHandler_DeliverFails(t *testing.T) {
	th := newTestHandler()
	th.fail = errors.New("database is locked: /var/lib/openrunner/db")
	bb := bbPushJSON(`{"new":`+bbRefJSON("branch", "a", sha1a)+`}`, `{"new":`+bbRefJSON("branch", "b", sha1b)+`}`)
	r := req{path: "bitbucket/k", header: bbHeaders("{f00}", bb), body: bb}
	w := th.do(t, r)
	if w.Code != 500 || strings.Contains(w.Body.String(), "database") {
		t.Fatalf("status %d body %q, want 500 without internals", w.Code, w.Body)
	}
	if !strings.Contains(th.logs.String(), "database is locked") {
		t.Fatalf("the cause was not logged: %s", th.logs.String())
	}
	// A redelivery is tried again, and delivers every change.
	th.mu.Lock()
	th.fail = nil
	th.mu.Unlock()
	if w := th.do(t, r); w.Code != 200 {
		t.Fatalf("redelivery after failure: %d", w.Code)
	}
	if got := th.delivered(); len(got) != 2 || got[0].Branch != "a" || got[1].Branch != "b" || got[1].DeliveryID != "{f00}" {
		t.Fatalf("delivered %+v", got)
	}
}

func TestHandler_ResolveFails(t *testing.T) {
	th := newTestHandler()
	th.resolve = fmt.Errorf("open vault: permission denied")
	push := ghPushJSON("refs/heads/main", sha1a, sha1b, ``, ``)
	w := th.do(t, req{path: "github/k", header: ghHeaders("push", "d", push), body: push})
	if w.Code != 500 || strings.Contains(w.Body.String(), "vault") {
		t.Fatalf("status %d body %q, want 500 without internals", w.Code, w.Body)
	}
}

func TestHandler_EmptySecret(t *testing.T) {
	h := &Handler{
		Resolve: func(context.Context, string) ([]byte, error) { return nil, nil },
		Deliver: func(context.Context, string, Push) error { t.Error("Deliver called"); return nil },
	}
	push := ghPushJSON("refs/heads/main", sha1a, sha1b, ``, ``)
	hr := httptest.NewRequest(http.MethodPost, "/github/k", strings.NewReader(push))
	hr.Header.Set("X-GitHub-Event", "push")
	hr.Header.Set("X-Hub-Signature-256", Signature(nil, []byte(push)))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, hr)
	if w.Code != http.StatusUnauthorized {
		t.Fatalf("status = %d, want 401", w.Code)
	}
}

// TestHandler_ConcurrentRedelivery sends the same delivery twice while the
// first is still being delivered: Deliver runs once and both get 200.
func TestHandler_ConcurrentRedelivery(t *testing.T) {
	th := newTestHandler()
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	var calls int
	var mu sync.Mutex
	th.Deliver = func(context.Context, string, Push) error {
		mu.Lock()
		calls++
		mu.Unlock()
		started <- struct{}{}
		<-release
		return nil
	}
	push := ghPushJSON("refs/heads/main", sha1a, sha1b, ``, ``)
	r := req{path: "github/k", header: ghHeaders("push", "same", push), body: push}
	codes := make(chan int, 2)
	go func() { codes <- th.do(t, r).Code }()
	<-started
	go func() { codes <- th.do(t, r).Code }()
	time.Sleep(20 * time.Millisecond) // let the second request reach the wait
	close(release)
	for range 2 {
		if c := <-codes; c != 200 {
			t.Fatalf("status = %d, want 200", c)
		}
	}
	if calls != 1 {
		t.Fatalf("Deliver called %d times, want 1", calls)
	}
}

func TestHandler_LogsNoSecrets(t *testing.T) {
	th := newTestHandler()
	push := ghPushJSON("refs/heads/main", sha1a, sha1b, ``, `{"added":["x"]}`)
	hdr := ghHeaders("push", "d1", push)
	th.do(t, req{path: "github/k", header: hdr, body: push})
	bad := map[string]string{}
	for k, v := range hdr {
		bad[k] = v
	}
	bad["X-Hub-Signature-256"] = Signature([]byte("guess"), []byte(push))
	th.do(t, req{path: "github/k", header: bad, body: push})
	logs := th.logs.String()
	for _, s := range []string{testSecret, strings.TrimPrefix(hdr["X-Hub-Signature-256"], "sha256="), strings.TrimPrefix(bad["X-Hub-Signature-256"], "sha256=")} {
		if strings.Contains(logs, s) {
			t.Fatalf("logs contain a secret or signature %q:\n%s", s, logs)
		}
	}
	if !strings.Contains(logs, "status=401") || !strings.Contains(logs, "branch=main") {
		t.Fatalf("logs miss the deliveries:\n%s", logs)
	}
}

func TestDeliveryLog_Bounded(t *testing.T) {
	var l deliveryLog
	first, _ := l.claim("first")
	l.finish("first", first, true)
	if _, mine := l.claim("first"); mine {
		t.Fatal("a delivered ID was forgotten at once")
	}
	for i := range rememberDeliveries {
		e, mine := l.claim(fmt.Sprint(i))
		if !mine {
			t.Fatalf("claim %d: not new", i)
		}
		l.finish(fmt.Sprint(i), e, true)
	}
	if _, mine := l.claim("first"); !mine {
		t.Fatal("the oldest ID is still remembered after 1024 newer ones")
	}
	if got := len(l.entries); got > rememberDeliveries {
		t.Fatalf("%d entries remembered, want at most %d", got, rememberDeliveries)
	}
}

// TestHandler_DeliverPanics checks that a panicking Deliver does not leave
// its delivery in flight: a redelivery is delivered.
func TestHandler_DeliverPanics(t *testing.T) {
	th := newTestHandler()
	deliver := th.Deliver
	th.Deliver = func(context.Context, string, Push) error { panic("boom") }
	push := ghPushJSON("refs/heads/main", sha1a, sha1b, ``, ``)
	r := req{path: "github/k", header: ghHeaders("push", "p1", push), body: push}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("no panic")
			}
		}()
		th.do(t, r)
	}()
	th.Deliver = deliver
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	hr := httptest.NewRequestWithContext(ctx, http.MethodPost, "/github/k", strings.NewReader(push))
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	th.ServeHTTP(w, hr)
	if w.Code != 200 || len(th.delivered()) != 1 {
		t.Fatalf("redelivery after a panic: %d, %d pushes", w.Code, len(th.delivered()))
	}
}
