package router_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openrunner/openrunner/router"
	"github.com/openrunner/openrunner/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// recordingTracers records every span in memory, and counts the tracers
// asked for.
type recordingTracers struct {
	rec   *tracetest.SpanRecorder
	p     *sdktrace.TracerProvider
	asked int
}

func newRecordingTracers() *recordingTracers {
	rec := tracetest.NewSpanRecorder()
	return &recordingTracers{rec: rec, p: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))}
}

func (r *recordingTracers) Tracer(arn, name string) trace.Tracer {
	r.asked++
	return r.p.Tracer(name)
}

func (r *recordingTracers) Propagator() propagation.TextMapPropagator {
	t, _ := tracing.New(tracing.Options{})
	return t.Propagator()
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value.String()
	}
	return m
}

// echoHeaders answers the trace headers it received.
func echoHeaders(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/fail" {
		w.WriteHeader(http.StatusInternalServerError)
	}
	io.WriteString(w, r.Header.Get("traceparent")+"|"+r.Header.Get("X-Amzn-Trace-Id"))
}

// get sends GET path with the test host and returns the status and body.
func get(tb testing.TB, base, path string) (int, string) {
	tb.Helper()
	res, err := Get(context.Background(), http.DefaultClient, base, path)
	if err != nil {
		tb.Fatal(err)
	}
	return res.Code, res.Body
}

func TestTracedRoute(t *testing.T) {
	tr := newRecordingTracers()
	_, in := MustBackend(t, "i-1", echoHeaders)
	r, rs := MustRouter(t, router.Options{Tracers: tr})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in},
		Trace: &router.Trace{ServiceName: "web", RevisionID: "rev-1"}})

	req, _ := http.NewRequest(http.MethodGet, rs.URL+"/a/b?q=1", nil)
	req.Host = testHost
	req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	spans := tr.rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans", len(spans))
	}
	s := spans[0]
	sc := s.SpanContext()
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + sc.SpanID().String() + "-01|Root=1-4bf92f35-77b34da6a3ce929d0e0e4736;Parent=" + sc.SpanID().String() + ";Sampled=1"
	if string(body) != want {
		t.Fatalf("instance saw %q, want %q", body, want)
	}
	if s.Parent().SpanID().String() != "00f067aa0ba902b7" || !s.Parent().IsRemote() || s.SpanKind() != trace.SpanKindServer || s.Name() != "GET" {
		t.Fatalf("span parent %s kind %s name %s", s.Parent().SpanID(), s.SpanKind(), s.Name())
	}
	got := attrs(s)
	for k, v := range map[attribute.Key]string{
		"openrunner.service.arn": testARN, "openrunner.revision.id": "rev-1", "openrunner.instance.id": "i-1",
		"http.request.method": "GET", "url.path": "/a/b", "http.response.status_code": "200", "server.address": testHost,
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}

	// A 5xx marks the span as an error.
	if code, _ := get(t, rs.URL, "/fail"); code != http.StatusInternalServerError {
		t.Fatalf("status %d", code)
	}
	if spans := tr.rec.Ended(); len(spans) != 2 || spans[1].Status().Code != codes.Error {
		t.Fatalf("spans %d, last status %+v", len(spans), spans[len(spans)-1].Status())
	}
}

func TestUntracedRouteMakesNoSpans(t *testing.T) {
	tr := newRecordingTracers()
	_, in := MustBackend(t, "i-1", echoHeaders)
	r, rs := MustRouter(t, router.Options{Tracers: tr})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})
	_, body := get(t, rs.URL, "/")
	if body != "|" || len(tr.rec.Ended()) != 0 || tr.asked != 0 {
		t.Fatalf("instance saw %q; %d spans; %d tracers asked for", body, len(tr.rec.Ended()), tr.asked)
	}
	// Without Tracers, a route asking for tracing is served untraced.
	r2, rs2 := MustRouter(t, router.Options{})
	MustSetRoute(t, r2, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in},
		Trace: &router.Trace{ServiceName: "web"}})
	if _, body := get(t, rs2.URL, "/"); !strings.HasPrefix(body, "|") {
		t.Fatalf("instance saw %q", body)
	}
}
