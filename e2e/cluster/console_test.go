package cluster_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/console"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/internal/testutil"
)

const (
	consoleKeyID  = "AKIACLUSTERCONSOLE01"
	consoleSecret = "clusterConsoleSecretAccessKey00000000000"
)

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// TestConsoleAndOAuthOnAnyServer: a person signs in to the console on one
// server, keeps working on another, starts a GitHub OAuth handshake there,
// and the provider's redirect reaches a third (the public URL, as a load
// balancer would send it): the handshake completes, and the connection is
// AVAILABLE for every server.
func TestConsoleAndOAuthOnAnyServer(t *testing.T) {
	sim := providersim.New(providersim.Options{})
	t.Cleanup(sim.Close)
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte(consoleKeyID+" "+consoleSecret+" 111122223333\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var public string
	cl := newClusterWith(t, 3, func(servers []*server) []string {
		public = "http://" + servers[2].api
		sim.AddGitHubOAuthApp(providersim.GitHubOAuthApp{ClientID: "Ov23liClusterE2E", ClientSecret: "gh-cluster-secret",
			Name: "OpenRunner (cluster)", CallbackURLs: []string{public + console.PathCallback}})
		return []string{"--credentials-file", creds, "--public-url", public,
			"--github-client-id", "Ov23liClusterE2E", "--github-client-secret", "gh-cluster-secret", "--github-url", sim.GitHubURL(), "--github-api-url", sim.GitHubAPIURL()}
	})
	for _, s := range cl.servers {
		s.client = testutil.Client("http://"+s.api, testutil.ClientOptions{AccessKeyID: consoleKeyID, SecretAccessKey: consoleSecret})
	}
	conn, err := cl.servers[0].client.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String("oauth-conn"), ProviderType: types.ProviderTypeGithub})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(conn.Connection.ConnectionArn)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	// Sign in on server 0.
	page := fetch(t, browser, http.MethodGet, "http://"+cl.servers[0].api+"/console/signin", nil)
	resp := post(t, browser, "http://"+cl.servers[0].api+"/console/signin", url.Values{"csrf_token": {token(t, page)}, "next": {"/console/"},
		"access_key_id": {consoleKeyID}, "secret_access_key": {consoleSecret}})
	if !strings.Contains(resp, "oauth-conn") {
		t.Fatalf("after sign-in on server 0:\n%s", resp)
	}
	// The session holds on server 1, which starts the handshake.
	page = fetch(t, browser, http.MethodGet, "http://"+cl.servers[1].api+"/console/connections", nil)
	if !strings.Contains(page, "oauth-conn") {
		t.Fatalf("server 1 does not know the session:\n%s", page)
	}
	consent := post(t, browser, "http://"+cl.servers[1].api+"/console/connections/handshake", url.Values{"csrf_token": {token(t, page)}, "arn": {arn}})
	m := regexp.MustCompile(`name="request_id" value="([^"]+)"`).FindStringSubmatch(consent)
	if m == nil {
		t.Fatalf("no consent page:\n%s", consent)
	}
	// Approving redirects to the public URL: server 2 finishes.
	done := post(t, browser, sim.GitHubURL()+"/login/oauth/authorize", url.Values{"request_id": {m[1]}, "decision": {"approve"}})
	if !strings.Contains(done, "oauth-conn") {
		t.Fatalf("after the callback:\n%s", done)
	}
	for _, s := range cl.servers {
		out, err := s.client.ListConnections(ctx, &apprunner.ListConnectionsInput{ConnectionName: aws.String("oauth-conn")})
		if err != nil || len(out.ConnectionSummaryList) != 1 || out.ConnectionSummaryList[0].Status != types.ConnectionStatusAvailable {
			t.Fatalf("server %d: %+v, %v", s.i, out, err)
		}
	}
}

func token(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf_token in:\n%s", page)
	}
	return m[1]
}

func post(t *testing.T, c *http.Client, u string, form url.Values) string {
	t.Helper()
	return fetch(t, c, http.MethodPost, u, form)
}

// fetch sends a request as a browser would (following redirects, keeping
// cookies) and returns the final page.
func fetch(t *testing.T, c *http.Client, method, u string, form url.Values) string {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s\n%s", method, u, resp.Status, b)
	}
	return string(b)
}
