package codec

import (
	"slices"

	"github.com/openrunner/openrunner/internal/jsonenc"
)

// AppendString appends s as a JSON string (see jsonenc.AppendString).
func AppendString(b []byte, s string) []byte { return jsonenc.AppendString(b, s) }

// AppendSep appends the comma between members or elements: one is needed
// when anything was written since position n (just after the opening
// brace or bracket).
func AppendSep(b []byte, n int) []byte {
	if len(b) > n {
		return append(b, ',')
	}
	return b
}

// AppendStringList appends a list of strings (or enum values).
func AppendStringList[T ~string](b []byte, l []T) []byte {
	b = append(b, '[')
	for i, s := range l {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, string(s))
	}
	return append(b, ']')
}

// AppendStringMap appends a map of strings (or enum values) with its keys
// sorted, so output is deterministic.
func AppendStringMap[T ~string](b []byte, m map[string]T) []byte {
	b = append(b, '{')
	for i, k := range SortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendString(b, string(m[k]))
	}
	return append(b, '}')
}

// AppendStructList appends a list of structures.
func AppendStructList[T any, P interface {
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

// SortedKeys returns m's keys in increasing order.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
