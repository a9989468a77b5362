package e2e_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/runtimetest"
)

// axePath finds axe-core (scripts/install-deps puts it in a cache), or
// skips the test (fails it under CI=true).
func axePath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("OPENRUNNER_AXE_JS"); p != "" {
		return p
	}
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	p := filepath.Join(cache, "openrunner", "axe-core-4.14.1", "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(p); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("axe-core is not installed (scripts/install-deps): %v", err)
		}
		t.Skipf("axe-core is not installed (run scripts/install-deps): %v", err)
	}
	return p
}

// audited is a tab that also audits every page it photographs.
type audited struct {
	*tab
	axe string // axe-core's source
}

// violation is one axe-core finding.
type violation struct {
	ID, Impact, Help string
	Nodes            []string
}

// audit runs axe-core in the page and fails on serious or critical
// violations.
func (b *audited) audit(t *testing.T, page string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	const run = `axe.run(document, {resultTypes: ["violations"]}).then(r => JSON.stringify(r.violations.map(v => ({ID: v.id, Impact: v.impact, Help: v.help, Nodes: v.nodes.map(n => n.target.join(" "))}))))`
	_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](b.axe+";true"))
	var out string
	if err == nil {
		out, err = chromedp.Run(ctx, chromedp.Evaluate[string](run, chromedp.EvalAwaitPromise))
	}
	if err != nil {
		t.Fatalf("axe on %s: %v", page, err)
	}
	var vs []violation
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("axe result %q: %v", out, err)
	}
	for _, v := range vs {
		if v.Impact == "serious" || v.Impact == "critical" {
			t.Errorf("%s: accessibility (%s) %s: %s at %v", page, v.Impact, v.ID, v.Help, v.Nodes)
		}
	}
}

// shots photographs the page at 1280 px and 390 px wide, auditing it at
// both widths.
func (b *audited) shots(t *testing.T, name string) {
	t.Helper()
	for _, w := range []struct {
		width, height int64
		suffix        string
	}{{390, 844, "-390"}, {1280, 860, "-1280"}} {
		ctx, cancel := b.step()
		err := chromedp.Do(ctx, chromedp.EmulateViewport(w.width, w.height))
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		// Nothing sticks out sideways: the page fits its width.
		ctx, cancel = b.step()
		width, err := chromedp.Run(ctx, chromedp.Evaluate[int64](`document.documentElement.scrollWidth`))
		cancel()
		if err != nil || width > w.width {
			t.Errorf("%s%s is %d px wide (%v)", name, w.suffix, width, err)
		}
		b.screenshot(t, name+w.suffix)
		b.audit(t, name+w.suffix)
	}
}

// waitText waits until the text of sel contains want.
func (b *tab) waitText(t *testing.T, sel, want string, limit time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(limit)
	var got string
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
		got, _ = chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if strings.Contains(got, want) {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s never showed %q; it shows:\n%s", sel, want, got)
	return ""
}

// attr returns an attribute of the first element matching sel.
func (b *tab) attr(t *testing.T, sel, name string) string {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil || !v.Exists {
		t.Fatalf("%s[%s]: %v", sel, name, err)
	}
	return v.Value
}

// getWithoutScript fetches a console page with the tab's session, as a
// browser without JavaScript would, and returns its HTML.
func (b *tab) getWithoutScript(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for _, c := range res.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return string(body)
}

// describe is DescribeService through the AWS SDK.
func (s *consoleServer) describe(t *testing.T, arn string) *types.Service {
	t.Helper()
	out, err := s.API.DescribeService(context.Background(), &apprunner.DescribeServiceInput{ServiceArn: &arn})
	if err != nil {
		t.Fatal(err)
	}
	return out.Service
}

// waitService waits until DescribeService shows status.
func (s *consoleServer) waitService(t *testing.T, arn string, status types.ServiceStatus) *types.Service {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		if svc := s.describe(t, arn); svc.Status == status {
			return svc
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("service %s never became %s (it is %s)", arn, status, s.describe(t, arn).Status)
	return nil
}

// serviceARN is the ARN of the service page the tab shows.
func (b *tab) serviceARN(t *testing.T) string {
	t.Helper()
	return b.text(t, "#service-arn")
}

// TestConsoleServices is a service's whole life in the console, in real
// headless Chromium on the process runtime, each step checked through the
// AWS SDK; every page is photographed at 1280 and 390 px and audited with
// axe-core.
func TestConsoleServices(t *testing.T) {
	srv := startConsoleServerWith(t, func(c *daemon.Config) {
		c.Runtime = "process"
		c.MetricsSampleInterval = 500 * time.Millisecond
		c.AllowEndOfSupport = true
	})
	b := &audited{tab: newTabFor(t, srv.URL, 8*time.Minute)}
	src, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatal(err)
	}
	b.axe = string(src)
	f := &serviceFlow{srv: srv, b: b, app: buildTestApp(t)}
	run(t, "SignIn", f.signIn)
	run(t, "CreateImageValidation", f.createImageValidation)
	run(t, "CreateImageWatchLogs", f.createImageWatchLogs)
	run(t, "OpenURL", f.openURL)
	run(t, "PauseResume", f.pauseResume)
	run(t, "Deploy", f.deploy)
	run(t, "EditHealthCheck", f.editHealthCheck)
	run(t, "ConfigurationAndMetrics", f.configurationAndMetrics)
	run(t, "CustomDomains", f.customDomains)
	run(t, "AutoScaling", f.autoScaling)
	run(t, "CreateFromConnection", f.createFromConnection)
	run(t, "ListAndFilter", f.listAndFilter)
	run(t, "CreateObserved", f.createObserved)
	run(t, "DeleteTyped", f.deleteTyped)
	run(t, "OtherPages", f.otherPages)
}

// buildTestApp builds the runtime suite's test app, which the process
// runtime runs as an image (an absolute path).
func buildTestApp(t *testing.T) string {
	t.Helper()
	bin, err := runtimetest.BuildAppIn(t.TempDir(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	return bin
}
