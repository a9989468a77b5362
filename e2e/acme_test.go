package e2e_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

// acmeEnv is a server whose custom domains get certificates from Pebble,
// on router ports fixed for the test, since Pebble's challenges go there.
type acmeEnv struct {
	pebble *testutil.Pebble
	cfg    daemon.Config
	d      *daemon.Daemon
	c      *apprunner.Client
}

func newACMEEnv(t testing.TB, maxDomains int, configure ...func(*daemon.Config, *testutil.Pebble)) *acmeEnv {
	t.Helper()
	testutil.NeedDockerTestImage(t)
	httpPort, tlsPort := testutil.FreePort(t), testutil.FreePort(t)
	p := testutil.StartPebble(t, httpPort, tlsPort)
	e := &acmeEnv{pebble: p, cfg: daemon.Config{
		Runtime: "docker", DataDir: t.TempDir(), MaxCustomDomains: maxDomains,
		RouterListen: "127.0.0.1:" + strconv.Itoa(httpPort), RouterTLSListen: "127.0.0.1:" + strconv.Itoa(tlsPort),
		ACME: daemon.ACMEConfig{Email: "ops@example.test", CA: p.Directory, CARootFile: p.RootFile, RetryMin: 200 * time.Millisecond},
	}}
	for _, f := range configure {
		f(&e.cfg, p)
	}
	e.start(t)
	return e
}

// start runs a server on the environment's data directory.
func (e *acmeEnv) start(t testing.TB) {
	t.Helper()
	e.d = testutil.MustRunDaemon(t, e.cfg)
	e.c = testutil.Client(e.d.URL(), testutil.ClientOptions{})
}

func (e *acmeEnv) tlsAddr() string { return strings.TrimPrefix(e.d.RouterTLSURL(), "https://") }

// serial returns the serial number of the certificate the router serves
// for host, verified against Pebble's root.
func (e *acmeEnv) serial(t testing.TB, host string) string {
	t.Helper()
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", e.tlsAddr(),
		&tls.Config{ServerName: host, RootCAs: e.pebble.Root(t)})
	if err != nil {
		t.Fatalf("TLS to %s: %v", host, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestCustomDomainsACME takes custom domains through Pebble, a real ACME
// CA that validates HTTP-01 and TLS-ALPN-01 against the router.
func TestCustomDomainsACME(t *testing.T) {
	e := newACMEEnv(t, 10)
	a := runningService(t, e.c, "acme-a", "from-a")
	b := runningService(t, e.c, "acme-b", "from-b")

	out, err := associate(t, e.c, a, "shop.example.test", nil)
	if err != nil || out.CustomDomain.Status != domainCreating {
		t.Fatalf("associate: %+v %v", out, err)
	}
	// creating → pending_certificate_dns_validation → active.
	seen := []types.CustomDomainAssociationStatus{domainCreating}
	deadline := time.Now().Add(60 * time.Second)
	for seen[len(seen)-1] != domainActive {
		if time.Now().After(deadline) {
			t.Fatalf("statuses %v; log:\n%s", seen, serviceLog(t, e.d.URL(), *a.ServiceArn, false))
		}
		ds := describeDomains(t, e.c, a.ServiceArn, 5)
		if st := ds[0].Status; st != seen[len(seen)-1] {
			seen = append(seen, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := fmt.Sprint(seen); got != "[creating pending_certificate_dns_validation active]" &&
		got != "[creating pending_certificate_dns_validation binding_certificate active]" {
		t.Fatalf("statuses %s", got)
	}
	roots := e.pebble.Root(t)
	for _, host := range []string{"shop.example.test", "www.shop.example.test"} {
		if code, body, proto := httpsGet(t, e.tlsAddr(), host, roots); code != 200 || body != "from-a" || proto != "HTTP/2.0" {
			t.Fatalf("https://%s: %d %q %s", host, code, body, proto)
		}
	}
	if log := serviceLog(t, e.d.URL(), *a.ServiceArn, false); !strings.Contains(log, "Custom domain shop.example.test is active.") {
		t.Fatalf("service log:\n%s", log)
	}
	_, err = associate(t, e.c, b, "shop.example.test", aws.Bool(false))
	wantAPIError(t, err, "InvalidRequestException", "already associated")

	// A domain whose DNS points elsewhere stays pending, with the reason
	// in the service log, retried.
	e.pebble.SetA(t, "elsewhere.example.test", "127.0.0.2")
	if _, err := associate(t, e.c, b, "elsewhere.example.test", aws.Bool(false)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ACME error is logged twice", func() bool {
		return strings.Count(serviceLog(t, e.d.URL(), *b.ServiceArn, false), "The certificate for custom domain elsewhere.example.test is not issued yet") >= 2
	})
	if d := waitDomain(t, e.c, b.ServiceArn, "elsewhere.example.test", domainPendingCertificateDnsValidation, time.Second); d == nil {
		t.Fatal("elsewhere.example.test left pending")
	}

	// --max-custom-domains 10: a seventh domain is accepted.
	for i := 2; i <= 7; i++ {
		if _, err := associate(t, e.c, a, fmt.Sprintf("n%d.example.test", i), aws.Bool(false)); err != nil {
			t.Fatalf("domain %d: %v", i, err)
		}
	}
	waitDomain(t, e.c, a.ServiceArn, "n7.example.test", domainActive, 60*time.Second)

	// A restart keeps the certificate: the same one is served, not a new
	// order.
	before := e.serial(t, "shop.example.test")
	if err := e.d.Close(); err != nil {
		t.Fatal(err)
	}
	e.start(t)
	waitFor(t, "the restarted server routes shop.example.test", func() bool {
		code, _ := get(t, e.d.RouterURL(), "shop.example.test", "/")
		return code == 200
	})
	if after := e.serial(t, "shop.example.test"); after != before {
		t.Fatalf("certificate after restart: serial %s, before %s: ordered again", after, before)
	}
	if d := waitDomain(t, e.c, a.ServiceArn, "shop.example.test", domainActive, time.Second); d == nil {
		t.Fatal("not active after restart")
	}

	// Disassociate: 404 on the host.
	if _, err := e.c.DisassociateCustomDomain(ctx, &apprunner.DisassociateCustomDomainInput{ServiceArn: a.ServiceArn, DomainName: aws.String("shop.example.test")}); err != nil {
		t.Fatal(err)
	}
	waitDomain(t, e.c, a.ServiceArn, "shop.example.test", "", 30*time.Second)
	waitFor(t, "shop.example.test answers 404", func() bool {
		code, _, _ := httpsGet(t, e.tlsAddr(), "shop.example.test", nil)
		return code == 404
	})
}

// TestCustomDomainsACMEWildcardNeedsDNS: without a DNS-01 provider a
// wildcard fails at once, with the reason in the service log.
func TestCustomDomainsACMEWildcardNeedsDNS(t *testing.T) {
	e := newACMEEnv(t, 0)
	a := runningService(t, e.c, "acme-wild", "from-wild")
	if _, err := associate(t, e.c, a, "*.wild.example.test", nil); err != nil {
		t.Fatal(err)
	}
	d := waitDomain(t, e.c, a.ServiceArn, "*.wild.example.test", domainCreateFailed, 30*time.Second)
	if got := recordsOf(d); !strings.HasSuffix(got, "FAILED") {
		t.Fatalf("records %s", got)
	}
	if log := serviceLog(t, e.d.URL(), *a.ServiceArn, false); !strings.Contains(log, "Failed to associate custom domain *.wild.example.test: a wildcard certificate needs the ACME DNS-01 challenge") {
		t.Fatalf("service log:\n%s", log)
	}
}

// TestCustomDomainsACMEWildcardDNS01: with --acme-dns-exec a wildcard is
// validated by DNS-01, the program setting the TXT record (here in
// challtestsrv, Pebble's DNS server), and serves any name under it.
func TestCustomDomainsACMEWildcardDNS01(t *testing.T) {
	script := filepath.Join(t.TempDir(), "dns-hook")
	e := newACMEEnv(t, 0, func(cfg *daemon.Config, p *testutil.Pebble) {
		hook := fmt.Sprintf(`#!/bin/sh
set -e
case "$1" in present) op=set-txt ;; cleanup) op=clear-txt ;; *) exit 2 ;; esac
curl -fsS -X POST -d "{\"host\":\"$2\",\"value\":\"$3\"}" %s/$op
`, p.ChallTestURL())
		if err := os.WriteFile(script, []byte(hook), 0o755); err != nil {
			t.Fatal(err)
		}
		cfg.ACME.DNSExec = script
	})
	a := runningService(t, e.c, "acme-dns01", "from-dns01")
	if _, err := associate(t, e.c, a, "*.wild.example.test", nil); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		ds := describeDomains(t, e.c, a.ServiceArn, 5)
		if ds[0].Status == domainActive {
			break
		}
		if time.Now().After(deadline) || ds[0].Status == domainCreateFailed {
			t.Fatalf("status %s; log:\n%s", ds[0].Status, serviceLog(t, e.d.URL(), *a.ServiceArn, false))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, body, _ := httpsGet(t, e.tlsAddr(), "api.wild.example.test", e.pebble.Root(t)); code != 200 || body != "from-dns01" {
		t.Fatalf("https://api.wild.example.test: %d %q", code, body)
	}
}

// BenchmarkAssociateToActive measures the time from AssociateCustomDomain
// to active (polling DescribeCustomDomains every 5 ms): against Pebble
// (ACME HTTP-01 or TLS-ALPN-01, one certificate per domain), and side by
// side the local CA used without ACME.
func BenchmarkAssociateToActive(b *testing.B) {
	run := func(b *testing.B, d *daemon.Daemon, c *apprunner.Client) {
		svc := runningService(b, c, "bench-domains", "hi")
		b.ResetTimer()
		for i := range b.N {
			name := fmt.Sprintf("b%d.bench.example.test", i)
			if _, err := associate(b, c, svc, name, aws.Bool(false)); err != nil {
				b.Fatal(err)
			}
			for st := domainCreating; st != domainActive; {
				time.Sleep(5 * time.Millisecond)
				for _, dom := range describeDomains(b, c, svc.ServiceArn, 5) {
					if aws.ToString(dom.DomainName) == name {
						st = dom.Status
					}
				}
				if st == domainCreateFailed {
					b.Fatalf("%s failed: %s", name, serviceLog(b, d.URL(), *svc.ServiceArn, false))
				}
			}
			b.StopTimer()
			if _, err := c.DisassociateCustomDomain(ctx, &apprunner.DisassociateCustomDomainInput{ServiceArn: svc.ServiceArn, DomainName: aws.String(name)}); err != nil {
				b.Fatal(err)
			}
			waitDomain(b, c, svc.ServiceArn, name, "", 30*time.Second)
			b.StartTimer()
		}
	}
	b.Run("pebble", func(b *testing.B) {
		e := newACMEEnv(b, 0)
		run(b, e.d, e.c)
	})
	b.Run("localca", func(b *testing.B) {
		testutil.NeedDockerTestImage(b)
		d := testutil.MustRunDaemon(b, daemon.Config{Runtime: "docker"})
		run(b, d, testutil.Client(d.URL(), testutil.ClientOptions{}))
	})
}
