package logs_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"syscall"
	"testing"

	"github.com/openrunner/openrunner/logs"
)

// MustWriteFile writes a file.
func MustWriteFile(tb testing.TB, path string, b []byte) {
	tb.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// MustReadFile reads a file.
func MustReadFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// CheckLines fails unless every line of the file is a complete JSON object.
func CheckLines(tb testing.TB, path string) {
	tb.Helper()
	b := MustReadFile(tb, path)
	if len(b) > 0 && b[len(b)-1] != '\n' {
		tb.Fatalf("%s ends inside a line", path)
	}
	for line := range bytes.Lines(b) {
		if !json.Valid(line) {
			tb.Fatalf("%s: bad line %q", path, line)
		}
	}
}

func TestTornTail(t *testing.T) {
	for name, damage := range map[string]func([]byte) []byte{
		"CutMidLine": func(b []byte) []byte { return b[:len(b)-7] },
		"CutBeforeNewline": func(b []byte) []byte {
			return b[:len(b)-1] // the JSON is whole; the line is not
		},
		"ZeroFilled": func(b []byte) []byte {
			// A power loss can leave the file longer than the data written.
			return append(b[:len(b)-20], make([]byte, 100)...)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := logs.Open(dir, logs.Options{SweepInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			for _, text := range Lines(0, 5) {
				MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, text, t0)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			segs := Segments(t, dir, logs.GroupService)
			path := segs[len(segs)-1]
			MustWriteFile(t, path, damage(MustReadFile(t, path)))

			s = MustOpen(t, dir, logs.Options{})
			es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
			if got, want := Texts(es), Lines(0, 4); !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			// The stream goes on, and the next entry starts a line of its own.
			MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "after", t0)
			es, _ = MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
			if got, want := Texts(es), append(Lines(0, 4), "after"); !slices.Equal(got, want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			CheckLines(t, path)
		})
	}
}

func TestDamagedSegments(t *testing.T) {
	// Damage in segments other than the last, which no repair touches, is
	// skipped by every read.
	dir := t.TempDir()
	s, err := logs.Open(dir, logs.Options{SegmentBytes: 400, SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range Lines(0, 40) {
		MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", text, t0)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs := Segments(t, dir, logs.GroupApplication)
	if len(segs) < 4 {
		t.Fatalf("%d segments, want at least 4", len(segs))
	}
	// Segment 0 loses the end of its last line; segment 1 gets a garbage
	// line in the middle.
	b := MustReadFile(t, segs[0])
	MustWriteFile(t, segs[0], b[:len(b)-10])
	lines := bytes.SplitAfter(MustReadFile(t, segs[1]), []byte("\n"))
	lines[1] = []byte("{\"seq\":garbage\n")
	MustWriteFile(t, segs[1], bytes.Join(lines, nil))

	s = MustOpen(t, dir, logs.Options{SegmentBytes: 400})
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Limit: logs.MaxLimit})
	if got := len(es); got != 38 {
		t.Fatalf("got %d entries, want 38 (40 less one torn, one garbage): %q", got, Texts(es))
	}
	if es[len(es)-1].Text != "line 39" {
		t.Fatalf("the read ended at %q", es[len(es)-1].Text)
	}
	// Paging and tailing go through the damage too.
	var paged []string
	var c logs.Cursor
	for range 100 {
		page, next := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c, Limit: 3})
		paged = append(paged, Texts(page)...)
		c = next
		if len(page) == 0 {
			break
		}
	}
	if !slices.Equal(paged, Texts(es)) {
		t.Fatalf("paged: got %q, want %q", paged, Texts(es))
	}
	tail, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Tail: true, Limit: 37})
	if !slices.Equal(Texts(tail), Texts(es[1:])) {
		t.Fatalf("tail: got %q", Texts(tail))
	}
}

// TestKill9 kills a process that appends as fast as it can and checks that
// the store it leaves behind reads back whole, in order, and takes new
// entries.
func TestKill9(t *testing.T) {
	if dir := os.Getenv("OPENRUNNER_LOGS_KILL9_DIR"); dir != "" {
		kill9Child(dir)
		return
	}
	if testing.Short() {
		t.Skip("starts a process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9$")
	cmd.Env = append(os.Environ(), "OPENRUNNER_LOGS_KILL9_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once it has appended a good number of entries: the child
	// prints how many it has appended (and so returned from Append).
	sc := bufio.NewScanner(out)
	appended := 0
	for sc.Scan() {
		if n, err := strconv.Atoi(sc.Text()); err == nil {
			appended = n
			if n >= 2000 {
				break
			}
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if appended < 2000 {
		t.Fatalf("the child appended only %d entries", appended)
	}

	s := MustOpen(t, dir, logs.Options{SegmentBytes: 8 << 10})
	var got []string
	var c logs.Cursor
	for {
		es, next := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c, Limit: logs.MaxLimit})
		got = append(got, Texts(es)...)
		c = next
		if len(es) == 0 {
			break
		}
	}
	// Written with FlushInterval < 0, every entry Append returned for is
	// in the file (the page cache survives the process).
	if len(got) < appended {
		t.Fatalf("read %d entries, the child had appended %d", len(got), appended)
	}
	if want := Lines(0, len(got)); !slices.Equal(got, want) {
		t.Fatal("the entries read back are not line 0, line 1, … in order")
	}
	MustAppend(t, s, arn1, logs.GroupApplication, "instance/x", "after the crash", t0)
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, After: c})
	if got, want := Texts(es), []string{"after the crash"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, p := range Segments(t, dir, logs.GroupApplication) {
		CheckLines(t, p)
	}
}

func kill9Child(dir string) {
	s, err := logs.Open(dir, logs.Options{SegmentBytes: 8 << 10, FlushInterval: -1, SweepInterval: -1})
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	for i := 0; ; i++ {
		text := fmt.Sprintf("line %d", i)
		if err := s.Append(logs.Entry{ServiceARN: arn1, Group: logs.GroupApplication, Stream: "instance/x", Text: text}); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		if i%100 == 99 {
			fmt.Println(i + 1)
		}
	}
}

func TestWriteFailure(t *testing.T) {
	// The active segment turns into a directory: writes fail as on a
	// failing disk. Append reports it, the store goes on, and writes
	// succeed again once the disk recovers.
	dir := t.TempDir()
	s := MustOpen(t, dir, logs.Options{FlushInterval: -1})
	MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "before", t0)
	seg := Segments(t, dir, logs.GroupService)[0]
	if err := os.Remove(seg); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(seg, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.Append(logs.Entry{ServiceARN: arn1, Group: logs.GroupService, Stream: "events", Text: "lost"}); err == nil {
		t.Fatal("Append to a failing disk succeeded")
	}
	if err := os.Remove(seg); err != nil {
		t.Fatal(err)
	}
	MustAppend(t, s, arn1, logs.GroupService, logs.StreamEvents, "after", t0)
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupService})
	if got, want := Texts(es), []string{"after"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}
