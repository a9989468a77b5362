package metrics

import (
	"context"
	"math"
	"testing"
	"time"
)

func TestHistory(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC)
	var cur []Service
	h := &History{Source: func(context.Context) ([]Service, error) { return cur, nil },
		Keep: time.Minute, Now: func() time.Time { return now }}

	svc := func(active int, ok, bad uint64, buckets map[float64]uint64, count uint64) Service {
		return Service{Name: "web", ARN: "arn:web", Active: active, Desired: 2, Concurrency: 3,
			Responses: map[string]uint64{"2xx": ok, "5xx": bad},
			Latency:   Histogram{Buckets: buckets, Count: count}}
	}
	cur = []Service{svc(1, 10, 0, map[float64]uint64{0.1: 10, 1: 10}, 10)}
	if err := h.Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 100 more requests: 50 under 0.1 s, 49 under 1 s, 1 over 1 s.
	now = now.Add(10 * time.Second)
	cur = []Service{svc(2, 105, 5, map[float64]uint64{0.1: 60, 1: 109}, 110)}
	if err := h.Sample(context.Background()); err != nil {
		t.Fatal(err)
	}
	pts := h.Series("arn:web")
	if len(pts) != 2 {
		t.Fatalf("%d points", len(pts))
	}
	if !math.IsNaN(pts[0].P50) || len(pts[0].Requests) != 0 {
		t.Fatalf("the first sample has no interval: %+v", pts[0])
	}
	p := pts[1]
	if p.Active != 2 || p.Desired != 2 || p.Concurrency != 3 || p.Requests["2xx"] != 95 || p.Requests["5xx"] != 5 {
		t.Fatalf("point %+v", p)
	}
	if math.Abs(p.P50-0.1) > 1e-9 {
		t.Fatalf("p50 %v, want 0.1", p.P50)
	}
	if p.P99 <= 0.1 || p.P99 > 1 {
		t.Fatalf("p99 %v, want in (0.1, 1]", p.P99)
	}

	// A reset counter counts from zero; old points fall out of the window.
	now = now.Add(55 * time.Second)
	cur = []Service{svc(1, 7, 0, map[float64]uint64{0.1: 7, 1: 7}, 7)}
	_ = h.Sample(context.Background())
	pts = h.Series("arn:web")
	if len(pts) != 2 || pts[1].Requests["2xx"] != 7 || !math.IsNaN(pts[1].P50) {
		t.Fatalf("after a reset: %+v", pts)
	}

	// A service that is gone is forgotten.
	cur = nil
	_ = h.Sample(context.Background())
	if pts := h.Series("arn:web"); pts != nil {
		t.Fatalf("gone service kept %d points", len(pts))
	}
}

func TestHistoryStartClose(t *testing.T) {
	n := make(chan struct{}, 10)
	h := &History{Interval: time.Millisecond, Source: func(context.Context) ([]Service, error) {
		select {
		case n <- struct{}{}:
		default:
		}
		return nil, nil
	}}
	h.Start()
	<-n
	<-n
	h.Close()
	h.Close() // idempotent
}
