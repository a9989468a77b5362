package autoscale

import (
	"math"
	"time"
)

// A Window keeps concurrency samples in one bucket per wall-clock second,
// for as many seconds as its length, and answers the average over the last
// D seconds for any D up to that length. Samples may arrive at any rate; a
// second's value is the mean of the samples that fell in it, so a second
// sampled ten times weighs the same as a second sampled once.
//
// A second without any sample is unknown rather than zero: averages are
// taken over the seconds that have samples. A sampler that sees no demand
// must therefore record 0, and a window whose recent seconds are all
// unknown reports no data (which the decision treats as "do not scale").
//
// Times are passed in; the Window never reads the clock. It is not safe
// for concurrent use (the Autoscaler serializes access).
type Window struct {
	buckets []bucket
	newest  int64 // newest second recorded; meaningful when any is set
	any     bool
}

type bucket struct {
	sec int64 // the Unix second the bucket holds
	sum float64
	n   int64 // samples in the second; 0 means empty
}

// NewWindow returns a window that remembers length (rounded up to whole
// seconds, at least one second). Its memory is one bucket per second.
func NewWindow(length time.Duration) *Window {
	n := int((length + time.Second - 1) / time.Second)
	if n < 1 {
		n = 1
	}
	return &Window{buckets: make([]bucket, n)}
}

// Length is how far back the window remembers.
func (w *Window) Length() time.Duration { return time.Duration(len(w.buckets)) * time.Second }

// Record adds a concurrency sample (requests in flight plus requests
// queued) taken at the given time. Negative values count as 0; NaN and
// infinities are dropped. Samples may arrive out of order: one that is
// still within the window's length of the newest sample goes into its own
// second, and an older one is dropped.
func (w *Window) Record(at time.Time, value float64) {
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return
	}
	if value < 0 {
		value = 0
	}
	sec := at.Unix()
	size := int64(len(w.buckets))
	if w.any && sec <= w.newest-size {
		return // older than anything the window still holds
	}
	b := &w.buckets[mod(sec, size)]
	if b.sec != sec || b.n == 0 {
		*b = bucket{sec: sec}
	}
	b.sum += value
	b.n++
	if !w.any || sec > w.newest {
		w.newest, w.any = sec, true
	}
}

// Average returns the mean concurrency over the d seconds that end with
// the second containing now (d is rounded up to whole seconds and capped at
// the window's length), and whether any of those seconds has a sample.
// Samples stamped after now are not counted.
func (w *Window) Average(now time.Time, d time.Duration) (avg float64, ok bool) {
	size := int64(len(w.buckets))
	n := int64((d + time.Second - 1) / time.Second)
	if n < 1 {
		n = 1
	}
	if n > size {
		n = size
	}
	end := now.Unix()
	if !w.any || w.newest <= end-n {
		return 0, false // nothing recent: skip the scan
	}
	var sum float64
	var seconds int
	for s := end - n + 1; s <= end; s++ {
		b := &w.buckets[mod(s, size)]
		if b.sec == s && b.n > 0 {
			sum += b.sum / float64(b.n)
			seconds++
		}
	}
	if seconds == 0 {
		return 0, false
	}
	return sum / float64(seconds), true
}

// mod is the non-negative remainder of a divided by n.
func mod(a, n int64) int64 {
	m := a % n
	if m < 0 {
		m += n
	}
	return m
}
