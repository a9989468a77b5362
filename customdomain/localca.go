package customdomain

import (
	"context"
	"crypto/tls"

	"github.com/openrunner/openrunner/localca"
)

// LocalCA gives custom domains certificates from OpenRunner's local CA,
// without ACME (a laptop, CI): a domain is active as soon as it is
// associated, and clients trust it through `openrunner ca`.
type LocalCA struct {
	CA *localca.CA
}

var _ Certificates = LocalCA{}

// CanIssue implements Certificates: the local CA signs any name.
func (LocalCA) CanIssue(...string) error { return nil }

// Manage implements Certificates.
func (l LocalCA) Manage(_ context.Context, name string) error {
	_, err := l.CA.Leaf(name)
	return err
}

// Release implements Certificates.
func (l LocalCA) Release(_ context.Context, name string) error {
	l.CA.Forget(name)
	return nil
}

// GetCertificate implements Certificates: a leaf for the name asked, which
// under a wildcard domain is the one name rather than the wildcard.
func (l LocalCA) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return l.CA.Leaf(hello.ServerName)
}
