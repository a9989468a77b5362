package router

import (
	"context"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// Trace tells the router to trace a route's requests: one server span per
// request, continuing the trace of an incoming traceparent or
// X-Amzn-Trace-Id header, and passed on to the instance in both.
type Trace struct {
	// ServiceName is the span's service (its resource's service.name).
	ServiceName string
	// RevisionID is the revision the route's instances run.
	RevisionID string
}

// Tracers gives the router what it needs to trace (package tracing).
type Tracers interface {
	// Tracer returns the tracer of a service.
	Tracer(serviceARN, serviceName string) trace.Tracer
	// Propagator reads the incoming trace context and writes the
	// outgoing one.
	Propagator() propagation.TextMapPropagator
}

// TracerForgetter is implemented by Tracers that keep state per service
// (package tracing's do): DeleteRoute, and SetRoute of an untraced route
// over a traced one, call Forget so that the service's tracer state is
// freed.
type TracerForgetter interface {
	Forget(serviceARN string)
}

// forgetTracer frees the tracer state of a service whose route is gone.
func (r *Router) forgetTracer(serviceARN string) {
	if f, ok := r.tracers.(TracerForgetter); ok {
		f.Forget(serviceARN)
	}
}

// Span attribute keys of OpenRunner's own; the others are OpenTelemetry's
// HTTP semantic conventions.
const (
	attrServiceARN = attribute.Key("openrunner.service.arn")
	attrRevisionID = attribute.Key("openrunner.revision.id")
	attrInstanceID = attribute.Key("openrunner.instance.id")
	attrRetried    = attribute.Key("openrunner.retried")
)

// serverSpanStarter is implemented by tracers (package tracing's) that
// start a server span without the cost of SpanStartOptions; the span
// keeps attrs.
type serverSpanStarter interface {
	StartServer(ctx context.Context, name string, start time.Time, attrs []attribute.KeyValue) (context.Context, trace.Span)
}

// traceRoute is a route's resolved Trace. Routes without one pay a nil
// check per request and nothing else.
type traceRoute struct {
	tracer     trace.Tracer
	starter    serverSpanStarter // tracer, when it is one
	propagator propagation.TextMapPropagator
	attrs      []attribute.KeyValue // the route's, on every span
}

// newTraceRoute resolves rt.Trace; nil when rt is not traced or the
// router has no Tracers.
func (r *Router) newTraceRoute(rt Route) *traceRoute {
	if rt.Trace == nil || r.tracers == nil {
		return nil
	}
	name := rt.Trace.ServiceName
	if name == "" {
		name = serviceName(rt)
	}
	tr := &traceRoute{
		tracer:     r.tracers.Tracer(rt.ServiceARN, name),
		propagator: r.tracers.Propagator(),
		attrs:      []attribute.KeyValue{attrServiceARN.String(rt.ServiceARN), attrRevisionID.String(rt.Trace.RevisionID)},
	}
	tr.starter, _ = tr.tracer.(serverSpanStarter)
	return tr
}

// startSpan starts the request's server span, at its arrival (time in the
// queue included), as a child of the incoming trace context if any.
func (st *reqState) startSpan(tr *traceRoute, req *http.Request, began time.Time) {
	ctx := tr.propagator.Extract(st.client, traceHeader(req.Header))
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	// Room for endSpan's three attributes too.
	attrs := append(append(make([]attribute.KeyValue, 0, len(tr.attrs)+8), tr.attrs...),
		semconv.HTTPRequestMethodKey.String(req.Method),
		semconv.URLPath(req.URL.Path),
		semconv.URLScheme(scheme),
		semconv.ServerAddress(normalizeHost(req.Host)),
		attrInstanceID.String(st.backend.id), // a retry sets it again
	)
	if tr.starter != nil {
		st.spanCtx, st.span = tr.starter.StartServer(ctx, req.Method, began, attrs)
	} else {
		st.spanCtx, st.span = tr.tracer.Start(ctx, req.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithTimestamp(began), trace.WithAttributes(attrs...))
	}
	st.trace = tr
}

// injectTrace writes the span's context into the request to the instance,
// replacing any the client sent.
func (st *reqState) injectTrace(h http.Header) {
	st.trace.propagator.Inject(st.spanCtx, traceHeader(h))
}

// traceHeader is propagation.HeaderCarrier, in and out, with the trace headers' keys
// canonicalized by a switch, not by allocating a new key per request.
type traceHeader http.Header

func (h traceHeader) Get(key string) string {
	if v := h[canonicalKey(key)]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (h traceHeader) Keys() []string { return propagation.HeaderCarrier(h).Keys() }

func (h traceHeader) Set(key, value string) { h[canonicalKey(key)] = []string{value} }

func canonicalKey(key string) string {
	switch key {
	case "traceparent":
		return "Traceparent"
	case "tracestate":
		return "Tracestate"
	case "baggage":
		return "Baggage"
	case "X-Amzn-Trace-Id":
		return key
	}
	return http.CanonicalHeaderKey(key)
}

// endSpan records the outcome: the status, and after a retry the
// instance that answered; 5xx is an error.
func (st *reqState) endSpan() {
	span := st.span
	status := st.status
	if st.upgraded {
		status = http.StatusSwitchingProtocols
	}
	if st.retried {
		// Only when true: every attribute costs its share of the export.
		span.SetAttributes(semconv.HTTPResponseStatusCode(status), attrInstanceID.String(st.backend.id), attrRetried.Bool(true))
	} else {
		span.SetAttributes(semconv.HTTPResponseStatusCode(status))
	}
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}
