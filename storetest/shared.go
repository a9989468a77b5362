package storetest

import (
	"bytes"
	"context"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// SharedStores are the stores only a database several servers share
// implements (openrunner.Stores.Shared).
type SharedStores struct {
	Routes    openrunner.RouteService
	Notifier  openrunner.Notifier
	Ephemeral openrunner.EphemeralService
}

// SharedOpener opens fresh, empty shared stores (two handles on the same
// database, as two servers have) that read the current time only from now.
type SharedOpener func(tb testing.TB, now func() time.Time) (SharedStores, SharedStores)

// Shared runs the conformance suite of the shared stores.
func Shared(t *testing.T, open SharedOpener) {
	ctx := context.Background()
	setup := func(t *testing.T) (SharedStores, SharedStores, *clock) {
		c := &clock{now: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}
		a, b := open(t, c.Now)
		return a, b, c
	}
	t.Run("Routes", func(t *testing.T) {
		a, b, _ := setup(t)
		v1, err := a.Routes.PutRoute(ctx, openrunner.SharedRoute{ServiceARN: "arn:1", Holder: "h1", Route: []byte(`{"a":1}`)})
		if err != nil {
			t.Fatal(err)
		}
		v2, err := b.Routes.PutRoute(ctx, openrunner.SharedRoute{ServiceARN: "arn:1", Holder: "h2", Route: []byte(`{"b":2}`)})
		if err != nil || v2 <= v1 {
			t.Fatalf("second put: version %d after %d, %v", v2, v1, err)
		}
		if _, err := a.Routes.PutRoute(ctx, openrunner.SharedRoute{ServiceARN: "arn:2", Holder: "h1", Route: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
		got, err := a.Routes.FindRoutes(ctx)
		if err != nil || len(got) != 2 || got[0].Holder != "h2" || !bytes.Equal(got[0].Route, []byte(`{"b":2}`)) || got[0].Version != v2 || got[1].ServiceARN != "arn:2" {
			t.Fatalf("routes %+v, %v", got, err)
		}
		if err := b.Routes.DeleteRoute(ctx, "arn:1"); err != nil {
			t.Fatal(err)
		}
		if err := b.Routes.DeleteRoute(ctx, "arn:unknown"); err != nil {
			t.Fatal(err)
		}
		if got, err := a.Routes.FindRoutes(ctx); err != nil || len(got) != 1 || got[0].ServiceARN != "arn:2" {
			t.Fatalf("after delete %+v, %v", got, err)
		}
	})
	t.Run("Ephemeral", func(t *testing.T) {
		a, b, c := setup(t)
		if err := a.Ephemeral.PutEphemeral(ctx, "k1", "x", []byte("v1"), c.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if v, err := b.Ephemeral.FindEphemeral(ctx, "k1", "x"); err != nil || string(v) != "v1" {
			t.Fatalf("find %q, %v", v, err)
		}
		if v, err := b.Ephemeral.FindEphemeral(ctx, "k2", "x"); err != nil || v != nil {
			t.Fatalf("another kind: %q, %v", v, err)
		}
		c.Advance(time.Minute)
		if v, err := b.Ephemeral.FindEphemeral(ctx, "k1", "x"); err != nil || v != nil {
			t.Fatalf("expired: %q, %v", v, err)
		}
		if err := a.Ephemeral.PutEphemeral(ctx, "k1", "x", []byte("v2"), c.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		// Of many takers on two handles, exactly one gets the value.
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := 0
		for i := range 8 {
			s := a
			if i%2 == 1 {
				s = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := s.Ephemeral.TakeEphemeral(ctx, "k1", "x")
				if err != nil {
					t.Error(err)
				}
				if v != nil {
					mu.Lock()
					got++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if got != 1 {
			t.Fatalf("%d takers got the value, want 1", got)
		}
		if err := a.Ephemeral.PutEphemeral(ctx, "k1", "y", []byte("v"), c.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := b.Ephemeral.DeleteEphemeral(ctx, "k1", "y"); err != nil {
			t.Fatal(err)
		}
		if v, err := a.Ephemeral.FindEphemeral(ctx, "k1", "y"); err != nil || v != nil {
			t.Fatalf("deleted: %q, %v", v, err)
		}
	})
	t.Run("Notify", func(t *testing.T) {
		a, b, _ := setup(t)
		lctx, cancel := context.WithCancel(ctx)
		defer cancel()
		connected := make(chan struct{}, 1)
		got := make(chan string, 10)
		go b.Notifier.Listen(lctx, []string{"storetest_channel"}, func(ch, payload string) { got <- ch + " " + payload },
			func() { connected <- struct{}{} })
		select {
		case <-connected:
		case <-time.After(10 * time.Second):
			t.Fatal("the listener did not connect")
		}
		if err := a.Notifier.Notify(ctx, "storetest_channel", "hello"); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m != "storetest_channel hello" {
				t.Fatalf("got %q", m)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no notification")
		}
	})
}
