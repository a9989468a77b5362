package codec

import (
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/openrunner/openrunner"
)

// Validator collects the constraint violations of one input, in member
// order, for the AWS-style message built by err.
type Validator struct {
	n    int // violations found
	msgs []string
}

// maxListed bounds the violations spelled out in one message, so a huge
// invalid list cannot turn into a huge error body. The count in the
// message's first words stays exact.
const maxListed = 100

// Err returns nil, or an EINVALID error whose message follows AWS's:
// "1 validation error detected: <violation>" or "N validation errors
// detected: <first>; <second>; ...".
func (vd *Validator) Err() error {
	if vd.n == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(strconv.Itoa(vd.n))
	if vd.n == 1 {
		b.WriteString(" validation error detected: ")
	} else {
		b.WriteString(" validation errors detected: ")
	}
	for i, m := range vd.msgs {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m)
	}
	return openrunner.Errorf(openrunner.EINVALID, "%s", b.String())
}

// add records that the value shown at p breaks constraint. shown is
// already formatted ("'abc'", "null").
func (vd *Validator) add(p *Path, shown, constraint string) {
	vd.n++
	if len(vd.msgs) >= maxListed {
		return
	}
	b := make([]byte, 0, 64+len(shown)+len(constraint))
	b = append(b, "Value "...)
	b = append(b, shown...)
	b = append(b, " at '"...)
	b = p.appendValidationPath(b)
	b = append(b, "' failed to satisfy constraint: "...)
	b = append(b, constraint...)
	vd.msgs = append(vd.msgs, string(b))
}

// quote formats a string value for a message.
func quote(s string, sensitive bool) string {
	b := make([]byte, 0, len(s)+2)
	b = append(b, '\'')
	b = appendShown(b, s, sensitive)
	return string(append(b, '\''))
}

// Required reports a required member that is absent.
func (vd *Validator) Required(p *Path) {
	vd.add(p, "null", "Member must not be null")
}

// StrLen checks a string's length in Unicode code points; min or max < 0
// means no bound.
func (vd *Validator) StrLen(p *Path, s string, sensitive bool, min, max int) {
	// A string of at most max bytes has at most max code points: skip
	// counting in the common case.
	if min <= 0 && (max < 0 || len(s) <= max) {
		return
	}
	n := utf8.RuneCountInString(s)
	if min > 0 && n < min {
		vd.add(p, quote(s, sensitive), "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
	if max >= 0 && n > max {
		vd.add(p, quote(s, sensitive), "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// Pattern reports a string that does not match the model pattern (quoted
// verbatim from the model).
func (vd *Validator) Pattern(p *Path, s string, sensitive bool, pattern string) {
	vd.add(p, quote(s, sensitive), "Member must satisfy regular expression pattern: "+pattern)
}

// Enum reports a value outside the enum set, given as "[A, B]".
func (vd *Validator) Enum(p *Path, s string, sensitive bool, set string) {
	vd.add(p, quote(s, sensitive), "Member must satisfy enum value set: "+set)
}

// IntMin and IntMax report an integer out of its range.
func (vd *Validator) IntMin(p *Path, v, min int64) {
	vd.add(p, "'"+strconv.FormatInt(v, 10)+"'", "Member must have value greater than or equal to "+strconv.FormatInt(min, 10))
}

func (vd *Validator) IntMax(p *Path, v, max int64) {
	vd.add(p, "'"+strconv.FormatInt(v, 10)+"'", "Member must have value less than or equal to "+strconv.FormatInt(max, 10))
}

// Size checks the number of elements of a list or map; min or max < 0 means
// no bound. shown formats the value and is called only on a violation.
func (vd *Validator) Size(p *Path, n, min, max int, shown func() string) {
	if min > 0 && n < min {
		vd.add(p, shown(), "Member must have length greater than or equal to "+strconv.Itoa(min))
	}
	if max >= 0 && n > max {
		vd.add(p, shown(), "Member must have length less than or equal to "+strconv.Itoa(max))
	}
}

// ShowStrings formats a list of strings as Java's List.toString does, the
// form AWS messages use: '[a, b]', cut after maxShown characters.
func ShowStrings[T ~string](l []T, sensitive bool) string {
	var b strings.Builder
	b.WriteString("[")
	for i, s := range l {
		if i > 0 {
			b.WriteString(", ")
		}
		if sensitive {
			b.WriteString("***")
		} else {
			b.WriteString(string(s))
		}
		if b.Len() > 4*maxShown {
			break // enough to show; quote cuts it
		}
	}
	b.WriteString("]")
	return quote(b.String(), false)
}

// ShowCount formats a list or map whose elements are not shown (structures
// or sensitive maps) as one {...} per element: '[{...}, {...}]'.
func ShowCount(n int, open, close string) string {
	var b strings.Builder
	b.WriteString(open)
	for i := 0; i < n && b.Len() <= 4*maxShown; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("{...}")
	}
	b.WriteString(close)
	return quote(b.String(), false)
}
