package router_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openrunner/openrunner/router"
)

func TestRouter_Private(t *testing.T) {
	_, in := MustBackend(t, "i-1", Hello("i-1"))
	r, public := MustRouter(t, router.Options{})
	private := httptest.NewServer(r.Private())
	t.Cleanup(private.Close)
	c := NewClient(t)
	const domain = "abc.def.us-east-1.localhost"
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, ServiceName: "secret-svc", Hosts: []string{testHost}, Private: true, Instances: []router.Instance{in}})

	unknown := Do(t, c, "GET", public.URL, "nobody.localhost", "")
	res := Do(t, c, "GET", public.URL, testHost, "")
	if res.Code != http.StatusNotFound {
		t.Fatalf("public listener: status %d, want 404", res.Code)
	}
	if strings.Contains(res.Body, "secret-svc") || strings.Contains(res.Body, "i-1") ||
		strings.Replace(res.Body, testHost, "nobody.localhost", 1) != unknown.Body {
		t.Fatalf("public listener's 404 differs from an unknown host's: %q vs %q", res.Body, unknown.Body)
	}
	if got := Do(t, c, "GET", private.URL, domain, "").Code; got != http.StatusNotFound {
		t.Fatalf("private listener before SetIngress: %d, want 404", got)
	}
	if err := r.SetIngress(strings.ToUpper(domain)+".", testARN); err != nil {
		t.Fatal(err)
	}
	if got := Do(t, c, "GET", private.URL, domain+":80", ""); got.Code != http.StatusOK || got.Body != "hello from i-1" {
		t.Fatalf("private listener: %d %q", got.Code, got.Body)
	}
	// The private listener serves ingress domains only.
	if got := Do(t, c, "GET", private.URL, testHost, "").Code; got != http.StatusNotFound {
		t.Fatalf("private listener, service host: %d, want 404", got)
	}
	if got := Do(t, c, "GET", public.URL, domain, "").Code; got != http.StatusNotFound {
		t.Fatalf("public listener, ingress domain: %d, want 404", got)
	}
	// Made public, the service answers on its host again.
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})
	if got := Do(t, c, "GET", public.URL, testHost, "").Code; got != http.StatusOK {
		t.Fatalf("public route: %d", got)
	}
	r.RemoveIngress(domain)
	if got := Do(t, c, "GET", private.URL, domain, "").Code; got != http.StatusNotFound {
		t.Fatalf("after RemoveIngress: %d, want 404", got)
	}
	if err := r.SetIngress("", testARN); err == nil {
		t.Fatal("SetIngress accepted an empty domain")
	}
}
