package codec

import "strconv"

// Path is one step of the path from an input's root to a member, linked
// to its parent. Generated code builds segments on the stack; they are
// rendered to text only when an error is reported.
type Path struct {
	Parent    *Path
	Kind      uint8
	Sensitive bool   // SegKey: the key is a sensitive value, never shown
	Name      string // SegMember: the member's model name
	Index     int    // SegIndex: 0-based element index
	Key       string // SegKey: the map key
}

const (
	SegMember = iota
	SegIndex
	SegKey
)

// maxShown is the number of characters of a value (or map key) shown in a
// message; longer values are cut and end in "...".
const maxShown = 100

// appendValidationPath renders p as AWS (Coral) validation messages do:
// lowerCamel member names joined by dots, list elements as "tags.1.member"
// (1-based) and map entries as "runtimeEnvironmentVariables.<key>", with a
// sensitive key shown as ***.
func (p *Path) appendValidationPath(b []byte) []byte {
	if p == nil {
		return b
	}
	if p.Parent != nil {
		b = p.Parent.appendValidationPath(b)
		b = append(b, '.')
	}
	switch p.Kind {
	case SegMember:
		if n := p.Name; n != "" {
			c := n[0]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			b = append(b, n[1:]...)
		}
	case SegIndex:
		b = strconv.AppendInt(b, int64(p.Index)+1, 10)
		b = append(b, ".member"...)
	case SegKey:
		b = appendShown(b, p.Key, p.Sensitive)
	}
	return b
}

// AppendDecodePath renders p for decode errors, in the terms of the JSON
// the caller wrote: model member names joined by dots, list elements as
// "Tags[0]" (0-based) and map entries as "Map[key]" (sensitive keys as ***).
func (p *Path) AppendDecodePath(b []byte) []byte {
	if p == nil {
		return b
	}
	b = p.Parent.AppendDecodePath(b)
	switch p.Kind {
	case SegMember:
		if p.Parent != nil {
			b = append(b, '.')
		}
		b = append(b, p.Name...)
	case SegIndex:
		b = append(b, '[')
		b = strconv.AppendInt(b, int64(p.Index), 10)
		b = append(b, ']')
	case SegKey:
		b = append(b, '[')
		b = appendShown(b, p.Key, p.Sensitive)
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
