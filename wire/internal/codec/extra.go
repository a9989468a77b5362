package codec

import "encoding/base64"

// This file holds the codec for shapes App Runner's model does not have
// (long, blob, maps of lists), used by other APIs' generated packages.

// AppendBlob appends v as a JSON string in standard base64, the JSON
// protocols' form of a blob.
func AppendBlob(b, v []byte) []byte {
	b = append(b, '"')
	b = base64.StdEncoding.AppendEncode(b, v)
	return append(b, '"')
}

// Blob reads member p's base64 string; null is nil, and "" a non-nil
// empty slice.
func (d *Decoder) Blob(p *Path) []byte {
	if d.Null() {
		return nil
	}
	s, ok := d.Str(p)
	if !ok {
		return nil
	}
	v, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		d.Fail("expected a base64 string for member \"" + string(p.AppendDecodePath(nil)) + "\"")
		return nil
	}
	if v == nil {
		v = []byte{}
	}
	return v
}

// Int64Ptr reads member p's integer value; null is nil. Fractions,
// exponents and values outside the int64 range are errors.
func (d *Decoder) Int64Ptr(p *Path) *int64 {
	if d.Null() {
		return nil
	}
	v, ok := d.Integer(p, 64)
	if !ok {
		return nil
	}
	return &v
}

// AppendStringListMap appends a map of lists of strings with its keys
// sorted.
func AppendStringListMap(b []byte, m map[string][]string) []byte {
	b = append(b, '{')
	for i, k := range SortedKeys(m) {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendString(b, k)
		b = append(b, ':')
		b = AppendStringList(b, m[k])
	}
	return append(b, '}')
}
