package providersim

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestURLs(t *testing.T) {
	s := MustNew(t, Options{})
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL = %q, want a loopback address", s.URL())
	}
	for got, want := range map[string]string{
		s.GitHubURL():       s.URL() + "/github",
		s.GitHubAPIURL():    s.URL() + "/github-api",
		s.BitbucketURL():    s.URL() + "/bitbucket",
		s.BitbucketAPIURL(): s.URL() + "/bitbucket-api/2.0",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestAdvance(t *testing.T) {
	clock := newTestClock()
	s := MustNew(t, Options{Now: clock.Now})
	at := s.IssueBitbucketToken("octocat")
	s.Advance(2*time.Hour - time.Second)
	if got, want := s.Now(), clock.Now().Add(2*time.Hour-time.Second); !got.Equal(want) {
		t.Errorf("Now = %v, want %v", got, want)
	}
	if status, _ := bbUser(t, s, bearer(at)); status != http.StatusOK {
		t.Errorf("before expiry: status = %d", status)
	}
	s.Advance(time.Second)
	if status, _ := bbUser(t, s, bearer(at)); status != http.StatusUnauthorized {
		t.Errorf("after expiry: status = %d", status)
	}
}

// TestNeverLogsSecrets runs every flow and checks that no token, code,
// secret or state value reaches Logf or the request log.
func TestNeverLogsSecrets(t *testing.T) {
	var (
		mu   sync.Mutex
		logs []string
	)
	s := MustNew(t, Options{Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, fmt.Sprintf(format, args...))
	}})
	s.AddGitHubOAuthApp(GitHubOAuthApp{ClientID: ghClientID, ClientSecret: ghSecret, ExpiringTokens: true})
	s.AddBitbucketConsumer(BitbucketConsumer{Key: bbKey, Secret: bbSecret, CallbackURL: bbCallback})
	s.AddBitbucketAPIToken("octocat", "api-token-secret")

	verifier, challenge := pkcePair(t)
	u := mustConsent(t, s, authorizeURL(s, url.Values{"client_id": {ghClientID}, "redirect_uri": {ghCallback}, "state": {"state-value"},
		"code_challenge": {challenge}, "code_challenge_method": {"S256"}}), true, "")
	ghCode := u.Query().Get("code")
	gh := ghExchange(t, s, url.Values{"client_id": {ghClientID}, "client_secret": {ghSecret}, "code": {ghCode}, "code_verifier": {verifier}})
	ghUserLogin(t, s, bearer(gh["access_token"].(string)))
	code := bbCode(t, s)
	_, bb := bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {code}})
	bbUser(t, s, bearer(bb["access_token"].(string)))
	req, _ := http.NewRequest(http.MethodGet, s.BitbucketAPIURL()+"/user", nil)
	req.SetBasicAuth("octocat@example.com", "api-token-secret")
	doReq(t, s, req)

	secrets := []string{ghSecret, bbSecret, "api-token-secret", "state-value", verifier, challenge, ghCode, code,
		gh["access_token"].(string), gh["refresh_token"].(string), bb["access_token"].(string), bb["refresh_token"].(string)}
	var all []string
	mu.Lock()
	all = append(all, logs...)
	mu.Unlock()
	for _, r := range s.Requests() {
		all = append(all, fmt.Sprintf("%+v", r))
	}
	if len(all) == 0 {
		t.Fatal("nothing logged")
	}
	for _, line := range all {
		for _, sec := range secrets {
			if strings.Contains(line, sec) {
				t.Errorf("log line %q contains a secret", line)
			}
		}
	}
}

func TestRequests(t *testing.T) {
	s := MustNew(t, Options{})
	pat := s.IssueGitHubToken("octocat")
	ghUserLogin(t, s, bearer(pat))
	ghUserLogin(t, s, bearer("ghp_wrong"))
	got := s.Requests()
	if len(got) != 2 {
		t.Fatalf("len(Requests) = %d, want 2", len(got))
	}
	ok, bad := got[0], got[1]
	if ok.Provider != "github" || ok.Method != "GET" || ok.Path != "/github-api/user" || ok.Auth != "bearer" || !ok.Authenticated || ok.Principal != "octocat" || ok.Status != 200 {
		t.Errorf("first = %+v", ok)
	}
	if bad.Authenticated || bad.Status != 401 || bad.Principal != "" {
		t.Errorf("second = %+v", bad)
	}
	s.ResetRequests()
	if n := len(s.Requests()); n != 0 {
		t.Errorf("after reset: %d requests", n)
	}
}

func TestRequestParamsNamesOnly(t *testing.T) {
	s := MustNew(t, Options{})
	s.AddGitHubOAuthApp(GitHubOAuthApp{ClientID: ghClientID, ClientSecret: ghSecret})
	ghExchange(t, s, url.Values{"client_id": {ghClientID}, "client_secret": {ghSecret}, "code": {"x"}})
	r := s.Requests()[0]
	if got, want := strings.Join(r.Params, ","), "client_id,client_secret,code"; got != want {
		t.Errorf("Params = %q, want %q", got, want)
	}
	if !r.Authenticated || r.Principal != "client:"+ghClientID {
		t.Errorf("request = %+v", r)
	}
}

// TestConcurrent drives the flows from many goroutines (meaningful under
// -race).
func TestConcurrent(t *testing.T) {
	s := MustNew(t, Options{})
	s.AddGitHubOAuthApp(GitHubOAuthApp{ClientID: ghClientID, ClientSecret: ghSecret, ExpiringTokens: true})
	s.AddBitbucketConsumer(BitbucketConsumer{Key: bbKey, Secret: bbSecret, CallbackURL: bbCallback})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			login := fmt.Sprintf("user%d", i)
			s.AddUser(login)
			u, err := s.Consent(authorizeURL(s, url.Values{"client_id": {ghClientID}, "redirect_uri": {ghCallback}}), true, login)
			if err != nil {
				t.Error(err)
				return
			}
			status, _, body := postForm(t, s, s.GitHubURL()+"/login/oauth/access_token",
				url.Values{"client_id": {ghClientID}, "client_secret": {ghSecret}, "code": {u.Query().Get("code")}},
				map[string]string{"Accept": "application/json"})
			if status != 200 {
				t.Errorf("status = %d", status)
				return
			}
			tok := decode(t, body)["access_token"].(string)
			if _, got := ghUserLogin(t, s, bearer(tok)); got != login {
				t.Errorf("login = %q, want %q", got, login)
			}
			bb := s.IssueBitbucketToken(login)
			bbUser(t, s, bearer(bb))
			s.RevokeToken(bb)
			s.Advance(0)
			_ = s.Requests()
		}()
	}
	wg.Wait()
}

func TestSignIn(t *testing.T) {
	s := MustNew(t, Options{})
	s.AddUser("hubot")
	s.SignIn("hubot")
	s.AddBitbucketConsumer(BitbucketConsumer{Key: bbKey, Secret: bbSecret, CallbackURL: bbCallback})
	_, tok := bbToken(t, s, url.Values{"grant_type": {"authorization_code"}, "code": {bbCode(t, s)}})
	if _, u := bbUser(t, s, bearer(tok["access_token"].(string))); u["username"] != "hubot" {
		t.Errorf("username = %v, want hubot", u["username"])
	}
}
