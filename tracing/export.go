package tracing

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Export limits: a full queue drops spans, never blocks a request; an
// export request carries at most maxBatch spans.
const (
	maxQueue = 8192
	maxBatch = 2048
)

// queue holds the ended spans of every service until their export.
type queue struct {
	mu      sync.Mutex
	spans   []*span
	spare   []*span // the previous batch's array, reused
	dropped int
	closed  bool
	full    chan struct{} // signalled when a batch is ready
}

func newQueue() *queue { return &queue{full: make(chan struct{}, 1)} }

// push queues an ended span; dropped when the queue is full or closed.
func (q *queue) push(s *span) {
	q.mu.Lock()
	if q.closed || len(q.spans) >= maxQueue {
		q.dropped++
		q.mu.Unlock()
		return
	}
	q.spans = append(q.spans, s)
	n := len(q.spans)
	q.mu.Unlock()
	if n == maxBatch {
		select {
		case q.full <- struct{}{}:
		default:
		}
	}
}

// take returns every queued span and how many were dropped since the last
// take; the caller gives the slice back with recycle.
func (q *queue) take() ([]*span, int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	spans, dropped := q.spans, q.dropped
	q.spans, q.spare, q.dropped = q.spare[:0], nil, 0
	return spans, dropped
}

func (q *queue) recycle(spans []*span) {
	clear(spans)
	q.mu.Lock()
	if q.spare == nil {
		q.spare = spans[:0]
	}
	q.mu.Unlock()
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// run exports the queued spans every BatchTimeout, and as soon as a batch
// is full, until stop is closed.
func (t *Tracing) run() {
	defer close(t.done)
	tick := time.NewTicker(t.timeout)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
		case <-t.queue.full:
		}
		ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
		if err := t.flush(ctx); err != nil {
			t.logger.Warn("exporting spans", "otlp_endpoint", t.endpoint, "error", err)
		}
		cancel()
	}
}

// exportTimeout bounds one export request, as otlptracehttp's default.
const exportTimeout = 10 * time.Second

// flush exports every queued span, in requests of at most maxBatch.
func (t *Tracing) flush(ctx context.Context) error {
	t.exportMu.Lock()
	defer t.exportMu.Unlock()
	spans, dropped := t.queue.take()
	defer t.queue.recycle(spans)
	if dropped > 0 {
		t.logger.Warn("dropped spans: the export queue was full", "spans", dropped)
	}
	for len(spans) > 0 {
		n := min(len(spans), maxBatch)
		if err := t.export(ctx, spans[:n]); err != nil {
			return fmt.Errorf("%d spans lost: %w", len(spans), err)
		}
		spans = spans[n:]
	}
	return nil
}

// export sends one request of spans to the collector.
func (t *Tracing) export(ctx context.Context, spans []*span) error {
	t.body, t.scratch = appendRequest(t.body[:0], t.scratch, spans)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(t.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	res, err := t.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(res.Body, 512))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("the collector answered %s: %s", res.Status, bytes.TrimSpace(msg))
	}
	return nil
}
