package testutil

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// PebbleVersion is the Pebble that scripts/install-pebble builds.
const PebbleVersion = "v2.10.3"

// Pebble is a running Pebble (Let's Encrypt's test ACME CA) with
// pebble-challtestsrv as its DNS server, which answers 127.0.0.1 for every
// name unless told otherwise (SetA).
type Pebble struct {
	// Directory is the ACME directory URL; RootFile is the PEM of the root
	// its HTTPS is served with (for --acme-ca-root).
	Directory, RootFile string
	// DNS is the challtestsrv DNS server's address.
	DNS        string
	management string // Pebble's management API (https)
	challtest  string // challtestsrv's management API (http)
	client     *http.Client
}

// PebbleDir returns where scripts/install-pebble put Pebble, or skips the
// test (fails it under CI=true) when it is not there.
func PebbleDir(tb testing.TB) string {
	tb.Helper()
	dir := os.Getenv("OPENRUNNER_PEBBLE_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			tb.Fatal(err)
		}
		dir = filepath.Join(cache, "openrunner", "pebble", PebbleVersion)
	}
	for _, f := range []string{"pebble", "pebble-challtestsrv", "certs/pebble.minica.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			msg := fmt.Sprintf("Pebble is not installed in %s (run scripts/install-pebble): %v", dir, err)
			if os.Getenv("CI") == "true" {
				tb.Fatal(msg)
			}
			tb.Skip(msg)
		}
	}
	return dir
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(tb testing.TB) int {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// StartPebble starts challtestsrv and Pebble, validating HTTP-01 on
// httpPort and TLS-ALPN-01 on tlsPort of the addresses names resolve to;
// both stop when the test ends.
func StartPebble(tb testing.TB, httpPort, tlsPort int) *Pebble {
	tb.Helper()
	dir := PebbleDir(tb)
	p := &Pebble{
		DNS:        "127.0.0.1:" + strconv.Itoa(FreePort(tb)),
		challtest:  "127.0.0.1:" + strconv.Itoa(FreePort(tb)),
		management: "127.0.0.1:" + strconv.Itoa(FreePort(tb)),
		RootFile:   filepath.Join(dir, "certs", "pebble.minica.pem"),
	}
	listen := "127.0.0.1:" + strconv.Itoa(FreePort(tb))
	p.Directory = "https://" + listen + "/dir"
	startProcess(tb, "challtestsrv", filepath.Join(dir, "pebble-challtestsrv"), nil,
		"-management", p.challtest, "-dnsserver", p.DNS, "-http01", "", "-https01", "", "-tlsalpn01", "", "-doh", "",
		"-defaultIPv4", "127.0.0.1", "-defaultIPv6", "")
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress": listen, "managementListenAddress": p.management,
		"certificate": filepath.Join(dir, "certs", "localhost", "cert.pem"), "privateKey": filepath.Join(dir, "certs", "localhost", "key.pem"),
		"httpPort": httpPort, "tlsPort": tlsPort, "ocspResponderURL": "", "externalAccountBindingRequired": false,
		"retryAfter": map[string]int{"authz": 1, "order": 1}, "keyAlgorithm": "ecdsa",
		"profiles": map[string]any{"default": map[string]any{"description": "default", "validityPeriod": 7776000}},
	}}
	b, _ := json.Marshal(cfg)
	path := filepath.Join(tb.TempDir(), "pebble.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		tb.Fatal(err)
	}
	// No sleeps before validation, no nonces rejected at random, no
	// authorizations reused: fast and the same every run.
	startProcess(tb, "pebble", filepath.Join(dir, "pebble"), []string{"PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0", "PEBBLE_AUTHZREUSE=0"},
		"-config", path, "-dnsserver", p.DNS)

	pem, err := os.ReadFile(p.RootFile)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	p.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := p.client.Get(p.Directory)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			tb.Fatalf("Pebble did not answer at %s: %v", p.Directory, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// startProcess runs a helper program until the test ends.
func startProcess(tb testing.TB, name, path string, env []string, args ...string) {
	tb.Helper()
	var out bytes.Buffer
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	tb.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if tb.Failed() && os.Getenv("OPENRUNNER_TEST_LOG") != "" {
			tb.Logf("%s output:\n%s", name, out.String())
		}
	})
}

// Root returns the PEM root that Pebble signs certificates with (a new one
// each run), from its management API.
func (p *Pebble) Root(tb testing.TB) *x509.CertPool {
	tb.Helper()
	resp, err := p.client.Get("https://" + p.management + "/roots/0")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	pem, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("Pebble root: %d %v", resp.StatusCode, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		tb.Fatalf("Pebble root: no PEM in %q", pem)
	}
	return pool
}

// SetA makes the DNS server answer host with addr (an IPv4 address).
func (p *Pebble) SetA(tb testing.TB, host, addr string) {
	tb.Helper()
	b, _ := json.Marshal(map[string]any{"host": host + ".", "addresses": []string{addr}})
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, "http://"+p.challtest+"/add-a", bytes.NewReader(b))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("challtestsrv add-a %s: %s", host, resp.Status)
	}
}

// ChallTestURL is challtestsrv's management API (set-txt, clear-txt, ...).
func (p *Pebble) ChallTestURL() string { return "http://" + p.challtest }
