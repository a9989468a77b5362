package e2e_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/edge"
	"github.com/openrunner/openrunner/internal/testutil"
	"github.com/openrunner/openrunner/localca"
)

// caPool reads the local CA's root the way `openrunner ca` does.
func caPool(t testing.TB, d *daemon.Daemon) *x509.CertPool {
	t.Helper()
	b, err := localca.ReadRootPEM(filepath.Join(d.DataDir(), daemon.CADir))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatal("openrunner ca printed no certificate")
	}
	return pool
}

// httpsClient sends every request to d's HTTPS listener.
func httpsClient(d *daemon.Daemon, roots *x509.CertPool, h2 bool) *http.Client {
	return testutil.HTTPSClient(strings.TrimPrefix(d.RouterTLSURL(), "https://"), roots, h2)
}

func readAll(t testing.TB, resp *http.Response, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHTTPSServiceURL(t *testing.T) {
	image := testutil.PrivateDockerTestImage(t) // the test app with /header, /stream and /ws
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker", RedirectHTTP: true})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	created, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName:         aws.String("tls-app"),
		SourceConfiguration: imageSource(image, nil, "/testapp --greeting hello-over-tls"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if svc := waitStatus(t, c, created.Service.ServiceArn); svc.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s", svc.Status)
	}
	host := aws.ToString(created.Service.ServiceUrl)
	if strings.Contains(host, "://") {
		t.Fatalf("ServiceUrl %q has a scheme; App Runner returns a host", host)
	}
	roots := caPool(t, d)
	base := "https://" + host

	for _, h2 := range []bool{true, false} {
		name := map[bool]string{true: "HTTP2", false: "HTTP1"}[h2]
		hc := httpsClient(d, roots, h2)
		t.Run(name, func(t *testing.T) {
			resp, err := hc.Get(base + "/")
			if got := readAll(t, resp, err); resp.StatusCode != 200 || !strings.Contains(got, "hello-over-tls") {
				t.Fatalf("GET /: %d %q", resp.StatusCode, got)
			}
			if want := map[bool]string{true: "HTTP/2.0", false: "HTTP/1.1"}[h2]; resp.Proto != want {
				t.Errorf("Proto %s, want %s", resp.Proto, want)
			}
			if names := resp.TLS.PeerCertificates[0].DNSNames; len(names) != 1 || names[0] != host {
				t.Errorf("leaf names %v, want [%s]", names, host)
			}
			resp, err = hc.Get(base + "/header?name=X-Forwarded-Proto")
			if got := readAll(t, resp, err); got != "https" {
				t.Errorf("X-Forwarded-Proto %q", got)
			}
			// A streamed response: the first chunk arrives while the
			// instance is still writing the rest.
			began := time.Now()
			resp, err = hc.Get(base + "/stream?n=3&ms=400")
			if err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(resp.Body)
			line, err := br.ReadString('\n')
			firstAt := time.Since(began)
			rest, _ := io.ReadAll(br)
			resp.Body.Close()
			if err != nil || line != "chunk 0\n" || string(rest) != "chunk 1\nchunk 2\n" {
				t.Fatalf("stream: %q %q %v", line, rest, err)
			}
			if total := time.Since(began); firstAt > total-600*time.Millisecond {
				t.Errorf("first chunk after %v of %v: the response was buffered", firstAt, total)
			}
		})
	}

	t.Run("WebSocket", func(t *testing.T) {
		addr := strings.TrimPrefix(d.RouterTLSURL(), "https://")
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: host, RootCAs: roots, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprintf(conn, "GET /ws HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", host)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
			t.Fatalf("upgrade: %v %v", resp, err)
		}
		for _, msg := range []string{"ping over tls\n", "second frame\n"} {
			io.WriteString(conn, msg)
			got, err := br.ReadString('\n')
			if err != nil || got != msg {
				t.Fatalf("echo %q: %q %v", msg, got, err)
			}
		}
	})

	t.Run("UnknownHost", func(t *testing.T) {
		const unknown = "nobody.us-east-1.apprunner.localhost"
		// A verifying client refuses the default certificate for the name.
		if _, err := httpsClient(d, roots, true).Get("https://" + unknown + "/"); err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("a client verifying %s: %v", unknown, err)
		}
		hc := httpsClient(d, roots, true)
		hc.Transport.(*http.Transport).TLSClientConfig.InsecureSkipVerify = true
		resp, err := hc.Get("https://" + unknown + "/")
		body := readAll(t, resp, err)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "No service has the host") {
			t.Errorf("unknown host: %d %q", resp.StatusCode, body)
		}
		leaf := resp.TLS.PeerCertificates[0]
		if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != edge.DefaultName {
			t.Errorf("unknown host got a certificate for %v, want the default one", leaf.DNSNames)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots}); err != nil {
			t.Errorf("the default certificate is not the local CA's: %v", err)
		}
	})

	t.Run("RedirectHTTP", func(t *testing.T) {
		_, port, _ := net.SplitHostPort(strings.TrimPrefix(d.RouterTLSURL(), "https://"))
		req, _ := http.NewRequest(http.MethodGet, d.RouterURL()+"/header?name=X-Forwarded-Proto", nil)
		req.Host = host
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := "https://" + host + ":" + port + "/header?name=X-Forwarded-Proto"
		if resp.StatusCode != http.StatusPermanentRedirect || resp.Header.Get("Location") != want {
			t.Fatalf("plain HTTP: %d %q, want 308 %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if resp.Header.Get("Strict-Transport-Security") != "" {
			t.Error("HSTS sent, it is off by default")
		}
		// Following the redirect reaches the app over HTTPS.
		u, _ := url.Parse(resp.Header.Get("Location"))
		resp, err = httpsClient(d, roots, true).Get(u.String())
		if got := readAll(t, resp, err); resp.StatusCode != 200 || got != "https" {
			t.Errorf("after the redirect: %d %q", resp.StatusCode, got)
		}
	})
}

// TestLocalCAKeptAcrossRestarts: the root is created on first start, its
// key is sealed (never in clear on disk), and a restart serves leaves from
// the same root.
func TestLocalCAKeptAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	d := daemon.New(daemon.Config{Listen: "127.0.0.1:0", RouterListen: "127.0.0.1:0", DataDir: dir, Runtime: "process"})
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := localca.ReadRootPEM(filepath.Join(dir, daemon.CADir))
	if err != nil {
		t.Fatal(err)
	}
	leaf := defaultLeaf(t, d)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	caDir := filepath.Join(dir, daemon.CADir)
	if _, err := os.Stat(filepath.Join(caDir, localca.SealedKeyFile)); err != nil {
		t.Fatalf("no sealed key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(caDir, localca.KeyFile)); !os.IsNotExist(err) {
		t.Fatalf("a clear key file: %v", err)
	}
	noKeyInClear(t, dir)

	d2 := testutil.MustRunDaemon(t, daemon.Config{DataDir: dir, Runtime: "process"})
	again, _ := localca.ReadRootPEM(filepath.Join(dir, daemon.CADir))
	if string(again) != string(first) {
		t.Fatal("a restart made a new root")
	}
	block, _ := pem.Decode(first)
	root, _ := x509.ParseCertificate(block.Bytes)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	for _, l := range []*x509.Certificate{leaf, defaultLeaf(t, d2)} {
		if _, err := l.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
			t.Fatalf("a leaf does not chain to the kept root: %v", err)
		}
	}
}

// defaultLeaf returns the certificate the router's TLS listener serves to
// a name it does not route.
func defaultLeaf(t *testing.T, d *daemon.Daemon) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(d.RouterTLSURL(), "https://"), &tls.Config{ServerName: "x.example", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// noKeyInClear fails if any file under dir holds a PEM or DER private key.
func noKeyInClear(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil // a socket or lock
		}
		if strings.Contains(string(b), "PRIVATE KEY") {
			t.Errorf("%s holds a PEM private key", path)
		}
		if len(b) < 4096 {
			for i := range b {
				if _, err := x509.ParsePKCS8PrivateKey(b[i:]); err == nil {
					t.Errorf("%s holds a DER private key", path)
				}
			}
		}
		return nil
	})
}

func TestOperatorCertificate(t *testing.T) {
	ops, err := localca.Open(localca.Options{Dir: t.TempDir()}) // the operator's own CA
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	writeOperatorPair(t, ops, certFile, keyFile, "*.us-east-1.apprunner.localhost")
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "process", TLSCertFile: certFile, TLSKeyFile: keyFile})
	addr := strings.TrimPrefix(d.RouterTLSURL(), "https://")
	serial := func(name string) string {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, RootCAs: ops.Pool()})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial("abcdefghij.us-east-1.apprunner.localhost")
	// Not covered: the default local-CA certificate.
	if l := defaultLeaf(t, d); l.DNSNames[0] != edge.DefaultName {
		t.Errorf("uncovered name: %v", l.DNSNames)
	}
	// Renewal: the files are replaced; the next handshakes serve the new
	// pair without a restart.
	writeOperatorPair(t, ops, certFile, keyFile, "*.us-east-1.apprunner.localhost")
	deadline := time.Now().Add(10 * time.Second)
	for serial("abcdefghij.us-east-1.apprunner.localhost") == before {
		if time.Now().After(deadline) {
			t.Fatal("the replaced certificate was not picked up")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func writeOperatorPair(t *testing.T, ca *localca.CA, certFile, keyFile string, names ...string) {
	t.Helper()
	c, err := ca.Issue(names...)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(c.PrivateKey)
	files := map[string][]byte{
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}),
		keyFile:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	for path, data := range files {
		if err := os.WriteFile(path+".new", data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRouterTLSOff(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "process", RouterTLSListen: "off"})
	if d.RouterTLSURL() != "" {
		t.Errorf("HTTPS is off but served at %s", d.RouterTLSURL())
	}
	bad := daemon.New(daemon.Config{Listen: "127.0.0.1:0", RouterListen: "127.0.0.1:0", RouterTLSListen: "off", RedirectHTTP: true,
		DataDir: t.TempDir(), Runtime: "process"})
	if err := bad.Open(ctx); err == nil || !strings.Contains(err.Error(), "--redirect-http") {
		bad.Close()
		t.Fatalf("redirect without HTTPS: %v", err)
	}
}

// TestLocalCANewWhenKeyLost: a data directory copied without secret.key
// cannot open the root's key; the server still starts, with a new root, and
// says so.
func TestLocalCANewWhenKeyLost(t *testing.T) {
	dir := t.TempDir()
	d := testutil.MustRunDaemon(t, daemon.Config{DataDir: dir, Runtime: "process"})
	old, _ := localca.ReadRootPEM(filepath.Join(dir, daemon.CADir))
	d.Close()
	if err := os.Remove(filepath.Join(dir, "secret.key")); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	d2 := testutil.MustRunDaemon(t, daemon.Config{DataDir: dir, Runtime: "process", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "a new local CA was made") {
		t.Errorf("no clear error in the logs: %s", logs.String())
	}
	now, _ := localca.ReadRootPEM(filepath.Join(dir, daemon.CADir))
	if string(now) == string(old) {
		t.Fatal("kept a root whose key is unreadable")
	}
	if aside, _ := filepath.Glob(filepath.Join(dir, daemon.CADir+".unreadable-*", localca.CertFile)); len(aside) != 1 {
		t.Errorf("the old CA was not kept aside: %v", aside)
	}
	if _, err := defaultLeaf(t, d2).Verify(x509.VerifyOptions{Roots: caPool(t, d2)}); err != nil {
		t.Fatal(err)
	}
}
