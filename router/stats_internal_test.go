package router

import (
	"testing"
	"time"
)

// An observation counts in the first bucket whose bound it does not
// exceed, as Prometheus' le buckets do.
func TestLatencyHistogram(t *testing.T) {
	var h latencyHistogram
	for _, d := range []time.Duration{0, 5 * time.Millisecond, 5*time.Millisecond + 1, time.Second, 120 * time.Second, 121 * time.Second} {
		h.observe(d)
	}
	s := h.snapshot()
	want := map[time.Duration]uint64{
		5 * time.Millisecond:   2, // 0 and 5 ms
		10 * time.Millisecond:  3,
		500 * time.Millisecond: 3,
		time.Second:            4,
		60 * time.Second:       4,
		120 * time.Second:      5,
	}
	for _, b := range s.Buckets {
		if n, ok := want[b.UpperBound]; ok && b.Count != n {
			t.Errorf("bucket %v: %d, want %d", b.UpperBound, b.Count, n)
		}
	}
	if s.Count != 6 {
		t.Errorf("Count=%d, want 6", s.Count)
	}
	if want := 10*time.Millisecond + 1 + time.Second + 241*time.Second; s.Sum != want {
		t.Errorf("Sum=%v, want %v", s.Sum, want)
	}
}

// Recording a response allocates nothing.
func TestRecordAllocs(t *testing.T) {
	s := &serviceStats{}
	if n := testing.AllocsPerRun(100, func() { s.record(200, time.Millisecond) }); n != 0 {
		t.Errorf("%v allocations per record, want 0", n)
	}
}
