package console

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// domainsTab is the Custom domains tab: the DNS target, each domain with
// its certificate validation records, and the form to link a domain.
type domainsTab struct {
	Target  string
	Domains []domainRow
	Form    domainForm
}

// domainRow is one custom domain.
type domainRow struct {
	Name, Status string
	WWW          bool
	Records      []dnsRecord
}

// dnsRecord is a record to create at the DNS provider.
type dnsRecord struct{ Name, Type, Value, Status string }

// domainForm is the link-a-domain form.
type domainForm struct {
	Name   string
	WWW    bool
	Errors map[string]string
}

// maxDomainPages bounds the DescribeCustomDomains pages the tab reads.
const maxDomainPages = 10

// hasDomains reports whether this server runs the custom-domain
// operations, so the tab is offered only where it works.
func (c *Console) hasDomains(ctx context.Context, arn string) bool {
	a, err := c.api()
	if err != nil {
		return false
	}
	_, err = call(ctx, &wire.DescribeCustomDomainsInput{ServiceArn: &arn, MaxResults: wire.Ptr(int32(1))}, a.DescribeCustomDomains)
	return openrunner.ErrorCode(err) != openrunner.ENOTIMPLEMENTED
}

// domainsTab reads the service's custom domains.
func (c *Console) domainsTab(ctx context.Context, arn string, form domainForm) (*domainsTab, error) {
	a, err := c.api()
	if err != nil {
		return nil, err
	}
	t := &domainsTab{Form: form}
	in := &wire.DescribeCustomDomainsInput{ServiceArn: &arn, MaxResults: wire.Ptr(int32(5))}
	for range maxDomainPages {
		out, err := call(ctx, in, a.DescribeCustomDomains)
		if err != nil {
			return nil, err
		}
		t.Target = wire.Deref(out.DNSTarget)
		for _, d := range out.CustomDomains {
			row := domainRow{Name: wire.Deref(d.DomainName), Status: string(wire.Deref(d.Status)), WWW: wire.Deref(d.EnableWWWSubdomain)}
			for _, r := range d.CertificateValidationRecords {
				row.Records = append(row.Records, dnsRecord{Name: wire.Deref(r.Name), Type: wire.Deref(r.Type),
					Value: wire.Deref(r.Value), Status: string(wire.Deref(r.Status))})
			}
			t.Domains = append(t.Domains, row)
		}
		if out.NextToken == nil {
			break
		}
		in.NextToken = out.NextToken
	}
	return t, nil
}

// handleDomains links or unlinks a custom domain.
func (c *Console) handleDomains(w http.ResponseWriter, r *http.Request, ctx context.Context, s sessionView) {
	arn, name := r.PostForm.Get("arn"), strings.TrimSpace(r.PostForm.Get("domain_name"))
	a, err := c.api()
	if err != nil {
		c.failTo(w, r, s, pathServices, openrunner.ErrorMessage(err))
		return
	}
	back := serviceURL(arn, "domains")
	if r.PostForm.Get("action") == "disassociate" {
		if _, err := call(ctx, &wire.DisassociateCustomDomainInput{ServiceArn: &arn, DomainName: &name}, a.DisassociateCustomDomain); err != nil {
			c.failTo(w, r, s, back, c.storeError(r, "unlinking a domain", err))
			return
		}
		c.sessions.addFlash(s.key, "success", fmt.Sprintf("Unlinking %s.", name))
		http.Redirect(w, r, back, http.StatusSeeOther)
		return
	}
	form := domainForm{Name: name, WWW: r.PostForm.Get("www") == "on"}
	in := &wire.AssociateCustomDomainInput{ServiceArn: &arn, DomainName: &name, EnableWWWSubdomain: &form.WWW}
	if _, err := call(ctx, in, a.AssociateCustomDomain); err != nil {
		form.Errors = map[string]string{"domain_name": c.storeError(r, "linking a domain", err)}
		c.renderService(w, r, ctx, s, http.StatusBadRequest, arn, "domains", form)
		return
	}
	c.logger.Info("console: domain linked", "account", s.accountID, "arn", arn, "domain", name)
	c.sessions.addFlash(s.key, "success", fmt.Sprintf("Linking %s: create the records below at your DNS provider.", name))
	http.Redirect(w, r, back, http.StatusSeeOther)
}
