package tracing

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// collector decodes every export with the OTLP protobuf's generated code.
type collector struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*coltracepb.ExportTraceServiceRequest
	code int // the answer; 0 means 200
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := &coltracepb.ExportTraceServiceRequest{}
		if r.URL.Path != "/v1/traces" || r.Header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("export to %s as %q", r.URL.Path, r.Header.Get("Content-Type"))
		}
		if err := proto.Unmarshal(body, req); err != nil {
			t.Errorf("the export does not decode: %v", err)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.reqs = append(c.reqs, req)
		if c.code != 0 {
			w.WriteHeader(c.code)
		}
	}))
	t.Cleanup(c.Close)
	return c
}

// spans returns every span exported, by service.name.
func (c *collector) spans() map[string][]*tracepb.Span {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := map[string][]*tracepb.Span{}
	for _, req := range c.reqs {
		for _, rs := range req.ResourceSpans {
			name := anyAttr(rs.Resource.Attributes, "service.name").GetStringValue()
			for _, ss := range rs.ScopeSpans {
				m[name] = append(m[name], ss.Spans...)
			}
		}
	}
	return m
}

func anyAttr(kvs []*commonpb.KeyValue, key string) *commonpb.AnyValue {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value
		}
	}
	return nil
}

func mustNew(t *testing.T, opts Options) *Tracing {
	t.Helper()
	tr, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close(context.Background()) })
	return tr
}

func TestExportIsOTLP(t *testing.T) {
	c := newCollector(t)
	tr := mustNew(t, Options{Endpoint: c.URL, BatchTimeout: time.Hour})
	const arn = "arn:aws:apprunner:us-east-1:000000000000:service/web/0123"
	h := propagation.HeaderCarrier{"Traceparent": {"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"},
		"Tracestate": {"k=v"}}
	ctx := tr.Propagator().Extract(context.Background(), h)
	began := time.Unix(1700000000, 123)
	ctx, s := tr.Tracer(arn, "web").Start(ctx, "GET", trace.WithSpanKind(trace.SpanKindServer), trace.WithTimestamp(began),
		trace.WithAttributes(attribute.String("url.path", "/a"), attribute.Bool("b", true), attribute.Int("i", -7),
			attribute.Float64("f", 1.5), attribute.StringSlice("ss", []string{"x", "y"})))
	s.SetAttributes(attribute.Int("http.response.status_code", 500), attribute.String("url.path", "/b"))
	s.SetStatus(codes.Error, "Internal Server Error")
	s.End(trace.WithTimestamp(began.Add(time.Millisecond)))
	s.SetAttributes(attribute.String("late", "x")) // after End: ignored
	_, fresh := tr.Tracer("arn:other", "other").Start(context.Background(), "POST")
	fresh.End()
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}

	got := c.spans()
	if len(got["web"]) != 1 || len(got["other"]) != 1 {
		t.Fatalf("spans by service: %v", got)
	}
	sp, sc := got["web"][0], trace.SpanContextFromContext(ctx)
	if !bytes.Equal(sp.TraceId, []byte{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}) ||
		trace.SpanID(sp.SpanId) != sc.SpanID() || trace.SpanID(sp.ParentSpanId).String() != "00f067aa0ba902b7" ||
		sp.TraceState != "k=v" || sp.Name != "GET" || sp.Kind != tracepb.Span_SPAN_KIND_SERVER ||
		sp.StartTimeUnixNano != uint64(began.UnixNano()) || sp.EndTimeUnixNano != uint64(began.Add(time.Millisecond).UnixNano()) ||
		sp.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || sp.Status.GetMessage() != "Internal Server Error" ||
		sp.Flags != 0x301 {
		t.Fatalf("span %v", sp)
	}
	if len(sp.Attributes) != 6 || anyAttr(sp.Attributes, "url.path").GetStringValue() != "/b" ||
		!anyAttr(sp.Attributes, "b").GetBoolValue() || anyAttr(sp.Attributes, "i").GetIntValue() != -7 ||
		anyAttr(sp.Attributes, "f").GetDoubleValue() != 1.5 ||
		len(anyAttr(sp.Attributes, "ss").GetArrayValue().GetValues()) != 2 ||
		anyAttr(sp.Attributes, "http.response.status_code").GetIntValue() != 500 {
		t.Fatalf("attributes %v", sp.Attributes)
	}
	c.mu.Lock()
	rs := c.reqs[0].ResourceSpans[0]
	c.mu.Unlock()
	if anyAttr(rs.Resource.Attributes, "openrunner.service.arn").GetStringValue() != arn ||
		anyAttr(rs.Resource.Attributes, "telemetry.sdk.language").GetStringValue() != "go" ||
		rs.ScopeSpans[0].Scope.GetName() != "github.com/openrunner/openrunner/router" {
		t.Fatalf("resource spans %v", rs)
	}
	if o := got["other"][0]; len(o.ParentSpanId) != 0 || len(o.TraceId) != 16 || o.Flags != 0x101 || o.Status != nil ||
		o.EndTimeUnixNano < o.StartTimeUnixNano {
		t.Fatalf("root span %v", o)
	}
}

// A full batch is exported at once, not at the batch timeout; spans of
// many services share requests.
func TestExportFullBatch(t *testing.T) {
	c := newCollector(t)
	tr := mustNew(t, Options{Endpoint: c.URL, BatchTimeout: time.Hour})
	for i := range maxBatch {
		_, s := tr.Tracer([]string{"a", "b"}[i%2], []string{"a", "b"}[i%2]).Start(context.Background(), "GET")
		s.End()
	}
	deadline := time.Now().Add(10 * time.Second)
	for got := c.spans(); len(got["a"])+len(got["b"]) < maxBatch; got = c.spans() {
		if time.Now().After(deadline) {
			t.Fatalf("%d+%d spans exported", len(got["a"]), len(got["b"]))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestForgetFreesServiceState(t *testing.T) {
	c := newCollector(t)
	tr := mustNew(t, Options{Endpoint: c.URL, BatchTimeout: time.Hour})
	_, inFlight := tr.Tracer("a", "a").Start(context.Background(), "GET")
	tr.Tracer("b", "b")
	if n := tr.traced(); n != 2 {
		t.Fatalf("%d services traced", n)
	}
	tr.Forget("a")
	tr.Forget("unknown")
	if n := tr.traced(); n != 1 {
		t.Fatalf("%d services traced after Forget", n)
	}
	inFlight.End() // still exported
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := c.spans(); len(got["a"]) != 1 {
		t.Fatalf("spans %v", got)
	}
	if n := tr.traced(); n != 0 {
		t.Fatalf("%d services traced after Close", n)
	}
}

func TestExportFailureIsLogged(t *testing.T) {
	c := newCollector(t)
	c.code = http.StatusServiceUnavailable
	var logs bytes.Buffer
	var mu sync.Mutex
	tr := mustNew(t, Options{Endpoint: c.URL, BatchTimeout: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
	_, s := tr.Tracer("a", "a").Start(context.Background(), "GET")
	s.End()
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		out := logs.String()
		mu.Unlock()
		if strings.Contains(out, "503") && strings.Contains(out, "1 spans lost") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("log %q", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Closed: no more tracers, and a second Close is harmless.
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, s := tr.Tracer("a", "a").Start(context.Background(), "GET"); s.IsRecording() {
		t.Fatal("a closed Tracing's span records")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// StartServer, the router's path, makes the span Start would.
func TestStartServer(t *testing.T) {
	c := newCollector(t)
	tr := mustNew(t, Options{Endpoint: c.URL, BatchTimeout: time.Hour})
	h := propagation.HeaderCarrier{"X-Amzn-Trace-Id": {"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"}}
	ctx := tr.Propagator().Extract(context.Background(), h)
	began := time.Now().Add(-time.Millisecond)
	attrs := append(make([]attribute.KeyValue, 0, 4), attribute.String("url.path", "/"))
	ctx, s := tr.Tracer("a", "a").(interface {
		StartServer(context.Context, string, time.Time, []attribute.KeyValue) (context.Context, trace.Span)
	}).StartServer(ctx, "GET", began, attrs)
	if trace.SpanFromContext(ctx) != s || !s.IsRecording() {
		t.Fatal("the context does not hold the recording span")
	}
	s.SetAttributes(attribute.Int("http.response.status_code", 200))
	s.End()
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	sp := c.spans()["a"][0]
	if trace.SpanID(sp.ParentSpanId).String() != "53995c3f42cd8ad8" || sp.Kind != tracepb.Span_SPAN_KIND_SERVER ||
		sp.StartTimeUnixNano != uint64(began.UnixNano()) || len(sp.Attributes) != 2 || sp.Flags != 0x301 {
		t.Fatalf("span %v", sp)
	}
}
