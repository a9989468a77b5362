package logs_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/openrunner/openrunner/logs"
)

// StartFollow follows q on a goroutine, sending each entry's text to the
// returned channel; the second channel gets Follow's result.
func StartFollow(ctx context.Context, s *logs.Store, q logs.Query) (<-chan string, <-chan error) {
	texts, result := make(chan string, 1000), make(chan error, 1)
	go func() {
		result <- s.Follow(ctx, q, func(e logs.Entry) error {
			texts <- e.Text
			return nil
		})
	}()
	return texts, result
}

// Receive waits for n texts.
func Receive(tb testing.TB, texts <-chan string, n int) []string {
	tb.Helper()
	var got []string
	timeout := time.After(5 * time.Second)
	for len(got) < n {
		select {
		case s := <-texts:
			got = append(got, s)
		case <-timeout:
			tb.Fatalf("got %q, then nothing for 5 s", got)
		}
	}
	return got
}

// Result waits for Follow to return.
func Result(tb testing.TB, result <-chan error) error {
	tb.Helper()
	select {
	case err := <-result:
		return err
	case <-time.After(5 * time.Second):
		tb.Fatal("Follow did not return within 5 s")
		return nil
	}
}

func TestFollow(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		// A long flush interval shows that followers do not wait for it.
		s := MustOpen(t, "", logs.Options{FlushInterval: time.Hour, SegmentBytes: 4096})
		for _, text := range Lines(0, 3) {
			MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, text, t0)
		}
		ctx, cancel := context.WithCancel(context.Background())
		texts, result := StartFollow(ctx, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
		if got, want := Receive(t, texts, 3), Lines(0, 3); !slices.Equal(got, want) {
			t.Fatalf("existing: got %q, want %q", got, want)
		}
		for i, text := range Lines(3, 200) {
			MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, text, t0)
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // let the follower catch up sometimes
			}
		}
		if got, want := Receive(t, texts, 200), Lines(3, 200); !slices.Equal(got, want) {
			t.Fatalf("new: got %q, want %q", got, want)
		}
		// Other groups and services do not reach this follower.
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", "app", t0)
		MustAppend(t, s, arn2, logs.GroupService, logs.StreamEvents, "other", t0)
		MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "last", t0)
		if got := Receive(t, texts, 1); got[0] != "last" {
			t.Fatalf("got %q, want last", got)
		}
		cancel()
		if err := Result(t, result); !errors.Is(err, context.Canceled) {
			t.Fatalf("Follow = %v, want context.Canceled", err)
		}
		select {
		case s := <-texts:
			t.Fatalf("received %q after the end", s)
		default:
		}
	})
	t.Run("StreamAndTail", func(t *testing.T) {
		s := MustOpen(t, "", logs.Options{})
		for i, text := range Lines(0, 10) {
			MustAppend(t, s, arn1, logs.GroupService, fmt.Sprintf("deployment/%d", i%2), text, t0)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		texts, _ := StartFollow(ctx, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService, Stream: "deployment/1", Tail: true, Limit: 2})
		if got, want := Receive(t, texts, 2), []string{"line 7", "line 9"}; !slices.Equal(got, want) {
			t.Fatalf("tail: got %q, want %q", got, want)
		}
		MustAppend(t, s, arn1, logs.GroupService, "deployment/0", "not this", t0)
		MustAppend(t, s, arn1, logs.GroupService, "deployment/1", "this", t0)
		if got := Receive(t, texts, 1); got[0] != "this" {
			t.Fatalf("got %q, want this", got)
		}
	})
	t.Run("FromCursor", func(t *testing.T) {
		s := MustOpen(t, "", logs.Options{})
		for _, text := range Lines(0, 5) {
			MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, text, t0)
		}
		_, c := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService, Limit: 3})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		texts, _ := StartFollow(ctx, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService, After: c})
		if got, want := Receive(t, texts, 2), Lines(3, 2); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("BeforeFirstEntry", func(t *testing.T) {
		s := MustOpen(t, "", logs.Options{})
		texts, _ := StartFollow(t.Context(), s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication})
		time.Sleep(10 * time.Millisecond)
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", "first", t0)
		if got := Receive(t, texts, 1); got[0] != "first" {
			t.Fatalf("got %q, want first", got)
		}
	})
	t.Run("FnError", func(t *testing.T) {
		s := MustOpen(t, "", logs.Options{})
		MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "x", t0)
		stop := errors.New("stop")
		if err := s.Follow(t.Context(), logs.Query{ServiceARN: arn1, Group: logs.GroupService}, func(logs.Entry) error { return stop }); err != stop {
			t.Fatalf("Follow = %v, want fn's error", err)
		}
	})
	t.Run("DeleteService", func(t *testing.T) {
		s := MustOpen(t, "", logs.Options{})
		MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "x", t0)
		texts, result := StartFollow(t.Context(), s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
		Receive(t, texts, 1)
		if err := s.DeleteService(arn1); err != nil {
			t.Fatal(err)
		}
		if err := Result(t, result); err != nil {
			t.Fatalf("Follow = %v, want nil", err)
		}
	})
	t.Run("ErrClosed", func(t *testing.T) {
		s, err := logs.Open(t.TempDir(), logs.Options{SweepInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		_, result := StartFollow(t.Context(), s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
		time.Sleep(10 * time.Millisecond)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := Result(t, result); !errors.Is(err, logs.ErrClosed) {
			t.Fatalf("Follow = %v, want ErrClosed", err)
		}
	})
}

func TestRetentionBySize(t *testing.T) {
	dir := t.TempDir()
	const maxBytes, seg = 64 << 10, 8 << 10
	s := MustOpen(t, dir, logs.Options{MaxBytesPerService: maxBytes, SegmentBytes: seg})
	MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "[AppRunner] Service creation started.", t0)
	for _, text := range Lines(0, 5000) {
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/chatty", text, t0)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := DirSize(t, dir); got > maxBytes+1024 { // + meta.json
		t.Fatalf("%d bytes on disk, want at most %d", got, maxBytes)
	}
	if got := len(Segments(t, dir, logs.GroupApplication)); got > maxBytes/seg {
		t.Fatalf("%d application segments, want at most %d", got, maxBytes/seg)
	}
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Limit: logs.MaxLimit})
	if len(es) == 0 || len(es) > 2000 || es[len(es)-1].Text != "line 4999" {
		t.Fatalf("kept %d entries ending %q", len(es), es[len(es)-1].Text)
	}
	// What is kept is a contiguous run ending with the newest.
	var first int
	fmt.Sscanf(es[0].Text, "line %d", &first)
	if got, want := Texts(es), Lines(first, 5000-first); !slices.Equal(got, want) {
		t.Fatal("the kept entries are not the newest ones in order")
	}
	// The chatty application did not push out the service's events.
	if es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService}); len(es) != 1 {
		t.Fatalf("service events: got %q", Texts(es))
	}
}

func TestRetentionCursor(t *testing.T) {
	s := MustOpen(t, "", logs.Options{MaxBytesPerService: 16 << 10, SegmentBytes: 4 << 10})
	MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", "line 0", t0)
	_, c := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication})
	for _, text := range Lines(1, 2000) {
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", text, t0)
	}
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c, Limit: 1})
	all, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Limit: 1})
	if len(es) != 1 || es[0].Text == "line 1" || es[0] != all[0] {
		t.Fatalf("got %q, want the oldest kept entry %q", Texts(es), Texts(all))
	}
}

func TestRetentionByAge(t *testing.T) {
	dir := t.TempDir()
	clock := NewClock()
	s := MustOpen(t, dir, logs.Options{Now: clock.Now, MaxAge: 24 * time.Hour, SegmentBytes: 1024})
	// Day 0: many lines in several segments; day 1: a few.
	for _, text := range Lines(0, 100) {
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", text, time.Time{})
	}
	MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "day 0 event", time.Time{})
	MustAppend(t, s, arn2, logs.GroupService, logs.StreamEvents, "other day 0", time.Time{})
	_, events := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
	clock.Add(20 * time.Hour)
	_, c := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication})
	for _, text := range Lines(100, 3) {
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", text, time.Time{})
	}

	if err := s.Sweep(); err != nil { // nothing is old enough yet
		t.Fatal(err)
	}
	if es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Limit: logs.MaxLimit}); len(es) != 103 {
		t.Fatalf("before MaxAge: kept %d entries, want 103", len(es))
	}

	clock.Add(10 * time.Hour) // day 0 is now 30 hours old
	if err := s.Sweep(); err != nil {
		t.Fatal(err)
	}
	// Whole segments go: day-0 lines that share the active segment with
	// day-1 lines stay with them.
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Limit: logs.MaxLimit})
	if n := len(es); n < 3 || n > 15 || !slices.Equal(Texts(es), Lines(103-n, n)) {
		t.Fatalf("after MaxAge: got %q, want the last segment, ending with line 102", Texts(es))
	}
	if es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService}); len(es) != 0 {
		t.Fatalf("old events kept: %q", Texts(es))
	}
	// A cursor from before the sweep reads on.
	es, _ = MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c})
	if got, want := Texts(es), Lines(100, 3); !slices.Equal(got, want) {
		t.Fatalf("with an old cursor: got %q, want %q", got, want)
	}
	// A service left without any entry is forgotten, files and all.
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("%d service directories, want 1", len(ents))
	}
	// Sequence numbers go on in a group that the sweep emptied, even
	// across a restart, so a cursor taken before sees what comes after.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = MustOpen(t, dir, logs.Options{Now: clock.Now, MaxAge: 24 * time.Hour, SegmentBytes: 1024})
	MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "day 1 event", time.Time{})
	es, _ = MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService, After: events})
	if got, want := Texts(es), []string{"day 1 event"}; !slices.Equal(got, want) {
		t.Fatalf("after an emptied group: got %q, want %q", got, want)
	}
}

func TestBackgroundSweep(t *testing.T) {
	clock := NewClock()
	s := MustOpen(t, "", logs.Options{Now: clock.Now, MaxAge: time.Hour, SweepInterval: 5 * time.Millisecond})
	MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "old", time.Time{})
	clock.Add(2 * time.Hour)
	deadline := time.Now().Add(5 * time.Second)
	for {
		es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
		if len(es) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the background sweep did not drop the old entry")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
