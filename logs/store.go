package logs

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/openrunner/openrunner"
)

// The two log groups of a service, as App Runner names the last part of
// /aws/apprunner/<service-name>/<service-id>/<group>.
const (
	// GroupService holds the service's events: the "[AppRunner] ..." lines
	// of its lifecycle (stream StreamEvents) and of each deployment
	// (stream DeploymentStream(operationID)), and build output.
	GroupService = "service"
	// GroupApplication holds what the service's instances write to stdout
	// and stderr, one stream per instance (InstanceStream(instanceID)).
	GroupApplication = "application"
)

var groupNames = [...]string{GroupService, GroupApplication}

func groupIndex(name string) (int, bool) {
	for i, g := range groupNames {
		if g == name {
			return i, true
		}
	}
	return 0, false
}

// Defaults and limits.
const (
	// DefaultMaxBytesPerService is the retention limit by size when
	// Options.MaxBytesPerService is zero.
	DefaultMaxBytesPerService = 16 << 20
	// DefaultMaxAge is the retention limit by age when Options.MaxAge is
	// zero.
	DefaultMaxAge = 7 * 24 * time.Hour
	// DefaultFlushInterval is Options.FlushInterval's default.
	DefaultFlushInterval = 200 * time.Millisecond
	// DefaultSweepInterval is Options.SweepInterval's default.
	DefaultSweepInterval = time.Minute
	// MaxTextBytes is the longest Entry.Text stored. Longer texts are cut
	// (at a UTF-8 boundary) and end with a marker that gives their length.
	MaxTextBytes = 64 << 10
	// MaxStreamBytes is the longest stream name: CloudWatch's limit.
	MaxStreamBytes = 512
)

// flushBytes is how much an Append buffers before it writes to the file
// itself rather than leaving it to the flusher: one write per 64 KiB keeps
// system calls rare without holding much memory per service.
const flushBytes = 64 << 10

// ErrClosed is returned by every method of a closed Store, and by Follow
// when the Store closes under it.
var ErrClosed = errors.New("logs: store closed")

// Options configures a Store. The zero value gives the defaults.
type Options struct {
	// MaxBytesPerService bounds the disk space of one service's logs, both
	// groups together. When an append goes beyond it, whole segments are
	// dropped, oldest first, from whichever group holds more, so that a
	// chatty application does not push out the service's events. Zero
	// means DefaultMaxBytesPerService (16 MiB).
	MaxBytesPerService int64
	// MaxAge is how long entries are kept: a segment is dropped once its
	// newest entry is older. Zero means DefaultMaxAge (7 days).
	MaxAge time.Duration
	// SegmentBytes is the size at which a group's file is closed and a new
	// one begun; retention drops whole segments. Zero means
	// MaxBytesPerService/8 (at least 4 KiB).
	SegmentBytes int64
	// FlushInterval bounds how long an appended entry waits in memory
	// before it is written to its file (readers see it at once either way).
	// A process killed with -9 loses at most this much. Zero means
	// DefaultFlushInterval (200 ms); negative writes on every Append.
	FlushInterval time.Duration
	// SweepInterval is how often retention by age runs (Sweep). Zero means
	// DefaultSweepInterval (1 minute); negative disables the loop, and
	// tests call Sweep themselves.
	SweepInterval time.Duration
	// Now returns the current time: the time of entries appended without
	// one, and the clock of retention by age. Nil means time.Now.
	Now func() time.Time
	// Logger receives write failures and repairs of damaged files. Nil
	// discards them.
	Logger *slog.Logger
}

// Store keeps the logs of many services in a directory. Its methods are
// safe for concurrent use. Create one with Open and end it with Close.
type Store struct {
	dir        string
	maxBytes   int64
	segBytes   int64
	maxAge     time.Duration
	flushEvery time.Duration
	now        func() time.Time
	logger     *slog.Logger

	mu       sync.RWMutex
	services map[string]*service // by ARN; guarded by mu
	closed   bool                // guarded by mu

	dirtyMu sync.Mutex
	dirty   []*service // services with buffered entries; guarded by dirtyMu

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Service states.
const (
	stateLive    = iota
	stateRemoved // swept or failed to load: look the service up again
	stateDeleted // DeleteService: followers stop
	stateClosed  // the Store is closed
)

// service is the in-memory state of one service's logs. It is loaded from
// disk on first use and stays until the service is deleted or swept.
type service struct {
	arn string
	dir string

	mu        sync.Mutex // guards everything below; held while loading
	state     int
	created   bool   // dir and meta.json exist
	epoch     string // identifies this life of the service's files in cursors
	groups    [len(groupNames)]group
	wake      chan struct{} // closed on append and on the end; nil when no one waits
	followers int
	dirty     bool // on Store.dirty
}

// group is one log group of a service: its segment files, oldest first. The
// last segment is the active one, appended to.
type group struct {
	dir      string
	segs     []*segment
	buf      *[]byte // encoded entries not yet written to the active segment; nil when none
	nextSeq  uint64
	bytes    int64 // on disk, all segments
	unsynced bool  // written since the last fsync
}

type segment struct {
	base uint64 // Seq of its first entry; the file is named after it
	path string
	size int64 // bytes written (entries buffered in group.buf excluded)
	// newest is the time of the newest entry. For a segment written before
	// the Store opened it starts as the time of its last entry; exact is
	// set once a full read has seen every entry.
	newest time.Time
	exact  bool
}

func (g *group) active() *segment { return g.segs[len(g.segs)-1] }

func (g *group) pending() int {
	if g.buf == nil {
		return 0
	}
	return len(*g.buf)
}

func (g *group) size() int64 { return g.bytes + int64(g.pending()) }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

// Open opens the store in dir, creating the directory if needed. The
// directory must belong to this Store alone: two Stores (or processes) on
// one directory corrupt each other's files.
func Open(dir string, opts Options) (*Store, error) {
	s := &Store{
		dir:        dir,
		maxBytes:   opts.MaxBytesPerService,
		segBytes:   opts.SegmentBytes,
		maxAge:     opts.MaxAge,
		flushEvery: opts.FlushInterval,
		now:        opts.Now,
		logger:     opts.Logger,
		services:   make(map[string]*service),
	}
	if s.maxBytes <= 0 {
		s.maxBytes = DefaultMaxBytesPerService
	}
	if s.segBytes <= 0 {
		s.segBytes = max(s.maxBytes/8, 4096)
	}
	s.segBytes = min(s.segBytes, s.maxBytes)
	if s.maxAge <= 0 {
		s.maxAge = DefaultMaxAge
	}
	if s.flushEvery == 0 {
		s.flushEvery = DefaultFlushInterval
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("logs: %w", err)
	}
	// Finish deletions a crash interrupted.
	trash, _ := filepath.Glob(filepath.Join(dir, ".trash-*"))
	for _, t := range trash {
		_ = os.RemoveAll(t)
	}

	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if s.flushEvery > 0 {
		s.loop(ctx, s.flushEvery, "flush", s.Flush)
	}
	sweep := opts.SweepInterval
	if sweep == 0 {
		sweep = DefaultSweepInterval
	}
	if sweep > 0 {
		s.loop(ctx, sweep, "sweep", s.Sweep)
	}
	return s, nil
}

// loop runs fn every interval until ctx ends.
func (s *Store) loop(ctx context.Context, interval time.Duration, name string, fn func() error) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			func() {
				// A bug in one round must not end the loop: logs would
				// silently stop being written or trimmed.
				defer func() {
					if v := recover(); v != nil {
						s.logger.Error("logs: panic in background "+name, "panic", v)
					}
				}()
				if err := fn(); err != nil && !errors.Is(err, ErrClosed) {
					s.logger.Error("logs: background "+name+" failed", "err", err)
				}
			}()
		}
	}()
}

// Close writes every buffered entry, syncs the files to disk and ends
// every Follow with ErrClosed. Later calls return ErrClosed.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	svcs := make([]*service, 0, len(s.services))
	for _, svc := range s.services {
		svcs = append(svcs, svc)
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()

	var first error
	for _, svc := range svcs {
		svc.mu.Lock()
		if svc.state == stateLive {
			for i := range svc.groups {
				g := &svc.groups[i]
				if err := s.flush(svc, g); err != nil && first == nil {
					first = err
				}
				if err := syncGroup(g); err != nil && first == nil {
					first = err
				}
			}
			svc.state = stateClosed
		}
		svc.notify()
		svc.mu.Unlock()
	}
	return first
}

func syncGroup(g *group) error {
	if !g.unsynced || len(g.segs) == 0 {
		return nil
	}
	f, err := os.OpenFile(g.active().path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	g.unsynced = false
	return nil
}

// Entry is one log line of a service.
type Entry struct {
	// Time is when the line was written. Append uses the Store's clock when
	// it is zero. Times come back in UTC.
	Time       time.Time
	ServiceARN string
	// Group is GroupService or GroupApplication.
	Group string
	// Stream is the stream within the group: StreamEvents,
	// DeploymentStream(id) or InstanceStream(id). At most MaxStreamBytes.
	Stream string
	// Text is the line, without a trailing newline. It is stored as it is
	// given, except that texts longer than MaxTextBytes are cut with a
	// marker and invalid UTF-8 becomes U+FFFD. Callers must never put
	// secrets in it: anyone allowed to read the service's logs reads them.
	Text string
}

func checkEntry(e *Entry) (int, error) {
	gi, ok := groupIndex(e.Group)
	switch {
	case e.ServiceARN == "":
		return 0, openrunner.Errorf(openrunner.EINVALID, "A log entry needs a service ARN.")
	case !ok:
		return 0, openrunner.Errorf(openrunner.EINVALID, "Unknown log group %q: use %q or %q.", openrunner.Truncate(e.Group, 100), GroupService, GroupApplication)
	case e.Stream == "" || len(e.Stream) > MaxStreamBytes:
		return 0, openrunner.Errorf(openrunner.EINVALID, "A log stream name must have 1 to %d bytes.", MaxStreamBytes)
	}
	return gi, nil
}

// truncateText cuts text to MaxTextBytes, marker included.
func truncateText(text string) string {
	if len(text) <= MaxTextBytes {
		return text
	}
	marker := " [truncated by OpenRunner: the line had " + strconv.Itoa(len(text)) + " bytes]"
	cut := MaxTextBytes - len(marker)
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + marker
}

// Append adds an entry to the end of its stream. It returns once the entry
// is buffered, visible to Read and Follow, and any follower is woken; it
// waits for the disk only when its buffer reaches 64 KiB or a segment is
// full. Buffered entries are written within FlushInterval and on Close.
// Returns EINVALID for a missing ARN, an unknown group or a bad stream
// name, ErrClosed after Close, and an error if the entry could not be
// written (the disk is full or failing).
func (s *Store) Append(e Entry) error {
	gi, err := checkEntry(&e)
	if err != nil {
		return err
	}
	svc, err := s.lockService(e.ServiceARN, true)
	if err != nil {
		return err
	}
	defer svc.mu.Unlock()
	if err := s.create(svc); err != nil {
		return err
	}
	g := &svc.groups[gi]
	if len(g.segs) == 0 {
		if err := s.newSegment(g); err != nil {
			return err
		}
	}
	t := e.Time
	if t.IsZero() {
		t = s.now()
	}
	if g.buf == nil {
		g.buf = bufPool.Get().(*[]byte)
	}
	n := len(*g.buf)
	*g.buf = appendRecord(*g.buf, g.nextSeq, t, e.Stream, truncateText(e.Text))
	if act := g.active(); act.size+int64(n) > 0 && act.size+int64(len(*g.buf)) > s.segBytes {
		// The active segment is full: write out what it holds and begin
		// the next one with this entry.
		rec := append([]byte(nil), (*g.buf)[n:]...)
		*g.buf = (*g.buf)[:n]
		if err := s.flush(svc, g); err != nil {
			return err
		}
		if err := s.newSegment(g); err != nil {
			return err
		}
		g.buf = bufPool.Get().(*[]byte)
		*g.buf = append((*g.buf)[:0], rec...)
	}
	g.nextSeq++
	if act := g.active(); t.After(act.newest) {
		act.newest = t
	}
	if s.flushEvery < 0 || g.pending() >= flushBytes {
		err = s.flush(svc, g)
	} else if !svc.dirty {
		svc.dirty = true
		s.dirtyMu.Lock()
		s.dirty = append(s.dirty, svc)
		s.dirtyMu.Unlock()
	}
	s.enforceSize(svc)
	svc.notify()
	return err
}

// AppendEvent appends text to the service's event group, in stream (usually
// StreamEvents or DeploymentStream(operationID)), stamped with the Store's
// clock.
func (s *Store) AppendEvent(serviceARN, stream, text string) error {
	return s.Append(Entry{ServiceARN: serviceARN, Group: GroupService, Stream: stream, Text: text})
}

// ApplicationSink returns a function that appends an instance's output to
// the service's application group, stream InstanceStream(instanceID). It
// fits openrunner.Runtime.FollowLogs. stdout and stderr go to the same
// stream, as in App Runner. Errors are logged, not returned.
func (s *Store) ApplicationSink(serviceARN, instanceID string) func(openrunner.LogLine) {
	stream := InstanceStream(instanceID)
	return func(l openrunner.LogLine) {
		err := s.Append(Entry{Time: l.Time, ServiceARN: serviceARN, Group: GroupApplication, Stream: stream, Text: l.Text})
		if err != nil && !errors.Is(err, ErrClosed) {
			s.logger.Warn("logs: application line lost", "service", serviceARN, "instance", instanceID, "err", err)
		}
	}
}

// Flush writes every buffered entry to its file. The Store calls it every
// FlushInterval; there is no need to call it before reading.
func (s *Store) Flush() error {
	s.dirtyMu.Lock()
	list := s.dirty
	s.dirty = nil
	s.dirtyMu.Unlock()
	var first error
	for _, svc := range list {
		svc.mu.Lock()
		svc.dirty = false
		if svc.state == stateLive {
			for i := range svc.groups {
				if err := s.flush(svc, &svc.groups[i]); err != nil && first == nil {
					first = err
				}
			}
		}
		svc.mu.Unlock()
	}
	return first
}

// flush writes g's buffered entries to its active segment. The caller holds
// svc.mu. On failure the entries are dropped, so that one failing disk does
// not make memory grow without bound, and the file is cut back so that the
// next entry starts on a line of its own.
func (s *Store) flush(svc *service, g *group) error {
	if g.pending() == 0 {
		return nil
	}
	buf := g.buf
	g.buf = nil
	defer func() {
		if cap(*buf) <= 4*flushBytes { // don't pool the odd huge buffer
			*buf = (*buf)[:0]
			bufPool.Put(buf)
		}
	}()
	act := g.active()
	f, err := os.OpenFile(act.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		s.logger.Error("logs: entries lost", "service", svc.arn, "bytes", len(*buf), "err", err)
		return fmt.Errorf("logs: %w", err)
	}
	defer f.Close()
	n, err := f.Write(*buf)
	if err != nil {
		s.logger.Error("logs: entries lost", "service", svc.arn, "bytes", len(*buf)-n, "err", err)
		if n > 0 {
			if terr := f.Truncate(act.size); terr != nil {
				// Keep the sizes true to the file; readers skip the torn line.
				if fi, serr := f.Stat(); serr == nil {
					g.bytes += fi.Size() - act.size
					act.size = fi.Size()
				}
			}
		}
		return fmt.Errorf("logs: %w", err)
	}
	act.size += int64(n)
	g.bytes += int64(n)
	g.unsynced = true
	return nil
}

// newSegment begins a new active segment at g.nextSeq. The file is created
// at once, even empty, so that the group's next Seq survives a restart.
func (s *Store) newSegment(g *group) error {
	if err := os.MkdirAll(g.dir, 0o700); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	seg := &segment{base: g.nextSeq, path: filepath.Join(g.dir, segmentName(g.nextSeq)), exact: true}
	f, err := os.OpenFile(seg.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	g.segs = append(g.segs, seg)
	return nil
}

func segmentName(base uint64) string { return fmt.Sprintf("%020d.log", base) }

// enforceSize drops segments until svc fits in MaxBytesPerService, oldest
// first from the larger group. Active segments are never dropped. The
// caller holds svc.mu.
func (s *Store) enforceSize(svc *service) {
	for {
		var total int64
		var victim *group
		for i := range svc.groups {
			g := &svc.groups[i]
			total += g.size()
			if len(g.segs) > 1 && (victim == nil || g.size() > victim.size()) {
				victim = g
			}
		}
		if total <= s.maxBytes || victim == nil {
			return
		}
		s.dropSegment(svc, victim, 0)
	}
}

// dropSegment removes g's i-th segment, which is not the active one.
// Readers that have it open finish reading it; others skip it.
func (s *Store) dropSegment(svc *service, g *group, i int) {
	seg := g.segs[i]
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.logger.Error("logs: cannot remove segment", "service", svc.arn, "path", seg.path, "err", err)
	}
	g.bytes -= seg.size
	g.segs = slices.Delete(g.segs, i, i+1)
}

// notify wakes every Follow waiting on svc. The caller holds svc.mu.
func (svc *service) notify() {
	if svc.wake != nil {
		close(svc.wake)
		svc.wake = nil
	}
}

// DeleteService removes every log of the service, at once and for good
// (use it when the service is purged). Follows of the service end and
// return nil. Deleting a service without logs is not an error.
func (s *Store) DeleteService(serviceARN string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	if svc := s.services[serviceARN]; svc != nil {
		delete(s.services, serviceARN)
		svc.mu.Lock()
		if svc.state == stateLive {
			svc.state = stateDeleted
		}
		for i := range svc.groups {
			svc.groups[i].buf = nil
		}
		svc.notify()
		svc.mu.Unlock()
	}
	trash, err := s.trash(s.serviceDir(serviceARN))
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if trash != "" {
		if err := os.RemoveAll(trash); err != nil {
			return fmt.Errorf("logs: %w", err)
		}
	}
	return nil
}

// trash renames dir out of the way, so that a new life of the service can
// begin at once while the old files are removed. It returns "" if dir does
// not exist. The caller holds s.mu.
func (s *Store) trash(dir string) (string, error) {
	t := filepath.Join(s.dir, ".trash-"+filepath.Base(dir)+"-"+randomHex(4))
	if err := os.Rename(dir, t); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", nil
		}
		return "", fmt.Errorf("logs: %w", err)
	}
	return t, nil
}

// Sweep applies retention by age: it drops every segment whose newest entry
// is older than MaxAge, and forgets services left without entries and
// without followers. The Store runs it every SweepInterval.
func (s *Store) Sweep() error {
	cutoff := s.now().Add(-s.maxAge)
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || !isServiceDirName(e.Name()) {
			continue
		}
		meta, err := readMeta(filepath.Join(s.dir, e.Name()))
		if err != nil {
			s.logger.Debug("logs: sweep skips a directory without metadata", "dir", e.Name(), "err", err)
			continue
		}
		svc, err := s.lockService(meta.ARN, false)
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			s.logger.Error("logs: sweep cannot load service", "service", meta.ARN, "err", err)
			continue
		}
		if svc == nil {
			continue
		}
		s.sweepService(svc, cutoff)
		svc.mu.Unlock()
	}
	// Forget services that are empty and unwatched, on disk and in memory.
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	for arn, svc := range s.services {
		svc.mu.Lock()
		if svc.state == stateLive && svc.followers == 0 && svc.empty() {
			var trash string
			var err error
			if svc.created {
				trash, err = s.trash(svc.dir)
			}
			if err != nil {
				s.logger.Error("logs: sweep cannot remove service", "service", arn, "err", err)
			} else {
				delete(s.services, arn)
				svc.state = stateRemoved
				if trash != "" {
					// Removing a few empty files is quick, even under the lock.
					_ = os.RemoveAll(trash)
				}
			}
		}
		svc.mu.Unlock()
	}
	return nil
}

// sweepService drops svc's segments that are all older than cutoff. A
// stale active segment is replaced by an empty one, which keeps the
// group's Seq. The caller holds svc.mu.
func (s *Store) sweepService(svc *service, cutoff time.Time) {
	for i := range svc.groups {
		g := &svc.groups[i]
		for j := 0; j < len(g.segs)-1; {
			if g.segs[j].newest.Before(cutoff) {
				s.dropSegment(svc, g, j)
			} else {
				j++
			}
		}
		if len(g.segs) == 0 {
			continue
		}
		if act := g.active(); (act.size > 0 || g.pending() > 0) && act.newest.Before(cutoff) {
			if err := s.flush(svc, g); err != nil {
				continue
			}
			if err := s.newSegment(g); err != nil {
				s.logger.Error("logs: sweep cannot begin a segment", "service", svc.arn, "err", err)
				continue
			}
			s.dropSegment(svc, g, len(g.segs)-2)
		}
	}
}

func (svc *service) empty() bool {
	for i := range svc.groups {
		if svc.groups[i].size() > 0 {
			return false
		}
	}
	return true
}

// serviceDir is where a service's files live: the ARN hashed, because ARNs
// contain slashes and may be long.
func (s *Store) serviceDir(arn string) string {
	h := sha256.Sum256([]byte(arn))
	return filepath.Join(s.dir, hex.EncodeToString(h[:16]))
}

func isServiceDirName(name string) bool {
	if len(name) != 32 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil
}

// meta is a service directory's meta.json.
type meta struct {
	ARN   string `json:"arn"`
	Epoch string `json:"epoch"`
}

func readMeta(dir string) (meta, error) {
	var m meta
	b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil || m.ARN == "" || m.Epoch == "" {
		return m, fmt.Errorf("logs: damaged %s", filepath.Join(dir, "meta.json"))
	}
	return m, nil
}

// create makes svc's directory and meta.json if they do not exist yet. The
// caller holds svc.mu.
func (s *Store) create(svc *service) error {
	if svc.created {
		return nil
	}
	if err := os.MkdirAll(svc.dir, 0o700); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	m := meta{ARN: svc.arn, Epoch: randomHex(8)}
	b, _ := json.Marshal(m)
	tmp := filepath.Join(svc.dir, "meta.json.tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(svc.dir, "meta.json")); err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	svc.created, svc.epoch = true, m.Epoch
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

// lockService returns the live state of the service with svc.mu held. With
// create false it returns nil (and no error) if the service has no logs on
// disk and no state in memory; with create true it makes the state in
// memory (files are made by the first Append).
func (s *Store) lockService(arn string, create bool) (*service, error) {
	for {
		svc, err := s.service(arn, create)
		if err != nil || svc == nil {
			return nil, err
		}
		svc.mu.Lock()
		switch svc.state {
		case stateLive:
			return svc, nil
		case stateClosed:
			svc.mu.Unlock()
			return nil, ErrClosed
		}
		// Deleted or swept since we found it: the next lookup makes a new
		// state.
		svc.mu.Unlock()
	}
}

func (s *Store) service(arn string, create bool) (*service, error) {
	s.mu.RLock()
	svc, closed := s.services[arn], s.closed
	s.mu.RUnlock()
	if closed {
		return nil, ErrClosed
	}
	if svc != nil {
		return svc, nil
	}
	dir := s.serviceDir(arn)
	if !create {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	if svc = s.services[arn]; svc != nil {
		s.mu.Unlock()
		return svc, nil
	}
	// Publish the state before loading it, with its lock held, so that
	// the files are read without holding up other services.
	svc = &service{arn: arn, dir: dir}
	svc.mu.Lock()
	s.services[arn] = svc
	s.mu.Unlock()
	err := s.load(svc)
	if err != nil {
		svc.state = stateRemoved
	}
	svc.mu.Unlock()
	if err != nil {
		s.mu.Lock()
		if s.services[arn] == svc {
			delete(s.services, arn)
		}
		s.mu.Unlock()
		return nil, err
	}
	return svc, nil
}

// load reads svc's state from disk. A torn last line, left by a crash in
// the middle of a write, is cut off the active segment.
func (s *Store) load(svc *service) error {
	for i := range svc.groups {
		svc.groups[i].dir = filepath.Join(svc.dir, groupNames[i])
	}
	m, err := readMeta(svc.dir)
	switch {
	case err == nil:
		if m.ARN != svc.arn {
			return fmt.Errorf("logs: %s holds the logs of %s, not %s", svc.dir, m.ARN, svc.arn)
		}
		svc.created, svc.epoch = true, m.Epoch
	case errors.Is(err, fs.ErrNotExist):
		// Nothing yet, or a crash before meta.json was written: the first
		// Append writes it.
	default:
		return err
	}
	for i := range svc.groups {
		if err := s.loadGroup(svc, &svc.groups[i]); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) loadGroup(svc *service, g *group) error {
	ents, err := os.ReadDir(g.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || len(name) != 20 || e.IsDir() {
			continue
		}
		base, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return fmt.Errorf("logs: %w", err)
		}
		g.segs = append(g.segs, &segment{base: base, path: filepath.Join(g.dir, e.Name()), size: fi.Size()})
	}
	slices.SortFunc(g.segs, func(a, b *segment) int {
		switch {
		case a.base < b.base:
			return -1
		case a.base > b.base:
			return 1
		}
		return 0
	})
	for i, seg := range g.segs {
		last := i == len(g.segs)-1
		if err := s.loadSegment(svc, g, seg, last); err != nil {
			return err
		}
		g.bytes += seg.size
	}
	if len(g.segs) > 0 {
		g.nextSeq = max(g.nextSeq, g.active().base)
	}
	return nil
}

func (s *Store) loadSegment(svc *service, g *group, seg *segment, active bool) error {
	flag := os.O_RDONLY
	if active {
		flag = os.O_RDWR
	}
	f, err := os.OpenFile(seg.path, flag, 0)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer f.Close()
	r, end, ok, err := lastRecord(f, seg.size)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	if ok {
		seg.newest = r.Time
	}
	if !active {
		return nil
	}
	if ok {
		g.nextSeq = r.Seq + 1
	}
	if end < seg.size {
		// A torn line (a write cut short by a crash) or garbage: cut it
		// off so that the next entry starts on a line of its own.
		s.logger.Warn("logs: dropping a damaged end of file", "service", svc.arn, "path", seg.path, "bytes", seg.size-end)
		if err := f.Truncate(end); err != nil {
			return fmt.Errorf("logs: %w", err)
		}
		seg.size = end
	}
	return nil
}
