package logs

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzRecord checks that appendRecord writes JSON that encoding/json reads
// back to the same values, and that fastDecode agrees with encoding/json
// on any line it accepts.
func FuzzRecord(f *testing.F) {
	f.Add(uint64(0), int64(0), "events", "[AppRunner] Service creation started.")
	f.Add(uint64(1<<63), int64(1772366400123456789), "instance/a", `{"level":"info","msg":"a \"quoted\" word"}`)
	f.Add(uint64(7), int64(-1), "x", "tab\tnl\ncr\rnul\x00 bad \xff\xfe utf8 ☃ \u2028")
	f.Fuzz(func(t *testing.T, seq uint64, nanos int64, stream, text string) {
		if stream == "" {
			stream = "s"
		}
		tm := time.Unix(0, nanos).UTC()
		if tm.IsZero() {
			tm = tm.Add(time.Nanosecond)
		}
		line := appendRecord(nil, seq, tm, stream, text)
		if !json.Valid(line) {
			t.Fatalf("invalid JSON: %q", line)
		}
		var want record
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatal(err)
		}
		if want.Seq != seq || !want.Time.Equal(tm) || want.Stream != validUTF8(stream) || want.Text != validUTF8(text) {
			t.Fatalf("encoding/json reads %+v back from %q", want, line)
		}
		var got record
		if err := decodeRecord(line, &got); err != nil {
			t.Fatalf("decodeRecord(%q): %v", line, err)
		}
		if got != want {
			t.Fatalf("decodeRecord = %+v, encoding/json = %+v", got, want)
		}
		// Any line fastDecode accepts, encoding/json accepts the same way.
		for _, l := range [][]byte{line[:len(line)/2], []byte(text), []byte(`{"seq":1,"time":"2026-01-01T00:00:00Z","stream":` + text + `,"text":"x"}`)} {
			var fast, slow record
			if !fastDecode(l, &fast) {
				continue
			}
			if err := json.Unmarshal(l, &slow); err != nil || fast != slow {
				t.Fatalf("fastDecode(%q) = %+v, encoding/json = %+v, %v", l, fast, slow, err)
			}
		}
	})
}

// validUTF8 replaces each invalid byte with U+FFFD, as encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
