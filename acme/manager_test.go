package acme_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrunner/openrunner/acme"
	"github.com/openrunner/openrunner/internal/testutil"
)

// front stands for the router: a plain and a TLS listener that answer the
// current Manager's challenges.
type front struct {
	httpAddr, tlsAddr string
	m                 atomic.Pointer[acme.Manager]
}

func newFront(t *testing.T) *front {
	t.Helper()
	f := &front{}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.httpAddr, f.tlsAddr = hl.Addr().String(), tl.Addr().String()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if m := f.m.Load(); m == nil || !m.HandleHTTPChallenge(w, r) {
			http.NotFound(w, r)
		}
	})
	tcfg := &tls.Config{NextProtos: []string{"http/1.1", "acme-tls/1"}, GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		return f.m.Load().GetCertificate(hello)
	}}
	hs, ts := &http.Server{Handler: h}, &http.Server{Handler: h}
	go hs.Serve(hl)
	go ts.Serve(tls.NewListener(tl, tcfg))
	t.Cleanup(func() { hs.Close(); ts.Close() })
	return f
}

func (f *front) manager(t *testing.T, p *testutil.Pebble, s *acme.Storage) *acme.Manager {
	t.Helper()
	pem, err := os.ReadFile(p.RootFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	m, err := acme.New(acme.Options{Email: "ops@example.test", CA: p.Directory, Roots: roots, HTTPAddr: f.httpAddr, TLSAddr: f.tlsAddr, Storage: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	f.m.Store(m)
	return m
}

// serial returns the serial of the certificate a TLS handshake with the
// front gets for name, verified against Pebble's root.
func (f *front) serial(t *testing.T, p *testutil.Pebble, name string) (string, error) {
	t.Helper()
	conn, err := tls.Dial("tcp", f.tlsAddr, &tls.Config{ServerName: name, RootCAs: p.Root(t)})
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

func (f *front) mustSerial(t *testing.T, p *testutil.Pebble, name string) string {
	t.Helper()
	s, err := f.serial(t, p, name)
	if err != nil {
		t.Fatalf("TLS for %s: %v", name, err)
	}
	return s
}

// TestManagerPebble orders a certificate from Pebble, serves it from a
// second Manager on the same storage (a restarted server) without a new
// order, and releases it.
func TestManagerPebble(t *testing.T) {
	f := newFront(t)
	_, hp, _ := net.SplitHostPort(f.httpAddr)
	_, tp, _ := net.SplitHostPort(f.tlsAddr)
	hport, _ := strconv.Atoi(hp)
	tport, _ := strconv.Atoi(tp)
	p := testutil.StartPebble(t, hport, tport)
	db := openDB(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	m1 := f.manager(t, p, newStorage(t, db, "server-1"))
	if err := m1.CanIssue("*.example.test"); err == nil {
		t.Fatal("a wildcard without DNS-01 can be issued")
	}
	if err := m1.Manage(ctx, "api.example.test"); err != nil {
		t.Fatal(err)
	}
	first := f.mustSerial(t, p, "api.example.test")
	m1.Close()

	m2 := f.manager(t, p, newStorage(t, db, "server-2"))
	if got := f.mustSerial(t, p, "api.example.test"); got != first {
		t.Fatalf("a restarted manager serves serial %s, want %s", got, first)
	}
	if err := m2.Manage(ctx, "api.example.test"); err != nil {
		t.Fatal(err)
	}
	if got := f.mustSerial(t, p, "api.example.test"); got != first {
		t.Fatalf("Manage ordered again: serial %s, want %s", got, first)
	}
	if err := m2.Release(ctx, "api.example.test"); err != nil {
		t.Fatal(err)
	}
	f.manager(t, p, newStorage(t, db, "server-3"))
	if _, err := f.serial(t, p, "api.example.test"); err == nil {
		t.Fatal("a released certificate is still served")
	}
}
