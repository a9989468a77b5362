// Package tracing records the router's spans for traced services: one
// tracer per service (its resource names the service, as Jaeger and X-Ray
// group spans by it), all exporting in batches over OTLP/HTTP to one
// collector; and the propagators the router reads and writes, W3C
// traceparent and AWS X-Ray's X-Amzn-Trace-Id.
package tracing

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// attrServiceARN names the service on its resource, as the router's
// spans do.
const attrServiceARN = attribute.Key("openrunner.service.arn")

// Options configures a Tracing.
type Options struct {
	// Endpoint is the collector's OTLP/HTTP base URL, e.g.
	// http://127.0.0.1:4318; spans go to Endpoint + "/v1/traces". Empty
	// means no collector: tracers record nothing.
	Endpoint string
	// Logger receives export failures. Nil discards them.
	Logger *slog.Logger
	// BatchTimeout is how long a span may wait for its batch to be sent.
	// Zero means 1 s.
	BatchTimeout time.Duration
}

// Tracing hands out the tracers of traced services. Their spans are
// recorded in small structs of this package's own (not the SDK's), queued
// together, and exported in batches as hand-encoded OTLP protobuf: a
// fraction of the SDK's cost per span. Its methods are safe for
// concurrent use.
type Tracing struct {
	endpoint string
	url      string // endpoint + /v1/traces
	logger   *slog.Logger
	timeout  time.Duration
	client   *http.Client
	queue    *queue
	stop     chan struct{}
	done     chan struct{} // closed when run returns

	exportMu sync.Mutex // one export at a time; guards body and scratch
	body     []byte
	scratch  []byte

	mu       sync.Mutex
	services map[string]*service // by service ARN
	closed   bool
}

// New returns a Tracing that exports to opts.Endpoint. It does not
// contact the collector: exports that fail later are logged and dropped.
func New(opts Options) (*Tracing, error) {
	t := &Tracing{endpoint: strings.TrimRight(opts.Endpoint, "/"), logger: opts.Logger, timeout: opts.BatchTimeout,
		services: map[string]*service{}}
	if t.logger == nil {
		t.logger = slog.New(slog.DiscardHandler)
	}
	if t.timeout <= 0 {
		t.timeout = time.Second
	}
	if t.endpoint == "" {
		return t, nil
	}
	u, err := url.Parse(t.endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("tracing: the OTLP endpoint %q is not an http(s) URL such as http://127.0.0.1:4318", opts.Endpoint)
	}
	t.url = t.endpoint + "/v1/traces"
	t.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.queue, t.stop, t.done = newQueue(), make(chan struct{}), make(chan struct{})
	go t.run()
	return t, nil
}

// Endpoint returns the collector's base URL, "" when there is none.
func (t *Tracing) Endpoint() string { return t.endpoint }

// Tracer returns the tracer of a service, whose spans carry service.name
// name. Without an endpoint, or once closed, it is a tracer that records
// nothing.
func (t *Tracing) Tracer(serviceARN, name string) trace.Tracer {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.queue == nil || t.closed {
		return noopTracer
	}
	svc := t.services[serviceARN]
	if svc == nil || svc.name != name {
		svc = &service{t: t, name: name, resource: appendResource(nil, semconv.ServiceName(name), attrServiceARN.String(serviceARN),
			semconv.TelemetrySDKLanguageGo, semconv.TelemetrySDKName("opentelemetry"))}
		t.services[serviceARN] = svc
	}
	return tracer{svc: svc}
}

// Forget frees the state of a service that is no longer traced (deleted,
// or its route dropped). Its spans still in flight are exported as they
// end; a later Tracer call starts afresh.
func (t *Tracing) Forget(serviceARN string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.services, serviceARN)
}

// traced returns how many services have tracer state.
func (t *Tracing) traced() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.services)
}

// Close flushes every service's spans and stops exporting; spans ending
// later are dropped.
func (t *Tracing) Close(ctx context.Context) error {
	t.mu.Lock()
	closed := t.closed
	t.closed = true
	t.services = map[string]*service{}
	t.mu.Unlock()
	if t.queue == nil || closed {
		return nil
	}
	close(t.stop)
	select {
	case <-t.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	t.queue.close()
	err := t.flush(ctx)
	t.client.CloseIdleConnections()
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	return nil
}

// Propagator reads an incoming trace context from X-Amzn-Trace-Id or
// traceparent (traceparent wins when both are present) and writes both.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return propagator }

var propagator = propagation.NewCompositeTextMapPropagator(XRay{}, propagation.TraceContext{})

// idGenerator draws ids from math/rand/v2's per-goroutine generator, not
// one shared behind a mutex, which every concurrent request would contend
// for.
type idGenerator struct{}

func (idGenerator) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	var sid trace.SpanID
	for !tid.IsValid() {
		binary.NativeEndian.PutUint64(tid[:8], rand.Uint64())
		binary.NativeEndian.PutUint64(tid[8:], rand.Uint64())
	}
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	}
	return tid, sid
}

func (idGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		binary.NativeEndian.PutUint64(sid[:], rand.Uint64())
	}
	return sid
}

var noopTracer = noop.NewTracerProvider().Tracer("")
