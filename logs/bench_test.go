package logs_test

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openrunner/openrunner/logs"
)

// benchLine is a typical application log line (~120 bytes).
var benchLine = `2026-03-01T12:00:00.000Z INFO request handled method=GET path=/api/items/42 status=200 duration=3.2ms bytes=512`

// BenchmarkAppend appends application lines to one service, retention
// included (the default 16 MiB fills and segments are dropped).
func BenchmarkAppend(b *testing.B) {
	s := MustOpen(b, "", logs.Options{})
	e := logs.Entry{ServiceARN: arn1, Group: logs.GroupApplication, Stream: "instance/a", Text: benchLine, Time: t0}
	b.SetBytes(int64(len(benchLine)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendParallel appends from many goroutines, each an instance
// of one of 8 services.
func BenchmarkAppendParallel(b *testing.B) {
	s := MustOpen(b, "", logs.Options{})
	var n atomic.Int64
	b.SetBytes(int64(len(benchLine)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := n.Add(1)
		arn := arn1 + strconv.FormatInt(i%8, 10)
		e := logs.Entry{ServiceARN: arn, Group: logs.GroupApplication, Stream: "instance/" + strconv.FormatInt(i, 10), Text: benchLine, Time: t0}
		for pb.Next() {
			if err := s.Append(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAppendWriteThrough writes every entry to its file at once
// (FlushInterval < 0), as after a crash nothing would be lost.
func BenchmarkAppendWriteThrough(b *testing.B) {
	s := MustOpen(b, "", logs.Options{FlushInterval: -1})
	e := logs.Entry{ServiceARN: arn1, Group: logs.GroupApplication, Stream: "instance/a", Text: benchLine, Time: t0}
	b.SetBytes(int64(len(benchLine)))
	for b.Loop() {
		if err := s.Append(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRead reads a full 16 MiB service log, 10,000 entries a page.
func BenchmarkRead(b *testing.B) {
	s := MustOpen(b, "", logs.Options{})
	text := benchLine + strings.Repeat(" padding", 4)
	for range 200_000 {
		MustAppend(b, s, arn1, logs.GroupApplication, "instance/a", text, t0)
	}
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		var c logs.Cursor
		n := 0
		for {
			es, next, err := s.Read(ctx, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c, Limit: logs.MaxLimit})
			if err != nil {
				b.Fatal(err)
			}
			if len(es) == 0 {
				break
			}
			n += len(es)
			c = next
		}
		b.ReportMetric(float64(n), "entries/op")
	}
}
