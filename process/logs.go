package process

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/openrunner/openrunner"
)

// maxLine bounds a log line: longer output without a newline is logged in
// pieces of this size rather than held in memory.
const maxLine = 64 << 10

// followPoll is how often FollowLogs looks for new output.
const followPoll = 50 * time.Millisecond

// ensureCollector starts collecting the output of the instance in dir
// unless this OS process already does: an instance an earlier OpenRunner
// started is adopted this way. Opening the FIFOs of an instance that has
// exited finds no writer, and that collector ends at once.
func (r *Runtime) ensureCollector(dir string) {
	local.Lock()
	h := local.m[dir]
	if h != nil && h.collected != nil {
		local.Unlock()
		return
	}
	if h == nil {
		h = &handle{}
		local.m[dir] = h
	}
	h.collected = make(chan struct{})
	local.Unlock()

	outR, err1 := os.OpenFile(filepath.Join(dir, stdoutFIFO), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	errR, err2 := os.OpenFile(filepath.Join(dir, stderrFIFO), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err := errors.Join(err1, err2); err != nil {
		r.logger.Warn("cannot collect instance output", "dir", dir, "err", err)
		for _, f := range []*os.File{outR, errR} {
			if f != nil {
				f.Close()
			}
		}
		close(h.collected)
		return
	}
	r.logger.Info("collecting output of adopted instance", "dir", dir)
	go r.collect(dir, outR, errR, h)
}

// collect copies the instance's stdout and stderr, line by line, into its
// log until both end, then closes h.collected.
func (r *Runtime) collect(dir string, outR, errR *os.File, h *handle) {
	defer close(h.collected)
	lw := &logWriter{path: filepath.Join(dir, logFile), max: r.maxLog}
	defer lw.close()
	var wg sync.WaitGroup
	for _, s := range []struct {
		f      *os.File
		stream byte
	}{{outR, 'o'}, {errR, 'e'}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer s.f.Close()
			br := bufio.NewReaderSize(s.f, maxLine)
			for {
				line, err := br.ReadSlice('\n')
				if len(line) > 0 {
					lw.write(r.now(), s.stream, strings.TrimSuffix(string(line), "\n"))
				}
				if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
					return
				}
			}
		}()
	}
	wg.Wait()
}

// logWriter appends timestamped lines to an instance's log file, one
// "UNIXNANO STREAM TEXT\n" record per line (STREAM is o or e), rotating it
// to output.log.1 when it would grow past max.
type logWriter struct {
	path string
	max  int64

	mu   sync.Mutex
	f    *os.File
	size int64
}

func (w *logWriter) write(t time.Time, stream byte, text string) {
	rec := strconv.FormatInt(t.UnixNano(), 10) + " " + string(stream) + " " + text + "\n"
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil && w.size+int64(len(rec)) > w.max && w.size > 0 {
		w.f.Close()
		w.f = nil
		_ = os.Rename(w.path, filepath.Join(filepath.Dir(w.path), oldLogFile))
	}
	if w.f == nil {
		f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return // the instance is being removed: its output goes nowhere
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return
		}
		w.f, w.size = f, fi.Size()
	}
	// One write per record, so that a reader never sees half of one
	// unless it reads while the write is under way.
	n, _ := w.f.WriteString(rec)
	w.size += int64(n)
}

func (w *logWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// FollowLogs passes the instance's output to sink, one line at a time with
// the time it was collected, from since on (the zero time means all that
// the log still holds). It returns nil once ctx ends, the instance has been
// stopped, or it has exited and all its output has been passed on; and
// ENOTFOUND if there is no such instance of this owner. sink is called from
// the calling goroutine only.
func (r *Runtime) FollowLogs(ctx context.Context, id string, since time.Time, sink func(openrunner.LogLine)) error {
	st, dir, err := r.load(id)
	if err != nil {
		return err
	}
	if running(dir, st) {
		r.ensureCollector(dir)
	}
	fl := &follower{since: since, sink: sink}
	// What rotation kept first: it is older.
	if f, err := os.Open(filepath.Join(dir, oldLogFile)); err == nil {
		fl.drain(bufio.NewReader(f))
		f.Close()
	}
	var (
		f  *os.File
		br *bufio.Reader
	)
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for {
		if f == nil {
			if nf, err := os.Open(filepath.Join(dir, logFile)); err == nil {
				f, br = nf, bufio.NewReader(nf)
			}
		}
		if br != nil {
			fl.drain(br)
		}
		if ctx.Err() != nil {
			return nil
		}
		if f != nil && rotated(f, filepath.Join(dir, logFile)) {
			// What was written before the rename is read; the new file
			// is next. A follower more than one rotation behind misses
			// the files in between: the log is bounded.
			fl.drain(br)
			f.Close()
			f, br = nil, nil
			continue
		}
		// Stopped (state removed), or exited with all its output logged.
		_, serr := os.Stat(filepath.Join(dir, stateFile))
		if serr != nil || (!running(dir, st) && collected(dir)) {
			// Output logged between the drain and this check.
			if br != nil {
				fl.drain(br)
			}
			return nil
		}
		t := time.NewTimer(followPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// collected reports whether nobody in this OS process is collecting the
// output of the instance in dir any more.
func collected(dir string) bool {
	h := localHandle(dir)
	if h == nil || h.collected == nil {
		return true
	}
	select {
	case <-h.collected:
		return true
	default:
		return false
	}
}

// rotated reports whether path no longer names the open file f.
func rotated(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && !os.SameFile(a, b)
}

// follower parses log records and passes those from since on to sink.
type follower struct {
	since   time.Time
	sink    func(openrunner.LogLine)
	partial string // a record read only in part so far
}

// drain passes on every complete record br has now.
func (fl *follower) drain(br *bufio.Reader) {
	for {
		s, err := br.ReadString('\n')
		if err != nil {
			// At the end of what has been written: keep the start of a
			// record being written for the next drain.
			fl.partial += s
			if !errors.Is(err, io.EOF) {
				fl.partial = ""
			}
			return
		}
		s, fl.partial = fl.partial+s, ""
		fl.record(strings.TrimSuffix(s, "\n"))
	}
}

func (fl *follower) record(s string) {
	ts, rest, ok1 := strings.Cut(s, " ")
	stream, text, ok2 := strings.Cut(rest, " ")
	ns, err := strconv.ParseInt(ts, 10, 64)
	if !ok1 || !ok2 || err != nil {
		return
	}
	t := time.Unix(0, ns)
	if !fl.since.IsZero() && t.Before(fl.since) {
		return
	}
	l := openrunner.LogLine{Time: t, Stream: "stdout", Text: text}
	if stream == "e" {
		l.Stream = "stderr"
	}
	fl.sink(l)
}
