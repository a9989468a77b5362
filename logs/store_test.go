package logs_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/logs"
)

func TestAppendRead(t *testing.T) {
	s := MustOpen(t, "", logs.Options{})
	ev, dep := logs.StreamEvents, logs.DeploymentStream("op-1")
	MustAppend(t, s, arn1, logs.GroupService, ev, "e0", t0)
	MustAppend(t, s, arn1, logs.GroupService, dep, "d0", t0.Add(1*time.Second))
	MustAppend(t, s, arn1, logs.GroupService, ev, "e1", t0.Add(2*time.Second))
	MustAppend(t, s, arn1, logs.GroupApplication, logs.InstanceStream("i-1"), "a0", t0.Add(3*time.Second))
	MustAppend(t, s, arn2, logs.GroupService, ev, "other service", t0)

	t.Run("OK", func(t *testing.T) {
		es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
		if got, want := Texts(es), []string{"e0", "d0", "e1"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		want := logs.Entry{Time: t0.Add(time.Second), ServiceARN: arn1, Group: logs.GroupService, Stream: dep, Text: "d0"}
		if got := es[1]; got != want {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	})
	t.Run("Stream", func(t *testing.T) {
		es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService, Stream: ev})
		if got, want := Texts(es), []string{"e0", "e1"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("Since", func(t *testing.T) {
		es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService, Since: t0.Add(time.Second)})
		if got, want := Texts(es), []string{"d0", "e1"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("Application", func(t *testing.T) {
		es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication})
		if got, want := Texts(es), []string{"a0"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("UnknownService", func(t *testing.T) {
		es, c := MustRead(t, s, logs.Query{ServiceARN: "arn:aws:apprunner:us-east-1:000000000000:service/x/y", Group: logs.GroupService})
		if len(es) != 0 || c != "" {
			t.Fatalf("got %d entries, cursor %q", len(es), c)
		}
	})
	t.Run("DefaultTime", func(t *testing.T) {
		clock := NewClock()
		s := MustOpen(t, "", logs.Options{Now: clock.Now})
		if err := s.AppendEvent(arn1, logs.StreamEvents, "now"); err != nil {
			t.Fatal(err)
		}
		es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
		if len(es) != 1 || !es[0].Time.Equal(t0) {
			t.Fatalf("got %+v, want one entry at %v", es, t0)
		}
	})
}

func TestCursorPaging(t *testing.T) {
	// Small segments, so that pages cross segment boundaries.
	s := MustOpen(t, "", logs.Options{SegmentBytes: 1024})
	for i, text := range Lines(0, 100) {
		stream := "instance/a"
		if i%2 == 1 {
			stream = "instance/b"
		}
		MustAppend(t, s, arn1, logs.GroupApplication, stream, text, t0.Add(time.Duration(i)*time.Second))
	}

	t.Run("OK", func(t *testing.T) {
		var got []string
		var c logs.Cursor
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("paging does not end")
			}
			es, next := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c, Limit: 7})
			if next == "" {
				t.Fatal("no cursor")
			}
			got = append(got, Texts(es)...)
			c = next
			if len(es) < 7 {
				break
			}
		}
		if want := Lines(0, 100); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		// At the end the cursor waits for new entries.
		es, c2 := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c})
		if len(es) != 0 || c2 != c {
			t.Fatalf("at the end: got %q, cursor %q, want none and %q", Texts(es), c2, c)
		}
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/a", "new", t0)
		es, _ = MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c})
		if got, want := Texts(es), []string{"new"}; !slices.Equal(got, want) {
			t.Fatalf("after the end: got %q, want %q", got, want)
		}
	})
	t.Run("FilteredStream", func(t *testing.T) {
		var got []string
		var c logs.Cursor
		for range 20 {
			es, next := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Stream: "instance/b", After: c, Limit: 10})
			got = append(got, Texts(es)...)
			c = next
			if len(es) < 10 {
				break
			}
		}
		var want []string
		for i := 1; i < 100; i += 2 {
			want = append(want, Lines(i, 1)...)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("Tail", func(t *testing.T) {
		es, c := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Stream: "instance/a", Tail: true, Limit: 3})
		if got, want := Texts(es), []string{"line 96", "line 98", "new"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/a", "newer", t0)
		es, _ = MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c})
		if got, want := Texts(es), []string{"newer"}; !slices.Equal(got, want) {
			t.Fatalf("after the tail: got %q, want %q", got, want)
		}
	})
	t.Run("DamagedCursorHint", func(t *testing.T) {
		// A cursor's byte offset is only a hint: a wrong one (here, inside
		// a line) must not lose or repeat entries.
		_, c := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Limit: 50})
		parts := strings.Split(string(c), ".")
		parts[4] = "3"
		bad := logs.Cursor(strings.Join(parts, "."))
		es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: bad, Limit: 1})
		if got, want := Texts(es), []string{"line 50"}; !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, c := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Limit: 1})
		for _, q := range []logs.Query{
			{ServiceARN: arn1, Group: logs.GroupApplication, After: "garbage"},
			{ServiceARN: arn1, Group: logs.GroupApplication, After: "a.0123456789abcdef.zz.0.0"},
			{ServiceARN: arn1, Group: logs.GroupService, After: c}, // another group's cursor
			{ServiceARN: arn1, Group: "nope"},
			{Group: logs.GroupService},
		} {
			if _, _, err := s.Read(context.Background(), q); openrunner.ErrorCode(err) != openrunner.EINVALID {
				t.Errorf("Read(%+v) = %v, want EINVALID", q, err)
			}
		}
	})
}

func TestAppendInvalid(t *testing.T) {
	s := MustOpen(t, "", logs.Options{})
	for _, e := range []logs.Entry{
		{Group: logs.GroupService, Stream: "events"},
		{ServiceARN: arn1, Group: "other", Stream: "events"},
		{ServiceARN: arn1, Group: logs.GroupService},
		{ServiceARN: arn1, Group: logs.GroupService, Stream: strings.Repeat("x", logs.MaxStreamBytes+1)},
	} {
		if err := s.Append(e); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("Append(%+v) = %v, want EINVALID", e, err)
		}
	}
}

func TestText(t *testing.T) {
	s := MustOpen(t, "", logs.Options{})
	long := strings.Repeat("é", logs.MaxTextBytes) // 2 bytes a rune
	for _, text := range []string{
		"",
		`quotes " and \ backslashes`,
		"tab\tnewline\ncarriage\rbell\x07 nul\x00 del\x7f",
		"unicode: ☃ 日本 \u2028",
		long,
		"invalid \xff utf-8",
	} {
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", text, t0)
	}
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication})
	if len(es) != 6 {
		t.Fatalf("got %d entries, want 6", len(es))
	}
	for i := range 4 {
		if es[i].Text != []string{"", `quotes " and \ backslashes`, "tab\tnewline\ncarriage\rbell\x07 nul\x00 del\x7f", "unicode: ☃ 日本 \u2028"}[i] {
			t.Errorf("entry %d: got %q", i, es[i].Text)
		}
	}
	t.Run("Truncated", func(t *testing.T) {
		got := es[4].Text
		marker := " [truncated by OpenRunner: the line had 131072 bytes]"
		if len(got) > logs.MaxTextBytes || !strings.HasSuffix(got, marker) || !strings.HasPrefix(long, strings.TrimSuffix(got, marker)) {
			t.Fatalf("got %d bytes ending %q", len(got), got[len(got)-60:])
		}
	})
	t.Run("InvalidUTF8", func(t *testing.T) {
		if got, want := es[5].Text, "invalid \ufffd utf-8"; got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	})
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s, err := logs.Open(dir, logs.Options{SegmentBytes: 512, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range Lines(0, 30) {
		MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, text, t0)
	}
	_, c := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService, Limit: 20})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(logs.Entry{ServiceARN: arn1, Group: logs.GroupService, Stream: "events", Text: "late"}); !errors.Is(err, logs.ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if _, _, err := s.Read(context.Background(), logs.Query{ServiceARN: arn1, Group: logs.GroupService}); !errors.Is(err, logs.ErrClosed) {
		t.Fatalf("Read after Close = %v, want ErrClosed", err)
	}

	s = MustOpen(t, dir, logs.Options{SegmentBytes: 512})
	MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "line 30", t0)
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService, After: c})
	if got, want := Texts(es), Lines(20, 11); !slices.Equal(got, want) {
		t.Fatalf("after reopening: got %q, want %q", got, want)
	}
}

func TestFlushInterval(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, dir, logs.Options{FlushInterval: 10 * time.Millisecond})
	MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", "buffered", t0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		var found bool
		for _, p := range Segments(t, dir, logs.GroupApplication) {
			b, _ := os.ReadFile(p)
			found = found || bytes.Contains(b, []byte(`"text":"buffered"`))
		}
		if found {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the entry was not written to its file within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeleteService(t *testing.T) {
	dir := t.TempDir()
	s := MustOpen(t, dir, logs.Options{})
	MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "old life", t0)
	MustAppend(t, s, arn2, logs.GroupService, logs.StreamEvents, "other", t0)
	_, c := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})

	if err := s.DeleteService(arn1); err != nil {
		t.Fatal(err)
	}
	if es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService}); len(es) != 0 {
		t.Fatalf("after delete: got %q", Texts(es))
	}
	if es, _ := MustRead(t, s, logs.Query{ServiceARN: arn2, Group: logs.GroupService}); len(es) != 1 {
		t.Fatalf("other service: got %q", Texts(es))
	}
	if err := s.DeleteService(arn1); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	// A cursor of the deleted logs starts the new ones from their start.
	MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "new life", t0)
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService, After: c})
	if got, want := Texts(es), []string{"new life"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".trash-*")); len(m) != 0 {
		t.Fatalf("left behind: %q", m)
	}
}

func TestConcurrentAppends(t *testing.T) {
	s := MustOpen(t, "", logs.Options{SegmentBytes: 16 << 10, FlushInterval: time.Millisecond})
	const writers, each = 8, 500
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// Followers (one of them of a single stream) and readers run
	// alongside the writers.
	const followers = 3
	followed := make(chan []logs.Entry, followers)
	for range followers {
		go func() {
			var got []logs.Entry
			_ = s.Follow(ctx, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication}, func(e logs.Entry) error {
				got = append(got, e)
				if len(got) == writers*each {
					followed <- got
				}
				return nil
			})
		}()
	}
	oneStream := make(chan int, 1)
	go func() {
		n := 0
		_ = s.Follow(ctx, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Stream: logs.InstanceStream("c")}, func(e logs.Entry) error {
			if want := Lines(n, 1)[0]; e.Text != want {
				return fmt.Errorf("got %q, want %q", e.Text, want)
			}
			if n++; n == each {
				oneStream <- n
			}
			return nil
		})
	}()
	done := make(chan error, writers)
	for w := range writers {
		go func() {
			stream := logs.InstanceStream(string(rune('a' + w)))
			for i := range each {
				err := s.Append(logs.Entry{ServiceARN: arn1, Group: logs.GroupApplication, Stream: stream, Text: Lines(i, 1)[0]})
				if err != nil {
					done <- err
					return
				}
				if i%100 == 0 {
					if _, _, err := s.Read(ctx, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Stream: stream, Tail: true, Limit: 5}); err != nil {
						done <- err
						return
					}
				}
			}
			done <- nil
		}()
	}
	for range writers {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}

	check := func(name string, es []logs.Entry) {
		t.Helper()
		if len(es) != writers*each {
			t.Fatalf("%s: got %d entries, want %d", name, len(es), writers*each)
		}
		next := map[string]int{}
		for _, e := range es {
			if want := Lines(next[e.Stream], 1)[0]; e.Text != want {
				t.Fatalf("%s: stream %s: got %q, want %q", name, e.Stream, e.Text, want)
			}
			next[e.Stream]++
		}
	}
	var all []logs.Entry
	var c logs.Cursor
	for {
		es, next, err := s.Read(ctx, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c, Limit: logs.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, es...)
		c = next
		if len(es) == 0 {
			break
		}
	}
	check("Read", all)
	timeout := time.After(10 * time.Second)
	for range followers {
		select {
		case es := <-followed:
			check("Follow", es)
			if !slices.EqualFunc(es, all, func(a, b logs.Entry) bool { return a == b }) {
				t.Fatal("Follow and Read disagree on the order")
			}
		case <-timeout:
			t.Fatal("a follower did not receive every entry")
		}
	}
	select {
	case <-oneStream:
	case <-timeout:
		t.Fatal("the follower of one stream did not receive its entries in order")
	}
}
