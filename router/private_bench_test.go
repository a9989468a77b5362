package router_test

import (
	"net/http/httptest"
	"testing"

	"github.com/openrunner/openrunner/router"
)

// BenchmarkRouterPrivate is BenchmarkRouter through the Private handler: a
// private service reached at its VPC ingress domain. Run them side by side
// (go test -bench 'Router$|RouterPrivate' ./router/): the ingress lookup is
// one more map read.
func BenchmarkRouterPrivate(b *testing.B) {
	s := benchBackend(b)
	r, _ := MustRouter(b, router.Options{})
	MustSetRoute(b, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Private: true, MaxConcurrency: 100,
		Instances: []router.Instance{{ID: "i-1", URL: MustParseURL(b, s.URL)}}})
	const domain = "abc.def.us-east-1.localhost"
	if err := r.SetIngress(domain, testARN); err != nil {
		b.Fatal(err)
	}
	ps := httptest.NewServer(r.Private())
	b.Cleanup(ps.Close)
	benchGet(b, ps.URL, domain)
}
