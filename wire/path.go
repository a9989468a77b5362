package wire

import "strconv"

// pathSeg is one step of the path from an input's root to a member, linked
// to its parent. Generated code builds segments on the stack; they are
// rendered to text only when an error is reported.
type pathSeg struct {
	parent    *pathSeg
	kind      uint8
	sensitive bool   // segKey: the key is a sensitive value, never shown
	name      string // segMember: the member's model name
	index     int    // segIndex: 0-based element index
	key       string // segKey: the map key
}

const (
	segMember = iota
	segIndex
	segKey
)

// maxShown is the number of characters of a value (or map key) shown in a
// message; longer values are cut and end in "...".
const maxShown = 100

// appendValidationPath renders p as AWS (Coral) validation messages do:
// lowerCamel member names joined by dots, list elements as "tags.1.member"
// (1-based) and map entries as "runtimeEnvironmentVariables.<key>", with a
// sensitive key shown as ***.
func (p *pathSeg) appendValidationPath(b []byte) []byte {
	if p == nil {
		return b
	}
	if p.parent != nil {
		b = p.parent.appendValidationPath(b)
		b = append(b, '.')
	}
	switch p.kind {
	case segMember:
		if n := p.name; n != "" {
			c := n[0]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			b = append(b, n[1:]...)
		}
	case segIndex:
		b = strconv.AppendInt(b, int64(p.index)+1, 10)
		b = append(b, ".member"...)
	case segKey:
		b = appendShown(b, p.key, p.sensitive)
	}
	return b
}

// appendDecodePath renders p for decode errors, in the terms of the JSON
// the caller wrote: model member names joined by dots, list elements as
// "Tags[0]" (0-based) and map entries as "Map[key]" (sensitive keys as ***).
func (p *pathSeg) appendDecodePath(b []byte) []byte {
	if p == nil {
		return b
	}
	b = p.parent.appendDecodePath(b)
	switch p.kind {
	case segMember:
		if p.parent != nil {
			b = append(b, '.')
		}
		b = append(b, p.name...)
	case segIndex:
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(p.index), 10)
		b = append(b, ']')
	case segKey:
		b = append(b, '[')
		b = appendShown(b, p.key, p.sensitive)
		b = append(b, ']')
	}
	return b
}

// appendShown appends s as it may appear in a message: *** if sensitive,
// else at most maxShown characters, cut ones marked with "...".
func appendShown(b []byte, s string, sensitive bool) []byte {
	if sensitive {
		return append(b, "***"...)
	}
	n := 0
	for i := range s {
		if n == maxShown {
			b = append(b, s[:i]...)
			return append(b, "..."...)
		}
		n++
	}
	return append(b, s...)
}
