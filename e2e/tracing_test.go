package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/jaegertest"
	"github.com/openrunner/openrunner/internal/testutil"
)

// createTestService creates a running service of the test image,
// observability as given (nil: none), and returns it.
func createTestService(t *testing.T, c *apprunner.Client, name string, obs *types.ServiceObservabilityConfiguration) *types.Service {
	t.Helper()
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName:                aws.String(name),
		SourceConfiguration:        imageSource(testImage, nil, ""),
		HealthCheckConfiguration:   &types.HealthCheckConfiguration{Protocol: types.HealthCheckProtocolHttp, Path: aws.String("/health"), Interval: aws.Int32(1)},
		ObservabilityConfiguration: obs,
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := waitStatus(t, c, out.Service.ServiceArn)
	if svc.Status != types.ServiceStatusRunning {
		t.Fatalf("%s: status %s", name, svc.Status)
	}
	return svc
}

// headersSeen sends GET /header for traceparent and X-Amzn-Trace-Id with
// the given request headers, and returns the two the instance saw.
func headersSeen(t *testing.T, routerURL, host string, h map[string]string) (traceparent, xray string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, routerURL+"/header?name=traceparent&name=X-Amzn-Trace-Id", nil)
	req.Host = host
	for k, v := range h {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	lines := strings.Split(string(b), "\n")
	if res.StatusCode != http.StatusOK || len(lines) < 2 {
		t.Fatalf("GET /header: %d %q", res.StatusCode, b)
	}
	return lines[0], lines[1]
}

// seen is what the instance saw of one request's trace context.
type seen struct {
	traceID, spanID, flags string
	xray                   string
}

// seenBy sends a traced request and parses what the instance saw.
func seenBy(t *testing.T, routerURL, host string, h map[string]string) seen {
	t.Helper()
	traceparent, xray := headersSeen(t, routerURL, host, h)
	p := strings.Split(traceparent, "-")
	if len(p) != 4 || p[0] != "00" || len(p[1]) != 32 || len(p[2]) != 16 {
		t.Fatalf("the instance saw traceparent %q", traceparent)
	}
	s := seen{traceID: p[1], spanID: p[2], flags: p[3], xray: xray}
	if want := fmt.Sprintf("Root=1-%s-%s;Parent=%s;Sampled=1", s.traceID[:8], s.traceID[8:], s.spanID); xray != want {
		t.Fatalf("the instance saw X-Amzn-Trace-Id %q, want %q (matching traceparent %s)", xray, want, traceparent)
	}
	return s
}

func TestTracingToJaeger(t *testing.T) {
	needDocker(t)
	j := jaegertest.Start(t)
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker", OTLPEndpoint: j.OTLP})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	xray := createObs(t, c, "xray", true)
	noTrace := createObs(t, c, "metrics-only", false)

	traced := createTestService(t, c, "traced", &types.ServiceObservabilityConfiguration{
		ObservabilityEnabled: true, ObservabilityConfigurationArn: xray.ObservabilityConfigurationArn})
	plain := createTestService(t, c, "plain", nil)
	untracedConfig := createTestService(t, c, "no-trace-config", &types.ServiceObservabilityConfiguration{
		ObservabilityEnabled: true, ObservabilityConfigurationArn: noTrace.ObservabilityConfigurationArn})
	host := aws.ToString(traced.ServiceUrl)

	// A new trace, a continued W3C trace, a continued X-Ray trace.
	fresh := seenBy(t, d.RouterURL(), host, nil)
	const inTrace, inParent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	w3c := seenBy(t, d.RouterURL(), host, map[string]string{"traceparent": "00-" + inTrace + "-" + inParent + "-01"})
	const xrTrace, xrParent = "5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8"
	xr := seenBy(t, d.RouterURL(), host, map[string]string{
		"X-Amzn-Trace-Id": "Root=1-" + xrTrace[:8] + "-" + xrTrace[8:] + ";Parent=" + xrParent + ";Sampled=1"})
	if w3c.traceID != inTrace || w3c.spanID == inParent || xr.traceID != xrTrace || xr.spanID == xrParent || fresh.traceID == inTrace {
		t.Fatalf("trace ids: fresh %+v, w3c %+v, xray %+v", fresh, w3c, xr)
	}
	// The instance's environment lets an OpenTelemetry SDK join in.
	for name, want := range map[string]string{
		"OTEL_SERVICE_NAME": "traced", "OTEL_PROPAGATORS": "tracecontext,xray", "OTEL_EXPORTER_OTLP_ENDPOINT": j.OTLP,
	} {
		if code, body := get(t, d.RouterURL(), host, "/env?name="+name); code != 200 || body != want {
			t.Fatalf("instance %s = %d %q, want %q", name, code, body, want)
		}
	}
	// Untraced services pass the client's headers on untouched and add none.
	for _, svc := range []*types.Service{plain, untracedConfig} {
		tp, xh := headersSeen(t, d.RouterURL(), aws.ToString(svc.ServiceUrl), map[string]string{"traceparent": "00-" + inTrace + "-" + inParent + "-01"})
		if tp != "00-"+inTrace+"-"+inParent+"-01" || xh != "" {
			t.Fatalf("%s: the instance saw %q and %q", aws.ToString(svc.ServiceName), tp, xh)
		}
	}

	traces := j.WaitSpans(t, "traced", 6)
	spans := map[string]jaegertest.Span{} // by span id
	for _, tr := range traces {
		for _, s := range tr.Spans {
			if p := tr.Processes[s.ProcessID]; p.ServiceName != "traced" {
				t.Fatalf("span %s has service %q", s.SpanID, p.ServiceName)
			}
			spans[s.SpanID] = s
		}
	}
	if len(spans) != 6 {
		t.Fatalf("%d spans, want 6 (3 /header, 3 /env)", len(spans))
	}
	for _, tt := range []struct {
		seen   seen
		parent string
	}{{fresh, ""}, {w3c, inParent}, {xr, xrParent}} {
		s, ok := spans[tt.seen.spanID]
		if !ok {
			t.Fatalf("Jaeger has no span %s (the one the instance saw)", tt.seen.spanID)
		}
		if s.TraceID != tt.seen.traceID || s.Parent() != tt.parent || s.OperationName != "GET" || s.Duration <= 0 {
			t.Fatalf("span %+v, want trace %s parent %q", s, tt.seen.traceID, tt.parent)
		}
		for key, want := range map[string]string{
			"openrunner.service.arn": aws.ToString(traced.ServiceArn), "http.request.method": "GET", "url.path": "/header",
			"http.response.status_code": "200", "server.address": host, "span.kind": "server",
		} {
			if got, _ := s.Tag(key); got != want {
				t.Fatalf("span %s: %s = %q, want %q", s.SpanID, key, got, want)
			}
		}
		if v, ok := s.Tag("openrunner.retried"); ok {
			t.Fatalf("span %s: openrunner.retried = %s without a retry", s.SpanID, v)
		}
		for _, key := range []string{"openrunner.revision.id", "openrunner.instance.id"} {
			if got, _ := s.Tag(key); len(got) < 8 {
				t.Fatalf("span %s: %s = %q", s.SpanID, key, got)
			}
		}
	}
	// Services without tracing leave nothing in Jaeger.
	services, err := j.Services(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(services, "plain") || slices.Contains(services, "no-trace-config") || !slices.Contains(services, "traced") {
		t.Fatalf("Jaeger's services: %v", services)
	}
}

// Observability enabled without a collector: the deployment goes on, and
// its log says the traces have nowhere to go.
func TestTracingWithoutCollector(t *testing.T) {
	needDocker(t)
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	xray := createObs(t, c, "xray", true)
	svc := createTestService(t, c, "traced", &types.ServiceObservabilityConfiguration{
		ObservabilityEnabled: true, ObservabilityConfigurationArn: xray.ObservabilityConfigurationArn})
	if log := (&sourceEnv{d: d}).serviceLog(t, aws.ToString(svc.ServiceArn), false); !strings.Contains(log, "traces have nowhere to go") {
		t.Fatalf("the service log does not say traces have nowhere to go:\n%s", log)
	}
	if tp, xh := headersSeen(t, d.RouterURL(), aws.ToString(svc.ServiceUrl), nil); tp != "" || xh != "" {
		t.Fatalf("without a collector the instance saw %q and %q", tp, xh)
	}
	if code, body := get(t, d.RouterURL(), aws.ToString(svc.ServiceUrl), "/env?name=OTEL_EXPORTER_OTLP_ENDPOINT"); code != http.StatusNotFound {
		t.Fatalf("OTEL_EXPORTER_OTLP_ENDPOINT = %d %q, want unset", code, body)
	}
	if _, body := get(t, d.RouterURL(), aws.ToString(svc.ServiceUrl), "/env?name=OTEL_SERVICE_NAME"); body != "traced" {
		t.Fatalf("OTEL_SERVICE_NAME = %q", body)
	}
}
