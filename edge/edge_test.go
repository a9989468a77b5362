package edge_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrunner/openrunner/edge"
	"github.com/openrunner/openrunner/internal/testutil"
	"github.com/openrunner/openrunner/localca"
)

// echo answers with the protocol and whether the request came over TLS.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "%s tls=%v host=%s", r.Proto, r.TLS != nil, r.Host)
})

func newCA(t *testing.T, now func() time.Time) *localca.CA {
	t.Helper()
	ca, err := localca.Open(localca.Options{Dir: t.TempDir(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// start serves e on two loopback listeners, TLS and plain, as the daemon
// does, and returns their addresses.
func start(t *testing.T, e *edge.Edge) (tlsAddr, plainAddr string) {
	t.Helper()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.TLSPort = tl.Addr().(*net.TCPAddr).Port
	ts := &http.Server{Handler: e.HTTPSHandler(), TLSConfig: e.TLSConfig(), ErrorLog: nil}
	ps := &http.Server{Handler: e.HTTPHandler()}
	go ts.ServeTLS(tl, "", "")
	go ps.Serve(pl)
	t.Cleanup(func() { ts.Close(); ps.Close() })
	return tl.Addr().String(), pl.Addr().String()
}

var client = testutil.HTTPSClient

// handshake connects to addr with SNI name (none if empty) and returns the
// leaf served, without verifying it, and the negotiated protocol.
func handshake(t *testing.T, addr, name string, protos ...string) (*x509.Certificate, string) {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true, NextProtos: protos})
	if err != nil {
		t.Fatalf("handshake for %q: %v", name, err)
	}
	defer conn.Close()
	st := conn.ConnectionState()
	return st.PeerCertificates[0], st.NegotiatedProtocol
}

func body(t *testing.T, resp *http.Response, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func TestHTTP2AndHTTP1ByALPN(t *testing.T) {
	ca := newCA(t, nil)
	e := &edge.Edge{Handler: echo, CA: ca, Routed: func(h string) bool { return h == "svc.example" }}
	tlsAddr, _ := start(t, e)
	for _, tc := range []struct {
		h2   bool
		want string
	}{{true, "HTTP/2.0 tls=true"}, {false, "HTTP/1.1 tls=true"}} {
		resp, err := client(tlsAddr, ca.Pool(), tc.h2).Get("https://svc.example/")
		if got := body(t, resp, err); !strings.HasPrefix(got, tc.want) || resp.Proto != strings.Fields(tc.want)[0] {
			t.Errorf("h2=%v: %s %q, want %q", tc.h2, resp.Proto, got, tc.want)
		}
	}
}

func TestCertificateOrder(t *testing.T) {
	ca := newCA(t, nil)
	other := newCA(t, nil) // the hook's and the operator's issuer
	hooked, _ := other.Issue("hooked.example")
	dir := t.TempDir()
	writePair(t, dir, other, "*.ops.example")
	op, err := edge.LoadKeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var sawALPN []string
	var mu sync.Mutex
	e := &edge.Edge{Handler: echo, CA: ca, Operator: op,
		Routed: func(h string) bool { return h == "svc.example" || h == "a.ops.example" },
		Certificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			mu.Lock()
			sawALPN = hello.SupportedProtos
			mu.Unlock()
			if hello.ServerName == "hooked.example" {
				return hooked, nil
			}
			return nil, nil
		}}
	tlsAddr, _ := start(t, e)

	leaf, _ := handshake(t, tlsAddr, "hooked.example")
	if !leaf.Equal(hooked.Leaf) {
		t.Error("the hook's certificate was not served for its name")
	}
	// The operator's wildcard wins over a local-CA leaf for a routed name.
	leaf, _ = handshake(t, tlsAddr, "a.ops.example")
	if leaf.VerifyHostname("a.ops.example") != nil || leaf.Issuer.CommonName != other.Root().Subject.CommonName {
		t.Errorf("a.ops.example: got %v from %s, want the operator's wildcard", leaf.DNSNames, leaf.Issuer.CommonName)
	}
	leaf, _ = handshake(t, tlsAddr, "SVC.example")
	if leaf.VerifyHostname("svc.example") != nil || leaf.Issuer.CommonName != ca.Root().Subject.CommonName {
		t.Errorf("svc.example: got %v from %s, want a local-CA leaf", leaf.DNSNames, leaf.Issuer.CommonName)
	}
	for _, name := range []string{"nope.example", ""} {
		leaf, _ = handshake(t, tlsAddr, name)
		if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != edge.DefaultName || leaf.Issuer.CommonName != ca.Root().Subject.CommonName {
			t.Errorf("%q: got %v, want the default certificate", name, leaf.DNSNames)
		}
	}
	// An ACME TLS-ALPN-01 hello reaches the hook and negotiates acme-tls/1.
	if _, proto := handshake(t, tlsAddr, "hooked.example", edge.ACMETLSALPNProto); proto != edge.ACMETLSALPNProto {
		t.Errorf("negotiated %q for an acme-tls/1 hello", proto)
	}
	mu.Lock()
	if len(sawALPN) != 1 || sawALPN[0] != edge.ACMETLSALPNProto {
		t.Errorf("the hook saw ALPN %v", sawALPN)
	}
	mu.Unlock()
}

// writePair issues a certificate for names from ca and writes it and its
// key as cert.pem and key.pem in dir (atomically, as a renewal tool would).
func writePair(t *testing.T, dir string, ca *localca.CA, names ...string) *x509.Certificate {
	t.Helper()
	c, err := ca.Issue(names...)
	if err != nil {
		t.Fatal(err)
	}
	var certPEM []byte
	for _, der := range c.Certificate {
		certPEM = append(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"cert.pem": certPEM, "key.pem": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})} {
		tmp := filepath.Join(dir, name+".tmp")
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return c.Leaf
}

func TestOperatorCertificateReloaded(t *testing.T) {
	ca, ops := newCA(t, nil), newCA(t, nil)
	dir := t.TempDir()
	first := writePair(t, dir, ops, "*.us-east-1.example.net")
	op, err := edge.LoadKeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	op.CheckInterval = 0
	tlsAddr, _ := start(t, &edge.Edge{Handler: echo, CA: ca, Operator: op})

	resp, err := client(tlsAddr, ops.Pool(), true).Get("https://abc.us-east-1.example.net/")
	if got := body(t, resp, err); !strings.HasPrefix(got, "HTTP/2.0 tls=true") {
		t.Fatalf("through the operator's certificate: %q", got)
	}
	if leaf, _ := handshake(t, tlsAddr, "abc.us-east-1.example.net"); !leaf.Equal(first) {
		t.Fatal("not the operator's certificate")
	}
	// A name the certificate does not cover gets the default.
	if leaf, _ := handshake(t, tlsAddr, "abc.eu-west-1.example.net"); leaf.DNSNames[0] != edge.DefaultName {
		t.Errorf("uncovered name got %v", leaf.DNSNames)
	}

	// Renewal: new files, same paths; no restart.
	time.Sleep(10 * time.Millisecond) // a distinct modification time
	second := writePair(t, dir, ops, "*.us-east-1.example.net", "us-east-1.example.net")
	if leaf, _ := handshake(t, tlsAddr, "abc.us-east-1.example.net"); !leaf.Equal(second) {
		t.Fatal("the replaced certificate was not picked up")
	}
	// A broken replacement keeps the last good pair.
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("not a certificate"), 0o600)
	if leaf, _ := handshake(t, tlsAddr, "abc.us-east-1.example.net"); !leaf.Equal(second) {
		t.Fatal("a broken file replaced the certificate")
	}

	if _, err := edge.LoadKeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), nil); err == nil {
		t.Error("LoadKeyPair accepted a broken certificate")
	}
}

func TestLeafRenewedWithoutRestart(t *testing.T) {
	var offset atomic.Int64 // how far the CA's and the client's clock are ahead
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	advance := func(d time.Duration) { offset.Add(int64(d)) }
	ca := newCA(t, now)
	tlsAddr, _ := start(t, &edge.Edge{Handler: echo, CA: ca, Routed: func(string) bool { return true }})
	get := func() *x509.Certificate {
		conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "svc.example", RootCAs: ca.Pool(), Time: now})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	first := get()
	advance(3 * 24 * time.Hour)
	if !get().Equal(first) {
		t.Fatal("renewed too early")
	}
	advance(3 * 24 * time.Hour) // 6 of 7 days: due, and still valid for the client
	second := get()
	if second.Equal(first) || !second.NotAfter.After(first.NotAfter) {
		t.Fatal("not renewed")
	}
	advance(2 * 24 * time.Hour) // past the first leaf's expiry
	if third := get(); !third.Equal(second) {
		t.Fatal("renewed again too early")
	}
}

func TestRedirectHTTP(t *testing.T) {
	ca := newCA(t, nil)
	e := &edge.Edge{Handler: echo, CA: ca, Redirect: true,
		Challenge: func(w http.ResponseWriter, r *http.Request) bool {
			if tok, ok := strings.CutPrefix(r.URL.Path, edge.ChallengePathPrefix); ok {
				fmt.Fprint(w, "key-authz-"+tok)
				return true
			}
			return false
		}}
	tlsAddr, plainAddr := start(t, e)
	port := tlsAddr[strings.LastIndexByte(tlsAddr, ':')+1:]
	c := client(plainAddr, nil, false)
	for _, tc := range []struct{ host, path, want string }{
		{"svc.example", "/a/b?x=1&y=%20", "https://svc.example:" + port + "/a/b?x=1&y=%20"},
		{"svc.example:8080", "/", "https://svc.example:" + port + "/"},
		{"[::1]:80", "/p", "https://[::1]:" + port + "/p"},
	} {
		req, _ := http.NewRequest(http.MethodPost, "http://"+plainAddr+tc.path, strings.NewReader("body"))
		req.Host = tc.host
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != tc.want {
			t.Errorf("%s%s: %d %q, want 308 %q", tc.host, tc.path, resp.StatusCode, resp.Header.Get("Location"), tc.want)
		}
	}
	resp, err := c.Get("http://svc.example" + edge.ChallengePathPrefix + "tok123")
	if got := body(t, resp, err); resp.StatusCode != 200 || got != "key-authz-tok123" {
		t.Errorf("challenge: %d %q", resp.StatusCode, got)
	}
	std := &edge.Edge{Handler: echo, CA: ca, Redirect: true, TLSPort: 443}
	rec := httptest.NewRecorder()
	std.HTTPHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://svc.example/x", nil))
	if loc := rec.Header().Get("Location"); rec.Code != http.StatusPermanentRedirect || loc != "https://svc.example/x" {
		t.Errorf("port 443: %d Location %q", rec.Code, loc)
	}
}

func TestPlainWithoutRedirect(t *testing.T) {
	ca := newCA(t, nil)
	_, plainAddr := start(t, &edge.Edge{Handler: echo, CA: ca})
	resp, err := client(plainAddr, nil, false).Get("http://svc.example/")
	if got := body(t, resp, err); got != "HTTP/1.1 tls=false host=svc.example" {
		t.Errorf("plain: %q", got)
	}
}
