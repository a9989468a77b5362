package acme

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3"
	"go.uber.org/zap"
)

// LetsEncrypt is the default directory: Let's Encrypt's production CA.
const LetsEncrypt = certmagic.LetsEncryptProductionCA

// ErrNoDNSProvider is why a wildcard cannot be issued: only DNS-01 proves
// control of a wildcard, and no DNS provider is configured.
var ErrNoDNSProvider = errors.New("a wildcard certificate needs the ACME DNS-01 challenge, and no DNS provider is configured (--acme-dns-exec)")

// Options configures a Manager.
type Options struct {
	// Email is the ACME account's contact; required.
	Email string
	// CA is the ACME directory URL; default LetsEncrypt.
	CA string
	// Roots, when set, are the only roots trusted for the CA's directory
	// (a test CA such as Pebble); nil trusts the system's.
	Roots *x509.CertPool
	// HTTPAddr and TLSAddr are the router's plain and TLS listeners: the
	// CA's HTTP-01 and TLS-ALPN-01 challenges reach them, and the router
	// answers them through HandleHTTPChallenge and GetCertificate. An
	// empty TLSAddr (no TLS listener) leaves TLS-ALPN-01 out.
	HTTPAddr, TLSAddr string
	// DNS, when set, solves DNS-01 for wildcard names: an ExecDNS is given
	// each record's full name; another libdns provider gets the zone
	// certmagic finds through DNSResolvers.
	DNS certmagic.DNSProvider
	// DNSResolvers are the resolvers DNS-01 uses to find zones (host:port);
	// empty: the system's.
	DNSResolvers []string
	Storage      *Storage
}

// Manager obtains, caches and renews certificates for custom-domain names
// with certmagic, HTTP-01 and TLS-ALPN-01 for plain names, DNS-01 for
// wildcards.
type Manager struct {
	cache    *certmagic.Cache
	plain    *certmagic.Config
	wildcard *certmagic.Config // nil without a DNS provider
	issuer   *certmagic.ACMEIssuer

	closeOnce sync.Once
}

// New returns a Manager; Close stops its renewals.
func New(o Options) (*Manager, error) {
	if o.Email == "" || o.Storage == nil {
		return nil, errors.New("acme: an email and a storage are required")
	}
	if o.CA == "" {
		o.CA = LetsEncrypt
	}
	host, httpPort, err := splitPort(o.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("acme: router address: %w", err)
	}
	tlsPort := 0
	if o.TLSAddr != "" {
		if _, tlsPort, err = splitPort(o.TLSAddr); err != nil {
			return nil, fmt.Errorf("acme: router TLS address: %w", err)
		}
	}
	m := &Manager{}
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(c certmagic.Certificate) (*certmagic.Config, error) {
			for _, n := range c.Names {
				if strings.HasPrefix(n, "*.") && m.wildcard != nil {
					return m.wildcard, nil
				}
			}
			return m.plain, nil
		},
		Logger: zap.NewNop(),
	})
	newConfig := func(solver acmez.Solver) (*certmagic.Config, *certmagic.ACMEIssuer) {
		cfg := certmagic.New(m.cache, certmagic.Config{Storage: o.Storage, Logger: zap.NewNop()})
		cfg.OCSP.DisableStapling = true
		iss := certmagic.NewACMEIssuer(cfg, certmagic.ACMEIssuer{
			CA: o.CA, Email: o.Email, Agreed: true, TrustedRoots: o.Roots,
			// The router holds these ports: certmagic finds them taken
			// and leaves the answers to the router's hooks.
			ListenHost: host, AltHTTPPort: httpPort, AltTLSALPNPort: tlsPort,
			DisableTLSALPNChallenge: o.TLSAddr == "",
			DNS01Solver:             solver, Logger: zap.NewNop(),
		})
		cfg.Issuers = []certmagic.Issuer{iss}
		return cfg, iss
	}
	m.plain, m.issuer = newConfig(nil)
	switch dns := o.DNS.(type) {
	case nil:
	case ExecDNS:
		m.wildcard, _ = newConfig(execSolver{dns})
	default:
		m.wildcard, _ = newConfig(&certmagic.DNS01Solver{DNSManager: certmagic.DNSManager{
			DNSProvider: dns, Resolvers: o.DNSResolvers, PropagationTimeout: -1, Logger: zap.NewNop(),
		}})
	}
	return m, nil
}

func splitPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

func (m *Manager) config(name string) (*certmagic.Config, error) {
	if !strings.HasPrefix(name, "*.") {
		return m.plain, nil
	}
	if m.wildcard == nil {
		return nil, ErrNoDNSProvider
	}
	return m.wildcard, nil
}

// CanIssue reports why names cannot be issued at all (a wildcard without a
// DNS provider), or nil.
func (m *Manager) CanIssue(names ...string) error {
	for _, n := range names {
		if _, err := m.config(n); err != nil {
			return err
		}
	}
	return nil
}

// Manage makes sure name has a certificate: from the cache, else from the
// storage (a restarted server orders nothing), else ordered from the CA,
// once, in this call. A managed certificate renews by itself.
func (m *Manager) Manage(ctx context.Context, name string) error {
	cfg, err := m.config(name)
	if err != nil {
		return err
	}
	return cfg.ManageSync(ctx, []string{name})
}

// Release stops renewing name's certificate and removes it from the cache
// and the storage.
func (m *Manager) Release(ctx context.Context, name string) error {
	m.cache.RemoveManaged([]certmagic.SubjectIssuer{{Subject: name}})
	return m.plain.Storage.Delete(ctx, certmagic.StorageKeys.CertsSitePrefix(m.issuer.IssuerKey(), name))
}

// GetCertificate returns the certificate of a managed name, or the answer
// to a TLS-ALPN-01 challenge. A certificate not in the cache yet (a
// restarted server before Manage) is loaded from the storage, never
// ordered: the caller asks only for names it manages.
func (m *Manager) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if IsChallenge(hello) {
		return m.plain.GetCertificate(hello)
	}
	c, err := m.plain.GetCertificate(hello)
	if err == nil {
		return c, nil
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	names := []string{name}
	if i := strings.IndexByte(name, '.'); i > 0 {
		names = append(names, "*"+name[i:])
	}
	ctx := hello.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	loaded := false
	for _, n := range names {
		if cfg, cerr := m.config(n); cerr == nil {
			if _, lerr := cfg.CacheManagedCertificate(ctx, n); lerr == nil {
				loaded = true
			}
		}
	}
	if !loaded {
		return nil, err
	}
	return m.plain.GetCertificate(hello)
}

// IsChallenge reports whether hello is an ACME TLS-ALPN-01 validation.
func IsChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acmez.ACMETLS1Protocol
}

// HandleHTTPChallenge answers an ACME HTTP-01 challenge request and
// reports whether r was one.
func (m *Manager) HandleHTTPChallenge(w http.ResponseWriter, r *http.Request) bool {
	return m.issuer.HandleHTTPChallenge(w, r)
}

// Close stops renewals; it may be called more than once.
func (m *Manager) Close() {
	m.closeOnce.Do(m.cache.Stop)
}

// ObtainTimeout bounds one attempt to order a certificate.
const ObtainTimeout = 2 * time.Minute
