package postgres

import (
	"context"
	"sync"
)

// coalescer shares one read among the identical calls waiting for it, so
// a burst of the same listing costs the database one round trip per
// batch rather than one per call, without ever answering from the past:
// a call never joins a read already under way (which may have begun
// before the call, and so before a write the caller saw committed), only
// the next one, which starts once the current one ends, after every call
// it serves has arrived. Each answer is therefore what a read of its own,
// made at some moment during the call, would have returned. Answers are
// shared: callers must not modify them.
type coalescer[K comparable, V any] struct {
	mu    sync.Mutex
	slots map[K]*slot[V]
}

// slot is one key's read under way and the next read gathering callers.
type slot[V any] struct {
	running, next *flight[V]
}

// flight is one read and its answer, ready when done is closed.
type flight[V any] struct {
	done chan struct{}
	v    V
	err  error
	read func(context.Context) (V, error) // run for the waiters of next
	ctx  context.Context
}

// do returns read's answer for key: from a read of this call's own when
// none is under way, else from the next read, shared with the calls that
// arrive meanwhile.
func (c *coalescer[K, V]) do(ctx context.Context, key K, read func(context.Context) (V, error)) (V, error) {
	c.mu.Lock()
	if c.slots == nil {
		c.slots = map[K]*slot[V]{}
	}
	s := c.slots[key]
	if s == nil {
		s = &slot[V]{}
		c.slots[key] = s
	}
	if s.running == nil {
		f := &flight[V]{done: make(chan struct{})}
		s.running = f
		c.mu.Unlock()
		f.v, f.err = read(ctx)
		c.finish(key, s, f)
		return f.v, f.err
	}
	if s.next == nil {
		// The read outlives this caller if it gives up: others wait on it.
		s.next = &flight[V]{done: make(chan struct{}), read: read, ctx: context.WithoutCancel(ctx)}
	}
	f := s.next
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.v, f.err
	case <-ctx.Done():
		var zero V
		return zero, ctx.Err()
	}
}

// finish publishes f's answer and starts the key's next read, if callers
// gathered for one.
func (c *coalescer[K, V]) finish(key K, s *slot[V], f *flight[V]) {
	close(f.done)
	c.mu.Lock()
	next := s.next
	s.running, s.next = next, nil
	if next == nil {
		delete(c.slots, key)
	}
	c.mu.Unlock()
	if next != nil {
		go func() {
			next.v, next.err = next.read(next.ctx)
			c.finish(key, s, next)
		}()
	}
}
