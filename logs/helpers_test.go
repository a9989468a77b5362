package logs_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner/logs"
)

const (
	arn1 = "arn:aws:apprunner:us-east-1:000000000000:service/web/0123456789abcdef0123456789abcdef"
	arn2 = "arn:aws:apprunner:us-east-1:000000000000:service/api/fedcba9876543210fedcba9876543210"
)

// t0 is the tests' fixed start of time.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Clock is a settable clock for Options.Now.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock set to t0.
func NewClock() *Clock { return &Clock{t: t0} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock forward.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// MustOpen opens a store in dir (a new temporary directory if empty) with
// the background sweep off, and closes it when the test ends. Setting
// OPENRUNNER_TEST_LOG=1 sends its log to stderr.
func MustOpen(tb testing.TB, dir string, opts logs.Options) *logs.Store {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	if opts.SweepInterval == 0 {
		opts.SweepInterval = -1
	}
	if opts.Logger == nil && os.Getenv("OPENRUNNER_TEST_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	s, err := logs.Open(dir, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

// MustAppend appends an entry.
func MustAppend(tb testing.TB, s *logs.Store, arn, group, stream, text string, t time.Time) {
	tb.Helper()
	if err := s.Append(logs.Entry{Time: t, ServiceARN: arn, Group: group, Stream: stream, Text: text}); err != nil {
		tb.Fatalf("Append(%q): %v", text, err)
	}
}

// MustRead reads with q.
func MustRead(tb testing.TB, s *logs.Store, q logs.Query) ([]logs.Entry, logs.Cursor) {
	tb.Helper()
	es, c, err := s.Read(context.Background(), q)
	if err != nil {
		tb.Fatalf("Read(%+v): %v", q, err)
	}
	return es, c
}

// Texts returns the entries' texts.
func Texts(es []logs.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Text
	}
	return out
}

// Lines returns "line 0" … "line n-1" starting at from.
func Lines(from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("line %d", from+i)
	}
	return out
}

// Segments lists a group's segment files, oldest first.
func Segments(tb testing.TB, dir, group string) []string {
	tb.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "*", group, "*.log"))
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// DirSize is the total size of the files under dir.
func DirSize(tb testing.TB, dir string) int64 {
	tb.Helper()
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return n
}
