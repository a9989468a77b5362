package edge

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/openrunner/openrunner/localca"
)

// DefaultName is the only name on the default certificate, served to hellos
// for names the router does not serve. .invalid never resolves (RFC 6761),
// so the certificate can never be valid for a name a client asked for.
const DefaultName = "unknown-host.openrunner.invalid"

// ACMETLSALPNProto is the ALPN protocol of ACME TLS-ALPN-01 challenges
// (RFC 8737).
const ACMETLSALPNProto = "acme-tls/1"

// ChallengePathPrefix is where ACME HTTP-01 challenges are asked (RFC 8555
// §8.3): the exception to the HTTPS redirect.
const ChallengePathPrefix = "/.well-known/acme-challenge/"

// Edge serves the router's handler on a TLS listener and a plain one. Set
// its fields before the listeners serve; they are read, never written, by
// the request path.
type Edge struct {
	// Handler serves every request that reaches a service: the router.
	Handler http.Handler
	// CA issues the ServiceUrl hosts' leaves and the default certificate.
	// Required.
	CA *localca.CA
	// Routed reports whether the router serves host (no port, any case):
	// only such hosts get a leaf issued on demand. Nil: none.
	Routed func(host string) bool
	// Operator is the operator's own certificate, or nil.
	Operator *KeyPair
	// Redirect makes the plain listener answer every request (but those
	// Challenge answers) with 308 to https://.
	Redirect bool
	// TLSPort is the TLS listener's port, for the redirect's location; 443
	// is left out of it.
	TLSPort int

	// Certificate is the custom-domain hook, consulted first on every
	// handshake; see the package doc. Nil: none.
	Certificate func(*tls.ClientHelloInfo) (*tls.Certificate, error)
	// Challenge is the plain listener's hook, tried before anything else;
	// see the package doc. Nil: none.
	Challenge func(http.ResponseWriter, *http.Request) bool

	// Logger receives warnings (a failed issuance); nil discards them.
	Logger *slog.Logger
}

// TLSConfig returns the TLS listener's configuration: certificates from
// GetCertificate, HTTP/2 preferred over HTTP/1.1, ACME's TLS-ALPN-01
// protocol accepted, TLS 1.2 at least.
func (e *Edge) TLSConfig() *tls.Config {
	return &tls.Config{
		GetCertificate: e.GetCertificate,
		NextProtos:     []string{"h2", "http/1.1", ACMETLSALPNProto},
		MinVersion:     tls.VersionTLS12,
	}
}

// GetCertificate picks the certificate for a hello, in the order the
// package doc gives.
func (e *Edge) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if e.Certificate != nil {
		c, err := e.Certificate(hello)
		if c != nil || err != nil {
			return c, err
		}
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name != "" && e.Operator != nil {
		if c := e.Operator.Get(); c != nil && c.Leaf.VerifyHostname(name) == nil {
			return c, nil
		}
	}
	if name != "" && e.Routed != nil && e.Routed(name) {
		c, err := e.CA.Leaf(name)
		if err == nil {
			return c, nil
		}
		e.logger().Warn("cannot issue a local-CA certificate; serving the default one", "host", name, "error", err)
	}
	c, err := e.CA.Leaf(DefaultName)
	if err != nil {
		return nil, errors.New("edge: no certificate: " + err.Error())
	}
	return c, nil
}

// HTTPSHandler is the TLS listener's handler.
func (e *Edge) HTTPSHandler() http.Handler { return e.Handler }

// HTTPHandler is the plain listener's handler: the Challenge hook, then
// the redirect if Redirect is set, else the router.
func (e *Edge) HTTPHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.Challenge != nil && e.Challenge(w, r) {
			return
		}
		if e.Redirect && r.Host != "" {
			e.redirect(w, r)
			return
		}
		e.Handler.ServeHTTP(w, r)
	})
}

// redirect answers 308 to the same host, path and query over HTTPS.
func (e *Edge) redirect(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // an IPv6 literal
	}
	if e.TLSPort != 0 && e.TLSPort != 443 {
		host += ":" + strconv.Itoa(e.TLSPort)
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "https://"+host+r.URL.RequestURI())
	w.WriteHeader(http.StatusPermanentRedirect)
}

func (e *Edge) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}
