package router

import (
	"context"
	"net/url"
	"sync"
	"sync/atomic"
)

// backend is the router's state for one instance. It outlives the routes
// that list it for as long as requests are in flight on it.
type backend struct {
	id  string
	url *url.URL // scheme and host only matter

	inFlight atomic.Int64
	requests atomic.Uint64 // requests sent to the instance (attempts)
	failures atomic.Uint64 // attempts that got no response

	// lastWarn (Unix ns) and quiet rate-limit failure warnings; see
	// Router.logFailure.
	lastWarn atomic.Int64
	quiet    atomic.Int64

	// retired reports whether no route lists the instance any more. It is
	// written under Router.mu and read on the request path.
	retired atomic.Bool
	// refs counts the routes that list the instance. Guarded by Router.mu.
	refs int

	// waiters counts WaitIdle calls, so that release only takes mu when
	// someone waits.
	waiters atomic.Int32
	mu      sync.Mutex
	idle    chan struct{} // closed, then replaced, when inFlight drops to 0
}

func newBackend(id string, u *url.URL) *backend {
	return &backend{
		id:   id,
		url:  &url.URL{Scheme: u.Scheme, Host: u.Host},
		idle: make(chan struct{}),
	}
}

// tryAcquire adds one request to b's in-flight count unless that would go
// over limit (0: no limit). It reports whether it did.
func (b *backend) tryAcquire(limit int64) bool {
	if limit <= 0 {
		b.inFlight.Add(1)
		return true
	}
	for {
		n := b.inFlight.Load()
		if n >= limit {
			return false
		}
		if b.inFlight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release ends one request on b, waking WaitIdle callers and forgetting a
// retired backend when it becomes idle.
func (b *backend) release(r *Router) {
	if b.inFlight.Add(-1) != 0 {
		return
	}
	if b.waiters.Load() > 0 {
		b.mu.Lock()
		close(b.idle)
		b.idle = make(chan struct{})
		b.mu.Unlock()
	}
	if b.retired.Load() {
		r.forget(b)
	}
}

// waitIdle blocks until b has no request in flight or ctx ends.
func (b *backend) waitIdle(ctx context.Context) error {
	b.waiters.Add(1)
	defer b.waiters.Add(-1)
	for {
		// Take the channel before reading the count: a release that brings
		// the count to 0 after the read closes this channel (or a later one
		// than the count we read, which we then see as 0 on the next loop).
		b.mu.Lock()
		ch := b.idle
		b.mu.Unlock()
		if b.inFlight.Load() <= 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitIdle blocks until the instance with the given ID has no request in
// flight, or ctx ends (it then returns ctx.Err()). It is meant for an
// instance that SetRoute or DeleteRoute has just removed from every route:
// once WaitIdle returns nil for such an instance, the router sends it no
// further request and the instance can be stopped (unless a later SetRoute
// lists it again). An ID the router does not know (never routed, or removed
// and already idle) is idle.
//
// Upgraded connections (WebSocket) count as in flight until they close, so
// bound the wait with ctx and stop the instance anyway when it expires.
//
// For an instance that is still routed, WaitIdle returns the first time its
// in-flight count is seen at zero, which says nothing about later requests.
func (r *Router) WaitIdle(ctx context.Context, instanceID string) error {
	r.mu.Lock()
	b := r.backends[instanceID]
	r.mu.Unlock()
	if b == nil {
		return nil
	}
	return b.waitIdle(ctx)
}

// acquireResult says why acquire found no instance.
type acquireResult int

const (
	acquired   acquireResult = iota
	noInstance               // the route lists no usable instance
	allFull                  // every instance is at MaxConcurrency
)

// acquire picks an instance of rt for one request and counts the request in
// its in-flight total: the one with the fewest requests in flight below
// the route's MaxConcurrency, skipping exclude (an instance that just failed).
// Ties go to the first one at or after a rotating start, which gives round
// robin at low load.
//
// A route read just before a SetRoute or Drain may list instances that
// have since been retired. Sending them a request could race with a
// deployer that saw them idle and stopped them, so acquire backs off from a
// retired instance and reads the service's current route instead. The order of the atomic
// operations makes this safe: acquire increments inFlight before it reads
// retired, and the router publishes the routes without the instance, then
// stores retired, before WaitIdle or Drain reads inFlight, so either acquire
// sees retired (and then the new routes) or the waiter sees the request.
func (r *Router) acquire(rt *route, exclude *backend) (*route, *backend, acquireResult) {
	for range 4 {
		b, res := rt.pick(exclude)
		if b == nil {
			return rt, nil, res
		}
		if !b.retired.Load() {
			return rt, b, acquired
		}
		b.release(r)
		cur := r.current(rt)
		if cur == nil || cur == rt {
			// Deleted, or retired by a concurrent SetRoute or Drain that has
			// not yet published: nothing better to offer.
			return rt, nil, noInstance
		}
		rt = cur
	}
	return rt, nil, noInstance
}

// pick is acquire without the retirement check. A paused route has no
// instance to offer.
func (rt *route) pick(exclude *backend) (*backend, acquireResult) {
	n := len(rt.backends)
	if rt.paused || n == 0 || (n == 1 && rt.backends[0] == exclude) {
		return nil, noInstance
	}
	start := int(rt.next.Add(1) % uint32(n))
	// A CAS can lose to a concurrent request that took the last slot of the
	// chosen instance; look again a few times before calling the route full.
	for range n + 2 {
		var best *backend
		bestN := int64(-1)
		for i := range n {
			c := rt.backends[(start+i)%n]
			if c == exclude {
				continue
			}
			v := c.inFlight.Load()
			if rt.maxConcurrency > 0 && v >= rt.maxConcurrency {
				continue
			}
			if best == nil || v < bestN {
				best, bestN = c, v
			}
		}
		if best == nil {
			return nil, allFull
		}
		if best.tryAcquire(rt.maxConcurrency) {
			return best, acquired
		}
	}
	return nil, allFull
}

// Drain takes the instance with the given ID out of every route that lists
// it, at once and as if SetRoute had been called for each of them without
// it, then waits like WaitIdle for the requests already on it to finish. It
// is meant for an instance that is about to be stopped while its service
// goes on (scale-down, replacement): once Drain returns nil the router sends
// the instance no further request, unless a later SetRoute lists it again.
// If ctx ends first, Drain returns ctx.Err(); the instance stays out of the
// routes all the same. A route left without instances answers 503 "no
// healthy instance" (or, with Activate, queues them for a cold start). An
// ID the router does not know returns nil at once.
func (r *Router) Drain(ctx context.Context, instanceID string) error {
	b, queues := r.unroute(instanceID)
	if b == nil {
		return nil
	}
	// A route left without instances answers its waiters (or, if it
	// activates, asks for an instance).
	for _, q := range queues {
		r.kick(q)
	}
	return b.waitIdle(ctx)
}
