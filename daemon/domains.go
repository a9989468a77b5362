package daemon

import (
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/acme"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/customdomain"
	"github.com/openrunner/openrunner/router"
	"github.com/openrunner/openrunner/vault"
)

// ACMEConfig turns ACME on for custom domains' certificates. Without an
// Email, custom domains get local-CA certificates.
type ACMEConfig struct {
	// Email is the ACME account's contact.
	Email string
	// CA is the directory URL; default Let's Encrypt's production CA.
	CA string
	// CARootFile is a PEM file of the roots to trust for the CA's
	// directory (a test CA such as Pebble); empty trusts the system's.
	CARootFile string
	// DNSExec is a program that creates and removes DNS-01 TXT records
	// (acme.ExecDNS), needed for wildcard domains.
	DNSExec string
	// DNSResolvers are the DNS servers (host:port) DNS-01 asks for zones;
	// empty: the system's.
	DNSResolvers []string
	// RetryMin is the first delay before ordering a domain's certificate
	// again; default customdomain.DefaultRetryMin.
	RetryMin time.Duration
}

// newDomains builds the custom-domain controller, so that the reconciler
// can route its hosts from its first pass; openDomains starts it.
func (d *Daemon) newDomains(services openrunner.ServiceService, rtr *router.Router) *customdomain.Controller {
	return &customdomain.Controller{
		Routed:   rtr.Serves,
		Domains:  d.stores.CustomDomains,
		Services: services,
		Events:   d.logs,
		RetryMin: d.cfg.ACME.RetryMin,
		Logger:   d.logger,
		Now:      d.cfg.Now,
	}
}

// openDomains chooses the certificates (ACME, or the local CA), plugs the
// controller into the router's TLS and challenge hooks and the API, and
// starts it. The router's listeners must be bound, and not yet serving.
func (d *Daemon) openDomains(ctx context.Context, svc *api.Server) error {
	c := d.domains
	c.Routes = d.reconciler.Kick
	if d.cfg.ACME.Email == "" {
		c.Certs = customdomain.LocalCA{CA: d.tls.ca}
	} else {
		m, err := d.openACME()
		if err != nil {
			return err
		}
		d.acme = m
		c.Certs, c.Challenge = m, acme.IsChallenge
		d.tls.edge.Challenge = m.HandleHTTPChallenge
	}
	d.tls.edge.Certificate = c.GetCertificate
	if err := c.Open(ctx); err != nil {
		return err
	}
	svc.Domains = &api.Domains{Store: c.Domains, Max: d.cfg.MaxCustomDomains, Kick: c.Kick}
	return nil
}

// openACME builds the ACME manager on the store.
func (d *Daemon) openACME() (*acme.Manager, error) {
	v, err := vault.New(d.master)
	if err != nil {
		return nil, err
	}
	o := acme.Options{
		Email: d.cfg.ACME.Email, CA: d.cfg.ACME.CA, HTTPAddr: d.routerLn.Addr().String(), DNSResolvers: d.cfg.ACME.DNSResolvers,
		Storage: &acme.Storage{Blobs: d.stores.Blobs, Leases: d.stores.Leases, Vault: v, Holder: d.owner},
	}
	if d.tls.ln != nil {
		o.TLSAddr = d.tls.ln.Addr().String()
	}
	if f := d.cfg.ACME.CARootFile; f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("--acme-ca-root: %w", err)
		}
		o.Roots = x509.NewCertPool()
		if !o.Roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--acme-ca-root: %s holds no PEM certificate", f)
		}
	}
	if d.cfg.ACME.DNSExec != "" {
		o.DNS = acme.ExecDNS{Program: d.cfg.ACME.DNSExec}
	}
	return acme.New(o)
}

// closeDomains stops the custom-domain controller and ACME renewals.
func (d *Daemon) closeDomains() error {
	var err error
	if d.domains != nil {
		err = d.domains.Close()
		d.domains = nil
	}
	if d.acme != nil {
		d.acme.Close()
		d.acme = nil
	}
	return err
}

// Domains returns the custom-domain controller; nil when no services run.
func (d *Daemon) Domains() *customdomain.Controller { return d.domains }
