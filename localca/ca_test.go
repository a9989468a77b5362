package localca_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner/localca"
	"github.com/openrunner/openrunner/vault"
)

// clock is a settable clock for renewal tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testVault(t *testing.T) *vault.Vault {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func verify(t *testing.T, ca *localca.CA, leaf *x509.Certificate, name string, at time.Time) error {
	t.Helper()
	_, err := leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), DNSName: name, CurrentTime: at, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}

func TestCreateAndReload(t *testing.T) {
	dir, v := t.TempDir(), testVault(t)
	ca, err := localca.Open(localca.Options{Dir: dir, Sealer: v})
	if err != nil {
		t.Fatal(err)
	}
	root := ca.Root()
	if !strings.HasPrefix(root.Subject.CommonName, "OpenRunner Local CA ") || len(root.Subject.CommonName) != len("OpenRunner Local CA ")+8 {
		t.Errorf("root name %q", root.Subject.CommonName)
	}
	if !root.IsCA || root.PublicKeyAlgorithm != x509.ECDSA || root.NotAfter.Sub(root.NotBefore) < 10*365*24*time.Hour {
		t.Errorf("root: CA %v, key %v, valid %v", root.IsCA, root.PublicKeyAlgorithm, root.NotAfter.Sub(root.NotBefore))
	}
	pemOnDisk, err := localca.ReadRootPEM(dir)
	if err != nil || !bytes.Equal(pemOnDisk, ca.RootPEM()) {
		t.Fatalf("ReadRootPEM: %v", err)
	}

	again, err := localca.Open(localca.Options{Dir: dir, Sealer: v})
	if err != nil {
		t.Fatal(err)
	}
	if !again.Root().Equal(root) {
		t.Fatal("reopening made a new root")
	}
	// A leaf from the reopened CA chains to the root clients already trust.
	c, err := again.Issue("abc.us-east-1.apprunner.localhost")
	if err != nil {
		t.Fatal(err)
	}
	if err := verify(t, ca, c.Leaf, "abc.us-east-1.apprunner.localhost", time.Now()); err != nil {
		t.Fatal(err)
	}

	// Another vault key cannot open the root's key.
	other, _ := vault.New(bytes.Repeat([]byte{8}, 32))
	if _, err := localca.Open(localca.Options{Dir: dir, Sealer: other}); !errors.Is(err, localca.ErrKeyUnreadable) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestSealedKeyNotInClear(t *testing.T) {
	dir := t.TempDir()
	if _, err := localca.Open(localca.Options{Dir: dir, Sealer: testVault(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, localca.KeyFile)); !os.IsNotExist(err) {
		t.Fatalf("a clear key file exists: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte("PRIVATE KEY")) {
			t.Errorf("%s holds a PEM private key", e.Name())
		}
		// No file, nor any suffix of one, parses as the root's key.
		for i := range b {
			if _, err := x509.ParsePKCS8PrivateKey(b[i:]); err == nil {
				t.Fatalf("%s holds a private key in clear at offset %d", e.Name(), i)
			}
		}
		if e.Name() == localca.SealedKeyFile {
			if fi, _ := e.Info(); fi.Mode().Perm() != 0o600 {
				t.Errorf("sealed key mode %v", fi.Mode().Perm())
			}
		}
	}
	if len(entries) != 2 {
		t.Errorf("files %v, want the certificate and the sealed key (no temporary files)", entries)
	}
}

func TestUnsealedKeyIs0600(t *testing.T) {
	dir := t.TempDir()
	if _, err := localca.Open(localca.Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, localca.KeyFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, localca.KeyFile))
	if blk, _ := pem.Decode(b); blk == nil || blk.Type != "PRIVATE KEY" {
		t.Fatal("the key file is not a PEM key")
	}
	if _, err := localca.Open(localca.Options{Dir: dir}); err != nil {
		t.Fatalf("reopen: %v", err)
	}
}

// A crash after the key was written and before the certificate: the next
// start makes a whole new CA rather than fail or use a lost key.
func TestKeyWithoutCertificateStartsOver(t *testing.T) {
	dir, v := t.TempDir(), testVault(t)
	ca, err := localca.Open(localca.Options{Dir: dir, Sealer: v})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, localca.CertFile))
	again, err := localca.Open(localca.Options{Dir: dir, Sealer: v})
	if err != nil {
		t.Fatal(err)
	}
	if again.Root().Equal(ca.Root()) {
		t.Fatal("same root without its certificate file")
	}
}

func TestLeafCachedAndRenewed(t *testing.T) {
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	ca, err := localca.Open(localca.Options{Dir: t.TempDir(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	const host = "abc.us-east-1.apprunner.localhost"
	first, err := ca.Leaf(host)
	if err != nil {
		t.Fatal(err)
	}
	if got := first.Leaf.NotAfter.Sub(clk.Now()); got != localca.DefaultLeafLifetime {
		t.Errorf("leaf valid for %v after issue, want %v", got, localca.DefaultLeafLifetime)
	}
	if err := verify(t, ca, first.Leaf, host, clk.Now()); err != nil {
		t.Fatal(err)
	}
	if c, _ := ca.Leaf(strings.ToUpper(host) + "."); c != first {
		t.Fatal("the same name (any case, trailing dot) was issued again")
	}
	clk.Add(4 * 24 * time.Hour)
	if c, _ := ca.Leaf(host); c != first {
		t.Fatal("renewed before two thirds of the lifetime")
	}
	clk.Add(24 * time.Hour) // day 5 of 7: due
	renewed, err := ca.Leaf(host)
	if err != nil {
		t.Fatal(err)
	}
	if renewed == first || !renewed.Leaf.NotAfter.After(first.Leaf.NotAfter) {
		t.Fatal("not renewed after two thirds of the lifetime")
	}
	// The renewed leaf is valid past the old one's expiry.
	if err := verify(t, ca, renewed.Leaf, host, first.Leaf.NotAfter.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	ca.Forget(host)
	if c, _ := ca.Leaf(host); c == renewed {
		t.Fatal("Forget kept the leaf")
	}
}

func TestIssueNames(t *testing.T) {
	ca, err := localca.Open(localca.Options{Dir: t.TempDir(), LeafLifetime: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ca.Issue("example.com", "*.example.com", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"example.com", "www.example.com", "127.0.0.1"} {
		if err := c.Leaf.VerifyHostname(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if c.Leaf.NotAfter.Sub(c.Leaf.NotBefore) > 2*time.Hour {
		t.Errorf("LeafLifetime ignored: %v", c.Leaf.NotAfter.Sub(c.Leaf.NotBefore))
	}
	if _, err := ca.Issue(); err == nil {
		t.Error("a certificate without names")
	}
}
