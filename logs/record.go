package logs

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/openrunner/openrunner/internal/jsonenc"
)

// record is one line of a segment file:
//
//	{"seq":42,"time":"2026-01-02T03:04:05.123456789Z","stream":"events","text":"[AppRunner] ..."}
//
// Seq numbers a group's entries in append order, from 0; it is what cursors
// point at.
type record struct {
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Stream string    `json:"stream"`
	Text   string    `json:"text"`
}

// appendRecord appends r's line, newline included, to b. It is written by
// hand, not with encoding/json, because Append is on the hot path; the
// output is plain JSON that decodeRecord (and jq) read.
func appendRecord(b []byte, seq uint64, t time.Time, stream, text string) []byte {
	b = append(b, `{"seq":`...)
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, `,"time":"`...)
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","stream":`...)
	b = appendJSONString(b, stream)
	b = append(b, `,"text":`...)
	b = appendJSONString(b, text)
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string, as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

var errBadRecord = errors.New("not a log record")

// decodeRecord parses one line (with or without its newline). A torn or
// otherwise damaged line fails: JSON cut short anywhere is invalid, and a
// line must carry a time and a stream. r's previous Stream is reused when
// the line has the same one, which saves an allocation per entry.
func decodeRecord(line []byte, r *record) error {
	if fastDecode(line, r) {
		return nil
	}
	*r = record{}
	if err := json.Unmarshal(line, r); err != nil {
		return errBadRecord
	}
	if r.Stream == "" || r.Time.IsZero() {
		return errBadRecord
	}
	return nil
}

// fastDecode parses a line exactly as appendRecord writes it, several
// times faster than encoding/json. It reports false for anything else
// (which decodeRecord then hands to encoding/json, to decide).
func fastDecode(line []byte, r *record) bool {
	p := bytes.TrimSuffix(line, []byte("\n"))
	p, ok := bytes.CutPrefix(p, []byte(`{"seq":`))
	if !ok {
		return false
	}
	var seq uint64
	i := 0
	for ; i < len(p) && p[i] >= '0' && p[i] <= '9'; i++ {
		if seq > (math.MaxUint64-9)/10 {
			return false
		}
		seq = seq*10 + uint64(p[i]-'0')
	}
	if i == 0 {
		return false
	}
	if p, ok = bytes.CutPrefix(p[i:], []byte(`,"time":"`)); !ok {
		return false
	}
	end := bytes.IndexByte(p, '"')
	if end < 0 {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, string(p[:end]))
	if err != nil {
		return false
	}
	if p, ok = bytes.CutPrefix(p[end+1:], []byte(`,"stream":`)); !ok {
		return false
	}
	stream, p, ok := fastString(p)
	if !ok || len(stream) == 0 {
		return false
	}
	if p, ok = bytes.CutPrefix(p, []byte(`,"text":`)); !ok {
		return false
	}
	text, p, ok := fastString(p)
	if !ok || len(p) != 1 || p[0] != '}' {
		return false
	}
	r.Seq, r.Time, r.Text = seq, t, string(text)
	if r.Stream != string(stream) {
		r.Stream = string(stream)
	}
	return true
}

// fastString reads the JSON string at the start of p and returns its
// contents and the rest of p. A string without escapes is taken as it is
// (if valid UTF-8); one with escapes is decoded by encoding/json alone.
func fastString(p []byte) (s, rest []byte, ok bool) {
	if len(p) == 0 || p[0] != '"' {
		return nil, nil, false
	}
	end := bytes.IndexByte(p[1:], '"') + 1
	if end == 0 {
		return nil, nil, false
	}
	if bytes.IndexByte(p[1:end], '\\') < 0 {
		s = p[1:end]
		return s, p[end+1:], plainJSON(s)
	}
	// Escapes: find the quote that ends the string, skipping escaped
	// characters, and let encoding/json decode it.
	for i := 1; i < len(p); i++ {
		switch p[i] {
		case '\\':
			i++
		case '"':
			var str string
			if json.Unmarshal(p[:i+1], &str) != nil {
				return nil, nil, false
			}
			return []byte(str), p[i+1:], true
		}
	}
	return nil, nil, false
}

// plainJSON reports whether s may stand between quotes in JSON as it is:
// valid UTF-8 without control characters.
func plainJSON(s []byte) bool {
	ascii := true
	for _, c := range s {
		if c < 0x20 {
			return false
		}
		ascii = ascii && c < utf8.RuneSelf
	}
	return ascii || utf8.Valid(s)
}

// scanLines calls fn for each complete line of f between the offsets from
// and to, with the offset just past the line, until fn returns false. A last
// line without its newline is torn (a write cut short by a crash) and is not
// passed on.
func scanLines(f *os.File, from, to int64, fn func(line []byte, end int64) bool) error {
	if from >= to {
		return nil
	}
	br := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), 64<<10)
	off := from
	var long []byte // a line longer than br's buffer, gathered piece by piece
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, chunk...)
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil // whatever is left is torn
			}
			return err
		}
		line := chunk
		if long != nil {
			line = append(long, chunk...)
			long = nil
		}
		off += int64(len(line))
		if !fn(line, off) {
			return nil
		}
	}
}

// lastRecord finds the last valid record of the first size bytes of f and
// the offset just past it, reading backwards from the end so that opening a
// large segment costs one small read. ok is false if there is none.
func lastRecord(f *os.File, size int64) (r record, end int64, ok bool, err error) {
	window := int64(64 << 10)
	var buf []byte
	for {
		start := max(size-window, 0)
		if n := size - start; int64(cap(buf)) < n {
			buf = make([]byte, n)
		} else {
			buf = buf[:n]
		}
		if _, err := f.ReadAt(buf, start); err != nil && !errors.Is(err, io.EOF) {
			return record{}, 0, false, err
		}
		// Try complete lines from the last one backwards. The bytes after
		// the last newline are a torn line. A line that may begin before
		// the window is left for a larger window.
		i := bytes.LastIndexByte(buf, '\n')
		for i >= 0 {
			j := bytes.LastIndexByte(buf[:i], '\n')
			if j < 0 && start > 0 {
				break
			}
			if decodeRecord(buf[j+1:i+1], &r) == nil {
				return r, start + int64(i+1), true, nil
			}
			i = j
		}
		if start == 0 {
			return record{}, 0, false, nil
		}
		window *= 4
	}
}
