package e2e_test

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/chromedp/chromedp"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/console"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/handshake"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/internal/testutil"
	"github.com/openrunner/openrunner/wire"
)

// Console credentials of the in-test server.
const (
	consoleKeyID   = "AKIACONSOLEE2ETEST01"
	consoleSecret  = "consoleE2eSecretAccessKey0000000000000000"
	consoleAccount = "111122223333"
	consoleRegion  = "us-east-1"
)

// consoleServer is a whole OpenRunner server (daemon) whose console and
// handshakes talk to the provider simulator; API is an AWS SDK client of the
// same account, to check that what the console did shows up for every
// client.
type consoleServer struct {
	URL string
	API *apprunner.Client
	Sim *providersim.Sim
	D   *daemon.Daemon
}

func startConsoleServer(t *testing.T) *consoleServer { return startConsoleServerWith(t, nil) }

// startConsoleServerWith is startConsoleServer with more of the daemon's
// configuration set by configure.
func startConsoleServerWith(t *testing.T, configure func(*daemon.Config)) *consoleServer {
	t.Helper()
	sim := providersim.New(providersim.Options{})
	t.Cleanup(sim.Close)

	// The OAuth callback must be known before the server starts: pick the
	// port first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	callback := base + console.PathCallback

	sim.AddGitHubOAuthApp(providersim.GitHubOAuthApp{
		ClientID: "Ov23liConsoleE2E", ClientSecret: "gh-console-secret", Name: "OpenRunner (e2e)",
		CallbackURLs: []string{callback},
	})
	sim.AddBitbucketConsumer(providersim.BitbucketConsumer{
		Key: "bbConsoleE2EKey", Secret: "bb-console-secret", Name: "OpenRunner (e2e)", CallbackURL: callback,
	})
	cfg := daemon.Config{
		Listen:          addr,
		PublicURL:       base,
		CredentialsFile: writeCredentials(t, consoleKeyID+" "+consoleSecret+" "+consoleAccount),
		GitHub: handshake.GitHubConfig{
			ClientID: "Ov23liConsoleE2E", ClientSecret: "gh-console-secret",
			URL: sim.GitHubURL(), APIURL: sim.GitHubAPIURL(),
		},
		Bitbucket: handshake.BitbucketConfig{
			ClientID: "bbConsoleE2EKey", ClientSecret: "bb-console-secret",
			URL: sim.BitbucketURL(), APIURL: sim.BitbucketAPIURL(),
		},
	}
	if configure != nil {
		configure(&cfg)
	}
	d := testutil.MustRunDaemon(t, cfg)
	api := testutil.Client(d.URL(), testutil.ClientOptions{AccessKeyID: consoleKeyID, SecretAccessKey: consoleSecret, Region: consoleRegion})
	return &consoleServer{URL: base, API: api, Sim: sim, D: d}
}

// status returns the connection's status as the AWS SDK's ListConnections
// sees it.
func (s *consoleServer) status(t *testing.T, name string) string {
	t.Helper()
	out, err := s.API.ListConnections(context.Background(), &apprunner.ListConnectionsInput{ConnectionName: &name})
	if err != nil || len(out.ConnectionSummaryList) != 1 {
		t.Fatalf("ListConnections(%s): %+v, %v", name, out, err)
	}
	return string(out.ConnectionSummaryList[0].Status)
}

// chromiumPath finds Chromium, or skips the test (fails it under CI=true,
// where a missing browser must not pass silently).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium); skipping the browser tests")
	return ""
}

// artifactsDir is where screenshots go: $OPENRUNNER_ARTIFACTS/console if
// set, else a temporary directory.
func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("OPENRUNNER_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	dir = filepath.Join(dir, "console")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tab is one headless Chromium tab, shared by the subtests of a test.
type tab struct {
	ctx       context.Context
	base      string
	artifacts string
}

func newTab(t *testing.T, base string) *tab { return newTabFor(t, base, 90*time.Second) }

// newTabFor is newTab for a test that may take up to limit.
func newTabFor(t *testing.T, base string, limit time.Duration) *tab {
	t.Helper()
	exe := chromiumPath(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Services' links are https:// on the router, whose certificates
		// come from the test server's own local CA, which this browser
		// does not know: the tests verify those certificates with a Go
		// client that trusts the CA (openURL).
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 860),
	)
	ctx, cancelTab := chromedp.NewContext(actx)
	// Everything in one test, browser start included, must finish within
	// limit.
	ctx, cancelTimeout := context.WithTimeout(ctx, limit)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	// Start the browser now, so its start-up is not billed to a subtest.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return &tab{ctx: ctx, base: base, artifacts: artifactsDir(t)}
}

// step returns a context for one browser action, so that a page that
// never shows what a test waits for fails that step quickly.
func (b *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, 15*time.Second)
}

// navigate opens a console path and waits for the page.
func (b *tab) navigate(t *testing.T, url string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate %s: %v", url, err)
	}
}

// click clicks the element and waits for the page it leads to (after any
// redirects).
func (b *tab) click(t *testing.T, sel string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// fill sets the value of an input or select (which fires its input and
// change events, as typing would).
func (b *tab) fill(t *testing.T, id, value string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.SetValue(chromedp.ID(id), value)); err != nil {
		t.Fatalf("fill #%s: %v", id, err)
	}
}

// text returns the text of the first element matching sel.
func (b *tab) text(t *testing.T, sel string) string {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// location returns the current URL.
func (b *tab) location(t *testing.T) string {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// screenshot saves the whole page as name.png and logs its path.
func (b *tab) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(b.artifacts, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

// wantOn checks that the browser is on the console page path (query
// ignored).
func (b *tab) wantOn(t *testing.T, path string) {
	t.Helper()
	loc := b.location(t)
	if got, _, _ := strings.Cut(loc, "?"); got != b.base+path {
		t.Fatalf("browser is on %s, want %s%s\npage: %s", loc, b.base, path, b.text(t, "main"))
	}
}

// run runs a subtest, and stops the test when it fails: the subtests
// share one tab and build on each other.
func run(t *testing.T, name string, f func(t *testing.T)) {
	t.Helper()
	if !t.Run(name, f) {
		t.FailNow()
	}
}

func TestConsoleBrowser(t *testing.T) {
	srv := startConsoleServer(t)
	b := newTab(t, srv.URL)

	run(t, "SignIn", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/")
		b.wantOn(t, "/console/signin")
		b.screenshot(t, "01-signin")

		b.fill(t, "access_key_id", consoleKeyID)
		b.fill(t, "secret_access_key", "not-the-secret")
		b.click(t, "#sign-in")
		// The key id comes back filled in, the secret does not.
		if got, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("secret_access_key"))); err != nil || got != "" {
			t.Fatalf("secret field after a failure: %q, %v", got, err)
		}
		if got := b.text(t, "#signin-error"); !strings.Contains(got, "Those credentials were not accepted.") {
			t.Fatalf("wrong secret: %q", got)
		}
		b.screenshot(t, "02-signin-error")

		b.fill(t, "secret_access_key", consoleSecret)
		b.click(t, "#sign-in")
		b.wantOn(t, "/console/connections")
		if got := b.text(t, "#account-id"); got != consoleAccount {
			t.Fatalf("account shown: %q", got)
		}
		b.screenshot(t, "03-connections-empty")
	})

	run(t, "CreateValidation", func(t *testing.T) {
		b.fill(t, "name", "no")
		b.click(t, "#create")
		// The API's own validation and message.
		want := openrunner.ErrorMessage((&wire.CreateConnectionInput{
			ConnectionName: wire.Ptr("no"), ProviderType: wire.Ptr(wire.ProviderTypeGithub),
		}).Validate())
		if !strings.HasPrefix(want, "2 validation errors detected: Value 'no' at 'connectionName'") {
			t.Fatalf("wire validation: %q", want)
		}
		if got := b.text(t, ".flash-error"); got != want {
			t.Fatalf("validation message %q, want %q", got, want)
		}
		b.screenshot(t, "04-create-validation")
	})

	// handshake creates a connection, completes (or refuses) the
	// provider's consent in the simulator, and checks the page and the
	// store agree on the outcome.
	handshake := func(t *testing.T, name, provider string, approve bool, shot string) {
		b.navigate(t, srv.URL+"/console/connections")
		b.fill(t, "name", name)
		b.fill(t, "provider", provider)
		b.click(t, "#create")
		row := "#conn-" + name
		if got := b.text(t, row+" .badge"); got != openrunner.ConnectionPendingHandshake {
			t.Fatalf("new connection status %q", got)
		}

		if strings.HasPrefix(shot, "05-") {
			b.screenshot(t, "05-bitbucket-pending")
		}
		b.click(t, row+" button.handshake")
		if loc := b.location(t); !strings.HasPrefix(loc, srv.Sim.URL()+"/") {
			t.Fatalf("handshake went to %s, want the provider simulator", loc)
		}
		if shot != "" {
			b.screenshot(t, shot+"-consent")
		}
		button := "#deny"
		if approve {
			button = "#approve"
		}
		b.click(t, button)
		b.wantOn(t, "/console/connections")
		if shot != "" {
			b.screenshot(t, shot)
		}

		// The AWS SDK sees what the page shows, at once.
		status := srv.status(t, name)
		badge := b.text(t, row+" .badge")
		if badge != status {
			t.Fatalf("page shows %s, ListConnections says %s", badge, status)
		}
		flash := b.text(t, ".flash")
		if approve {
			if status != openrunner.ConnectionAvailable {
				t.Fatalf("status %s, want AVAILABLE", status)
			}
			if want := "Connection " + name + " is now AVAILABLE."; flash != want {
				t.Fatalf("flash %q, want %q", flash, want)
			}
			if got := b.text(t, row+" .provider-account"); !strings.Contains(got, "octocat") {
				t.Fatalf("provider account shown: %q", got)
			}
			return
		}
		reason := b.text(t, row+" .status-message")
		if status != openrunner.ConnectionError || reason == "" {
			t.Fatalf("status %s (%q), want ERROR with a reason", status, reason)
		}
		if !strings.Contains(flash, reason) || !strings.Contains(reason, "denied") {
			t.Fatalf("flash %q, reason %q", flash, reason)
		}
	}

	run(t, "BitbucketApprove", func(t *testing.T) { handshake(t, "bb-approved", "BITBUCKET", true, "05-bitbucket-available") })
	run(t, "BitbucketDeny", func(t *testing.T) { handshake(t, "bb-denied", "BITBUCKET", false, "06-bitbucket-error") })
	run(t, "GitHubApprove", func(t *testing.T) { handshake(t, "gh-approved", "GITHUB", true, "07-github-available") })
	run(t, "GitHubDeny", func(t *testing.T) { handshake(t, "gh-denied", "GITHUB", false, "08-github-error") })

	run(t, "RetryAfterError", func(t *testing.T) {
		// An ERROR connection offers the handshake again, and can succeed.
		b.click(t, "#conn-gh-denied button.handshake")
		b.click(t, "#approve")
		b.wantOn(t, "/console/connections")
		if got := b.text(t, "#conn-gh-denied .badge"); got != openrunner.ConnectionAvailable {
			t.Fatalf("after retry: %s", got)
		}
		b.screenshot(t, "09-connections")
	})

	run(t, "Delete", func(t *testing.T) {
		b.click(t, "#conn-bb-denied a.delete")
		b.wantOn(t, "/console/connections/delete")
		b.screenshot(t, "10-delete-confirm")
		b.click(t, "#confirm-delete")
		b.wantOn(t, "/console/connections")
		if got := b.text(t, ".flash"); got != "Connection bb-denied deleted." {
			t.Fatalf("flash %q", got)
		}
		name := "bb-denied"
		out, err := srv.API.ListConnections(context.Background(), &apprunner.ListConnectionsInput{ConnectionName: &name})
		if err != nil || len(out.ConnectionSummaryList) != 0 {
			t.Fatalf("ListConnections after delete: %+v, %v", out, err)
		}
	})

	run(t, "RegionSwitch", func(t *testing.T) {
		b.fill(t, "region", "eu-west-1")
		b.click(t, "#switch-region")
		b.wantOn(t, "/console/connections")
		if got := b.text(t, ".card-head h2"); !strings.HasPrefix(got, "Connections in eu-west-1") {
			t.Fatalf("heading %q", got)
		}
		if got := b.text(t, ".empty"); !strings.Contains(got, "No connections yet.") {
			t.Fatalf("eu-west-1 shows %q", got)
		}
	})

	run(t, "ErrorPage", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/no-such-page")
		if got := b.text(t, "#error-heading"); got != "Page not found" {
			t.Fatalf("error page heading %q", got)
		}
		b.screenshot(t, "11-not-found")
		b.click(t, ".error-card a.btn")
		b.wantOn(t, "/console/connections")
	})

	run(t, "SignOut", func(t *testing.T) {
		b.click(t, "#sign-out")
		b.wantOn(t, "/console/signin")
		if got := b.text(t, ".flash-success"); got != "You have signed out." {
			t.Fatalf("notice %q", got)
		}
		b.navigate(t, srv.URL+"/console/connections")
		b.wantOn(t, "/console/signin")
	})
}
