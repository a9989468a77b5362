package sigv4_test

import (
	"bytes"
	"testing"
)

// BenchmarkVerify verifies a header-signed App Runner call with a 100-byte
// body, as a server does for each request.
func BenchmarkVerify(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 100)
	r := signedAPIRequest(b, body)
	r.Header.Set("Content-Length", "100") // as net/http's server leaves it
	v := newVerifier()
	if _, err := v.Verify(r, body); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyParallel is BenchmarkVerify on all CPUs, sharing one
// Verifier (and its signing key cache).
func BenchmarkVerifyParallel(b *testing.B) {
	body := bytes.Repeat([]byte("x"), 100)
	r := signedAPIRequest(b, body)
	v := newVerifier()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := v.Verify(r, body); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
