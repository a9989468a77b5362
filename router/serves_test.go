package router_test

import (
	"testing"

	"github.com/openrunner/openrunner/router"
)

func TestRouter_Serves(t *testing.T) {
	_, in := MustBackend(t, "i-1", Hello("i-1"))
	r, _ := MustRouter(t, router.Options{})
	if r.Serves(testHost) {
		t.Fatal("Serves before any route")
	}
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost, "www.example.com"}, Instances: []router.Instance{in}})
	for _, h := range []string{testHost, "WWW.Example.com.", "www.example.com:443"} {
		if !r.Serves(h) {
			t.Errorf("Serves(%q) = false", h)
		}
	}
	if r.Serves("example.com") || r.Serves("") {
		t.Error("Serves an unrouted host")
	}
	r.DeleteRoute(testARN)
	if r.Serves(testHost) {
		t.Error("Serves a deleted route's host")
	}
}
