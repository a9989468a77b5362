package tracing

import (
	"math"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"google.golang.org/protobuf/encoding/protowire"
)

// The OTLP trace protobuf, encoded by hand (opentelemetry-proto's
// trace/v1/trace.proto, common/v1/common.proto and
// collector/trace/v1/trace_service.proto): the few messages and fields
// the router's spans use.

// Span flags: the low 8 bits are the W3C trace flags; then whether the
// parent's remoteness is known, and whether it is remote.
const (
	flagHasIsRemote = 0x100
	flagIsRemote    = 0x200
)

// OTLP's status codes (not the same numbers as package codes').
const (
	statusOk    = 1
	statusError = 2
)

// appendRequest appends an ExportTraceServiceRequest of spans: one
// ResourceSpans per service, in the order of their first span. scratch is
// reused between spans; the grown one is returned.
func appendRequest(b, scratch []byte, spans []*span) (_, _ []byte) {
	done := make(map[*service]bool)
	for i, first := range spans {
		if done[first.svc] {
			continue
		}
		done[first.svc] = true
		// ScopeSpans' content: its scope, then every span of the service.
		ss := scratch[:0]
		ss = protowire.AppendTag(ss, 1, protowire.BytesType)
		ss = protowire.AppendBytes(ss, scope)
		for _, s := range spans[i:] {
			if s.svc != first.svc {
				continue
			}
			ss = protowire.AppendTag(ss, 2, protowire.BytesType)
			ss = protowire.AppendVarint(ss, uint64(sizeSpan(s)))
			ss = appendSpan(ss, s)
		}
		scratch = ss
		res := first.svc.resource
		rsSize := 1 + protowire.SizeBytes(len(res)) + 1 + protowire.SizeBytes(len(ss))
		b = protowire.AppendTag(b, 1, protowire.BytesType) // resource_spans
		b = protowire.AppendVarint(b, uint64(rsSize))
		b = protowire.AppendTag(b, 1, protowire.BytesType) // resource
		b = protowire.AppendBytes(b, res)
		b = protowire.AppendTag(b, 2, protowire.BytesType) // scope_spans
		b = protowire.AppendBytes(b, ss)
	}
	return b, scratch
}

// scope is the InstrumentationScope of every span.
var scope = protowire.AppendString(protowire.AppendTag(nil, 1, protowire.BytesType), "github.com/openrunner/openrunner/router")

// appendResource returns a Resource message of attrs.
func appendResource(b []byte, attrs ...attribute.KeyValue) []byte {
	for _, kv := range attrs {
		b = appendKeyValueField(b, 1, kv)
	}
	return b
}

// appendSpan appends a Span message's content; sizeSpan is its length.
func appendSpan(b []byte, s *span) []byte {
	tid, sid := s.sc.TraceID(), s.sc.SpanID()
	b = appendBytesField(b, 1, tid[:])
	b = appendBytesField(b, 2, sid[:])
	if ts := s.sc.TraceState(); ts.Len() > 0 {
		b = appendBytesField(b, 3, []byte(ts.String()))
	}
	if s.parent.IsValid() {
		psid := s.parent.SpanID()
		b = appendBytesField(b, 4, psid[:])
	}
	b = appendBytesField(b, 5, []byte(s.name))
	if s.kind != 0 {
		b = protowire.AppendTag(b, 6, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(s.kind))
	}
	b = protowire.AppendTag(b, 7, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, uint64(s.start.UnixNano()))
	b = protowire.AppendTag(b, 8, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, uint64(s.end.UnixNano()))
	for _, kv := range s.attrs {
		b = appendKeyValueField(b, 9, kv)
	}
	if code := otlpStatus(s.code); code != 0 {
		b = protowire.AppendTag(b, 15, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeStatus(s.message, code)))
		if s.message != "" {
			b = appendBytesField(b, 2, []byte(s.message))
		}
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, code)
	}
	b = protowire.AppendTag(b, 16, protowire.Fixed32Type)
	return protowire.AppendFixed32(b, spanFlags(s))
}

func sizeSpan(s *span) int {
	n := 1 + protowire.SizeBytes(16) + 1 + protowire.SizeBytes(8) // trace_id, span_id
	if ts := s.sc.TraceState(); ts.Len() > 0 {
		n += 1 + protowire.SizeBytes(len(ts.String()))
	}
	if s.parent.IsValid() {
		n += 1 + protowire.SizeBytes(8)
	}
	n += 1 + protowire.SizeBytes(len(s.name))
	if s.kind != 0 {
		n += 1 + protowire.SizeVarint(uint64(s.kind))
	}
	n += 2 * (1 + 8)
	for _, kv := range s.attrs {
		n += 1 + protowire.SizeBytes(sizeKeyValue(kv))
	}
	if code := otlpStatus(s.code); code != 0 {
		n += 1 + protowire.SizeBytes(sizeStatus(s.message, code))
	}
	return n + 2 + 4 // flags: field 16's tag takes 2 bytes
}

func otlpStatus(c codes.Code) uint64 {
	switch c {
	case codes.Ok:
		return statusOk
	case codes.Error:
		return statusError
	}
	return 0
}

func sizeStatus(message string, code uint64) int {
	n := 1 + protowire.SizeVarint(code)
	if message != "" {
		n += 1 + protowire.SizeBytes(len(message))
	}
	return n
}

func spanFlags(s *span) uint32 {
	f := uint32(s.sc.TraceFlags()) | flagHasIsRemote
	if s.parent.IsRemote() {
		f |= flagIsRemote
	}
	return f
}

func appendBytesField(b []byte, num protowire.Number, v []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// appendKeyValueField appends field num holding a KeyValue message.
func appendKeyValueField(b []byte, num protowire.Number, kv attribute.KeyValue) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sizeKeyValue(kv)))
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, string(kv.Key))
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sizeAnyValue(kv.Value)))
	return appendAnyValue(b, kv.Value)
}

func sizeKeyValue(kv attribute.KeyValue) int {
	return 1 + protowire.SizeBytes(len(kv.Key)) + 1 + protowire.SizeBytes(sizeAnyValue(kv.Value))
}

// appendAnyValue appends an AnyValue message's content: a string, bool,
// int64 or double, or an ArrayValue of them for slices.
func appendAnyValue(b []byte, v attribute.Value) []byte {
	switch v.Type() {
	case attribute.STRING:
		return appendBytesField(b, 1, []byte(v.AsString()))
	case attribute.BOOL:
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		return protowire.AppendVarint(b, protowire.EncodeBool(v.AsBool()))
	case attribute.INT64:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		return protowire.AppendVarint(b, uint64(v.AsInt64()))
	case attribute.FLOAT64:
		b = protowire.AppendTag(b, 4, protowire.Fixed64Type)
		return protowire.AppendFixed64(b, math.Float64bits(v.AsFloat64()))
	}
	elems := arrayValues(v)
	if elems == nil {
		return b
	}
	b = protowire.AppendTag(b, 5, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(sizeArray(elems)))
	for _, e := range elems {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(sizeAnyValue(e)))
		b = appendAnyValue(b, e)
	}
	return b
}

func sizeAnyValue(v attribute.Value) int {
	switch v.Type() {
	case attribute.STRING:
		return 1 + protowire.SizeBytes(len(v.AsString()))
	case attribute.BOOL:
		return 2
	case attribute.INT64:
		return 1 + protowire.SizeVarint(uint64(v.AsInt64()))
	case attribute.FLOAT64:
		return 1 + 8
	}
	elems := arrayValues(v)
	if elems == nil {
		return 0
	}
	return 1 + protowire.SizeBytes(sizeArray(elems))
}

func sizeArray(elems []attribute.Value) int {
	n := 0
	for _, e := range elems {
		n += 1 + protowire.SizeBytes(sizeAnyValue(e))
	}
	return n
}

// arrayValues returns a slice value's elements as values; nil for any
// other type.
func arrayValues(v attribute.Value) []attribute.Value {
	var out []attribute.Value
	switch v.Type() {
	case attribute.STRINGSLICE:
		for _, e := range v.AsStringSlice() {
			out = append(out, attribute.StringValue(e))
		}
	case attribute.BOOLSLICE:
		for _, e := range v.AsBoolSlice() {
			out = append(out, attribute.BoolValue(e))
		}
	case attribute.INT64SLICE:
		for _, e := range v.AsInt64Slice() {
			out = append(out, attribute.Int64Value(e))
		}
	case attribute.FLOAT64SLICE:
		for _, e := range v.AsFloat64Slice() {
			out = append(out, attribute.Float64Value(e))
		}
	default:
		return nil
	}
	if out == nil {
		out = []attribute.Value{}
	}
	return out
}
