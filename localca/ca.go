package localca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// File names in the CA's directory.
const (
	CertFile      = "root.crt"
	SealedKeyFile = "root.key.sealed"
	KeyFile       = "root.key"
)

// ErrKeyUnreadable means the root's sealed key cannot be opened with the
// Sealer given: the data directory's secret key changed.
var ErrKeyUnreadable = errors.New("the root's sealed key cannot be opened with this data directory's secret key")

// sealContext binds the sealed root key to its purpose, so that no other
// sealed value of the data directory can stand in for it.
const sealContext = "localca-root-key"

// Lifetimes.
const (
	// RootLifetime is how long a new root is valid.
	RootLifetime = 10 * 365 * 24 * time.Hour
	// DefaultLeafLifetime is how long a leaf is valid when
	// Options.LeafLifetime is zero.
	DefaultLeafLifetime = 7 * 24 * time.Hour
	// backdate is subtracted from NotBefore so that clients whose clock is
	// a little behind accept a certificate issued just now.
	backdate = time.Hour
)

// Sealer seals and opens the root's private key; *vault.Vault is one.
type Sealer interface {
	Seal(plaintext []byte, context string) []byte
	Open(sealed []byte, context string) ([]byte, error)
}

// Options configures Open.
type Options struct {
	// Dir holds the CA's files; it is created (0700) if missing. Required.
	Dir string
	// Sealer, if set, encrypts the root's private key at rest; otherwise it
	// is written in clear with mode 0600.
	Sealer Sealer
	// LeafLifetime is how long leaves are valid; zero means
	// DefaultLeafLifetime.
	LeafLifetime time.Duration
	// Now returns the current time, for validity periods and renewal; nil
	// means time.Now.
	Now func() time.Time
}

// CA is a loaded local certificate authority. Its methods are safe for
// concurrent use.
type CA struct {
	root     *x509.Certificate
	rootDER  []byte
	key      *ecdsa.PrivateKey
	lifetime time.Duration
	now      func() time.Time

	mu     sync.RWMutex
	leaves map[string]*tls.Certificate // by the sorted names, comma-joined; guarded by mu
}

// Open loads the CA in opts.Dir, creating it on first use.
func Open(opts Options) (*CA, error) {
	if opts.Dir == "" {
		return nil, errors.New("localca: a directory is required")
	}
	ca := &CA{lifetime: opts.LeafLifetime, now: opts.Now, leaves: map[string]*tls.Certificate{}}
	if ca.lifetime <= 0 {
		ca.lifetime = DefaultLeafLifetime
	}
	if ca.now == nil {
		ca.now = time.Now
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	certPEM, err := os.ReadFile(filepath.Join(opts.Dir, CertFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		err = ca.create(opts)
	case err == nil:
		err = ca.load(opts, certPEM)
	}
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	return ca, nil
}

// ReadRootPEM returns the root certificate of the CA in dir, PEM-encoded,
// without its key: what `openrunner ca` prints.
func ReadRootPEM(dir string) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(dir, CertFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no local CA in %s yet: it is created when openrunner serve first starts with its router", dir)
	}
	return b, err
}

// create makes a new root and writes it, the key first.
func (ca *CA) create(opts Options) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	id := make([]byte, 4)
	_, _ = rand.Read(id)
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "OpenRunner Local CA " + hex.EncodeToString(id), Organization: []string{"OpenRunner"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(RootLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if opts.Sealer != nil {
		err = writeAtomic(filepath.Join(opts.Dir, SealedKeyFile), opts.Sealer.Seal(keyDER, sealContext), 0o600)
	} else {
		err = writeAtomic(filepath.Join(opts.Dir, KeyFile), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	}
	if err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(opts.Dir, CertFile), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return ca.set(der, key)
}

// load reads the root's key for the certificate certPEM.
func (ca *CA) load(opts Options, certPEM []byte) error {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return fmt.Errorf("%s is not a PEM certificate", filepath.Join(opts.Dir, CertFile))
	}
	var keyDER []byte
	if opts.Sealer != nil {
		sealed, err := os.ReadFile(filepath.Join(opts.Dir, SealedKeyFile))
		if err != nil {
			return fmt.Errorf("the root's sealed key: %w", err)
		}
		if keyDER, err = opts.Sealer.Open(sealed, sealContext); err != nil {
			return ErrKeyUnreadable
		}
	} else {
		b, err := os.ReadFile(filepath.Join(opts.Dir, KeyFile))
		if err != nil {
			return fmt.Errorf("the root's key: %w", err)
		}
		kb, _ := pem.Decode(b)
		if kb == nil {
			return fmt.Errorf("%s is not a PEM key", filepath.Join(opts.Dir, KeyFile))
		}
		keyDER = kb.Bytes
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return err
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return errors.New("the root's key is not an ECDSA key")
	}
	return ca.set(block.Bytes, key)
}

// set installs the root, checking that key is its key.
func (ca *CA) set(der []byte, key *ecdsa.PrivateKey) error {
	root, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	pub, ok := root.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return errors.New("the root's key does not match its certificate")
	}
	ca.root, ca.rootDER, ca.key = root, der, key
	return nil
}

// Root returns the root certificate.
func (ca *CA) Root() *x509.Certificate { return ca.root }

// RootPEM returns the root certificate, PEM-encoded.
func (ca *CA) RootPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.rootDER})
}

// Pool returns a certificate pool holding only the root, for clients.
func (ca *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.root)
	return p
}

// Issue signs a new leaf for names (DNS names, wildcards such as
// *.example.com, or IP addresses), valid for the leaf lifetime from now
// (never past the root's expiry). The first name is its common name.
func (ca *CA) Issue(names ...string) (*tls.Certificate, error) {
	if len(names) == 0 {
		return nil, errors.New("localca: a certificate needs at least one name")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := ca.now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: names[0], Organization: []string{"OpenRunner"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(ca.lifetime),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if tmpl.NotAfter.After(ca.root.NotAfter) {
		tmpl.NotAfter = ca.root.NotAfter
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.root, key.Public(), ca.key)
	if err != nil {
		return nil, fmt.Errorf("localca: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &tls.Certificate{Certificate: [][]byte{der, ca.rootDER}, PrivateKey: key, Leaf: leaf}, nil
}

// Leaf returns a leaf for names from the cache, issuing one if there is
// none or the cached one is due for renewal (past two thirds of its
// lifetime). Names are compared ignoring case and order.
func (ca *CA) Leaf(names ...string) (*tls.Certificate, error) {
	key := cacheKey(names)
	ca.mu.RLock()
	c := ca.leaves[key]
	ca.mu.RUnlock()
	if c != nil && !ca.due(c.Leaf) {
		return c, nil
	}
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c := ca.leaves[key]; c != nil && !ca.due(c.Leaf) {
		return c, nil // issued while this call waited
	}
	c, err := ca.Issue(normalize(names)...)
	if err != nil {
		return nil, err
	}
	// Issuing is rare (once per name per renewal): drop the expired leaves
	// of names no longer asked for, so the cache stays as large as the set
	// of names in use.
	now := ca.now()
	for k, old := range ca.leaves {
		if now.After(old.Leaf.NotAfter) {
			delete(ca.leaves, k)
		}
	}
	ca.leaves[key] = c
	return c, nil
}

// Forget drops the cached leaf for names, if any: a host that is no longer
// served need not keep its certificate.
func (ca *CA) Forget(names ...string) {
	key := cacheKey(names)
	ca.mu.Lock()
	delete(ca.leaves, key)
	ca.mu.Unlock()
}

// normalize returns names lowercased, without trailing dots.
func normalize(names []string) []string {
	norm := make([]string, len(names))
	for i, n := range names {
		norm[i] = strings.ToLower(strings.TrimSuffix(n, "."))
	}
	return norm
}

// cacheKey is the cache key of a set of names: normalized, sorted,
// deduplicated, comma-joined. One name (the handshake path) costs no
// allocation when it is lowercase already.
func cacheKey(names []string) string {
	if len(names) == 1 {
		return strings.ToLower(strings.TrimSuffix(names[0], "."))
	}
	sorted := normalize(names)
	slices.Sort(sorted)
	return strings.Join(slices.Compact(sorted), ",")
}

// due reports whether leaf is past two thirds of its validity.
func (ca *CA) due(leaf *x509.Certificate) bool {
	life := leaf.NotAfter.Sub(leaf.NotBefore)
	return !ca.now().Before(leaf.NotBefore.Add(life * 2 / 3))
}

// serial returns a random 128-bit serial number.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	return n.Add(n, big.NewInt(1)) // never zero
}

// writeAtomic writes data to path through a temporary file in the same
// directory, synced and renamed, so that path holds the old content or the
// new, never part of it.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
