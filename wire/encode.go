package wire

import (
	"slices"

	"github.com/openrunner/openrunner/internal/jsonenc"
)

// appendString appends s as a JSON string (see jsonenc.AppendString).
func appendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

// appendSep appends the comma between members or elements: one is needed
// when anything was written since position n (just after the opening
// brace or bracket).
func appendSep(b []byte, n int) []byte {
	if len(b) > n {
		return append(b, ',')
	}
	return b
}

// appendStringList appends a list of strings (or enum values).
func appendStringList[T ~string](b []byte, l []T) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, string(s))
	}
	return append(b, ']')
}

// appendStringMap appends a map of strings (or enum values) with its keys
// sorted, so output is deterministic.
func appendStringMap[T ~string](b []byte, m map[string]T) []byte {
	b = append(b, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, string(m[k]))
	}
	return append(b, '}')
}

// appendStructList appends a list of structures.
func appendStructList[T any, P interface {
	*T
	AppendJSON([]byte) []byte
}](b []byte, l []T) []byte {
	b = append(b, '[')
	for i := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = P(&l[i]).AppendJSON(b)
	}
	return append(b, ']')
}

// sortedKeys returns m's keys in increasing order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
