package router

import (
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultQueueSize is the most requests that wait in one service's queue
// when Options.QueueSize is zero.
const DefaultQueueSize = 100

// DefaultQueueTimeout is how long a request waits in its service's queue
// for a free slot when Options.QueueTimeout is zero.
const DefaultQueueTimeout = 10 * time.Second

// DefaultColdStartTimeout is how long a request for a service that scaled
// to zero waits for an instance when Options.ColdStartTimeout is zero.
const DefaultColdStartTimeout = 60 * time.Second

// demandInterval is the shortest time between two calls of Options.OnDemand
// for one service.
const demandInterval = 100 * time.Millisecond

// waitQueue holds the requests of one service that wait for an instance:
// every instance of the route is at MaxConcurrency, or the route activates
// from zero and has none yet. Like serviceStats, it is shared by the
// successive routes of a service (DeleteRoute ends it).
//
// A slot is handed to the waiter at the head by dispatch, which runs
// whenever capacity may have appeared: after a request on the service ends
// (release), after a route change (SetRoute, Drain) and after a request
// joins the queue. Requests that arrive while others wait join the queue
// instead of competing for the slots the waiters are owed.
//
// No slot is lost between a release and a request joining the queue: the
// request increments waiting and then looks for a slot (dispatch), and a
// release decrements the instance's in-flight count and then reads waiting,
// so with sequentially consistent atomics either the joiner sees the slot
// or the release sees the joiner. SetRoute publishes its table and then
// reads waiting, to the same effect.
type waitQueue struct {
	serviceARN string
	// waiting is the number of queued waiters. It is written under mu and
	// read without it by the request path and Stats.
	waiting atomic.Int64
	// lastDemand is when OnDemand was last called, in nanoseconds since
	// Router.epoch plus one (zero: never).
	lastDemand atomic.Int64

	mu         sync.Mutex
	head, tail *waiter // FIFO; guarded by mu
}

func newWaitQueue(serviceARN string) *waitQueue {
	return &waitQueue{serviceARN: serviceARN}
}

// waitOutcome is how a waiter's wait ended, when dispatch decided it.
type waitOutcome int

const (
	waitGranted    waitOutcome = iota // route and backend hold a slot for it
	waitGone                          // the route was deleted
	waitPaused                        // the route was paused
	waitNoInstance                    // the route lost its instances and does not activate
)

// waiter is one queued request.
type waiter struct {
	prev, next *waiter
	queued     bool // in the queue; guarded by waitQueue.mu
	cold       bool // joined while the route had no instance (activation)
	// ready is closed once dispatch has decided the outcome; the fields
	// below are written before, under waitQueue.mu.
	ready   chan struct{}
	outcome waitOutcome
	route   *route
	backend *backend
}

func (q *waitQueue) push(w *waiter) {
	w.queued = true
	w.prev = q.tail
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
	q.waiting.Add(1)
}

func (q *waitQueue) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next, w.queued = nil, nil, false
	q.waiting.Add(-1)
}

// decide removes the head waiter and tells it the outcome. The caller holds
// q.mu.
func (q *waitQueue) decide(out waitOutcome, rt *route, b *backend) {
	w := q.head
	q.remove(w)
	w.outcome, w.route, w.backend = out, rt, b
	close(w.ready)
}

// dispatch hands free slots of the service's current route to the waiters
// at the head of q, in order, until no slot is free or no waiter is left.
// If the route is gone, paused, or without instances and not activating,
// every waiter is told so.
func (r *Router) dispatch(q *waitQueue) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.head != nil {
		rt := r.table.Load().services[q.serviceARN]
		var out waitOutcome
		switch {
		case rt == nil || rt.queue != q:
			out = waitGone
		case rt.paused:
			out = waitPaused
		case len(rt.backends) == 0 && !rt.activate:
			out = waitNoInstance
		case len(rt.backends) == 0:
			r.demand(q)
			return
		default:
			// acquire may take Router.mu (to forget a retired backend); no
			// one takes q.mu while holding Router.mu.
			rt, b, _ := r.acquire(rt, nil)
			if b == nil {
				return // full; the next release dispatches again
			}
			q.decide(waitGranted, rt, b)
			continue
		}
		for q.head != nil {
			q.decide(out, nil, nil)
		}
	}
}

// kick dispatches q if requests wait in it.
func (r *Router) kick(q *waitQueue) {
	if q.waiting.Load() > 0 {
		r.dispatch(q)
	}
}

// release ends one request on b, a backend of a route whose queue is q, and
// hands the freed slot to a waiter if there is one.
func (r *Router) release(b *backend, q *waitQueue) {
	b.release(r)
	r.kick(q)
}

// demand calls OnDemand for q's service in a goroutine of its own, unless
// it was called less than demandInterval ago.
func (r *Router) demand(q *waitQueue) {
	if r.onDemand == nil {
		return
	}
	now := int64(time.Since(r.epoch)) + 1
	last := q.lastDemand.Load()
	if last != 0 && now-last < int64(demandInterval) {
		return
	}
	if !q.lastDemand.CompareAndSwap(last, now) {
		return // another request is calling it
	}
	go r.onDemand(q.serviceARN)
}

// wait is the slow path of ServeHTTP, for a request that found no free
// instance (res) on rt or found others already waiting. It queues the
// request until dispatch hands it a slot and returns the route and backend
// of that slot, or it answers the request itself (503, 429, 499, 404) and
// returns ok false.
func (r *Router) wait(w http.ResponseWriter, req *http.Request, rt *route, res acquireResult, began time.Time) (_ *route, _ *backend, ok bool) {
	q := rt.queue
	q.mu.Lock()
	for {
		cur := r.current(rt)
		if cur == nil {
			q.mu.Unlock()
			// Deleted since the lookup.
			r.answer(w, req, rt, began, http.StatusNotFound, fmt.Sprintf("No service has the host %q.", trimHost(req.Host)))
			return nil, nil, false
		}
		rt = cur
		if cur.queue == q {
			break
		}
		// Deleted and routed again since the lookup: a new queue.
		q.mu.Unlock()
		q = cur.queue
		q.mu.Lock()
	}
	cold := len(rt.backends) == 0
	switch {
	case rt.paused:
		q.mu.Unlock()
		r.answerPaused(w, req, rt, began)
		return nil, nil, false
	case cold && !rt.activate:
		q.mu.Unlock()
		r.answerNoInstance(w, req, rt, began, false)
		return nil, nil, false
	case r.queueSize < 0:
		q.mu.Unlock()
		if cold {
			r.demand(q)
			r.answer(w, req, rt, began, http.StatusServiceUnavailable, fmt.Sprintf("Service %q has no instance running; one is starting. Try again shortly.", rt.name))
			return nil, nil, false
		}
		if res == allFull {
			r.answerFull(w, req, rt, began, fmt.Sprintf("Service %q is at capacity: every instance is serving its maximum of %d concurrent requests. Retry after 1 second.", rt.name, rt.maxConcurrency))
			return nil, nil, false
		}
		// Every instance acquire found was retired by a concurrent
		// route change.
		r.answerNoInstance(w, req, rt, began, false)
		return nil, nil, false
	case int(q.waiting.Load()) >= r.queueSize:
		q.mu.Unlock()
		r.answerFull(w, req, rt, began, fmt.Sprintf("Service %q is at capacity: every instance is serving its maximum of %d concurrent requests and %d more requests are waiting. Retry after 1 second.", rt.name, rt.maxConcurrency, r.queueSize))
		return nil, nil, false
	}
	wt := &waiter{cold: cold, ready: make(chan struct{})}
	q.push(wt)
	q.mu.Unlock()
	if cold {
		r.demand(q)
	}
	r.dispatch(q)

	limit := r.queueTimeout
	if cold {
		limit = r.coldStartTimeout
	}
	if rem := time.Until(began.Add(r.timeout)); rem < limit {
		limit = rem
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	var timedOut, left bool
	select {
	case <-wt.ready:
	case <-timer.C:
		timedOut = true
	case <-req.Context().Done():
		left = true
	}
	if timedOut || left {
		q.mu.Lock()
		if wt.queued {
			q.remove(wt)
			q.mu.Unlock()
			if left {
				r.answerClientGone(w, req, rt, began)
				return nil, nil, false
			}
			r.answerTimeout(w, req, q, rt, began, limit)
			return nil, nil, false
		}
		q.mu.Unlock()
		<-wt.ready // decided before we took the lock: already closed
	}
	switch wt.outcome {
	case waitGranted:
		if req.Context().Err() != nil {
			r.release(wt.backend, q)
			r.answerClientGone(w, req, wt.route, began)
			return nil, nil, false
		}
		return wt.route, wt.backend, true
	case waitGone:
		r.answer(w, req, rt, began, http.StatusNotFound, fmt.Sprintf("No service has the host %q.", trimHost(req.Host)))
	case waitPaused:
		r.answerPaused(w, req, rt, began)
	default: // waitNoInstance
		r.answerNoInstance(w, req, rt, began, wt.cold)
	}
	return nil, nil, false
}

// answerTimeout answers a request that waited limit in the queue: 503 if
// the service still has no instance (a cold start that did not finish), 429
// otherwise.
func (r *Router) answerTimeout(w http.ResponseWriter, req *http.Request, q *waitQueue, rt *route, began time.Time, limit time.Duration) {
	if cur := r.current(rt); cur != nil && cur.queue == q {
		rt = cur
	}
	if len(rt.backends) == 0 {
		r.answer(w, req, rt, began, http.StatusServiceUnavailable, fmt.Sprintf("Service %q did not start an instance within %s. Try again shortly.", rt.name, formatSeconds(limit)))
		return
	}
	r.answerFull(w, req, rt, began, fmt.Sprintf("Service %q is at capacity: every instance is serving its maximum of %d concurrent requests, and none freed up within %s. Retry after 1 second.", rt.name, rt.maxConcurrency, formatSeconds(limit)))
}

// answerFull answers 429 for overload.
func (r *Router) answerFull(w http.ResponseWriter, req *http.Request, rt *route, began time.Time, msg string) {
	w.Header().Set("Retry-After", "1")
	r.answer(w, req, rt, began, http.StatusTooManyRequests, msg)
}

func (r *Router) answerPaused(w http.ResponseWriter, req *http.Request, rt *route, began time.Time) {
	r.answer(w, req, rt, began, http.StatusServiceUnavailable, fmt.Sprintf("Service %q is paused. Resume it to serve requests again.", rt.name))
}

// answerNoInstance answers 503 for a route without instances; cold says the
// request waited for a cold start that failed.
func (r *Router) answerNoInstance(w http.ResponseWriter, req *http.Request, rt *route, began time.Time, cold bool) {
	msg := fmt.Sprintf("Service %q has no healthy instance to serve this request. Try again shortly.", rt.name)
	if cold {
		msg = fmt.Sprintf("Service %q could not start an instance to serve this request. Try again shortly.", rt.name)
	}
	r.answer(w, req, rt, began, http.StatusServiceUnavailable, msg)
}

// answerClientGone ends a request whose client left while it waited: 499,
// seen by no one but the log.
func (r *Router) answerClientGone(w http.ResponseWriter, req *http.Request, rt *route, began time.Time) {
	rt.stats.record(StatusClientClosedRequest, 0)
	w.WriteHeader(StatusClientClosedRequest)
	r.logger.LogAttrs(req.Context(), slog.LevelDebug, "client closed the request while it waited",
		slog.String("host", normalizeHost(req.Host)),
		slog.String("service", rt.serviceARN),
		slog.String("method", req.Method),
		slog.String("path", req.URL.Path),
		slog.Duration("waited", time.Since(began)),
	)
	r.logRequest(req, StatusClientClosedRequest)
}

// answer writes an error the router decided on before proxying, counts it
// in the route's Stats, and writes its access-log line.
func (r *Router) answer(w http.ResponseWriter, req *http.Request, rt *route, began time.Time, code int, msg string) {
	switch code {
	case http.StatusTooManyRequests:
		rt.stats.throttled.Add(1)
	case http.StatusServiceUnavailable:
		rt.stats.unavailable.Add(1)
	}
	r.writeError(w, code, msg)
	rt.stats.record(code, time.Since(began))
	r.logRequest(req, code)
}
