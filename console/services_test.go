package console

import (
	"encoding/json"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/logs"
	"github.com/openrunner/openrunner/metrics"
	"github.com/openrunner/openrunner/sqlite"
)

// kicks records the services the API asks the deployer to look at; no
// deployer runs here, so services stay OPERATION_IN_PROGRESS (the e2e
// tests run them).
type kicks struct {
	mu   sync.Mutex
	arns []string
}

func (k *kicks) Kick(arn string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.arns = append(k.arns, arn)
}

// withAPI gives e's console the App Runner operations on its store.
func withAPI(e *env) *kicks {
	k := &kicks{}
	e.console.cfg.API = &api.Server{
		Connections: e.conns, Tags: sqlite.NewTagService(e.db), AutoScaling: sqlite.NewAutoScalingConfigurationService(e.db),
		Services: sqlite.NewServiceService(e.db), Deployer: k, Pages: api.NewPageTokens(make([]byte, 32)), BaseDomain: "apprunner.localhost",
		ProviderURLs: map[string]string{openrunner.ProviderGitHub: "https://github.com", openrunner.ProviderBitbucket: "https://bitbucket.org"},
	}
	return k
}

func TestServicesWithoutAPI(t *testing.T) {
	e := newEnv(t, nil)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	resp := b.get(pathServices)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %s", resp.Status)
	}
	wantText(t, resp, "This OpenRunner server runs no services.")
	resp = b.get(pathServiceCreate)
	wantText(t, resp, "Create service")
	resp = b.post(pathServiceCreate, url.Values{"service_name": {"abcd"}, "image_identifier": {"/bin/true"}})
	wantText(t, resp, "This OpenRunner server runs no services.")
	wantText(t, b.get(pathAutoScaling), "This OpenRunner server runs no services.")
}

func TestCreateServiceForm(t *testing.T) {
	e := newEnv(t, nil)
	k := withAPI(e)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	b.get(pathServiceCreate)

	form := url.Values{"source_type": {"image"}, "service_name": {"web"}, "image_identifier": {"/srv/app"},
		"image_repository_type": {"ECR"}, "image_port": {"8080"}, "size": {"256/2048"}, "deployment": {"manual"},
		"hc_protocol": {"TCP"}, "hc_path": {"/"}, "hc_interval": {"x"}, "hc_timeout": {"2"}, "hc_healthy": {"1"}, "hc_unhealthy": {"5"},
		"env": {"GOOD=1\nbad line"}}
	resp := b.post(pathServiceCreate, form)
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %s", resp.Status)
	}
	// The console's own parsing comes first, by field.
	wantHTML(t, resp, `id="hc_interval-error">The interval must be a whole number.`)
	wantHTML(t, resp, `id="env-error">Line 2 is not NAME=value.`)

	// Then the model's validation, by member path.
	form.Set("hc_interval", "5")
	form.Set("env", "GOOD=1")
	resp = b.post(pathServiceCreate, form)
	wantHTML(t, resp, `id="service_name-error">Value &#39;web&#39; at &#39;serviceName&#39; failed to satisfy constraint: Member must have length greater than or equal to 4`)

	// Then the API's domain rules, by what they speak of.
	form.Set("service_name", "web-app")
	resp = b.post(pathServiceCreate, form)
	wantHTML(t, resp, `id="size-error">The combination of 256 CPU units and 2048 MB of memory isn&#39;t supported.`)
	form.Set("env", "AWSAPPRUNNER_X=1")
	form.Set("size", "256/512")
	wantHTML(t, b.post(pathServiceCreate, form), `id="env-error">Environment variable names starting with AWSAPPRUNNER are reserved`)

	form.Set("env", "GOOD=1")
	resp = b.post(pathServiceCreate, form)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), pathService+"?arn=") {
		t.Fatalf("create: %s to %q\n%s", resp.Status, resp.Header.Get("Location"), resp.Body)
	}
	if len(k.arns) != 1 {
		t.Fatalf("deployer kicked %d times", len(k.arns))
	}
	page := b.get(resp.Header.Get("Location"))
	wantText(t, page, "is being created: operation")
	wantText(t, page, openrunner.ServiceOperationInProgress)
	// This API has no custom domains: no tab leads to them.
	if strings.Contains(page.Body, "tab=domains") {
		t.Fatal("a Custom domains tab without the operations")
	}

	// A second one of the same name: the store's conflict, at the name.
	resp = b.post(pathServiceCreate, form)
	wantHTML(t, resp, `id="service_name-error">A service named &#39;web-app&#39; already exists`)

	// Another account does not see it.
	other := e.browser()
	other.signIn(otherKeyID, otherSecret)
	wantNoText(t, other.get(pathServices), "web-app")
	if leak := other.get(page.Request.URL.RequestURI()); leak.StatusCode != http.StatusSeeOther || leak.Header.Get("Location") != pathServices {
		t.Fatalf("another account's service page: %s", leak.Status)
	}
	wantText(t, other.get(pathServices), "No resource found for the ARN")
}

func TestDeleteNeedsTypedName(t *testing.T) {
	e := newEnv(t, nil)
	withAPI(e)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	b.get(pathServiceCreate)
	resp := b.post(pathServiceCreate, url.Values{"source_type": {"image"}, "service_name": {"to-delete"}, "image_identifier": {"/srv/app"},
		"image_repository_type": {"ECR"}, "image_port": {"8080"}, "size": {"1024/2048"}, "hc_protocol": {"TCP"}, "hc_path": {"/"},
		"hc_interval": {"5"}, "hc_timeout": {"2"}, "hc_healthy": {"1"}, "hc_unhealthy": {"5"}})
	arn, _ := url.ParseQuery(strings.TrimPrefix(resp.Header.Get("Location"), pathService+"?"))
	resp = b.post(pathServiceDelete, url.Values{"arn": {arn.Get("arn")}, "confirm": {"to-delet"}})
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("wrong name: %s", resp.Status)
	}
	wantText(t, resp, "Type the service name, to-delete, to confirm the deletion.")
	// The right name reaches the API, which refuses while the creation
	// runs (no deployer finishes it here).
	resp = b.post(pathServiceDelete, url.Values{"arn": {arn.Get("arn")}, "confirm": {"to-delete"}})
	wantText(t, resp, "has an operation in progress")
}

func TestSplitViolations(t *testing.T) {
	got, ok := splitViolations("2 validation errors detected: Value 'a' at 'serviceName' failed to satisfy constraint: x; Value null at 'sourceConfiguration.imageRepository.imageIdentifier' failed to satisfy constraint: y")
	if !ok || len(got) != 2 || !strings.HasPrefix(got[1], "Value null at") {
		t.Fatalf("%q", got)
	}
	f := &serviceForm{}
	if p := f.fieldOfPath(violationPath(got[1])); p != "image_identifier" {
		t.Fatalf("field %q", p)
	}
	if _, ok := splitViolations("The port 'x' isn't valid."); ok {
		t.Fatal("a domain message is not a validation list")
	}
}

func TestCharts(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	c := &Console{now: func() time.Time { return now }, cfg: Config{Metrics: func(string) []metrics.Point {
		return []metrics.Point{
			{Time: now.Add(-20 * time.Second), Active: 1, Desired: 1, Requests: map[string]uint64{}, P50: math.NaN(), P99: math.NaN()},
			{Time: now.Add(-10 * time.Second), Active: 2, Desired: 2, Requests: map[string]uint64{"2xx": 30, "5xx": 1}, P50: 0.004, P99: 0.2},
		}
	}}}
	m := c.metricsTab("arn")
	if m.Empty || len(m.Charts) != 4 {
		t.Fatalf("%+v", m)
	}
	if got := m.Charts[0].Summary; got != "Latest: Active: 2, Desired: 2." {
		t.Fatalf("instances: %q", got)
	}
	if got := m.Charts[2].Summary; got != "Last hour: 2xx: 30, 4xx: 0, 5xx: 1." {
		t.Fatalf("requests: %q", got)
	}
	if got := m.Charts[3].Summary; got != "Latest: p50: 4 ms, p99: 200 ms." {
		t.Fatalf("latency: %q", got)
	}
	svg := string(m.Charts[3].SVG)
	if !strings.Contains(svg, `<circle class="dot s1"`) || !strings.Contains(svg, "200 ms") {
		t.Fatalf("latency chart: %s", svg)
	}
	if niceCeil(0) != 1 || niceCeil(3) != 5 || niceCeil(21) != 50 || niceCeil(200) != 200 {
		t.Fatal("niceCeil")
	}
}

func TestCreateSourceServiceForm(t *testing.T) {
	e := newEnv(t, nil)
	withAPI(e)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	conn := &openrunner.Connection{Name: "gh-form", ProviderType: openrunner.ProviderGitHub}
	if err := e.conns.CreateConnection(scope(testAccount, defaultRegion), conn, nil); err != nil {
		t.Fatal(err)
	}
	// A connection that is not AVAILABLE is not offered.
	page := b.get(pathServiceCreate + "?connection=" + url.QueryEscape(conn.ARN()))
	wantNoText(t, page, "gh-form (GitHub)")
	wantText(t, page, "No AVAILABLE connection in this Region.")

	form := url.Values{"source_type": {"code"}, "service_name": {"from-code"}, "connection": {conn.ARN()},
		"repository_url": {"https://github.com/octo/app"}, "branch": {"main"}, "config_source": {"API"}, "runtime": {""},
		"code_port": {"8080"}, "code_start": {"python3 app.py"}, "size": {"1024/2048"}, "deployment": {"auto"},
		"hc_protocol": {"TCP"}, "hc_path": {"/"}, "hc_interval": {"5"}, "hc_timeout": {"2"}, "hc_healthy": {"1"}, "hc_unhealthy": {"5"}}
	resp := b.post(pathServiceCreate, form)
	wantHTML(t, resp, `id="runtime-error">Value &#39;&#39; at &#39;sourceConfiguration.codeRepository.codeConfiguration.codeConfigurationValues.runtime&#39; failed to satisfy constraint`)
	form.Set("runtime", "PYTHON_311")
	form.Set("config_source", "REPOSITORY")
	form.Set("env", "A=1")
	wantHTML(t, b.post(pathServiceCreate, form), `id="env-error">A service configured by apprunner.yaml takes its environment variables from the file`)
	form.Del("env")
	form.Set("repository_url", "https://bitbucket.org/octo/app")
	resp = b.post(pathServiceCreate, form)
	wantHTML(t, resp, `id="repository_url-error">The repository https://bitbucket.org/octo/app isn&#39;t on GITHUB`)
}

// createImageService creates a service through the console's form and
// returns its ARN.
func createImageService(t *testing.T, b *browser, name string) string {
	t.Helper()
	b.get(pathServiceCreate)
	resp := b.post(pathServiceCreate, url.Values{"source_type": {"image"}, "service_name": {name}, "image_identifier": {"/srv/app"},
		"image_repository_type": {"ECR"}, "image_port": {"8080"}, "size": {"1024/2048"}, "hc_protocol": {"TCP"}, "hc_path": {"/"},
		"hc_interval": {"5"}, "hc_timeout": {"2"}, "hc_healthy": {"1"}, "hc_unhealthy": {"5"}})
	q, err := url.ParseQuery(strings.TrimPrefix(resp.Header.Get("Location"), pathService+"?"))
	if err != nil || q.Get("arn") == "" {
		t.Fatalf("create %s: %s %q", name, resp.Status, resp.Header.Get("Location"))
	}
	return q.Get("arn")
}

func TestServicesPaginationAndFilter(t *testing.T) {
	e := newEnv(t, nil)
	withAPI(e)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	for i := range 23 {
		createImageService(t, b, fmt.Sprintf("svc-%02d", i))
	}
	first := b.get(pathServices)
	wantText(t, first, "svc-00")
	wantText(t, first, "svc-19")
	wantNoText(t, first, "svc-20")
	m := regexp.MustCompile(`href="/console/services\?token=([^"]+)" id="next-page"`).FindStringSubmatch(first.Body)
	if m == nil {
		t.Fatal("no Next page link")
	}
	second := b.get(pathServices + "?token=" + html.UnescapeString(m[1]))
	wantText(t, second, "svc-22")
	wantNoText(t, second, "svc-19")
	wantHTML(t, second, `id="first-page"`)
	// A bad token gets the API's answer.
	wantText(t, b.get(pathServices+"?token=bogus"), "The NextToken you specified isn't valid.")

	// The filter reads every page.
	filtered := b.get(pathServices + "?filter=SVC-2")
	for _, name := range []string{"svc-20", "svc-21", "svc-22"} {
		wantText(t, filtered, name)
	}
	wantNoText(t, filtered, "svc-19")
	wantNoText(t, filtered, `id="next-page"`)
	wantText(t, b.get(pathServices+"?filter=nothing"), "No service name contains")
}

func TestServiceLogsPoll(t *testing.T) {
	e := newEnv(t, nil)
	withAPI(e)
	store, err := logs.Open(t.TempDir(), logs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e.console.cfg.Logs = store
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	arn := createImageService(t, b, "logged")
	if err := store.AppendEvent(arn, logs.StreamEvents, "[AppRunner] Service creation started."); err != nil {
		t.Fatal(err)
	}
	page := b.get(serviceURL(arn, "logs"))
	wantText(t, page, "[AppRunner] Service creation started.")
	next := regexp.MustCompile(`id="service-log"[^>]*data-next="([^"]*)"`).FindStringSubmatch(page.Body)
	if next == nil {
		t.Fatalf("no cursor on the log:\n%s", page.Body)
	}
	if err := store.AppendEvent(arn, logs.StreamEvents, "[AppRunner] Service status is set to RUNNING."); err != nil {
		t.Fatal(err)
	}
	poll := b.get(pathServiceLogs + "?" + url.Values{"arn": {arn}, "log": {"service"}, "after": {html.UnescapeString(next[1])}}.Encode())
	var out logsPoll
	if err := json.Unmarshal([]byte(poll.Body), &out); err != nil || len(out.Lines) != 1 || out.Lines[0].Text != "[AppRunner] Service status is set to RUNNING." ||
		out.Lines[0].Kind != "event" || out.Status != openrunner.ServiceOperationInProgress || out.Next == "" {
		t.Fatalf("poll: %s (%v)", poll.Body, err)
	}
	// One operation's lines: its deployment stream and the events of its
	// time, not another deployment's.
	ops, err := sqlite.NewServiceService(e.db).FindOperations(scope(testAccount, defaultRegion), arn, openrunner.OperationFilter{})
	if err != nil || len(ops.Operations) != 1 {
		t.Fatalf("operations %v, %v", ops, err)
	}
	op := ops.Operations[0].ID
	_ = store.AppendEvent(arn, logs.DeploymentStream(op), "[AppRunner] Pulling image /srv/app from ECR repository.")
	_ = store.AppendEvent(arn, logs.DeploymentStream("00000000-0000-4000-8000-000000000000"), "[AppRunner] another deployment")
	one := b.get(serviceURL(arn, "logs") + "&operation=" + op)
	wantText(t, one, "Pulling image /srv/app")
	wantText(t, one, "Service creation started.")
	wantNoText(t, one, "another deployment")
	wantNoText(t, one, `data-follow=`)
	wantText(t, b.get(serviceURL(arn, "logs")), "another deployment")

	// A long log shows its newest lines.
	for i := range logTail + 5 {
		_ = store.AppendEvent(arn, logs.StreamEvents, fmt.Sprintf("line %04d", i))
	}
	long := b.get(serviceURL(arn, "logs"))
	wantText(t, long, fmt.Sprintf("line %04d", logTail+4))
	wantNoText(t, long, "line 0004<")

	// Another account cannot read it.
	other := e.browser()
	other.signIn(otherKeyID, otherSecret)
	if resp := other.get(pathServiceLogs + "?" + url.Values{"arn": {arn}}.Encode()); resp.StatusCode != http.StatusBadRequest || strings.Contains(resp.Body, "creation started") {
		t.Fatalf("another account: %s %s", resp.Status, resp.Body)
	}
}

func TestCreateServiceNetworking(t *testing.T) {
	e := newEnv(t, nil)
	withAPI(e)
	b := e.browser()
	b.signIn(testKeyID, testSecret)
	b.get(pathServiceCreate)
	form := url.Values{"source_type": {"image"}, "service_name": {"private-one"}, "image_identifier": {"/srv/app"},
		"image_repository_type": {"ECR"}, "image_port": {"8080"}, "size": {"1024/2048"}, "hc_protocol": {"TCP"}, "hc_path": {"/"},
		"hc_interval": {"5"}, "hc_timeout": {"2"}, "hc_healthy": {"1"}, "hc_unhealthy": {"5"}, "ingress": {"private"}, "ip_type": {"IPV6"}}
	wantHTML(t, b.post(pathServiceCreate, form), `id="ip_type-error">Value &#39;IPV6&#39; at &#39;networkConfiguration.ipAddressType&#39; failed to satisfy constraint`)
	form.Set("ip_type", "DUAL_STACK")
	resp := b.post(pathServiceCreate, form)
	q, _ := url.ParseQuery(strings.TrimPrefix(resp.Header.Get("Location"), pathService+"?"))
	svc, err := sqlite.NewServiceService(e.db).FindServiceByARN(scope(testAccount, defaultRegion), q.Get("arn"))
	if err != nil || svc.Config.Network.IsPubliclyAccessible || svc.Config.Network.IPAddressType != "DUAL_STACK" {
		t.Fatalf("network %+v, %v", svc, err)
	}
	// A private service has no default domain to link.
	page := b.get(resp.Header.Get("Location"))
	wantText(t, page, "Private: no public domain")
	edit := b.get(pathServiceEdit + "?arn=" + url.QueryEscape(q.Get("arn")))
	wantHTML(t, edit, `value="private" checked`)
	wantHTML(t, edit, `value="DUAL_STACK" selected`)
}
