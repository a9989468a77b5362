package tracing

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/embedded"
)

// tracer is a service's tracer: its spans are small records of their own
// (ids, times, name, kind, status and a few attributes), not the SDK's,
// and go on ending to the Tracing's export queue. Every span is sampled.
type tracer struct {
	embedded.Tracer
	svc *service
}

// service is what a service's spans share: the encoded resource (its
// service.name and ARN) and the Tracing that exports them.
type service struct {
	t        *Tracing
	name     string // service.name
	resource []byte // an OTLP Resource message
}

// Start implements trace.Tracer: a span continuing ctx's span context, or
// a new trace when there is none.
func (tr tracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	parent := trace.SpanContextFromContext(ctx)
	if cfg.NewRoot() {
		parent = trace.SpanContext{}
	}
	start := cfg.Timestamp()
	if start.IsZero() {
		start = time.Now()
	}
	// NewSpanStartConfig copied the attributes: the span may keep them.
	return tr.start(ctx, parent, name, cfg.SpanKind(), start, cfg.Attributes())
}

// StartServer starts a server span at start with attrs, which the span
// keeps (the caller must not reuse them; spare capacity holds the
// attributes set later): Start without the cost of options, for the
// router.
func (tr tracer) StartServer(ctx context.Context, name string, start time.Time, attrs []attribute.KeyValue) (context.Context, trace.Span) {
	return tr.start(ctx, trace.SpanContextFromContext(ctx), name, trace.SpanKindServer, start, attrs)
}

func (tr tracer) start(ctx context.Context, parent trace.SpanContext, name string, kind trace.SpanKind, start time.Time,
	attrs []attribute.KeyValue) (context.Context, trace.Span) {
	scc := trace.SpanContextConfig{TraceFlags: trace.FlagsSampled}
	if parent.IsValid() {
		scc.TraceID, scc.TraceState = parent.TraceID(), parent.TraceState()
		scc.SpanID = idGenerator{}.NewSpanID(ctx, scc.TraceID)
	} else {
		scc.TraceID, scc.SpanID = idGenerator{}.NewIDs(ctx)
	}
	s := &span{svc: tr.svc, sc: trace.NewSpanContext(scc), parent: parent, name: name, kind: kind, start: start, attrs: attrs}
	return trace.ContextWithSpan(ctx, s), s
}

// span is one recorded span; it is exported once ended.
type span struct {
	embedded.Span
	svc    *service
	sc     trace.SpanContext
	parent trace.SpanContext
	kind   trace.SpanKind

	mu         sync.Mutex
	name       string
	start, end time.Time
	attrs      []attribute.KeyValue
	code       codes.Code
	message    string
	ended      bool
}

var _ trace.Span = (*span)(nil)

// End implements trace.Span; only the first call counts.
func (s *span) End(opts ...trace.SpanEndOption) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	cfg := trace.NewSpanEndConfig(opts...)
	if s.end = cfg.Timestamp(); s.end.IsZero() {
		s.end = time.Now()
	}
	s.mu.Unlock()
	s.svc.t.queue.push(s)
}

// SetAttributes implements trace.Span: a key set again takes the new
// value in place.
func (s *span) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
next:
	for _, a := range kv {
		if !a.Valid() {
			continue
		}
		for i := range s.attrs {
			if s.attrs[i].Key == a.Key {
				s.attrs[i] = a
				continue next
			}
		}
		s.attrs = append(s.attrs, a)
	}
}

// SetStatus implements trace.Span with the SDK's rules: Ok is final, a
// description only goes with Error.
func (s *span) SetStatus(code codes.Code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended || s.code == codes.Ok || code < s.code {
		return
	}
	s.code = code
	s.message = ""
	if code == codes.Error {
		s.message = description
	}
}

// SetName implements trace.Span.
func (s *span) SetName(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.name = name
	}
}

// SpanContext implements trace.Span.
func (s *span) SpanContext() trace.SpanContext { return s.sc }

// IsRecording implements trace.Span: true until the span ends.
func (s *span) IsRecording() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.ended
}

// AddEvent implements trace.Span; the router's spans have no events, and
// these spans drop them.
func (s *span) AddEvent(string, ...trace.EventOption) {}

// AddLink implements trace.Span; links are dropped likewise.
func (s *span) AddLink(trace.Link) {}

// RecordError implements trace.Span: an error marks the span as one.
func (s *span) RecordError(err error, _ ...trace.EventOption) {
	if err != nil {
		s.SetStatus(codes.Error, err.Error())
	}
}

// TracerProvider implements trace.Span.
func (s *span) TracerProvider() trace.TracerProvider { return provider{tracer: tracer{svc: s.svc}} }

// provider hands out a service's one tracer.
type provider struct {
	embedded.TracerProvider
	tracer tracer
}

func (p provider) Tracer(string, ...trace.TracerOption) trace.Tracer { return p.tracer }
