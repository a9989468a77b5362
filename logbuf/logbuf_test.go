package logbuf_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner/logbuf"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	n  int // writes
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return s.b.Write(p)
}

func (s *syncBuffer) String() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.n
}

// TestBatchesAndFlushes: info lines are held and written in one batch
// within the interval; a warning is written at once, after the lines before
// it; Close writes the rest.
func TestBatchesAndFlushes(t *testing.T) {
	out := new(syncBuffer)
	w := logbuf.New(out, time.Hour)
	log := slog.New(logbuf.Handler(slog.NewTextHandler(w, nil), w, slog.LevelWarn))
	for i := range 100 {
		log.Info("api", "i", i)
	}
	if s, _ := out.String(); s != "" {
		t.Fatalf("info lines written before a flush: %q", s)
	}
	log.Warn("careful")
	s, n := out.String()
	if n != 1 || strings.Count(s, "\n") != 101 || !strings.HasSuffix(s, "msg=careful\n") {
		t.Fatalf("after a warning, %d writes: %q", n, s)
	}
	log.Info("last")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if s, _ := out.String(); !strings.HasSuffix(s, "msg=last\n") {
		t.Fatalf("Close did not flush: %q", s)
	}

	out = new(syncBuffer)
	w = logbuf.New(out, 10*time.Millisecond)
	defer w.Close()
	log = slog.New(logbuf.Handler(slog.NewTextHandler(w, nil).WithAttrs([]slog.Attr{slog.String("a", "b")}), w, slog.LevelWarn))
	log.Info("soon")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if s, _ := out.String(); strings.Contains(s, "msg=soon a=b") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the interval flush never came")
		}
	}
}
