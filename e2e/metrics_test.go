package e2e_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openrunner/openrunner/daemon"
)

// scrapeMetrics GETs url/_openrunner/metrics with an optional bearer token.
func scrapeMetrics(t testing.TB, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url+"/_openrunner/metrics", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// TestMetricsAccess: the metrics answer without authentication on a
// loopback listener; elsewhere only with the token, and not at all without
// one.
func TestMetricsAccess(t *testing.T) {
	loop := daemon.New(daemon.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", RouterListen: "127.0.0.1:0", Runtime: "process"})
	if err := loop.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer loop.Close()
	if code, body := scrapeMetrics(t, loop.URL(), ""); code != 200 || !strings.Contains(body, "# HELP") && body != "" {
		t.Fatalf("loopback: %d %q", code, body)
	}

	creds := writeCredentials(t, "AKIAREAL000000000001 a-long-secret-key 123456789012")
	open := daemon.New(daemon.Config{DataDir: t.TempDir(), Listen: "0.0.0.0:0", RouterListen: "127.0.0.1:0", Runtime: "process", CredentialsFile: creds})
	if err := open.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	if code, _ := scrapeMetrics(t, open.URL(), ""); code == 200 {
		t.Fatal("metrics served on every interface without a token")
	}

	tok := daemon.New(daemon.Config{DataDir: t.TempDir(), Listen: "0.0.0.0:0", RouterListen: "127.0.0.1:0", Runtime: "process",
		CredentialsFile: creds, MetricsToken: "metrics-s3cret"})
	if err := tok.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if code, body := scrapeMetrics(t, tok.URL(), ""); code != 401 || strings.Contains(body, "metrics-s3cret") {
		t.Fatalf("no token: %d %q", code, body)
	}
	if code, _ := scrapeMetrics(t, tok.URL(), "metrics-s3cret"); code != 200 {
		t.Fatalf("with the token: %d", code)
	}
}
