package router_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/openrunner/openrunner/router"
)

func TestRouter_TwoHosts(t *testing.T) {
	_, in := MustBackend(t, "i-1", Hello("i-1"))
	r, srv := MustRouter(t, router.Options{})
	const custom = "www.example.com"
	// Hosts equal once normalized count once.
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost, "WWW.Example.com.", custom + ":443"}, Instances: []router.Instance{in}})
	c := NewClient(t)
	for _, host := range []string{testHost, custom, "WWW.EXAMPLE.COM:8080"} {
		if got, want := Do(t, c, "GET", srv.URL, host, "").Body, "hello from i-1"; got != want {
			t.Errorf("Host %q: body=%q, want %q", host, got, want)
		}
	}
	if got, want := Do(t, c, "GET", srv.URL, "example.com", "").Code, http.StatusNotFound; got != want {
		t.Errorf("another host: status=%d, want %d", got, want)
	}
	s := MustStats(t, r)
	if got, want := s.Hosts, []string{testHost, custom}; !slices.Equal(got, want) {
		t.Errorf("Hosts=%q, want %q", got, want)
	}
	if got, want := s.Requests, uint64(3); got != want {
		t.Errorf("Requests=%d, want %d: both hosts count for the service", got, want)
	}
	if got, want := InstanceStats(t, s, "i-1").Requests, uint64(3); got != want {
		t.Errorf("instance Requests=%d, want %d", got, want)
	}
	s.Hosts[0] = "changed"
	if got := MustStats(t, r).Hosts[0]; got != testHost {
		t.Errorf("changing a snapshot's Hosts changed the router's: %q", got)
	}

	r.DeleteRoute(testARN)
	for _, host := range []string{testHost, custom} {
		if got, want := Do(t, c, "GET", srv.URL, host, "").Code, http.StatusNotFound; got != want {
			t.Errorf("Host %q after DeleteRoute: status=%d, want %d", host, got, want)
		}
	}
}

func TestRouter_HostMoves(t *testing.T) {
	_, a := MustBackend(t, "a", Hello("a"))
	_, b := MustBackend(t, "b", Hello("b"))
	r, srv := MustRouter(t, router.Options{})
	c := NewClient(t)
	const shared = "www.example.com"
	body := func(host string) string {
		t.Helper()
		res := Do(t, c, "GET", srv.URL, host, "")
		if res.Code != http.StatusOK {
			return http.StatusText(res.Code)
		}
		return res.Body
	}
	MustSetRoute(t, r, router.Route{ServiceARN: "svc-a", Hosts: []string{"a.localhost", shared}, Instances: []router.Instance{a}})

	t.Run("ErrHeldByAnotherService", func(t *testing.T) {
		err := r.SetRoute(router.Route{ServiceARN: "svc-b", Hosts: []string{"b.localhost", "WWW.example.com:443"}, Instances: []router.Instance{b}})
		if err == nil {
			t.Fatal("SetRoute succeeded with a host of another service")
		}
		t.Log(err)
		if _, ok := r.Stats("svc-b"); ok {
			t.Fatal("a failed SetRoute added a route")
		}
		if got, want := body("b.localhost"), "Not Found"; got != want {
			t.Fatalf("b.localhost: %q, want %q: a failed SetRoute routed a host", got, want)
		}
		if got, want := body(shared), "hello from a"; got != want {
			t.Fatalf("%s: %q, want %q", shared, got, want)
		}
	})
	t.Run("DroppedHostStopsAtOnce", func(t *testing.T) {
		MustSetRoute(t, r, router.Route{ServiceARN: "svc-a", Hosts: []string{"a.localhost"}, Instances: []router.Instance{a}})
		if got, want := body(shared), "Not Found"; got != want {
			t.Fatalf("%s: %q, want %q", shared, got, want)
		}
		if got, want := body("a.localhost"), "hello from a"; got != want {
			t.Fatalf("a.localhost: %q, want %q", got, want)
		}
	})
	t.Run("OK", func(t *testing.T) {
		MustSetRoute(t, r, router.Route{ServiceARN: "svc-b", Hosts: []string{"b.localhost", shared}, Instances: []router.Instance{b}})
		for host, want := range map[string]string{shared: "hello from b", "b.localhost": "hello from b", "a.localhost": "hello from a"} {
			if got := body(host); got != want {
				t.Errorf("%s: %q, want %q", host, got, want)
			}
		}
		// Now svc-a may not take it back.
		if err := r.SetRoute(router.Route{ServiceARN: "svc-a", Hosts: []string{"a.localhost", shared}, Instances: []router.Instance{a}}); err == nil {
			t.Fatal("SetRoute succeeded with a host of another service")
		}
		if got, want := MustServiceStats(t, r, "svc-a").Hosts, []string{"a.localhost"}; !slices.Equal(got, want) {
			t.Fatalf("svc-a Hosts=%q, want %q: a failed SetRoute changed the route", got, want)
		}
	})
	t.Run("FreedByDeleteRoute", func(t *testing.T) {
		r.DeleteRoute("svc-b")
		MustSetRoute(t, r, router.Route{ServiceARN: "svc-a", Hosts: []string{"a.localhost", shared}, Instances: []router.Instance{a}})
		if got, want := body(shared), "hello from a"; got != want {
			t.Fatalf("%s: %q, want %q", shared, got, want)
		}
	})
}

func TestRouter_StatsSurviveHostChange(t *testing.T) {
	_, in := MustBackend(t, "i-1", Hello("i-1"))
	r, srv := MustRouter(t, router.Options{})
	c := NewClient(t)
	const other = "xyz987wvut.us-east-1.localhost"
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})
	for range 3 {
		Do(t, c, "GET", srv.URL, testHost, "")
	}
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{other}, Instances: []router.Instance{in}})
	if got, want := Do(t, c, "GET", srv.URL, testHost, "").Code, http.StatusNotFound; got != want {
		t.Fatalf("old host: status=%d, want %d", got, want)
	}
	if got, want := Do(t, c, "GET", srv.URL, other, "").Body, "hello from i-1"; got != want {
		t.Fatalf("new host: body=%q, want %q", got, want)
	}
	s := MustStats(t, r)
	if got, want := s.Hosts, []string{other}; !slices.Equal(got, want) {
		t.Errorf("Hosts=%q, want %q", got, want)
	}
	if got, want := s.Requests, uint64(4); got != want {
		t.Errorf("Requests=%d, want %d: counters carry over a host change", got, want)
	}
	if got, want := InstanceStats(t, s, "i-1").Requests, uint64(4); got != want {
		t.Errorf("instance Requests=%d, want %d", got, want)
	}
}
