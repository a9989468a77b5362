package reconcile

import (
	"errors"
	"testing"
	"time"
)

// TestQueue: duplicate adds coalesce; a key added while a worker has it
// comes back once the worker is done, never to two workers at once; a
// failed key comes back after a backoff that doubles, and a success
// resets it; shutDown releases the workers.
func TestQueue(t *testing.T) {
	q := newQueue(20*time.Millisecond, 80*time.Millisecond)
	q.add("a")
	q.add("a")
	q.add("b")
	if k, _ := q.get(); k != "a" {
		t.Fatalf("first key %q", k)
	}
	q.add("a") // while a worker has it
	if k, _ := q.get(); k != "b" {
		t.Fatalf("second key %q: a must not be handed out while active, nor twice", k)
	}
	q.done("b", nil)
	q.mu.Lock()
	pending := len(q.order)
	q.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d keys queued while a is active", pending)
	}
	q.done("a", nil)
	if k, _ := q.get(); k != "a" {
		t.Fatalf("a added while active came back as %q", k)
	}

	// Backoff: 20 ms, then 40 ms; a success resets it.
	for i, want := range []time.Duration{20 * time.Millisecond, 40 * time.Millisecond} {
		t0 := time.Now()
		q.done("a", errors.New("failed"))
		if k, _ := q.get(); k != "a" {
			t.Fatalf("retry %d: %q", i, k)
		}
		if took := time.Since(t0); took < want {
			t.Errorf("retry %d after %s, want at least %s", i, took, want)
		}
	}
	q.done("a", nil)
	q.mu.Lock()
	failures := q.failures["a"]
	q.mu.Unlock()
	if failures != 0 {
		t.Errorf("failures after a success: %d", failures)
	}

	got := make(chan bool)
	go func() { _, ok := q.get(); got <- ok }()
	q.shutDown()
	if <-got {
		t.Error("get after shutDown returned a key")
	}
	q.add("c") // ignored once shut down
	if _, ok := q.get(); ok {
		t.Error("a key was queued after shutDown")
	}
}
