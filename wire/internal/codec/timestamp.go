package codec

import (
	"bytes"
	"strconv"
	"time"
)

// Timestamp is a model timestamp. On the wire (awsJson1_0, no
// timestampFormat in the model) it is a JSON number of seconds since the
// Unix epoch with at most millisecond precision, written as a plain decimal
// without exponent: 1601681132.65, or 1601681132 when whole.
type Timestamp struct {
	time.Time
}

// NewTimestamp returns a *Timestamp holding t, for filling timestamp members.
func NewTimestamp(t time.Time) *Timestamp { return &Timestamp{Time: t} }

// MarshalJSON implements json.Marshaler. Precision below the millisecond is
// dropped (rounding toward the past), as App Runner reports milliseconds.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	return AppendTimestamp(make([]byte, 0, 24), t), nil
}

// UnmarshalJSON implements json.Unmarshaler. It accepts any JSON number
// (integer, decimal or with exponent, as SDKs may write 1.60168113265E9),
// keeps up to nanosecond precision, and rejects every other JSON value with
// a *DecodeError, except null, which leaves t unchanged as the json package
// expects of Unmarshalers.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	data = bytes.TrimSpace(data)
	if string(data) == "null" {
		return nil
	}
	tm, ok := parseEpoch(data)
	if !ok {
		return &DecodeError{Message: "Unable to parse timestamp: expected a JSON number of seconds since the Unix epoch"}
	}
	t.Time = tm
	return nil
}

// AppendTimestamp appends t as epoch seconds with up to three decimals.
func AppendTimestamp(b []byte, t Timestamp) []byte {
	ms := t.UnixMilli()
	u := uint64(ms)
	if ms < 0 {
		b = append(b, '-')
		u = -u // two's complement: also right for math.MinInt64
	}
	b = strconv.AppendUint(b, u/1000, 10)
	if frac := u % 1000; frac != 0 {
		b = append(b, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
		for b[len(b)-1] == '0' {
			b = b[:len(b)-1]
		}
	}
	return b
}

// maxEpochDigits bounds the integer part of an accepted timestamp: 12 digits
// of seconds reach the year 33658, far beyond any real value, and keep every
// accepted time representable in milliseconds.
const maxEpochDigits = 12

// parseEpoch parses a JSON number of epoch seconds exactly (decimal
// arithmetic, no float rounding). It reports false for anything that is not
// a single JSON number or is out of range.
func parseEpoch(b []byte) (time.Time, bool) {
	end, _, ok := scanNumber(b, 0)
	if !ok || end != len(b) {
		return time.Time{}, false
	}
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	// Split into the digits before and after the point and the exponent.
	i := 0
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	intDigits := b[:i]
	var fracDigits []byte
	if i < len(b) && b[i] == '.' {
		j := i + 1
		for j < len(b) && isDigit(b[j]) {
			j++
		}
		fracDigits = b[i+1 : j]
		i = j
	}
	exp := 0
	if i < len(b) { // 'e' or 'E'
		i++
		expNeg := false
		if b[i] == '+' || b[i] == '-' {
			expNeg = b[i] == '-'
			i++
		}
		for ; i < len(b); i++ {
			if exp > 1000 {
				return time.Time{}, false // absurd exponent
			}
			exp = exp*10 + int(b[i]-'0')
		}
		if expNeg {
			exp = -exp
		}
	}
	// digits holds every significant digit; the decimal point sits after
	// point of them (point may be negative or beyond the end).
	digits := make([]byte, 0, len(intDigits)+len(fracDigits))
	digits = append(digits, intDigits...)
	digits = append(digits, fracDigits...)
	point := len(intDigits) + exp
	var sec, nsec int64
	nInt := 0
	for k := 0; k < point; k++ {
		d := byte('0')
		if k < len(digits) {
			d = digits[k]
		}
		if sec == 0 && d == '0' {
			continue // leading zero
		}
		nInt++
		if nInt > maxEpochDigits {
			return time.Time{}, false
		}
		sec = sec*10 + int64(d-'0')
	}
	for k := 0; k < 9; k++ {
		idx := point + k
		d := byte('0')
		if idx >= 0 && idx < len(digits) {
			d = digits[idx]
		}
		nsec = nsec*10 + int64(d-'0')
	}
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec), true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
