package logs

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
)

// Read limits.
const (
	// DefaultLimit is the number of entries Read returns when Query.Limit
	// is zero.
	DefaultLimit = 1000
	// MaxLimit is the most entries one Read returns.
	MaxLimit = 10000
)

// Query selects entries of one log group of one service. Entries come in
// the order they were appended (which is time order, give or take clock
// differences between instances).
type Query struct {
	ServiceARN string
	// Group is GroupService or GroupApplication.
	Group string
	// Stream, if set, selects one stream of the group; otherwise all of
	// the group's streams are read, merged.
	Stream string
	// Since, if set, skips entries whose Time is before it.
	Since time.Time
	// After continues after the entries a previous Read returned. Empty
	// starts at the oldest entry kept.
	After Cursor
	// Limit bounds the number of entries returned: zero means
	// DefaultLimit, and more than MaxLimit means MaxLimit. Follow uses it
	// only with Tail.
	Limit int
	// Tail returns the last Limit matching entries (after After) instead
	// of the first ones: the end of the log, as "tail" shows it.
	Tail bool
}

func (q *Query) limit() int {
	switch {
	case q.Limit <= 0:
		return DefaultLimit
	case q.Limit > MaxLimit:
		return MaxLimit
	}
	return q.Limit
}

// Cursor is a position in a service's log group, to continue reading from.
// It is opaque text that may be handed to clients: a damaged or forged
// cursor is rejected or, at worst, reads from another position of the same
// group. A cursor outlives retention (reading resumes at the oldest entry
// kept) but not the deletion of the service's logs (reading starts over).
type Cursor string

// position is where the entry with Seq seq is, or would be appended: in
// the segment that begins at base, at byte off. base and off are hints
// that save reading a segment from its start; seq alone decides.
type position struct {
	seq  uint64
	base uint64
	off  int64
}

// cursor is a parsed Cursor.
type cursor struct {
	set   bool
	group byte // the group name's first letter
	epoch string
	pos   position
}

func parseCursor(c Cursor) (cursor, bool) {
	if c == "" {
		return cursor{}, true
	}
	parts := strings.Split(string(c), ".")
	if len(parts) != 5 || len(parts[0]) != 1 || len(parts[1]) != 16 {
		return cursor{}, false
	}
	var nums [3]uint64
	for i, p := range parts[2:] {
		n, err := strconv.ParseUint(p, 16, 64)
		if err != nil {
			return cursor{}, false
		}
		nums[i] = n
	}
	if nums[2] > math.MaxInt64 {
		return cursor{}, false
	}
	return cursor{set: true, group: parts[0][0], epoch: parts[1], pos: position{seq: nums[0], base: nums[1], off: int64(nums[2])}}, true
}

func checkQuery(q *Query) (int, cursor, error) {
	gi, ok := groupIndex(q.Group)
	switch {
	case q.ServiceARN == "":
		return 0, cursor{}, openrunner.Errorf(openrunner.EINVALID, "Reading logs needs a service ARN.")
	case !ok:
		return 0, cursor{}, openrunner.Errorf(openrunner.EINVALID, "Unknown log group %q: use %q or %q.", openrunner.Truncate(q.Group, 100), GroupService, GroupApplication)
	case len(q.Stream) > MaxStreamBytes:
		return 0, cursor{}, openrunner.Errorf(openrunner.EINVALID, "A log stream name must have 1 to %d bytes.", MaxStreamBytes)
	}
	c, ok := parseCursor(q.After)
	if !ok || (c.set && c.group != q.Group[0]) {
		return 0, cursor{}, openrunner.Errorf(openrunner.EINVALID, "The log cursor is not valid.")
	}
	return gi, c, nil
}

// snapshot is a consistent view of a group's files for reading without
// the service's lock: entries appended later lie beyond the sizes.
type snapshot struct {
	svc     *service
	group   string
	epoch   string
	nextSeq uint64
	segs    []segSnap
}

type segSnap struct {
	seg    *segment // to record what a full read learned
	base   uint64
	path   string
	size   int64
	newest time.Time
	exact  bool
}

// snapshot flushes the group (so that reading the files sees every entry)
// and copies its state. The caller holds svc.mu. A flush error is logged
// by flush; the entries it lost are simply not there to read.
func (s *Store) snapshot(svc *service, gi int) *snapshot {
	g := &svc.groups[gi]
	_ = s.flush(svc, g)
	sn := &snapshot{svc: svc, group: groupNames[gi], epoch: svc.epoch, nextSeq: g.nextSeq, segs: make([]segSnap, len(g.segs))}
	for i, seg := range g.segs {
		sn.segs[i] = segSnap{seg: seg, base: seg.base, path: seg.path, size: seg.size, newest: seg.newest, exact: seg.exact}
	}
	return sn
}

// start is where reading with c begins: at c if it belongs to this life
// of the service's logs, else at the start.
func (sn *snapshot) start(c cursor) position {
	if c.set && c.epoch == sn.epoch {
		return c.pos
	}
	return position{}
}

// end is the position after the last entry of the snapshot.
func (sn *snapshot) end() position {
	p := position{seq: sn.nextSeq}
	if n := len(sn.segs); n > 0 {
		p.base, p.off = sn.segs[n-1].base, sn.segs[n-1].size
	}
	return p
}

func (sn *snapshot) cursor(p position) Cursor {
	if sn.epoch == "" {
		return "" // nothing was ever written: start over next time
	}
	b := make([]byte, 0, 64)
	b = append(b, sn.group[0], '.')
	b = append(b, sn.epoch...)
	b = append(b, '.')
	b = strconv.AppendUint(b, p.seq, 16)
	b = append(b, '.')
	b = strconv.AppendUint(b, p.base, 16)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(p.off), 16)
	return Cursor(b)
}

// Read returns the entries q selects and a cursor to read on from. The
// cursor is returned even when there are no entries, so a client can poll
// with it. A service without logs has none (Read does not know which
// services exist). Returns EINVALID for a bad query or cursor, ErrClosed
// after Close, and ctx's error if it ends.
func (s *Store) Read(ctx context.Context, q Query) ([]Entry, Cursor, error) {
	gi, c, err := checkQuery(&q)
	if err != nil {
		return nil, "", err
	}
	svc, err := s.lockService(q.ServiceARN, false)
	if err != nil || svc == nil {
		return nil, "", err
	}
	sn := s.snapshot(svc, gi)
	svc.mu.Unlock()
	entries, end, err := s.readSnapshot(ctx, sn, &q, sn.start(c), q.limit(), q.Tail)
	if err != nil {
		return nil, "", err
	}
	return entries, sn.cursor(end), nil
}

// Follow calls fn with the entries q selects, in order, and then with each
// new one as it is appended, until ctx ends (it returns ctx's error), fn
// returns an error (returned as is), the service's logs are deleted (it
// returns nil) or the Store closes (ErrClosed). With q.Tail it begins with
// the last q.Limit entries. It may follow a service that has no logs yet.
// fn runs on Follow's goroutine with no lock held; while it runs, new
// entries wait, in order.
func (s *Store) Follow(ctx context.Context, q Query, fn func(Entry) error) error {
	gi, c, err := checkQuery(&q)
	if err != nil {
		return err
	}
	svc, err := s.lockService(q.ServiceARN, true)
	if err != nil {
		return err
	}
	// Counted followers keep Sweep from forgetting the service.
	svc.followers++
	svc.mu.Unlock()
	defer func() {
		svc.mu.Lock()
		svc.followers--
		svc.mu.Unlock()
	}()

	var from position
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		svc.mu.Lock()
		switch svc.state {
		case stateClosed:
			svc.mu.Unlock()
			return ErrClosed
		case stateDeleted, stateRemoved:
			svc.mu.Unlock()
			return nil
		}
		if !first && from.seq >= svc.groups[gi].nextSeq {
			// Nothing new. The check and the channel are taken under the
			// lock Append holds to add and notify, so no entry slips by.
			if svc.wake == nil {
				svc.wake = make(chan struct{})
			}
			wake := svc.wake
			svc.mu.Unlock()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-wake:
			}
			continue
		}
		sn := s.snapshot(svc, gi)
		svc.mu.Unlock()
		limit, tail := MaxLimit, false
		if first {
			from, tail = sn.start(c), q.Tail
			if tail {
				limit = q.limit()
			}
		}
		entries, next, err := s.readSnapshot(ctx, sn, &q, from, limit, tail)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		from, first = next, false
	}
}

// readSnapshot reads up to limit matching entries from position from on:
// the first ones, or with tail the last ones. It returns them and the
// position after the last entry it looked at.
func (s *Store) readSnapshot(ctx context.Context, sn *snapshot, q *Query, from position, limit int, tail bool) ([]Entry, position, error) {
	end := sn.end()
	if from.seq >= sn.nextSeq || len(sn.segs) == 0 {
		return nil, end, nil
	}
	// The segment that holds from.seq: the last one beginning at or before
	// it. When retention dropped it, reading starts at the oldest kept.
	idx := 0
	for i, ss := range sn.segs {
		if ss.base <= from.seq {
			idx = i
		}
	}
	match := func(r *record) bool {
		return (q.Stream == "" || r.Stream == q.Stream) && (q.Since.IsZero() || !r.Time.Before(q.Since))
	}
	entry := func(r *record) Entry {
		return Entry{Time: r.Time, ServiceARN: sn.svc.arn, Group: sn.group, Stream: r.Stream, Text: r.Text}
	}
	hint := func(i int) int64 {
		if i == idx && sn.segs[i].base == from.base && from.off <= sn.segs[i].size {
			return from.off
		}
		return 0
	}
	skip := func(ss *segSnap) bool {
		// A segment whose newest entry is known to be before Since has
		// nothing to return.
		return !q.Since.IsZero() && ss.exact && ss.newest.Before(q.Since)
	}

	if !tail {
		var out []Entry
		var pos position
		full := false
		for i := idx; i < len(sn.segs) && !full; i++ {
			if err := ctx.Err(); err != nil {
				return nil, position{}, err
			}
			ss := &sn.segs[i]
			if skip(ss) {
				continue
			}
			err := s.scanSegment(sn, ss, hint(i), from.seq, func(r *record, off int64) bool {
				pos = position{seq: r.Seq + 1, base: ss.base, off: off}
				if match(r) {
					out = append(out, entry(r))
					full = len(out) >= limit
				}
				return !full
			})
			if err != nil {
				return nil, position{}, err
			}
		}
		if full {
			return out, pos, nil
		}
		return out, end, nil
	}

	// Tail: read segments newest first until limit entries are found.
	var chunks [][]Entry
	n := 0
	for i := len(sn.segs) - 1; i >= idx && n < limit; i-- {
		if err := ctx.Err(); err != nil {
			return nil, position{}, err
		}
		ss := &sn.segs[i]
		if skip(ss) {
			continue
		}
		var chunk []Entry
		err := s.scanSegment(sn, ss, hint(i), from.seq, func(r *record, _ int64) bool {
			if match(r) {
				chunk = append(chunk, entry(r))
			}
			return true
		})
		if err != nil {
			return nil, position{}, err
		}
		chunks = append(chunks, chunk)
		n += len(chunk)
	}
	out := make([]Entry, 0, min(n, limit))
	for i := len(chunks) - 1; i >= 0; i-- {
		out = append(out, chunks[i]...)
	}
	return out[max(len(out)-limit, 0):], end, nil
}

// scanSegment calls fn with each valid entry of ss whose Seq is at least
// minSeq, and the offset past it, until fn returns false. off is where to
// begin: a hint from a cursor, trusted only if the entry there is minSeq;
// otherwise the segment is read from its start. Damaged lines are skipped.
// A segment removed since the snapshot has nothing to read.
func (s *Store) scanSegment(sn *snapshot, ss *segSnap, off int64, minSeq uint64, fn func(r *record, off int64) bool) error {
	f, err := os.Open(ss.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // dropped by retention since the snapshot
	}
	if err != nil {
		return err
	}
	defer f.Close()
	var (
		r       record
		newest  time.Time
		check   = off > 0
		retry   bool
		stopped bool
	)
	scan := func(from int64) error {
		return scanLines(f, from, ss.size, func(line []byte, end int64) bool {
			if decodeRecord(line, &r) != nil {
				if check { // the hint is not at the start of a line
					retry = true
					return false
				}
				return true
			}
			if check {
				check = false
				if r.Seq != minSeq {
					retry = true
					return false
				}
			}
			if r.Time.After(newest) {
				newest = r.Time
			}
			if r.Seq < minSeq {
				return true
			}
			if !fn(&r, end) {
				stopped = true
				return false
			}
			return true
		})
	}
	err = scan(off)
	if err == nil && retry {
		off, check = 0, false
		newest = time.Time{}
		err = scan(0)
	}
	if err != nil {
		return err
	}
	if off == 0 && !stopped && !ss.exact {
		// Every entry was seen: remember the newest time, so that later
		// reads with Since can skip the segment. Entries appended since
		// the snapshot raised seg.newest themselves.
		svc := sn.svc
		svc.mu.Lock()
		if newest.After(ss.seg.newest) {
			ss.seg.newest = newest
		}
		ss.seg.exact = true
		svc.mu.Unlock()
	}
	return nil
}

var _ openrunner.LogService = (*Store)(nil)

// ReadLogs implements openrunner.LogService on Read.
func (s *Store) ReadLogs(ctx context.Context, q openrunner.LogQuery) (openrunner.LogPage, error) {
	group := GroupService
	if q.Application {
		group = GroupApplication
	}
	name, err := LogGroupName(q.ServiceARN, group)
	if err != nil {
		return openrunner.LogPage{}, err
	}
	entries, next, err := s.Read(ctx, Query{ServiceARN: q.ServiceARN, Group: group, Since: q.Since, After: Cursor(q.After), Limit: q.Limit, Tail: q.Tail})
	if err != nil {
		return openrunner.LogPage{}, err
	}
	page := openrunner.LogPage{Group: name, Lines: make([]openrunner.LogEntry, 0, len(entries)), Next: string(next)}
	for _, e := range entries {
		page.Lines = append(page.Lines, openrunner.LogEntry{Time: e.Time, Stream: e.Stream, Text: e.Text})
	}
	return page, nil
}
