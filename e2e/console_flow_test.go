package e2e_test

// The steps of TestConsoleServices, in order; each builds on the ones
// before it.

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/chromedp/chromedp"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sampleapp"
	"github.com/openrunner/openrunner/internal/testutil"
)

// serviceFlow is what the steps share: the server, the browser tab, the
// test app's binary and the services created.
type serviceFlow struct {
	srv                 *consoleServer
	b                   *audited
	app                 string // the process runtime's image: the test app
	imageARN, sourceARN string
}

// signIn signs in on the services page, which is empty, and checks the keyboard reaches the page.
func (f *serviceFlow) signIn(t *testing.T) {
	f.b.navigate(t, f.srv.URL+"/console/services")
	f.b.wantOn(t, "/console/signin")
	f.b.fill(t, "access_key_id", consoleKeyID)
	f.b.fill(t, "secret_access_key", consoleSecret)
	f.b.click(t, "#sign-in")
	f.b.wantOn(t, "/console/services")
	if got := f.b.text(t, ".empty"); !strings.Contains(got, "No services yet.") {
		t.Fatalf("empty list shows %q", got)
	}
	f.b.shots(t, "20-services-empty")
	// The keyboard reaches the skip link first, then the header, and
	// the focus shows.
	ctx, cancel := f.b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\t")); err != nil {
		t.Fatal(err)
	}
	focus, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.className + " " + getComputedStyle(document.activeElement).outlineStyle`))
	if err != nil || focus != "skip-link solid" {
		t.Fatalf("first Tab focuses %q (%v)", focus, err)
	}
}

// createImageValidation shows the model's and the API's errors next to their fields, and creates nothing.
func (f *serviceFlow) createImageValidation(t *testing.T) {
	f.b.click(t, "#create-service")
	f.b.wantOn(t, "/console/services/create")
	f.b.shots(t, "21-create-image")
	f.b.fill(t, "service_name", "ab")
	f.b.fill(t, "image_identifier", f.app)
	f.b.click(t, "#submit-service")
	got := f.b.text(t, "#service_name-error")
	if want := "Value 'ab' at 'serviceName' failed to satisfy constraint: Member must have length greater than or equal to 4\nValue 'ab' at 'serviceName' failed to satisfy constraint: Member must satisfy regular expression pattern"; !strings.HasPrefix(got, want) {
		t.Fatalf("name error %q, want %q", got, want)
	}
	f.b.fill(t, "service_name", "hello-console")
	f.b.fill(t, "size", "1024/2048")
	f.b.fill(t, "image_port", "99999")
	f.b.click(t, "#submit-service")
	if got := f.b.text(t, "#image_port-error"); got != "The port '99999' isn't valid. Use a number from 1 to 65535." {
		t.Fatalf("port error %q", got)
	}
	f.b.shots(t, "22-create-validation")
	out, err := f.srv.API.ListServices(ctx, &apprunner.ListServicesInput{})
	if err != nil || len(out.ServiceSummaryList) != 0 {
		t.Fatalf("a refused form created a service: %+v, %v", out, err)
	}
}

// createImageWatchLogs creates an image service and watches it reach RUNNING in the Logs tab.
func (f *serviceFlow) createImageWatchLogs(t *testing.T) {
	f.b.fill(t, "image_port", "8080")
	f.b.fill(t, "image_start", f.app+" --greeting hi-from-console")
	f.b.fill(t, "env", "GREETING_SOURCE=console\nMODE=test")
	f.b.fill(t, "hc_protocol", "HTTP")
	f.b.fill(t, "hc_interval", "1")
	f.b.fill(t, "hc_timeout", "1")
	f.b.fill(t, "tags", "team=web")
	f.b.click(t, "#submit-service")
	f.b.wantOn(t, "/console/services/view")
	f.imageARN = f.b.serviceARN(t)
	// The page follows the deployment live, to the end.
	f.b.waitText(t, "#service-log", "[AppRunner] Service status is set to RUNNING.", 2*time.Minute)
	f.b.waitText(t, "#service-status", "RUNNING", 10*time.Second)
	f.b.waitText(t, "#app-log", "testapp: stdout ready", 30*time.Second)
	svc := f.srv.waitService(t, f.imageARN, types.ServiceStatusRunning)
	if ic := svc.SourceConfiguration.ImageRepository.ImageConfiguration; ic.RuntimeEnvironmentVariables["MODE"] != "test" || aws.ToString(ic.StartCommand) == "" {
		t.Fatalf("image configuration %+v", ic)
	}
	tags, err := f.srv.API.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: &f.imageARN})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "web" {
		t.Fatalf("tags %+v, %v", tags, err)
	}
	// Without JavaScript the page has the same lines, rendered.
	html := f.b.getWithoutScript(t, f.srv.URL+"/console/services/view?arn="+f.imageARN)
	if !strings.Contains(html, "Service status is set to RUNNING.") {
		t.Fatal("the server-rendered Logs tab lacks the event lines")
	}
	// The header shows the newest metrics sample (every 500 ms here).
	for try := 0; ; try++ {
		f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN)
		got := f.b.text(t, "#service-instances")
		if got == "1 active of 1 desired" {
			break
		}
		if try == 10 {
			t.Fatalf("instances %q", got)
		}
		time.Sleep(500 * time.Millisecond)
	}
	f.b.shots(t, "23-service-logs")
}

// openURL opens the service's default domain, over HTTPS: the link is the
// router's HTTPS listener, whose certificate the local CA signed.
func (f *serviceFlow) openURL(t *testing.T) {
	link := f.b.attr(t, "#service-url", "href")
	host := aws.ToString(f.srv.describe(t, f.imageARN).ServiceUrl)
	tlsAddr := strings.TrimPrefix(f.srv.D.RouterTLSURL(), "https://")
	_, port, _ := net.SplitHostPort(tlsAddr)
	if want := "https://" + host + ":" + port + "/"; link != want {
		t.Fatalf("default domain links %q, want %q", link, want)
	}
	f.b.navigate(t, link)
	if got := f.b.text(t, "body"); got != "hi-from-console" {
		t.Fatalf("%s answers %q", link, got)
	}
	resp, err := testutil.HTTPSClient(tlsAddr, f.srv.D.LocalCA().Pool(), true).Get(link)
	if err != nil {
		t.Fatalf("%s with the local CA: %v", link, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(body)) != "hi-from-console" || resp.Proto != "HTTP/2.0" {
		t.Fatalf("%s: %s %q", link, resp.Proto, body)
	}
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN)
}

// pauseResume pauses the service, then resumes it.
func (f *serviceFlow) pauseResume(t *testing.T) {
	f.b.click(t, "#action-pause")
	if got := f.b.text(t, ".flash-success"); !strings.HasPrefix(got, "Pausing the service: operation ") {
		t.Fatalf("flash %q", got)
	}
	f.srv.waitService(t, f.imageARN, types.ServiceStatusPaused)
	f.b.waitText(t, "#service-status", "PAUSED", 10*time.Second)
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN)
	f.b.click(t, "#action-resume")
	f.srv.waitService(t, f.imageARN, types.ServiceStatusRunning)
	f.b.waitText(t, "#service-status", "RUNNING", 10*time.Second)
}

// deploy starts a deployment and finds it in the Activity tab.
func (f *serviceFlow) deploy(t *testing.T) {
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN)
	f.b.click(t, "#action-deploy")
	if got := f.b.text(t, ".flash-success"); !strings.HasPrefix(got, "Deployment started: operation ") {
		t.Fatalf("flash %q", got)
	}
	f.srv.waitService(t, f.imageARN, types.ServiceStatusRunning)
	ops, err := f.srv.API.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: &f.imageARN})
	if err != nil || len(ops.OperationSummaryList) != 4 || ops.OperationSummaryList[0].Type != types.OperationTypeStartDeployment ||
		ops.OperationSummaryList[0].Status != types.OperationStatusSucceeded {
		t.Fatalf("operations %+v, %v", ops, err)
	}
	f.b.click(t, "#tab-activity")
	if got := f.b.text(t, "#activity tbody tr:first-child"); !strings.Contains(got, "START_DEPLOYMENT") || !strings.Contains(got, "SUCCEEDED") {
		t.Fatalf("newest activity row %q", got)
	}
	if got := f.b.text(t, "#activity tbody tr:last-child"); !strings.Contains(got, "CREATE_SERVICE") {
		t.Fatalf("oldest activity row %q", got)
	}
	f.b.shots(t, "24-service-activity")
}

// editHealthCheck edits the health check, after a validation error.
func (f *serviceFlow) editHealthCheck(t *testing.T) {
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN)
	f.b.click(t, "#action-edit")
	f.b.wantOn(t, "/console/services/edit")
	f.b.fill(t, "hc_interval", "0")
	f.b.click(t, "#submit-service")
	if got := f.b.text(t, "#hc_interval-error"); !strings.HasPrefix(got, "Value '0' at 'healthCheckConfiguration.interval' failed to satisfy constraint") {
		t.Fatalf("interval error %q", got)
	}
	f.b.shots(t, "25-edit-validation")
	f.b.fill(t, "hc_interval", "2")
	f.b.fill(t, "hc_path", "/health")
	f.b.fill(t, "hc_healthy", "2")
	f.b.click(t, "#submit-service")
	f.b.wantOn(t, "/console/services/view")
	if got := f.b.text(t, ".flash-success"); !strings.HasPrefix(got, "Service hello-console is being updated") {
		t.Fatalf("flash %q", got)
	}
	f.b.waitText(t, "#service-log", "Service update completed successfully.", 2*time.Minute)
	svc := f.srv.waitService(t, f.imageARN, types.ServiceStatusRunning)
	hc := svc.HealthCheckConfiguration
	if aws.ToInt32(hc.Interval) != 2 || aws.ToString(hc.Path) != "/health" || aws.ToInt32(hc.HealthyThreshold) != 2 || hc.Protocol != types.HealthCheckProtocolHttp {
		t.Fatalf("health check %+v", hc)
	}
}

// configurationAndMetrics reads the Configuration tab and the charts of real traffic.
func (f *serviceFlow) configurationAndMetrics(t *testing.T) {
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN+"&tab=configuration")
	cfg := f.b.text(t, "#configuration")
	for _, want := range []string{"/health", "GREETING_SOURCE", "team", "DefaultConfiguration, revision 1", "Public endpoint", "1 vCPU", "2 GB"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("configuration lacks %q:\n%s", want, cfg)
		}
	}
	f.b.shots(t, "26-service-configuration")
	host := aws.ToString(f.srv.describe(t, f.imageARN).ServiceUrl)
	for range 20 {
		get(t, f.srv.D.RouterURL(), host, "/")
	}
	get(t, f.srv.D.RouterURL(), host, "/missing")
	time.Sleep(1200 * time.Millisecond) // two samples
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN+"&tab=metrics")
	got := f.b.text(t, "#chart-requests-summary")
	var ok2, bad4, bad5 int
	if _, err := fmt.Sscanf(got, "Last hour: 2xx: %d, 4xx: %d, 5xx: %d.", &ok2, &bad4, &bad5); err != nil || ok2 < 20 || bad4 < 1 || bad5 != 0 {
		t.Fatalf("requests chart summary %q (%v)", got, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := f.b.text(t, "#chart-instances-summary")
		if got == "Latest: Active: 1, Desired: 1." {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("instances chart summary %q", got)
		}
		time.Sleep(600 * time.Millisecond)
		f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN+"&tab=metrics")
	}
	f.b.shots(t, "27-service-metrics")
}

// autoScaling creates two revisions, makes the second the default and deletes the first.
func (f *serviceFlow) autoScaling(t *testing.T) {
	f.b.navigate(t, f.srv.URL+"/console/autoscaling")
	f.b.fill(t, "asc_name", "hot")
	f.b.click(t, "#create-asc")
	if got := f.b.text(t, "#asc_name-error"); !strings.HasPrefix(got, "Value 'hot' at 'autoScalingConfigurationName' failed to satisfy constraint") {
		t.Fatalf("name error %q", got)
	}
	f.b.shots(t, "28-autoscaling-validation")
	for rev := 1; rev <= 2; rev++ {
		f.b.fill(t, "asc_name", "high-traffic")
		f.b.fill(t, "max_concurrency", "50")
		f.b.fill(t, "max_size", fmt.Sprint(2+rev))
		f.b.click(t, "#create-asc")
		if got := f.b.text(t, ".flash-success"); got != fmt.Sprintf("Created high-traffic revision %d.", rev) {
			t.Fatalf("flash %q", got)
		}
	}
	if got := f.b.text(t, "#asc-DefaultConfiguration-1 .asc-services"); got != "hello-console" {
		t.Fatalf("services using the default: %q", got)
	}
	f.b.click(t, "#asc-high-traffic-2 button.set-default")
	if got := f.b.text(t, "#asc-high-traffic-2"); !strings.Contains(got, "DEFAULT") {
		t.Fatalf("row %q", got)
	}
	out, err := f.srv.API.ListAutoScalingConfigurations(ctx, &apprunner.ListAutoScalingConfigurationsInput{AutoScalingConfigurationName: aws.String("high-traffic")})
	if err != nil || len(out.AutoScalingConfigurationSummaryList) != 2 {
		t.Fatalf("ListAutoScalingConfigurations: %+v, %v", out, err)
	}
	for _, s := range out.AutoScalingConfigurationSummaryList {
		if want := s.AutoScalingConfigurationRevision == 2; aws.ToBool(s.IsDefault) != want {
			t.Fatalf("revision %d IsDefault %v", s.AutoScalingConfigurationRevision, aws.ToBool(s.IsDefault))
		}
	}
	f.b.click(t, "#asc-high-traffic-1 button.delete-asc")
	if got := f.b.text(t, ".flash-success"); got != "Deleted high-traffic revision 1." {
		t.Fatalf("flash %q", got)
	}
	f.b.shots(t, "29-autoscaling")
}

// createFromConnection completes a connection's handshake and creates a source service from it, watching the build.
func (f *serviceFlow) createFromConnection(t *testing.T) {
	repo := f.srv.Sim.AddRepo("github", "octocat", "hello-src", "main")
	if _, err := repo.Commit("main", sampleapp.Python("hello from source").Files, "first"); err != nil {
		t.Fatal(err)
	}
	f.b.navigate(t, f.srv.URL+"/console/connections")
	f.b.fill(t, "name", "gh-console")
	f.b.click(t, "#create")
	f.b.click(t, "#conn-gh-console button.handshake")
	f.b.click(t, "#approve")
	f.b.wantOn(t, "/console/connections")
	if got := f.srv.status(t, "gh-console"); got != openrunner.ConnectionAvailable {
		t.Fatalf("connection %s", got)
	}
	f.b.shots(t, "30-connections")
	f.b.click(t, "#conn-gh-console a.create-service")
	f.b.wantOn(t, "/console/services/create")
	f.b.shots(t, "31-create-source")
	f.b.fill(t, "service_name", "hello-src")
	f.b.fill(t, "repository_url", "ftp://nowhere")
	f.b.click(t, "#submit-service")
	if got := f.b.text(t, "#repository_url-error"); !strings.Contains(got, "The repository URL") {
		t.Fatalf("repository error %q", got)
	}
	f.b.fill(t, "repository_url", repo.CloneURL())
	f.b.click(t, "#submit-service")
	f.b.wantOn(t, "/console/services/view")
	f.sourceARN = f.b.serviceARN(t)
	f.b.waitText(t, "#service-log", "[Build]", 2*time.Minute)
	f.b.waitText(t, "#service-log", "Successfully built your application source code.", 3*time.Minute)
	f.b.waitText(t, "#service-log", "[AppRunner] Service status is set to RUNNING.", 2*time.Minute)
	svc := f.srv.waitService(t, f.sourceARN, types.ServiceStatusRunning)
	if cr := svc.SourceConfiguration.CodeRepository; cr == nil || aws.ToString(cr.RepositoryUrl) != repo.CloneURL() || !aws.ToBool(svc.SourceConfiguration.AutoDeploymentsEnabled) {
		t.Fatalf("source %+v", svc.SourceConfiguration)
	}
	// A new service got the new default auto scaling configuration.
	if got := aws.ToString(svc.AutoScalingConfigurationSummary.AutoScalingConfigurationName); got != "high-traffic" {
		t.Fatalf("auto scaling configuration %s", got)
	}
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.sourceARN)
	f.b.shots(t, "32-source-logs")
}

// listAndFilter lists both services and filters them by name.
func (f *serviceFlow) listAndFilter(t *testing.T) {
	f.b.navigate(t, f.srv.URL+"/console/services")
	if got := f.b.text(t, "#svc-hello-src"); !strings.Contains(got, "Repository") || !strings.Contains(got, "main") || !strings.Contains(got, "RUNNING") {
		t.Fatalf("source row %q", got)
	}
	if got := f.b.text(t, "#svc-hello-console"); !strings.Contains(got, "Image") {
		t.Fatalf("image row %q", got)
	}
	if link := f.b.attr(t, "#svc-hello-src a.domain", "href"); !strings.HasPrefix(link, "https://") {
		t.Fatalf("the list links %q, not the router's HTTPS listener", link)
	}
	f.b.shots(t, "33-services")
	f.b.fill(t, "filter", "src")
	f.b.click(t, "#apply-filter")
	if got := f.b.text(t, "#services tbody"); strings.Contains(got, "hello-console") || !strings.Contains(got, "hello-src") {
		t.Fatalf("filtered list %q", got)
	}
}

// deleteTyped deletes the image service once its name is typed.
func (f *serviceFlow) deleteTyped(t *testing.T) {
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN)
	f.b.click(t, "#action-delete")
	f.b.wantOn(t, "/console/services/delete")
	f.b.fill(t, "confirm", "hello")
	f.b.click(t, "#confirm-delete")
	if got := f.b.text(t, "#confirm-error"); got != "Type the service name, hello-console, to confirm the deletion." {
		t.Fatalf("confirmation error %q", got)
	}
	if st := f.srv.describe(t, f.imageARN).Status; st != types.ServiceStatusRunning {
		t.Fatalf("a wrong name changed the service: %s", st)
	}
	f.b.shots(t, "34-delete-confirm")
	f.b.fill(t, "confirm", "hello-console")
	f.b.click(t, "#confirm-delete")
	f.b.wantOn(t, "/console/services")
	if got := f.b.text(t, ".flash-success"); got != "Service hello-console is being deleted." {
		t.Fatalf("flash %q", got)
	}
	f.srv.waitService(t, f.imageARN, types.ServiceStatusDeleted)
}

// otherPages photographs and audits the remaining pages.
func (f *serviceFlow) otherPages(t *testing.T) {
	f.b.navigate(t, f.srv.URL+"/console/connections")
	f.b.click(t, "#conn-gh-console a.delete")
	f.b.wantOn(t, "/console/connections/delete")
	f.b.shots(t, "35-connection-delete")
	f.b.navigate(t, f.srv.URL+"/console/no-such-page")
	f.b.shots(t, "36-not-found")
	f.b.navigate(t, f.srv.URL+"/console/services")
	f.b.click(t, "#sign-out")
	f.b.wantOn(t, "/console/signin")
	f.b.shots(t, "37-signin")
}
