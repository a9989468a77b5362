package wire

import (
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decoder reads JSON for the generated decode methods. It is strict (RFC
// 8259 syntax, valid UTF-8, exact case-sensitive member names), allocates
// only for the values it returns, and never retains its input: request
// bodies come from a pooled buffer. The first error is sticky: once err is
// set every read is a no-op, so generated code checks it only at the end.
type decoder struct {
	data []byte
	pos  int
	err  *DecodeError
	buf  []byte // scratch for member names and map keys with escapes
}

// maxDepth bounds the nesting of skipped (unknown) values, so hostile input
// cannot exhaust the stack. Modeled shapes nest far less deeply.
const maxDepth = 1000

// finish checks that only whitespace follows the decoded value and returns
// the first error, as an error interface that is nil when there is none.
func (d *decoder) finish() error {
	if d.err == nil {
		d.ws()
		if d.pos < len(d.data) {
			d.fail("unexpected data after the JSON object at offset " + strconv.Itoa(d.pos))
		}
	}
	if d.err != nil {
		return d.err
	}
	return nil
}

// blank reports whether the input is empty or only whitespace, which a
// request body may be for "{}".
func (d *decoder) blank() bool {
	d.ws()
	return d.pos == len(d.data)
}

func (d *decoder) ws() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *decoder) fail(msg string) {
	if d.err == nil {
		d.err = &DecodeError{Message: "Unable to parse request body: " + msg}
	}
}

// syntax records a syntax error at the current position.
func (d *decoder) syntax() {
	if d.pos >= len(d.data) {
		d.fail("unexpected end of JSON input")
		return
	}
	d.fail("malformed JSON at offset " + strconv.Itoa(d.pos))
}

// typeError records that the value at the current position is not of the
// JSON type want ("a string", ...) that member p needs. A byte that cannot
// start any JSON value is a syntax error instead.
func (d *decoder) typeError(p *pathSeg, want string) {
	if d.pos >= len(d.data) || !isValueStart(d.data[d.pos]) {
		d.syntax()
		return
	}
	if p == nil {
		d.fail("expected a JSON object")
		return
	}
	d.fail("expected " + want + " for member \"" + string(p.appendDecodePath(nil)) + "\"")
}

func isValueStart(c byte) bool {
	switch c {
	case '{', '[', '"', 't', 'f', 'n', '-':
		return true
	}
	return isDigit(c)
}

// null consumes a JSON null and reports whether it did. It also reports
// true once an error is recorded, so that callers stop decoding.
func (d *decoder) null() bool {
	if d.err != nil {
		return true
	}
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == 'n' {
		if !d.literal("null") {
			d.syntax()
		}
		return true
	}
	return false
}

// literal consumes lit if the input continues with it.
func (d *decoder) literal(lit string) bool {
	if len(d.data)-d.pos >= len(lit) && string(d.data[d.pos:d.pos+len(lit)]) == lit {
		d.pos += len(lit)
		return true
	}
	return false
}

// openObject consumes the '{' starting member p's value.
func (d *decoder) openObject(p *pathSeg) bool {
	if d.err != nil {
		return false
	}
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == '{' {
		d.pos++
		return true
	}
	d.typeError(p, "an object")
	return false
}

// nextKey moves to the next member of the object being read and returns its
// name, which is valid until the next read. It returns false at the closing
// brace or on error. first is true for the first call after openObject.
func (d *decoder) nextKey(first bool) ([]byte, bool) {
	if d.err != nil {
		return nil, false
	}
	d.ws()
	if d.pos >= len(d.data) {
		d.syntax()
		return nil, false
	}
	c := d.data[d.pos]
	if c == '}' {
		d.pos++
		return nil, false
	}
	if !first {
		if c != ',' {
			d.syntax()
			return nil, false
		}
		d.pos++
		d.ws()
		if d.pos >= len(d.data) {
			d.syntax()
			return nil, false
		}
		c = d.data[d.pos]
	}
	if c != '"' {
		d.syntax()
		return nil, false
	}
	key, ok := d.rawString()
	if !ok {
		return nil, false
	}
	d.ws()
	if d.pos >= len(d.data) || d.data[d.pos] != ':' {
		d.syntax()
		return nil, false
	}
	d.pos++
	return key, true
}

// openArray consumes the '[' starting member p's value.
func (d *decoder) openArray(p *pathSeg) bool {
	if d.err != nil {
		return false
	}
	d.ws()
	if d.pos < len(d.data) && d.data[d.pos] == '[' {
		d.pos++
		return true
	}
	d.typeError(p, "an array")
	return false
}

// nextElem moves to the next element of the array being read, reporting
// false at the closing bracket or on error.
func (d *decoder) nextElem(first bool) bool {
	if d.err != nil {
		return false
	}
	d.ws()
	if d.pos >= len(d.data) {
		d.syntax()
		return false
	}
	c := d.data[d.pos]
	if c == ']' {
		d.pos++
		return false
	}
	if !first {
		if c != ',' {
			d.syntax()
			return false
		}
		d.pos++
	}
	return true
}

// rawString reads the string starting at the current '"' and returns its
// unescaped bytes: a slice of the input when it has no escapes, else of
// d.buf. Either is valid only until the next read.
func (d *decoder) rawString() ([]byte, bool) {
	start := d.pos + 1
	for i := start; i < len(d.data); {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return d.data[start:i], true
		case c == '\\':
			d.buf = append(d.buf[:0], d.data[start:i]...)
			return d.unescape(i)
		case c < 0x20:
			d.pos = i
			d.syntax()
			return nil, false
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				d.pos = i
				d.fail("invalid UTF-8 in a string at offset " + strconv.Itoa(i))
				return nil, false
			}
			i += size
		}
	}
	d.pos = len(d.data)
	d.syntax()
	return nil, false
}

// unescape continues rawString from the backslash at i, writing to d.buf.
// Lone UTF-16 surrogates become U+FFFD, as in encoding/json.
func (d *decoder) unescape(i int) ([]byte, bool) {
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return d.buf, true
		case c == '\\':
			if i+1 >= len(d.data) {
				d.pos = len(d.data)
				d.syntax()
				return nil, false
			}
			switch e := d.data[i+1]; e {
			case '"', '\\', '/':
				d.buf = append(d.buf, e)
				i += 2
			case 'b':
				d.buf = append(d.buf, '\b')
				i += 2
			case 'f':
				d.buf = append(d.buf, '\f')
				i += 2
			case 'n':
				d.buf = append(d.buf, '\n')
				i += 2
			case 'r':
				d.buf = append(d.buf, '\r')
				i += 2
			case 't':
				d.buf = append(d.buf, '\t')
				i += 2
			case 'u':
				r, ok := hex4(d.data[i+2:])
				if !ok {
					d.pos = i
					d.syntax()
					return nil, false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if r2, ok := escapedRune(d.data[i:]); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 6
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				d.buf = utf8.AppendRune(d.buf, r)
			default:
				d.pos = i
				d.syntax()
				return nil, false
			}
		case c < 0x20:
			d.pos = i
			d.syntax()
			return nil, false
		case c < utf8.RuneSelf:
			d.buf = append(d.buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				d.pos = i
				d.fail("invalid UTF-8 in a string at offset " + strconv.Itoa(i))
				return nil, false
			}
			d.buf = append(d.buf, d.data[i:i+size]...)
			i += size
		}
	}
	d.pos = len(d.data)
	d.syntax()
	return nil, false
}

// escapedRune decodes a \uXXXX escape at the start of b.
func escapedRune(b []byte) (rune, bool) {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return 0, false
	}
	return hex4(b[2:])
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// str reads a string value for member p.
func (d *decoder) str(p *pathSeg) (string, bool) {
	if d.err != nil {
		return "", false
	}
	d.ws()
	if d.pos >= len(d.data) || d.data[d.pos] != '"' {
		d.typeError(p, "a string")
		return "", false
	}
	b, ok := d.rawString()
	if !ok {
		return "", false
	}
	return string(b), true
}

// stringPtr reads member p's string value; null is nil.
func (d *decoder) stringPtr(p *pathSeg) *string {
	if d.null() {
		return nil
	}
	s, ok := d.str(p)
	if !ok {
		return nil
	}
	return &s
}

// int32Ptr reads member p's integer value; null is nil. Fractions,
// exponents and values outside the int32 range are errors.
func (d *decoder) int32Ptr(p *pathSeg) *int32 {
	if d.null() {
		return nil
	}
	v, ok := d.int32(p)
	if !ok {
		return nil
	}
	return &v
}

func (d *decoder) int32(p *pathSeg) (int32, bool) {
	v, ok := d.integer(p, 32)
	return int32(v), ok
}

// integer reads member p's integer value, which must fit in a signed
// integer of the given bits (32 or 64).
func (d *decoder) integer(p *pathSeg, bits uint) (int64, bool) {
	if d.err != nil {
		return 0, false
	}
	d.ws()
	if d.pos >= len(d.data) || (d.data[d.pos] != '-' && !isDigit(d.data[d.pos])) {
		d.typeError(p, "an integer")
		return 0, false
	}
	end, isInt, ok := scanNumber(d.data, d.pos)
	if !ok {
		d.pos = end
		d.syntax()
		return 0, false
	}
	if !isInt {
		d.typeError(p, "an integer")
		return 0, false
	}
	b := d.data[d.pos:end]
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	// limit is the magnitude of the smallest value; n stops growing past
	// it, so it never overflows.
	limit := uint64(1) << (bits - 1)
	var n uint64
	for _, c := range b {
		n = n*10 + uint64(c-'0')
		if n > limit {
			break
		}
	}
	if n > limit || (!neg && n == limit) {
		d.fail("integer out of range for member \"" + string(p.appendDecodePath(nil)) + "\"")
		return 0, false
	}
	d.pos = end
	if neg {
		return -int64(n), true
	}
	return int64(n), true
}

// boolPtr reads member p's boolean value; null is nil.
func (d *decoder) boolPtr(p *pathSeg) *bool {
	if d.null() {
		return nil
	}
	v, ok := d.bool(p)
	if !ok {
		return nil
	}
	return &v
}

func (d *decoder) bool(p *pathSeg) (bool, bool) {
	if d.err != nil {
		return false, false
	}
	d.ws()
	switch {
	case d.literal("true"):
		return true, true
	case d.literal("false"):
		return false, true
	case d.pos < len(d.data) && (d.data[d.pos] == 't' || d.data[d.pos] == 'f'):
		d.syntax()
	default:
		d.typeError(p, "a boolean")
	}
	return false, false
}

// timestampPtr reads member p's timestamp (a JSON number); null is nil.
func (d *decoder) timestampPtr(p *pathSeg) *Timestamp {
	if d.null() {
		return nil
	}
	t, ok := d.timestamp(p)
	if !ok {
		return nil
	}
	return &t
}

func (d *decoder) timestamp(p *pathSeg) (Timestamp, bool) {
	if d.err != nil {
		return Timestamp{}, false
	}
	d.ws()
	if d.pos >= len(d.data) || (d.data[d.pos] != '-' && !isDigit(d.data[d.pos])) {
		d.typeError(p, "a number")
		return Timestamp{}, false
	}
	end, _, ok := scanNumber(d.data, d.pos)
	if !ok {
		d.pos = end
		d.syntax()
		return Timestamp{}, false
	}
	t, ok := parseEpoch(d.data[d.pos:end])
	if !ok {
		d.fail("timestamp out of range for member \"" + string(p.appendDecodePath(nil)) + "\"")
		return Timestamp{}, false
	}
	d.pos = end
	return Timestamp{Time: t}, true
}

// skip reads and discards one value of any type (an unknown member).
func (d *decoder) skip() { d.skipValue(0) }

func (d *decoder) skipValue(depth int) {
	if d.err != nil {
		return
	}
	if depth >= maxDepth {
		d.fail("JSON nested too deeply at offset " + strconv.Itoa(d.pos))
		return
	}
	d.ws()
	if d.pos >= len(d.data) {
		d.syntax()
		return
	}
	switch c := d.data[d.pos]; c {
	case '{':
		d.pos++
		for first := true; ; first = false {
			if _, ok := d.nextKey(first); !ok {
				return
			}
			d.skipValue(depth + 1)
		}
	case '[':
		d.pos++
		for first := true; d.nextElem(first); first = false {
			d.skipValue(depth + 1)
		}
	case '"':
		d.rawString()
	case 't':
		if !d.literal("true") {
			d.syntax()
		}
	case 'f':
		if !d.literal("false") {
			d.syntax()
		}
	case 'n':
		if !d.literal("null") {
			d.syntax()
		}
	default:
		end, _, ok := scanNumber(d.data, d.pos)
		d.pos = end
		if !ok {
			d.syntax()
		}
	}
}

// scanNumber scans the JSON number starting at b[i]. It returns the end of
// the number, whether it has neither fraction nor exponent, and whether it
// is well formed; when it is not, end is the offending position.
func scanNumber(b []byte, i int) (end int, isInt, ok bool) {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return i, false, false
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return i, false, false
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, false, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, false, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, isInt, true
}
