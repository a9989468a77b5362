package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// LeaseOpener opens a fresh, empty LeaseService that reads the current
// time only from now. It registers its own cleanup with tb.
type LeaseOpener func(tb testing.TB, now func() time.Time) openrunner.LeaseService

// Leases runs the conformance suite of openrunner.LeaseService. It drives
// the store's clock through the now it gives open.
func Leases(t *testing.T, open LeaseOpener) {
	const key, ttl = "service/arn:aws:apprunner:us-east-1:111111111111:service/web/8fe1e10304f84fd2b0df550fe98a71fa", 30 * time.Second
	// Leases work in any Scope: the reconciler has none.
	ctx := context.Background()
	setup := func(t *testing.T) (openrunner.LeaseService, *clock) {
		c := &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
		return open(t, c.Now), c
	}

	t.Run("AcquireFree", func(t *testing.T) {
		s, c := setup(t)
		mustAcquire(t, s, key, "h1", ttl, true)
		wantLeases(t, s, "h1", openrunner.Lease{Key: key, Holder: "h1", Expires: c.Now().Add(ttl)})
		wantLeases(t, s, "h2")
	})

	t.Run("SecondHolderRefused", func(t *testing.T) {
		s, c := setup(t)
		start := c.Now()
		mustAcquire(t, s, key, "h1", ttl, true)
		mustAcquire(t, s, key, "h2", ttl, false)
		c.Advance(ttl - time.Millisecond)
		mustAcquire(t, s, key, "h2", time.Hour, false)
		wantLeases(t, s, "h1", openrunner.Lease{Key: key, Holder: "h1", Expires: start.Add(ttl)})
		wantLeases(t, s, "h2")
	})

	t.Run("RenewalExtends", func(t *testing.T) {
		s, c := setup(t)
		start := c.Now()
		mustAcquire(t, s, key, "h1", ttl, true)
		c.Advance(20 * time.Second)
		mustAcquire(t, s, key, "h1", ttl, true)
		wantLeases(t, s, "h1", openrunner.Lease{Key: key, Holder: "h1", Expires: start.Add(20*time.Second + ttl)})
		// Past the first expiry, the renewed lease still holds.
		c.Advance(20 * time.Second)
		mustAcquire(t, s, key, "h2", ttl, false)
		wantLeases(t, s, "h1", openrunner.Lease{Key: key, Holder: "h1", Expires: start.Add(20*time.Second + ttl)})
	})

	t.Run("Lapsed", func(t *testing.T) {
		s, c := setup(t)
		other := "service/arn:aws:apprunner:us-east-1:111111111111:service/api/0000"
		mustAcquire(t, s, key, "h1", ttl, true)
		mustAcquire(t, s, other, "h2", 2*ttl, true)
		mustAcquire(t, s, "build/%_x", "h1", ttl, true)
		wantLapsed(t, s, "service/")
		c.Advance(ttl)
		// Expired exactly now: lapsed; the other holds on; the other
		// prefix is not listed, and % or _ in a prefix match themselves.
		wantLapsed(t, s, "service/", openrunner.Lease{Key: key, Holder: "h1", Expires: c.Now()})
		wantLapsed(t, s, "build/%_", openrunner.Lease{Key: "build/%_x", Holder: "h1", Expires: c.Now()})
		wantLapsed(t, s, "build/__")
		// Taken over, or released, a lease is no longer lapsed.
		mustAcquire(t, s, key, "h3", ttl, true)
		if err := s.ReleaseLease(ctx, "build/%_x", "h1"); err != nil {
			t.Fatal(err)
		}
		wantLapsed(t, s, "")
	})

	t.Run("TakenOverAfterExpiry", func(t *testing.T) {
		s, c := setup(t)
		mustAcquire(t, s, key, "h1", ttl, true)
		c.Advance(ttl + time.Second)
		wantLeases(t, s, "h1") // expired leases are not listed
		mustAcquire(t, s, key, "h2", ttl, true)
		wantLeases(t, s, "h2", openrunner.Lease{Key: key, Holder: "h2", Expires: c.Now().Add(ttl)})
		wantLeases(t, s, "h1")
		mustAcquire(t, s, key, "h1", ttl, false)
	})

	t.Run("ReleaseThenAcquire", func(t *testing.T) {
		s, c := setup(t)
		mustAcquire(t, s, key, "h1", ttl, true)
		if err := s.ReleaseLease(ctx, key, "h1"); err != nil {
			t.Fatal(err)
		}
		wantLeases(t, s, "h1")
		mustAcquire(t, s, key, "h2", ttl, true) // at once: the clock has not moved
		wantLeases(t, s, "h2", openrunner.Lease{Key: key, Holder: "h2", Expires: c.Now().Add(ttl)})
		// Releasing twice, or a key nobody ever leased, is no error.
		if err := s.ReleaseLease(ctx, key, "h1"); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseLease(ctx, "never-leased", "h1"); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("ReleaseByNonHolder", func(t *testing.T) {
		s, c := setup(t)
		mustAcquire(t, s, key, "h1", ttl, true)
		if err := s.ReleaseLease(ctx, key, "h2"); err != nil {
			t.Fatalf("ReleaseLease by a non-holder: %v, want no error", err)
		}
		mustAcquire(t, s, key, "h2", ttl, false)
		wantLeases(t, s, "h1", openrunner.Lease{Key: key, Holder: "h1", Expires: c.Now().Add(ttl)})
	})

	t.Run("FindLeases", func(t *testing.T) {
		s, c := setup(t)
		start := c.Now()
		mustAcquire(t, s, "k-b", "h1", time.Minute, true)
		mustAcquire(t, s, "k-a", "h1", time.Minute, true)
		mustAcquire(t, s, "k-c", "h1", 10*time.Second, true)
		mustAcquire(t, s, "k-d", "h2", time.Minute, true)
		wantLeases(t, s, "h1",
			openrunner.Lease{Key: "k-a", Holder: "h1", Expires: start.Add(time.Minute)},
			openrunner.Lease{Key: "k-b", Holder: "h1", Expires: start.Add(time.Minute)},
			openrunner.Lease{Key: "k-c", Holder: "h1", Expires: start.Add(10 * time.Second)})
		c.Advance(20 * time.Second)
		wantLeases(t, s, "h1",
			openrunner.Lease{Key: "k-a", Holder: "h1", Expires: start.Add(time.Minute)},
			openrunner.Lease{Key: "k-b", Holder: "h1", Expires: start.Add(time.Minute)})
		wantLeases(t, s, "h2", openrunner.Lease{Key: "k-d", Holder: "h2", Expires: start.Add(time.Minute)})
		wantLeases(t, s, "nobody")
	})

	t.Run("ConcurrentAcquireOneKey", func(t *testing.T) {
		s, _ := setup(t)
		var wg sync.WaitGroup
		won := make([]bool, 16)
		errs := make([]error, len(won))
		for i := range won {
			wg.Add(1)
			go func() {
				defer wg.Done()
				won[i], errs[i] = s.AcquireLease(ctx, key, fmt.Sprintf("h%02d", i), ttl)
			}()
		}
		wg.Wait()
		winner := -1
		for i := range won {
			if errs[i] != nil {
				t.Fatalf("AcquireLease(h%02d): %v", i, errs[i])
			}
			if won[i] {
				if winner >= 0 {
					t.Fatalf("both h%02d and h%02d acquired the lease", winner, i)
				}
				winner = i
			}
		}
		if winner < 0 {
			t.Fatal("no holder acquired the free lease")
		}
		for i := range won {
			got, err := s.FindLeases(ctx, fmt.Sprintf("h%02d", i))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case i == winner && (len(got) != 1 || got[0].Key != key):
				t.Fatalf("winner h%02d holds %v, want the lease", i, got)
			case i != winner && len(got) != 0:
				t.Fatalf("loser h%02d holds %v", i, got)
			}
		}
	})

	t.Run("NonPositiveTTL", func(t *testing.T) {
		s, _ := setup(t)
		for _, d := range []time.Duration{0, -time.Second} {
			if ok, err := s.AcquireLease(ctx, key, "h1", d); err == nil || ok {
				t.Fatalf("AcquireLease with ttl %v = %v, %v; want an error", d, ok, err)
			}
		}
		wantLeases(t, s, "h1")
		mustAcquire(t, s, key, "h2", ttl, true)
		// Nor may the holder renew with one.
		if ok, err := s.AcquireLease(ctx, key, "h2", 0); err == nil || ok {
			t.Fatalf("renewal with ttl 0 = %v, %v; want an error", ok, err)
		}
	})
}

// clock is a settable time source, safe for concurrent use.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

// Now returns the clock's time.
func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func mustAcquire(tb testing.TB, s openrunner.LeaseService, key, holder string, ttl time.Duration, want bool) {
	tb.Helper()
	got, err := s.AcquireLease(context.Background(), key, holder, ttl)
	if err != nil {
		tb.Fatalf("AcquireLease(%s, %s, %v): %v", key, holder, ttl, err)
	}
	if got != want {
		tb.Fatalf("AcquireLease(%s, %s, %v) = %v, want %v", key, holder, ttl, got, want)
	}
}

// wantLeases fails unless FindLeases(holder) returns want, in that order.
func wantLeases(tb testing.TB, s openrunner.LeaseService, holder string, want ...openrunner.Lease) {
	tb.Helper()
	got, err := s.FindLeases(context.Background(), holder)
	if err != nil {
		tb.Fatalf("FindLeases(%s): %v", holder, err)
	}
	if !sameLeases(got, want) {
		tb.Fatalf("FindLeases(%s) = %v, want %v", holder, got, want)
	}
}

// wantLapsed fails unless FindLapsedLeases(prefix) returns want, in order.
func wantLapsed(tb testing.TB, s openrunner.LeaseService, prefix string, want ...openrunner.Lease) {
	tb.Helper()
	got, err := s.FindLapsedLeases(context.Background(), prefix)
	if err != nil {
		tb.Fatalf("FindLapsedLeases(%s): %v", prefix, err)
	}
	if !sameLeases(got, want) {
		tb.Fatalf("FindLapsedLeases(%s) = %v, want %v", prefix, got, want)
	}
}

// sameLeases reports whether got and want hold the same leases in order.
func sameLeases(got, want []openrunner.Lease) bool {
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].Key == want[i].Key && got[i].Holder == want[i].Holder && got[i].Expires.Equal(want[i].Expires)
	}
	return ok
}
