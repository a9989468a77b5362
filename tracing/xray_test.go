package tracing_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/openrunner/openrunner/tracing"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

func TestXRayRoundTrip(t *testing.T) {
	h := http.Header{}
	h.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	ctx := tracing.XRay{}.Extract(context.Background(), propagation.HeaderCarrier(h))
	sc := trace.SpanContextFromContext(ctx)
	if got := sc.TraceID().String(); got != "5759e988bd862e3fe1be46a994272793" || sc.SpanID().String() != "53995c3f42cd8ad8" || !sc.IsSampled() || !sc.IsRemote() {
		t.Fatalf("extracted %s %s sampled=%t remote=%t", got, sc.SpanID(), sc.IsSampled(), sc.IsRemote())
	}
	out := http.Header{}
	tracing.XRay{}.Inject(ctx, propagation.HeaderCarrier(out))
	if got := out.Get("X-Amzn-Trace-Id"); got != h.Get("X-Amzn-Trace-Id") {
		t.Fatalf("injected %q", got)
	}
}

func TestXRayIgnoresBadHeaders(t *testing.T) {
	for _, v := range []string{
		"Root=1-5759e988-bd862e3fe1be46a994272793", // no parent
		"Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
		"Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8",
		"Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad",
		"Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",
		"Root=1-5759e988-bd862e3fe1be46a99427279z;Parent=53995c3f42cd8ad8",
		"garbage",
	} {
		h := http.Header{}
		h.Set("X-Amzn-Trace-Id", v)
		ctx := tracing.XRay{}.Extract(context.Background(), propagation.HeaderCarrier(h))
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			t.Errorf("%q extracted %s", v, sc.TraceID())
		}
	}
}

// traceparent wins over X-Amzn-Trace-Id when a request has both.
func TestPropagatorPrefersTraceparent(t *testing.T) {
	tr, err := tracing.New(tracing.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("X-Amzn-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1")
	h.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	sc := trace.SpanContextFromContext(tr.Propagator().Extract(context.Background(), propagation.HeaderCarrier(h)))
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || sc.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("extracted %s %s", sc.TraceID(), sc.SpanID())
	}
}

func TestNewRefusesBadEndpoints(t *testing.T) {
	for _, e := range []string{"127.0.0.1:4318", "ftp://collector", "http://", "::"} {
		if _, err := tracing.New(tracing.Options{Endpoint: e}); err == nil {
			t.Errorf("%q: want an error", e)
		}
	}
	tr, err := tracing.New(tracing.Options{Endpoint: "http://127.0.0.1:4318/"})
	if err != nil || tr.Endpoint() != "http://127.0.0.1:4318" {
		t.Fatalf("%v, %v", tr, err)
	}
	if err := tr.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
