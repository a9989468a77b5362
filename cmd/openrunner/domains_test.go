package main

import (
	"io"
	"slices"
	"testing"

	"github.com/openrunner/openrunner/acme"
)

func TestDomainFlags(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	c, err := parseServeFlags(nil, getenv, io.Discard)
	if err != nil || c.Domains.MaxCustomDomains != 5 || c.Domains.ACME.Email != "" || c.Domains.ACME.CA != acme.LetsEncrypt {
		t.Fatalf("defaults: %+v, %v", c.Domains, err)
	}
	env["OPENRUNNER_ACME_EMAIL"] = "ops@example.com"
	env["OPENRUNNER_ACME_CA"] = "https://127.0.0.1:14000/dir"
	env["OPENRUNNER_ACME_CA_ROOT"] = "/tmp/root.pem"
	env["OPENRUNNER_ACME_DNS_EXEC"] = "/usr/local/bin/dns-hook"
	env["OPENRUNNER_ACME_DNS_RESOLVERS"] = "127.0.0.1:8053,127.0.0.1:8054"
	env["OPENRUNNER_MAX_CUSTOM_DOMAINS"] = "200"
	c, err = parseServeFlags(nil, getenv, io.Discard)
	a := c.Domains.ACME
	if err != nil || a.Email != "ops@example.com" || a.CA != "https://127.0.0.1:14000/dir" || a.CARootFile != "/tmp/root.pem" ||
		a.DNSExec != "/usr/local/bin/dns-hook" || !slices.Equal(a.DNSResolvers, []string{"127.0.0.1:8053", "127.0.0.1:8054"}) || c.Domains.MaxCustomDomains != 200 {
		t.Fatalf("from the environment: %+v, %v", c.Domains, err)
	}
	c, err = parseServeFlags([]string{"--max-custom-domains", "10", "--acme-email", "x@example.com"}, getenv, io.Discard)
	if err != nil || c.Domains.MaxCustomDomains != 10 || c.Domains.ACME.Email != "x@example.com" {
		t.Fatalf("flags win: %+v, %v", c.Domains, err)
	}
	for _, bad := range [][]string{{"--max-custom-domains", "0"}, {"--acme-email", "", "--acme-dns-exec", "/bin/true"}} {
		if _, err := parseServeFlags(bad, getenv, io.Discard); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
	env["OPENRUNNER_MAX_CUSTOM_DOMAINS"] = "many"
	if _, err := parseServeFlags(nil, getenv, io.Discard); err == nil {
		t.Error("a malformed OPENRUNNER_MAX_CUSTOM_DOMAINS must fail")
	}
}
