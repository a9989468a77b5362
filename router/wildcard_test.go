package router_test

import (
	"net/http"
	"testing"

	"github.com/openrunner/openrunner/router"
)

func TestRouter_WildcardHost(t *testing.T) {
	_, a := MustBackend(t, "a", Hello("a"))
	_, b := MustBackend(t, "b", Hello("b"))
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost, "*.example.com"}, Instances: []router.Instance{a}})
	const other = "arn:aws:apprunner:us-east-1:123456789012:service/other/0123456789abcdef0123456789abcdef"
	MustSetRoute(t, r, router.Route{ServiceARN: other, Hosts: []string{"exact.example.com"}, Instances: []router.Instance{b}})
	c := NewClient(t)
	for host, want := range map[string]string{
		"api.example.com": "hello from a", "API.Example.COM.:443": "hello from a",
		"exact.example.com": "hello from b", // an exact host wins over a wildcard
	} {
		if got := Do(t, c, "GET", srv.URL, host, "").Body; got != want {
			t.Errorf("Host %q: body=%q, want %q", host, got, want)
		}
	}
	// A wildcard covers one label, not the parent nor deeper names.
	for _, host := range []string{"example.com", "a.b.example.com", "example.org"} {
		if got := Do(t, c, "GET", srv.URL, host, "").Code; got != http.StatusNotFound {
			t.Errorf("Host %q: status=%d, want 404", host, got)
		}
	}
	if !r.Serves("x.example.com") || r.Serves("example.com") {
		t.Error("Serves disagrees with routing for wildcard hosts")
	}
	r.DeleteRoute(testARN)
	if got := Do(t, c, "GET", srv.URL, "api.example.com", "").Code; got != http.StatusNotFound {
		t.Errorf("after DeleteRoute: status=%d, want 404", got)
	}
}
