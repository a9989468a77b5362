package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/sampleapp"
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

func TestConsoleServices(t *testing.T) {
	srv := startConsoleServerWith(t, func(c *daemon.Config) {
		c.Runtime = "process"
		c.MetricsSampleInterval = 500 * time.Millisecond
		c.AllowEndOfSupport = true
	})
	b := &audited{tab: newTabFor(t, srv.URL, 8*time.Minute), axe: ""}
	src, err := os.ReadFile(axePath(t))
	if err != nil {
		t.Fatal(err)
	}
	b.axe = string(src)
	app := buildTestApp(t)
	ctx := context.Background()

	run(t, "SignIn", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/services")
		b.wantOn(t, "/console/signin")
		b.fill(t, "access_key_id", consoleKeyID)
		b.fill(t, "secret_access_key", consoleSecret)
		b.click(t, "#sign-in")
		b.wantOn(t, "/console/services")
		if got := b.text(t, ".empty"); !strings.Contains(got, "No services yet.") {
			t.Fatalf("empty list shows %q", got)
		}
		b.shots(t, "20-services-empty")
		// The keyboard reaches the skip link first, then the header, and
		// the focus shows.
		ctx, cancel := b.step()
		defer cancel()
		if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
			t.Fatal(err)
		}
		focus, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className + " " + getComputedStyle(document.activeElement).outlineStyle`))
		if err != nil || focus != "skip-link solid" {
			t.Fatalf("first Tab focuses %q (%v)", focus, err)
		}
	})

	var imageARN string
	run(t, "CreateImageValidation", func(t *testing.T) {
		b.click(t, "#create-service")
		b.wantOn(t, "/console/services/create")
		b.shots(t, "21-create-image")
		b.fill(t, "service_name", "ab")
		b.fill(t, "image_identifier", app)
		b.click(t, "#submit-service")
		got := b.text(t, "#service_name-error")
		if want := "Value 'ab' at 'serviceName' failed to satisfy constraint: Member must have length greater than or equal to 4\nValue 'ab' at 'serviceName' failed to satisfy constraint: Member must satisfy regular expression pattern"; !strings.HasPrefix(got, want) {
			t.Fatalf("name error %q, want %q", got, want)
		}
		b.fill(t, "service_name", "hello-console")
		b.fill(t, "size", "1024/2048")
		b.fill(t, "image_port", "99999")
		b.click(t, "#submit-service")
		if got := b.text(t, "#image_port-error"); got != "The port '99999' isn't valid. Use a number from 1 to 65535." {
			t.Fatalf("port error %q", got)
		}
		b.shots(t, "22-create-validation")
		out, err := srv.API.ListServices(ctx, &apprunner.ListServicesInput{})
		if err != nil || len(out.ServiceSummaryList) != 0 {
			t.Fatalf("a refused form created a service: %+v, %v", out, err)
		}
	})

	run(t, "CreateImageWatchLogs", func(t *testing.T) {
		b.fill(t, "image_port", "8080")
		b.fill(t, "image_start", app+" --greeting hi-from-console")
		b.fill(t, "env", "GREETING_SOURCE=console\nMODE=test")
		b.fill(t, "hc_protocol", "HTTP")
		b.fill(t, "hc_interval", "1")
		b.fill(t, "hc_timeout", "1")
		b.fill(t, "tags", "team=web")
		b.click(t, "#submit-service")
		b.wantOn(t, "/console/services/view")
		imageARN = b.serviceARN(t)
		// The page follows the deployment live, to the end.
		b.waitText(t, "#service-log", "[AppRunner] Service status is set to RUNNING.", 2*time.Minute)
		b.waitText(t, "#service-status", "RUNNING", 10*time.Second)
		b.waitText(t, "#app-log", "testapp: stdout ready", 30*time.Second)
		svc := srv.waitService(t, imageARN, types.ServiceStatusRunning)
		if ic := svc.SourceConfiguration.ImageRepository.ImageConfiguration; ic.RuntimeEnvironmentVariables["MODE"] != "test" || aws.ToString(ic.StartCommand) == "" {
			t.Fatalf("image configuration %+v", ic)
		}
		tags, err := srv.API.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: &imageARN})
		if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "web" {
			t.Fatalf("tags %+v, %v", tags, err)
		}
		// Without JavaScript the page has the same lines, rendered.
		html := b.getWithoutScript(t, srv.URL+"/console/services/view?arn="+imageARN)
		if !strings.Contains(html, "Service status is set to RUNNING.") {
			t.Fatal("the server-rendered Logs tab lacks the event lines")
		}
		// The header shows the newest metrics sample (every 500 ms here).
		for try := 0; ; try++ {
			b.navigate(t, srv.URL+"/console/services/view?arn="+imageARN)
			got := b.text(t, "#service-instances")
			if got == "1 active of 1 desired" {
				break
			}
			if try == 10 {
				t.Fatalf("instances %q", got)
			}
			time.Sleep(500 * time.Millisecond)
		}
		b.shots(t, "23-service-logs")
	})

	run(t, "OpenURL", func(t *testing.T) {
		link := b.attr(t, "#service-url", "href")
		b.navigate(t, link)
		if got := b.text(t, "body"); got != "hi-from-console" {
			t.Fatalf("%s answers %q", link, got)
		}
		b.navigate(t, srv.URL+"/console/services/view?arn="+imageARN)
	})

	run(t, "PauseResume", func(t *testing.T) {
		b.click(t, "#action-pause")
		if got := b.text(t, ".flash-success"); !strings.HasPrefix(got, "Pausing the service: operation ") {
			t.Fatalf("flash %q", got)
		}
		srv.waitService(t, imageARN, types.ServiceStatusPaused)
		b.waitText(t, "#service-status", "PAUSED", 10*time.Second)
		b.navigate(t, srv.URL+"/console/services/view?arn="+imageARN)
		b.click(t, "#action-resume")
		srv.waitService(t, imageARN, types.ServiceStatusRunning)
		b.waitText(t, "#service-status", "RUNNING", 10*time.Second)
	})

	run(t, "Deploy", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/services/view?arn="+imageARN)
		b.click(t, "#action-deploy")
		if got := b.text(t, ".flash-success"); !strings.HasPrefix(got, "Deployment started: operation ") {
			t.Fatalf("flash %q", got)
		}
		srv.waitService(t, imageARN, types.ServiceStatusRunning)
		ops, err := srv.API.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: &imageARN})
		if err != nil || len(ops.OperationSummaryList) != 4 || ops.OperationSummaryList[0].Type != types.OperationTypeStartDeployment ||
			ops.OperationSummaryList[0].Status != types.OperationStatusSucceeded {
			t.Fatalf("operations %+v, %v", ops, err)
		}
		b.click(t, "#tab-activity")
		if got := b.text(t, "#activity tbody tr:first-child"); !strings.Contains(got, "START_DEPLOYMENT") || !strings.Contains(got, "SUCCEEDED") {
			t.Fatalf("newest activity row %q", got)
		}
		if got := b.text(t, "#activity tbody tr:last-child"); !strings.Contains(got, "CREATE_SERVICE") {
			t.Fatalf("oldest activity row %q", got)
		}
		b.shots(t, "24-service-activity")
	})

	run(t, "EditHealthCheck", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/services/view?arn="+imageARN)
		b.click(t, "#action-edit")
		b.wantOn(t, "/console/services/edit")
		b.fill(t, "hc_interval", "0")
		b.click(t, "#submit-service")
		if got := b.text(t, "#hc_interval-error"); !strings.HasPrefix(got, "Value '0' at 'healthCheckConfiguration.interval' failed to satisfy constraint") {
			t.Fatalf("interval error %q", got)
		}
		b.shots(t, "25-edit-validation")
		b.fill(t, "hc_interval", "2")
		b.fill(t, "hc_path", "/health")
		b.fill(t, "hc_healthy", "2")
		b.click(t, "#submit-service")
		b.wantOn(t, "/console/services/view")
		if got := b.text(t, ".flash-success"); !strings.HasPrefix(got, "Service hello-console is being updated") {
			t.Fatalf("flash %q", got)
		}
		b.waitText(t, "#service-log", "Service update completed successfully.", 2*time.Minute)
		svc := srv.waitService(t, imageARN, types.ServiceStatusRunning)
		hc := svc.HealthCheckConfiguration
		if aws.ToInt32(hc.Interval) != 2 || aws.ToString(hc.Path) != "/health" || aws.ToInt32(hc.HealthyThreshold) != 2 || hc.Protocol != types.HealthCheckProtocolHttp {
			t.Fatalf("health check %+v", hc)
		}
	})

	run(t, "ConfigurationAndMetrics", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/services/view?arn="+imageARN+"&tab=configuration")
		cfg := b.text(t, "#configuration")
		for _, want := range []string{"/health", "GREETING_SOURCE", "team", "DefaultConfiguration, revision 1", "Public endpoint", "1 vCPU", "2 GB"} {
			if !strings.Contains(cfg, want) {
				t.Errorf("configuration lacks %q:\n%s", want, cfg)
			}
		}
		b.shots(t, "26-service-configuration")
		host := aws.ToString(srv.describe(t, imageARN).ServiceUrl)
		for range 20 {
			get(t, srv.D.RouterURL(), host, "/")
		}
		get(t, srv.D.RouterURL(), host, "/missing")
		time.Sleep(1200 * time.Millisecond) // two samples
		b.navigate(t, srv.URL+"/console/services/view?arn="+imageARN+"&tab=metrics")
		got := b.text(t, "#chart-requests-summary")
		var ok2, bad4, bad5 int
		if _, err := fmt.Sscanf(got, "Last hour: 2xx: %d, 4xx: %d, 5xx: %d.", &ok2, &bad4, &bad5); err != nil || ok2 < 20 || bad4 < 1 || bad5 != 0 {
			t.Fatalf("requests chart summary %q (%v)", got, err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := b.text(t, "#chart-instances-summary")
			if got == "Latest: Active: 1, Desired: 1." {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("instances chart summary %q", got)
			}
			time.Sleep(600 * time.Millisecond)
			b.navigate(t, srv.URL+"/console/services/view?arn="+imageARN+"&tab=metrics")
		}
		b.shots(t, "27-service-metrics")
	})

	run(t, "AutoScaling", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/autoscaling")
		b.fill(t, "asc_name", "hot")
		b.click(t, "#create-asc")
		if got := b.text(t, "#asc_name-error"); !strings.HasPrefix(got, "Value 'hot' at 'autoScalingConfigurationName' failed to satisfy constraint") {
			t.Fatalf("name error %q", got)
		}
		b.shots(t, "28-autoscaling-validation")
		for rev := 1; rev <= 2; rev++ {
			b.fill(t, "asc_name", "high-traffic")
			b.fill(t, "max_concurrency", "50")
			b.fill(t, "max_size", fmt.Sprint(2+rev))
			b.click(t, "#create-asc")
			if got := b.text(t, ".flash-success"); got != fmt.Sprintf("Created high-traffic revision %d.", rev) {
				t.Fatalf("flash %q", got)
			}
		}
		if got := b.text(t, "#asc-DefaultConfiguration-1 .asc-services"); got != "hello-console" {
			t.Fatalf("services using the default: %q", got)
		}
		b.click(t, "#asc-high-traffic-2 button.set-default")
		if got := b.text(t, "#asc-high-traffic-2"); !strings.Contains(got, "DEFAULT") {
			t.Fatalf("row %q", got)
		}
		out, err := srv.API.ListAutoScalingConfigurations(ctx, &apprunner.ListAutoScalingConfigurationsInput{AutoScalingConfigurationName: aws.String("high-traffic")})
		if err != nil || len(out.AutoScalingConfigurationSummaryList) != 2 {
			t.Fatalf("ListAutoScalingConfigurations: %+v, %v", out, err)
		}
		for _, s := range out.AutoScalingConfigurationSummaryList {
			if want := s.AutoScalingConfigurationRevision == 2; aws.ToBool(s.IsDefault) != want {
				t.Fatalf("revision %d IsDefault %v", s.AutoScalingConfigurationRevision, aws.ToBool(s.IsDefault))
			}
		}
		b.click(t, "#asc-high-traffic-1 button.delete-asc")
		if got := b.text(t, ".flash-success"); got != "Deleted high-traffic revision 1." {
			t.Fatalf("flash %q", got)
		}
		b.shots(t, "29-autoscaling")
	})

	var sourceARN string
	run(t, "CreateFromConnection", func(t *testing.T) {
		repo := srv.Sim.AddRepo("github", "octocat", "hello-src", "main")
		if _, err := repo.Commit("main", sampleapp.Python("hello from source").Files, "first"); err != nil {
			t.Fatal(err)
		}
		b.navigate(t, srv.URL+"/console/connections")
		b.fill(t, "name", "gh-console")
		b.click(t, "#create")
		b.click(t, "#conn-gh-console button.handshake")
		b.click(t, "#approve")
		b.wantOn(t, "/console/connections")
		if got := srv.status(t, "gh-console"); got != openrunner.ConnectionAvailable {
			t.Fatalf("connection %s", got)
		}
		b.shots(t, "30-connections")
		b.click(t, "#conn-gh-console a.create-service")
		b.wantOn(t, "/console/services/create")
		b.shots(t, "31-create-source")
		b.fill(t, "service_name", "hello-src")
		b.fill(t, "repository_url", "ftp://nowhere")
		b.click(t, "#submit-service")
		if got := b.text(t, "#repository_url-error"); !strings.Contains(got, "The repository URL") {
			t.Fatalf("repository error %q", got)
		}
		b.fill(t, "repository_url", repo.CloneURL())
		b.click(t, "#submit-service")
		b.wantOn(t, "/console/services/view")
		sourceARN = b.serviceARN(t)
		b.waitText(t, "#service-log", "[Build]", 2*time.Minute)
		b.waitText(t, "#service-log", "Successfully built your application source code.", 3*time.Minute)
		b.waitText(t, "#service-log", "[AppRunner] Service status is set to RUNNING.", 2*time.Minute)
		svc := srv.waitService(t, sourceARN, types.ServiceStatusRunning)
		if cr := svc.SourceConfiguration.CodeRepository; cr == nil || aws.ToString(cr.RepositoryUrl) != repo.CloneURL() || !aws.ToBool(svc.SourceConfiguration.AutoDeploymentsEnabled) {
			t.Fatalf("source %+v", svc.SourceConfiguration)
		}
		// A new service got the new default auto scaling configuration.
		if got := aws.ToString(svc.AutoScalingConfigurationSummary.AutoScalingConfigurationName); got != "high-traffic" {
			t.Fatalf("auto scaling configuration %s", got)
		}
		b.navigate(t, srv.URL+"/console/services/view?arn="+sourceARN)
		b.shots(t, "32-source-logs")
	})

	run(t, "ListAndFilter", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/services")
		if got := b.text(t, "#svc-hello-src"); !strings.Contains(got, "Repository") || !strings.Contains(got, "main") || !strings.Contains(got, "RUNNING") {
			t.Fatalf("source row %q", got)
		}
		if got := b.text(t, "#svc-hello-console"); !strings.Contains(got, "Image") {
			t.Fatalf("image row %q", got)
		}
		b.shots(t, "33-services")
		b.fill(t, "filter", "src")
		b.click(t, "#apply-filter")
		if got := b.text(t, "#services tbody"); strings.Contains(got, "hello-console") || !strings.Contains(got, "hello-src") {
			t.Fatalf("filtered list %q", got)
		}
	})

	run(t, "DeleteTyped", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/services/view?arn="+imageARN)
		b.click(t, "#action-delete")
		b.wantOn(t, "/console/services/delete")
		b.fill(t, "confirm", "hello")
		b.click(t, "#confirm-delete")
		if got := b.text(t, "#confirm-error"); got != "Type the service name, hello-console, to confirm the deletion." {
			t.Fatalf("confirmation error %q", got)
		}
		if st := srv.describe(t, imageARN).Status; st != types.ServiceStatusRunning {
			t.Fatalf("a wrong name changed the service: %s", st)
		}
		b.shots(t, "34-delete-confirm")
		b.fill(t, "confirm", "hello-console")
		b.click(t, "#confirm-delete")
		b.wantOn(t, "/console/services")
		if got := b.text(t, ".flash-success"); got != "Service hello-console is being deleted." {
			t.Fatalf("flash %q", got)
		}
		srv.waitService(t, imageARN, types.ServiceStatusDeleted)
	})

	// The other pages, photographed and audited too.
	run(t, "OtherPages", func(t *testing.T) {
		b.navigate(t, srv.URL+"/console/connections")
		b.click(t, "#conn-gh-console a.delete")
		b.wantOn(t, "/console/connections/delete")
		b.shots(t, "35-connection-delete")
		b.navigate(t, srv.URL+"/console/no-such-page")
		b.shots(t, "36-not-found")
		b.navigate(t, srv.URL+"/console/services")
		b.click(t, "#sign-out")
		b.wantOn(t, "/console/signin")
		b.shots(t, "37-signin")
	})
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
