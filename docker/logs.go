package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/openrunner/openrunner"
)

// maxLine bounds a log line: longer output without a newline is passed on
// in pieces of this size rather than held in memory.
const maxLine = 64 << 10

// FollowLogs passes the container's stdout and stderr to sink, one line at
// a time with the time the engine recorded it, from since on (the zero time
// means from the start). It returns nil once ctx ends or the container has
// stopped, and ENOTFOUND if there is no such container of this owner. sink
// is called from the calling goroutine only.
func (r *Runtime) FollowLogs(ctx context.Context, id string, since time.Time, sink func(openrunner.LogLine)) error {
	c, err := r.inspect(ctx, id)
	if err != nil {
		return err
	}
	opts := container.LogsOptions{ShowStdout: true, ShowStderr: true, Follow: true, Timestamps: true}
	if !since.IsZero() {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	rc, err := r.client.ContainerLogs(ctx, c.ID, opts)
	switch {
	case ctx.Err() != nil:
		return nil
	case cerrdefs.IsNotFound(err):
		return nil // removed since the inspect: gone
	case err != nil:
		return engineError("follow logs of "+shortID(c.ID), err)
	}
	// Closing the body is what ends the read below when ctx ends: the
	// client's request is bound to ctx.
	defer rc.Close()

	stdout := &lineWriter{stream: "stdout", sink: sink, now: r.now}
	stderr := &lineWriter{stream: "stderr", sink: sink, now: r.now}
	if c.Config != nil && c.Config.Tty {
		// A TTY merges both streams and the engine sends them raw.
		_, err = io.Copy(stdout, rc)
	} else {
		_, err = stdcopy.StdCopy(stdout, stderr, rc)
	}
	stdout.flush()
	stderr.flush()
	if err != nil && ctx.Err() == nil {
		return engineError("read logs of "+shortID(c.ID), err)
	}
	return nil
}

// lineWriter splits one stream of timestamped log output ("<RFC3339Nano>
// <text>\n" per line) into LogLines.
type lineWriter struct {
	stream string
	sink   func(openrunner.LogLine)
	now    func() time.Time
	lines  lines
}

// Write implements io.Writer.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.lines.write(p, w.emit)
	return len(p), nil
}

// flush emits a last line that had no newline.
func (w *lineWriter) flush() { w.lines.flush(w.emit) }

// lines cuts a stream into lines of at most maxLine bytes, keeping a
// partial line between writes.
type lines struct{ buf []byte }

func (l *lines) write(p []byte, emit func([]byte)) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		emit(l.buf[:i])
		l.buf = l.buf[i+1:]
	}
	for len(l.buf) >= maxLine {
		emit(l.buf[:maxLine])
		l.buf = l.buf[maxLine:]
	}
	// Start over at the front so that the buffer does not creep forward.
	l.buf = append(l.buf[:0:0], l.buf...)
}

// flush emits a last line that had no newline.
func (l *lines) flush(emit func([]byte)) {
	if len(l.buf) > 0 {
		emit(l.buf)
		l.buf = nil
	}
}

func (w *lineWriter) emit(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	l := openrunner.LogLine{Stream: w.stream}
	if ts, text, ok := bytes.Cut(line, []byte(" ")); ok {
		if t, err := time.Parse(time.RFC3339Nano, string(ts)); err == nil {
			l.Time, line = t, text
		}
	}
	if l.Time.IsZero() {
		l.Time = w.now()
	}
	l.Text = string(line)
	w.sink(l)
}
