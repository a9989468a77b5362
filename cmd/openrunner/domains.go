package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/acme"
	"github.com/openrunner/openrunner/daemon"
)

// domainConfig is the custom domains' part of serveConfig.
type domainConfig struct {
	ACME             daemon.ACMEConfig
	MaxCustomDomains int
}

// domainFlags declares the custom-domain flags on fs, with their
// OPENRUNNER_* defaults; the returned check runs after fs.Parse.
func domainFlags(fs *flag.FlagSet, env func(name, def string) string, c *domainConfig) (check func() error, err error) {
	fs.StringVar(&c.ACME.Email, "acme-email", env("OPENRUNNER_ACME_EMAIL", ""),
		"turns ACME on: custom domains get certificates from --acme-ca, with this contact address; without it they get local-CA certificates (env OPENRUNNER_ACME_EMAIL)")
	fs.StringVar(&c.ACME.CA, "acme-ca", env("OPENRUNNER_ACME_CA", acme.LetsEncrypt), "the ACME CA's directory URL (env OPENRUNNER_ACME_CA)")
	fs.StringVar(&c.ACME.CARootFile, "acme-ca-root", env("OPENRUNNER_ACME_CA_ROOT", ""),
		"PEM file of the root a test ACME CA's directory is served with, e.g. Pebble's (env OPENRUNNER_ACME_CA_ROOT)")
	fs.StringVar(&c.ACME.DNSExec, "acme-dns-exec", env("OPENRUNNER_ACME_DNS_EXEC", ""),
		"program run as PROGRAM present|cleanup FQDN VALUE to set the DNS-01 TXT records that wildcard domains need (env OPENRUNNER_ACME_DNS_EXEC)")
	resolvers := env("OPENRUNNER_ACME_DNS_RESOLVERS", "")
	fs.StringVar(&resolvers, "acme-dns-resolvers", resolvers, "DNS servers (host:port, comma-separated) DNS-01 asks for zones; default the system's (env OPENRUNNER_ACME_DNS_RESOLVERS)")
	max, err := strconv.Atoi(env("OPENRUNNER_MAX_CUSTOM_DOMAINS", strconv.Itoa(openrunner.DefaultMaxCustomDomains)))
	if err != nil {
		return nil, fmt.Errorf("OPENRUNNER_MAX_CUSTOM_DOMAINS: %w", err)
	}
	fs.IntVar(&c.MaxCustomDomains, "max-custom-domains", max, "custom domains per service; App Runner's limit is 5 (env OPENRUNNER_MAX_CUSTOM_DOMAINS)")
	return func() error {
		c.ACME.DNSResolvers = strings.FieldsFunc(resolvers, func(r rune) bool { return r == ',' })
		if c.MaxCustomDomains < 1 {
			return fmt.Errorf("--max-custom-domains must be at least 1")
		}
		if c.ACME.Email == "" && (c.ACME.CARootFile != "" || c.ACME.DNSExec != "") {
			return fmt.Errorf("--acme-ca-root and --acme-dns-exec need ACME on: give --acme-email")
		}
		return nil
	}, nil
}
