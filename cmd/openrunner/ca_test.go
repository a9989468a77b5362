package main

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/localca"
)

func TestCACommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, dir, addr, tlsAddr := buildBinary(t), t.TempDir(), freePort(t), freePort(t)

	out, err := exec.Command(bin, "ca", "--data-dir", dir).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "no local CA") {
		t.Fatalf("ca before the first start: %v %q", err, out)
	}

	startServer(t, bin, addr, dir, "--router-tls-listen", tlsAddr, "--runtime", "process")
	cmd := exec.Command(bin, "ca")
	cmd.Env = append(cmd.Environ(), "OPENRUNNER_DATA_DIR="+dir)
	pemOut, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	onDisk, _ := localca.ReadRootPEM(filepath.Join(dir, daemon.CADir))
	if !bytes.Equal(pemOut, onDisk) || bytes.Contains(pemOut, []byte("PRIVATE")) {
		t.Fatalf("openrunner ca printed %q", pemOut)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemOut) {
		t.Fatal("not a PEM certificate")
	}
	// The server's HTTPS listener serves certificates of that root.
	conn, err := tls.Dial("tcp", tlsAddr, &tls.Config{ServerName: "x.example", InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ConnectionState().PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Fatalf("the served certificate does not chain to openrunner ca's root: %v", err)
	}
}

func TestParseTLSFlags(t *testing.T) {
	env := map[string]string{"OPENRUNNER_ROUTER_TLS_LISTEN": "127.0.0.1:8443", "OPENRUNNER_REDIRECT_HTTP": "true"}
	getenv := func(k string) string { return env[k] }
	c, err := parseServeFlags(nil, getenv, io.Discard)
	if err != nil || c.RouterTLSListen != "127.0.0.1:8443" || !c.RedirectHTTP || c.TLSCertFile != "" {
		t.Fatalf("env: %+v %v", c, err)
	}
	c, err = parseServeFlags([]string{"--router-tls-listen", "off", "--redirect-http=false", "--tls-cert-file", "a.pem", "--tls-key-file", "b.pem"}, getenv, io.Discard)
	if err != nil || c.RouterTLSListen != "off" || c.RedirectHTTP || c.TLSCertFile != "a.pem" || c.TLSKeyFile != "b.pem" {
		t.Fatalf("flags: %+v %v", c, err)
	}
	if c, _ := parseServeFlags(nil, func(string) string { return "" }, io.Discard); c.RouterTLSListen != daemon.DefaultRouterTLSListen || c.RedirectHTTP {
		t.Fatalf("defaults: %+v", c)
	}
	for _, bad := range [][]string{{"--tls-cert-file", "a.pem"}, {"--router-tls-listen", "off"}} {
		if _, err := parseServeFlags(bad, getenv, io.Discard); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
}
