package postgres

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A call that arrives while a read is under way gets the next read's
// answer, never the one under way; the calls gathered meanwhile share one
// read.
func TestCoalescerNeverAnswersFromEarlierRead(t *testing.T) {
	var c coalescer[string, int64]
	var reads atomic.Int64
	release := make(chan struct{})
	read := func(context.Context) (int64, error) {
		n := reads.Add(1)
		if n == 1 {
			<-release // the first read waits until the others have arrived
		}
		return n, nil
	}
	ctx := context.Background()
	first := make(chan int64)
	go func() {
		v, _ := c.do(ctx, "k", read)
		first <- v
	}()
	for reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// Eight calls arrive while read 1 is under way.
	var wg sync.WaitGroup
	got := make([]int64, 8)
	for i := range got {
		wg.Go(func() { got[i], _ = c.do(ctx, "k", read) })
	}
	for {
		c.mu.Lock()
		waiting := c.slots["k"].next != nil
		c.mu.Unlock()
		if waiting {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // let the others join
	close(release)
	if v := <-first; v != 1 {
		t.Fatalf("first call got read %d, want 1", v)
	}
	wg.Wait()
	for _, v := range got {
		if v < 2 {
			t.Fatalf("a call that arrived during read 1 got read %d: %v", v, got)
		}
	}
	if n := reads.Load(); n > 3 {
		t.Fatalf("%d reads for 9 calls, want them shared", n)
	}
	// Another key, and the same key later, read on their own at once.
	if v, _ := c.do(ctx, "other", read); v != reads.Load() {
		t.Fatalf("other key got read %d", v)
	}
	if len(c.slots) != 0 {
		t.Fatalf("slots left: %v", c.slots)
	}
}

// A waiter that gives up returns at once; the read it waited for still
// answers the others.
func TestCoalescerCancelledWaiter(t *testing.T) {
	var c coalescer[string, int]
	release := make(chan struct{})
	var reads atomic.Int64
	read := func(ctx context.Context) (int, error) {
		if reads.Add(1) == 1 {
			<-release
		}
		return 7, ctx.Err()
	}
	go c.do(context.Background(), "k", read)
	for reads.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { _, err := c.do(ctx, "k", read); errc <- err }()
	time.Sleep(10 * time.Millisecond)
	cancel()
	if err := <-errc; err != context.Canceled {
		t.Fatalf("cancelled waiter: %v", err)
	}
	other := make(chan error)
	go func() { _, err := c.do(context.Background(), "k", read); other <- err }()
	time.Sleep(10 * time.Millisecond)
	close(release)
	if err := <-other; err != nil {
		t.Fatalf("the next read failed with its creator's cancellation: %v", err)
	}
}
