package router_test

import (
	"io"
	"net/http"
	"testing"

	"github.com/openrunner/openrunner/router"
)

// TestRouter_HopByHop checks that hop-by-hop headers, and those a
// Connection header names, go no further in either direction, that end-to-end
// ones do, and that "TE: trailers" is passed on.
func TestRouter_HopByHop(t *testing.T) {
	seen := make(chan http.Header, 1)
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("Connection", "X-Inst-Hop")
		w.Header().Set("X-Inst-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Inst-End", "2")
		io.WriteString(w, "ok")
	})
	res, _ := get1(t, in, "/", http.Header{
		"Connection": {"keep-alive, X-Client-Hop"}, "X-Client-Hop": {"secret"},
		"Proxy-Authorization": {"Basic Zm9vOmJhcg=="}, "Te": {"trailers, deflate;q=0.5"}, "X-Client-End": {"kept"},
	})
	h := <-seen
	for _, k := range []string{"X-Client-Hop", "Proxy-Authorization"} {
		if v, ok := h[k]; ok {
			t.Errorf("instance got %s: %q", k, v)
		}
	}
	if got := h.Get("X-Client-End"); got != "kept" {
		t.Errorf("instance got X-Client-End %q", got)
	}
	if got := h.Get("Te"); got != "trailers" {
		t.Errorf("instance got TE %q, want trailers", got)
	}
	for _, k := range []string{"X-Inst-Hop", "Keep-Alive"} {
		if v, ok := res.Header[k]; ok {
			t.Errorf("client got %s: %q", k, v)
		}
	}
	if got := res.Header.Get("X-Inst-End"); got != "2" {
		t.Errorf("client got X-Inst-End %q", got)
	}
}

// TestRouter_Trailers checks that trailers reach the client, announced
// ones and those sent with http.TrailerPrefix alike.
func TestRouter_Trailers(t *testing.T) {
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Sum")
		io.WriteString(w, "body")
		w.Header().Set("X-Sum", "42")
		w.Header().Set(http.TrailerPrefix+"X-Late", "late")
	})
	res, body := get1(t, in, "/", nil)
	if string(body) != "body" {
		t.Fatalf("body %q", body)
	}
	if got := res.Trailer.Get("X-Sum"); got != "42" {
		t.Errorf("trailer X-Sum = %q, want 42 (trailers %v)", got, res.Trailer)
	}
	if got := res.Trailer.Get("X-Late"); got != "late" {
		t.Errorf("trailer X-Late = %q, want late (trailers %v)", got, res.Trailer)
	}
}

// TestRouter_Query checks that the query reaches the instance as sent,
// and that one with a semicolon reaches it as Go's server parsed it.
func TestRouter_Query(t *testing.T) {
	seen := make(chan string, 1)
	_, in := MustBackend(t, "i-1", func(w http.ResponseWriter, r *http.Request) {
		seen <- r.URL.RawQuery
	})
	for q, want := range map[string]string{"b=2&a=%2F": "b=2&a=%2F", "a=1;b=2&c=3": "c=3"} {
		get1(t, in, "/p?"+q, nil)
		if got := <-seen; got != want {
			t.Errorf("query %q reached the instance as %q, want %q", q, got, want)
		}
	}
}

// get1 routes testHost to the one instance in on a new router and sends it
// a GET of path with the headers h; it returns the response and its body.
func get1(t *testing.T, in router.Instance, path string, h http.Header) (*http.Response, string) {
	t.Helper()
	r, srv := MustRouter(t, router.Options{})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}})
	req, _ := http.NewRequest("GET", srv.URL+path, nil)
	req.Host = testHost
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := NewClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(body)
}
