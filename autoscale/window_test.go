package autoscale

import (
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func sec(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Second))) }

type sample struct {
	at    float64 // seconds after t0
	value float64
}

func TestWindow(t *testing.T) {
	ramp := func(from, to int) []sample { // one sample per second, value = second
		var s []sample
		for i := from; i < to; i++ {
			s = append(s, sample{float64(i), float64(i)})
		}
		return s
	}
	tests := []struct {
		name    string
		length  time.Duration
		samples []sample
		now     float64
		d       time.Duration
		want    float64
		ok      bool
	}{
		{name: "empty", length: time.Minute, now: 10, d: time.Minute},
		{name: "one sample", length: time.Minute, samples: []sample{{5, 3}}, now: 10, d: time.Minute, want: 3, ok: true},
		{name: "many samples in one second are averaged",
			samples: []sample{{1.0, 0}, {1.1, 1}, {1.2, 2}, {1.3, 3}, {1.4, 4}, {1.5, 5}, {1.6, 6}, {1.7, 7}, {1.8, 8}, {1.9, 9}},
			length:  time.Minute, now: 1.95, d: time.Minute, want: 4.5, ok: true},
		{name: "each second weighs the same however often sampled",
			samples: []sample{{1.0, 10}, {1.1, 10}, {1.2, 10}, {1.3, 10}, {1.4, 10}, {1.5, 10}, {2.5, 0}},
			length:  time.Minute, now: 3, d: time.Minute, want: 5, ok: true},
		{name: "seconds without samples are skipped, not zero",
			samples: []sample{{0, 4}, {10, 8}}, length: time.Minute, now: 20, d: time.Minute, want: 6, ok: true},
		{name: "short window sees only recent seconds",
			samples: ramp(0, 100), length: time.Minute, now: 99.5, d: 6 * time.Second, want: (94 + 99) / 2.0, ok: true},
		{name: "ring wraps: stable average of the last 60 seconds",
			samples: ramp(0, 200), length: time.Minute, now: 199, d: time.Minute, want: (140 + 199) / 2.0, ok: true},
		{name: "d longer than the window is capped",
			samples: ramp(0, 200), length: 10 * time.Second, now: 199, d: time.Hour, want: (190 + 199) / 2.0, ok: true},
		{name: "partial seconds round up",
			samples: ramp(0, 100), length: time.Minute, now: 99, d: 1500 * time.Millisecond, want: 98.5, ok: true},
		{name: "gap longer than the window: no data",
			samples: []sample{{0, 5}, {1, 5}}, length: time.Minute, now: 62, d: time.Minute},
		{name: "gap longer than the window, then a new sample: only it counts",
			samples: []sample{{0, 5}, {1, 5}, {121, 1}}, length: time.Minute, now: 121, d: time.Minute, want: 1, ok: true},
		{name: "sample a full ring later replaces the stale bucket",
			samples: []sample{{3, 100}, {63, 1}}, length: time.Minute, now: 63, d: time.Minute, want: 1, ok: true},
		{name: "out of order within the window goes to its own second",
			samples: []sample{{5, 10}, {2, 0}, {5.5, 10}}, length: time.Minute, now: 6, d: time.Minute, want: 5, ok: true},
		{name: "out of order older than the window is dropped",
			samples: []sample{{100, 10}, {30, 1000}, {40, 1000}}, length: time.Minute, now: 100, d: time.Minute, want: 10, ok: true},
		{name: "samples after now are not counted",
			samples: []sample{{1, 2}, {9, 50}}, length: time.Minute, now: 5, d: time.Minute, want: 2, ok: true},
		{name: "only future samples: no data",
			samples: []sample{{9, 50}}, length: time.Minute, now: 5, d: time.Minute},
		{name: "negative counts as zero, NaN and Inf are dropped",
			samples: []sample{{1, -3}, {2, math.NaN()}, {3, math.Inf(1)}, {4, 4}}, length: time.Minute, now: 5, d: time.Minute, want: 2, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewWindow(tt.length)
			for _, s := range tt.samples {
				w.Record(sec(s.at), s.value)
			}
			got, ok := w.Average(sec(tt.now), tt.d)
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("Average = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestWindowLength(t *testing.T) {
	for _, tt := range []struct {
		in, want time.Duration
	}{{0, time.Second}, {-time.Second, time.Second}, {1500 * time.Millisecond, 2 * time.Second}, {time.Minute, time.Minute}} {
		w := NewWindow(tt.in)
		if got := w.Length(); got != tt.want {
			t.Errorf("NewWindow(%v).Length() = %v, want %v", tt.in, got, tt.want)
		}
		if len(w.buckets) != int(tt.want/time.Second) {
			t.Errorf("NewWindow(%v) has %d buckets", tt.in, len(w.buckets))
		}
	}
}

// TestWindowBoundedMemory records an hour of samples at 10 per second and
// checks that the window holds exactly one bucket per second of its length.
func TestWindowBoundedMemory(t *testing.T) {
	w := NewWindow(time.Minute)
	for i := 0; i < 36000; i++ {
		w.Record(t0.Add(time.Duration(i)*100*time.Millisecond), 1)
	}
	if len(w.buckets) != 60 || cap(w.buckets) != 60 {
		t.Fatalf("buckets: len %d cap %d, want 60", len(w.buckets), cap(w.buckets))
	}
	if avg, ok := w.Average(t0.Add(time.Hour), time.Minute); !ok || avg != 1 {
		t.Fatalf("Average = %v, %v", avg, ok)
	}
}
