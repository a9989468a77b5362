// Package tracing sets up OpenTelemetry for traced services: one tracer
// provider per service (its resource names the service, as Jaeger and
// X-Ray group spans by it), all exporting in batches over OTLP/HTTP to one
// collector; and the propagators the router reads and writes, W3C
// traceparent and AWS X-Ray's X-Amzn-Trace-Id.
package tracing

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkresource "go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
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

// Tracing hands out the tracers of traced services. Its methods are safe
// for concurrent use.
type Tracing struct {
	endpoint string
	logger   *slog.Logger
	exporter sdktrace.SpanExporter // nil without an endpoint
	timeout  time.Duration

	mu        sync.Mutex
	providers map[string]*sdktrace.TracerProvider // by service ARN
	closed    bool
}

// New returns a Tracing that exports to opts.Endpoint. It does not
// contact the collector: exports that fail later are logged and dropped.
func New(opts Options) (*Tracing, error) {
	t := &Tracing{endpoint: strings.TrimRight(opts.Endpoint, "/"), logger: opts.Logger, timeout: opts.BatchTimeout,
		providers: map[string]*sdktrace.TracerProvider{}}
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
	t.exporter, err = otlptracehttp.New(context.Background(), otlptracehttp.WithEndpointURL(t.endpoint+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("tracing: %w", err)
	}
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
	if t.exporter == nil || t.closed {
		return noopTracer
	}
	p := t.providers[serviceARN]
	if p == nil {
		res := sdkresource.NewSchemaless(semconv.ServiceName(name), attrServiceARN.String(serviceARN),
			semconv.TelemetrySDKLanguageGo, semconv.TelemetrySDKName("opentelemetry"))
		p = sdktrace.NewTracerProvider(
			sdktrace.WithResource(res),
			sdktrace.WithSampler(sdktrace.AlwaysSample()),
			sdktrace.WithIDGenerator(idGenerator{}),
			// Larger batches than the default 512 make fewer exports of
			// the same spans; a full queue drops spans, never blocks a
			// request.
			sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(sharedExporter{t.exporter},
				sdktrace.WithBatchTimeout(t.timeout), sdktrace.WithMaxQueueSize(8192), sdktrace.WithMaxExportBatchSize(2048))),
		)
		t.providers[serviceARN] = p
	}
	return p.Tracer("github.com/openrunner/openrunner/router")
}

// Close flushes every service's spans and stops exporting.
func (t *Tracing) Close(ctx context.Context) error {
	t.mu.Lock()
	t.closed = true
	providers := t.providers
	t.providers = map[string]*sdktrace.TracerProvider{}
	t.mu.Unlock()
	var errs []error
	for _, p := range providers {
		errs = append(errs, p.Shutdown(ctx))
	}
	if t.exporter != nil {
		errs = append(errs, t.exporter.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// Propagator reads an incoming trace context from X-Amzn-Trace-Id or
// traceparent (traceparent wins when both are present) and writes both.
func (t *Tracing) Propagator() propagation.TextMapPropagator { return propagator }

var propagator = propagation.NewCompositeTextMapPropagator(XRay{}, propagation.TraceContext{})

// sharedExporter lets every provider's batch processor share one
// exporter: a provider's Shutdown must not shut it down for the others.
type sharedExporter struct{ sdktrace.SpanExporter }

func (sharedExporter) Shutdown(context.Context) error { return nil }

// idGenerator draws ids from math/rand/v2's per-goroutine generator: the
// SDK's default shares one generator behind a mutex, which every
// concurrent request would contend for.
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
