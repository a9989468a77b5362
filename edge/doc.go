// Package edge is the front of the router's listeners: TLS termination
// with certificates chosen by SNI, HTTP/2 and HTTP/1.1 by ALPN, and the
// plain-HTTP listener's redirect to HTTPS. It wraps the router's handler;
// the router itself does not know about TLS (it sees r.TLS and sets
// X-Forwarded-Proto: https from it).
//
// # Hooks for custom domains
//
// The custom-domain work (ACME and domains served with the local CA)
// plugs into an Edge through two fields, set before the listeners serve
// and not changed afterwards:
//
//   - Edge.Certificate, a func(*tls.ClientHelloInfo) (*tls.Certificate,
//     error), is consulted first on every TLS handshake: for custom domains
//     and for ACME TLS-ALPN-01 challenge hellos (NextProtos includes
//     "acme-tls/1", after "h2" and "http/1.1", so such hellos negotiate it).
//     It returns (nil, nil) for names it does not manage; an error fails
//     the handshake.
//   - Edge.Challenge, a func(http.ResponseWriter, *http.Request) bool, sees
//     every request of the plain-HTTP listener first (the ACME HTTP-01 path
//     /.well-known/acme-challenge/). It returns true when it answered the
//     request. It is also the exception to the HTTPS redirect: a request it
//     answers is never redirected.
//
// The local CA (Edge.CA, a *localca.CA) issues certificates for any names
// with Leaf (cached, renewed) or Issue: what a custom domain gets when ACME
// is off.
//
// # Certificate selection
//
// GetCertificate tries, in order:
//
//  1. the Certificate hook;
//  2. the operator's certificate (Operator, from --tls-cert-file and
//     --tls-key-file, reloaded when the files change) when it covers the
//     name, wildcards included;
//  3. a local-CA leaf for the name when Routed says the router serves it
//     (a ServiceUrl host or a custom domain), issued on demand, cached and
//     renewed before it expires;
//  4. the default certificate, a local-CA leaf for DefaultName only, for
//     every other name and for hellos without SNI. Nothing is ever issued
//     on demand for an arbitrary name; the router answers such requests
//     404.
//
// HSTS is not sent.
package edge
