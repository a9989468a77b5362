package metrics

import (
	"context"
	"math"
	"slices"
	"sync"
	"time"
)

// History samples a Source at a fixed interval and keeps, per service,
// what each interval measured over a window (an hour by default), for the
// console's charts. It holds everything in memory: a restarted server
// starts a new history.
type History struct {
	// Source is read once per Interval.
	Source Source
	// Interval between samples; 0 means 10 s.
	Interval time.Duration
	// Keep is how far back the history goes; 0 means an hour.
	Keep time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time

	mu     sync.Mutex
	series map[string][]Point // by service ARN, oldest first
	last   map[string]Service // the previous sample's counters
	stop   context.CancelFunc
	done   chan struct{}
}

// Point is what one interval measured of a service.
type Point struct {
	Time time.Time
	// Active and Desired are the instance counts at the sample.
	Active, Desired int
	// Concurrency is the requests in flight or waiting at the sample.
	Concurrency float64
	// Requests counts the responses of the interval by class ("2xx",
	// "4xx", "5xx").
	Requests map[string]uint64
	// P50 and P99 are the interval's latency quantiles in seconds; NaN
	// when no request ended in the interval.
	P50, P99 float64
}

func (h *History) interval() time.Duration {
	if h.Interval > 0 {
		return h.Interval
	}
	return 10 * time.Second
}

func (h *History) keep() time.Duration {
	if h.Keep > 0 {
		return h.Keep
	}
	return time.Hour
}

func (h *History) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// Start samples in the background until Close.
func (h *History) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	h.mu.Lock()
	h.stop, h.done = cancel, make(chan struct{})
	done := h.done
	h.mu.Unlock()
	go func() {
		defer close(done)
		t := time.NewTicker(h.interval())
		defer t.Stop()
		for {
			_ = h.Sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// Close stops the sampling Start began and waits for it.
func (h *History) Close() {
	h.mu.Lock()
	stop, done := h.stop, h.done
	h.stop = nil
	h.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// Sample reads the Source once and records a point per service. Services
// the Source no longer lists are forgotten.
func (h *History) Sample(ctx context.Context) error {
	list, err := h.Source(ctx)
	if err != nil {
		return err
	}
	now := h.now()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.series == nil {
		h.series, h.last = map[string][]Point{}, map[string]Service{}
	}
	seen := make(map[string]bool, len(list))
	cutoff := now.Add(-h.keep())
	for _, s := range list {
		seen[s.ARN] = true
		prev, had := h.last[s.ARN]
		p := Point{Time: now, Active: s.Active, Desired: s.Desired, Concurrency: s.Concurrency,
			Requests: map[string]uint64{}, P50: math.NaN(), P99: math.NaN()}
		if had {
			for class, n := range s.Responses {
				p.Requests[class] = delta(n, prev.Responses[class])
			}
			p.P50 = quantile(0.5, s.Latency, prev.Latency)
			p.P99 = quantile(0.99, s.Latency, prev.Latency)
		}
		h.last[s.ARN] = s
		pts := append(h.series[s.ARN], p)
		i := 0
		for i < len(pts) && pts[i].Time.Before(cutoff) {
			i++
		}
		h.series[s.ARN] = slices.Clip(pts[i:])
	}
	for arn := range h.series {
		if !seen[arn] {
			delete(h.series, arn)
			delete(h.last, arn)
		}
	}
	return nil
}

// Series returns the service's points, oldest first (nil if none).
func (h *History) Series(arn string) []Point {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.series[arn])
}

// delta is a counter's growth; a counter that went down was reset.
func delta(cur, prev uint64) uint64 {
	if cur < prev {
		return cur
	}
	return cur - prev
}

// quantile estimates the q-quantile of the requests between two samples
// of a cumulative histogram, interpolating linearly inside a bucket as
// Prometheus' histogram_quantile does. NaN when none ended between them.
func quantile(q float64, cur, prev Histogram) float64 {
	total := delta(cur.Count, prev.Count)
	if total == 0 || cur.Count < prev.Count {
		return math.NaN()
	}
	bounds := make([]float64, 0, len(cur.Buckets))
	for b := range cur.Buckets {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	rank := q * float64(total)
	lower, below := 0.0, uint64(0)
	for _, b := range bounds {
		n := delta(cur.Buckets[b], prev.Buckets[b])
		if float64(n) >= rank {
			if math.IsInf(b, 1) {
				return lower
			}
			inBucket := n - below
			if inBucket == 0 {
				return b
			}
			return lower + (b-lower)*(rank-float64(below))/float64(inBucket)
		}
		lower, below = b, n
	}
	// Beyond the last finite bound: its value is the best estimate.
	return lower
}
