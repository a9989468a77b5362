package tracing

import (
	"context"
	"encoding/hex"
	"strings"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// XRayHeader is AWS X-Ray's trace header, as App Runner's apps receive it.
const XRayHeader = "X-Amzn-Trace-Id"

// XRay is a propagator of the X-Amzn-Trace-Id header:
// Root=1-<8 hex: epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>. An
// OpenTelemetry trace id maps onto Root as its first 8 and last 24 hex
// digits, as AWS's own propagator does.
type XRay struct{}

var _ propagation.TextMapPropagator = XRay{}

// Inject implements propagation.TextMapPropagator.
func (XRay) Inject(ctx context.Context, carrier propagation.TextMapCarrier) {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return
	}
	carrier.Set(XRayHeader, FormatXRay(sc))
}

// FormatXRay returns sc as an X-Amzn-Trace-Id value.
func FormatXRay(sc trace.SpanContext) string {
	tid, sid := sc.TraceID(), sc.SpanID()
	var b [80]byte
	out := append(b[:0], "Root=1-"...)
	out = hex.AppendEncode(out, tid[:4])
	out = append(out, '-')
	out = hex.AppendEncode(out, tid[4:])
	out = append(out, ";Parent="...)
	out = hex.AppendEncode(out, sid[:])
	if sc.IsSampled() {
		out = append(out, ";Sampled=1"...)
	} else {
		out = append(out, ";Sampled=0"...)
	}
	return string(out)
}

// Extract implements propagation.TextMapPropagator. A header without a
// valid Root and Parent is ignored.
func (XRay) Extract(ctx context.Context, carrier propagation.TextMapCarrier) context.Context {
	v := carrier.Get(XRayHeader)
	if v == "" {
		return ctx
	}
	var cfg trace.SpanContextConfig
	var haveRoot, haveParent bool
	for part := range strings.SplitSeq(v, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Root":
			haveRoot = parseRoot(val, &cfg.TraceID)
		case "Parent":
			_, err := hex.Decode(cfg.SpanID[:], []byte(val))
			haveParent = err == nil && len(val) == 16
		case "Sampled":
			if val == "1" {
				cfg.TraceFlags = trace.FlagsSampled
			}
		}
	}
	if !haveRoot || !haveParent {
		return ctx
	}
	cfg.Remote = true
	sc := trace.NewSpanContext(cfg)
	if !sc.IsValid() {
		return ctx
	}
	return trace.ContextWithRemoteSpanContext(ctx, sc)
}

// parseRoot reads 1-<8 hex>-<24 hex> into id.
func parseRoot(v string, id *trace.TraceID) bool {
	if len(v) != 35 || v[:2] != "1-" || v[10] != '-' {
		return false
	}
	if _, err := hex.Decode(id[:4], []byte(v[2:10])); err != nil {
		return false
	}
	_, err := hex.Decode(id[4:], []byte(v[11:]))
	return err == nil
}

// Fields implements propagation.TextMapPropagator.
func (XRay) Fields() []string { return []string{XRayHeader} }
