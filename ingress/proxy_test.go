package ingress_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openrunner/openrunner/ingress"
)

func TestProxyForwardsBothWays(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write([]byte(r.Host + " " + string(b)))
	}))
	defer backend.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- ingress.Proxy(ctx, ln, strings.TrimPrefix(backend.URL, "http://")) }()

	for i := range 3 { // several connections, one after the other and kept alive
		req, _ := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", strings.NewReader("ping"))
		req.Host = "svc.example"
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "svc.example ping" {
			t.Fatalf("request %d: %q", i, b)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Proxy: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Proxy did not return after its context ended")
	}
}

func TestProxyTargetDown(t *testing.T) {
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	target := dead.Addr().String()
	dead.Close()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go ingress.Proxy(ctx, ln, target)
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	if n, err := c.Read(make([]byte, 1)); err == nil || n != 0 {
		t.Fatalf("a connection to a dead target stayed open: %d, %v", n, err)
	}
}

func TestMainNeedsTarget(t *testing.T) {
	if err := ingress.Main([]string{"--listen", "127.0.0.1:0"}); err == nil || !strings.Contains(err.Error(), "--target") {
		t.Fatalf("Main without --target: %v", err)
	}
}
