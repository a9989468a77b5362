package localca_test

import (
	"testing"

	"github.com/openrunner/openrunner/localca"
)

// BenchmarkIssue is the cost of a new leaf: what the first handshake for a
// host, and each renewal, pays.
func BenchmarkIssue(b *testing.B) {
	ca, err := localca.Open(localca.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := ca.Issue("abc123defg.us-east-1.apprunner.localhost"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLeafCached is what every other handshake pays to find its leaf,
// from all cores at once.
func BenchmarkLeafCached(b *testing.B) {
	ca, err := localca.Open(localca.Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	const host = "abc123defg.us-east-1.apprunner.localhost"
	if _, err := ca.Leaf(host); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := ca.Leaf(host); err != nil {
				b.Fatal(err)
			}
		}
	})
}
