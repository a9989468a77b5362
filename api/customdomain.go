package api

import (
	"context"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/wire"
)

// Domains is what the custom-domain operations need beside the stores: the
// limit per service and the controller that takes a domain through its
// statuses (package customdomain).
type Domains struct {
	Store openrunner.CustomDomainService
	// Max is the most domains a service may have; 0 means App Runner's 5.
	Max int
	// Kick tells the controller a service's domains changed; may be nil.
	Kick func(serviceARN string)
}

// AssociateCustomDomain implements wire.AppRunner.
func (s *Server) AssociateCustomDomain(ctx context.Context, in *wire.AssociateCustomDomainInput) (*wire.AssociateCustomDomainOutput, error) {
	if s.Domains == nil || s.Services == nil {
		return s.Unimplemented.AssociateCustomDomain(ctx, in)
	}
	name, err := domainName(*in.DomainName)
	if err != nil {
		return nil, err
	}
	svc, err := s.domainService(ctx, *in.ServiceArn, openrunner.EINVALID, false)
	if err != nil {
		return nil, err
	}
	d := &openrunner.CustomDomain{ServiceARN: svc.ARN(), Name: name, WWW: in.EnableWWWSubdomain == nil || *in.EnableWWWSubdomain}
	if d.Wildcard() {
		d.WWW = false
	}
	target := svc.URL(s.BaseDomain)
	d.Records = ValidationRecords(d, target)
	max := s.Domains.Max
	if max <= 0 {
		max = openrunner.DefaultMaxCustomDomains
	}
	if err := s.Domains.Store.AssociateCustomDomain(ctx, d, max); openrunner.ErrorCode(err) == openrunner.EQUOTA {
		// The operation models no ServiceQuotaExceededException.
		return nil, openrunner.Errorf(openrunner.EINVALID, "%s", openrunner.ErrorMessage(err))
	} else if err != nil {
		return nil, err
	}
	s.kickDomains(d.ServiceARN)
	return &wire.AssociateCustomDomainOutput{CustomDomain: wireDomain(d), DNSTarget: wire.Ptr(target),
		ServiceArn: wire.Ptr(d.ServiceARN), VpcDNSTargets: s.vpcDNSTargets(ctx, d.ServiceARN)}, nil
}

// DescribeCustomDomains implements wire.AppRunner.
func (s *Server) DescribeCustomDomains(ctx context.Context, in *wire.DescribeCustomDomainsInput) (*wire.DescribeCustomDomainsOutput, error) {
	if s.Domains == nil || s.Services == nil {
		return s.Unimplemented.DescribeCustomDomains(ctx, in)
	}
	svc, err := s.domainService(ctx, *in.ServiceArn, openrunner.ENOTFOUND, true)
	if err != nil {
		return nil, err
	}
	query := []string{svc.ARN()}
	f := openrunner.CustomDomainFilter{Limit: maxResults(in.MaxResults)}
	if in.NextToken != nil {
		if f.After, err = s.Pages.Parse(svc.Scope, "DescribeCustomDomains", query, *in.NextToken); err != nil {
			return nil, err
		}
	}
	page, err := s.Domains.Store.FindCustomDomains(ctx, svc.ARN(), f)
	if err != nil {
		return nil, err
	}
	out := &wire.DescribeCustomDomainsOutput{CustomDomains: make([]wire.CustomDomain, 0, len(page.Domains)),
		DNSTarget: wire.Ptr(svc.URL(s.BaseDomain)), ServiceArn: wire.Ptr(svc.ARN()), VpcDNSTargets: s.vpcDNSTargets(ctx, svc.ARN())}
	for _, d := range page.Domains {
		out.CustomDomains = append(out.CustomDomains, *wireDomain(d))
	}
	if page.Next != 0 {
		out.NextToken = wire.Ptr(s.Pages.Make(svc.Scope, "DescribeCustomDomains", query, page.Next))
	}
	return out, nil
}

// DisassociateCustomDomain implements wire.AppRunner: the domain becomes
// deleting, and the controller removes its certificate, its routes and
// then the domain.
func (s *Server) DisassociateCustomDomain(ctx context.Context, in *wire.DisassociateCustomDomainInput) (*wire.DisassociateCustomDomainOutput, error) {
	if s.Domains == nil || s.Services == nil {
		return s.Unimplemented.DisassociateCustomDomain(ctx, in)
	}
	name, err := domainName(*in.DomainName)
	if err != nil {
		return nil, err
	}
	svc, err := s.domainService(ctx, *in.ServiceArn, openrunner.ENOTFOUND, false)
	if err != nil {
		return nil, err
	}
	d, err := s.Domains.Store.UpdateCustomDomain(ctx, svc.ARN(), name, func(d *openrunner.CustomDomain) error {
		d.Status, d.Reason = openrunner.DomainDeleting, ""
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.kickDomains(d.ServiceARN)
	return &wire.DisassociateCustomDomainOutput{CustomDomain: wireDomain(d), DNSTarget: wire.Ptr(svc.URL(s.BaseDomain)),
		ServiceArn: wire.Ptr(d.ServiceARN), VpcDNSTargets: s.vpcDNSTargets(ctx, d.ServiceARN)}, nil
}

// domainService returns the caller's service arn for a custom-domain
// operation: an unknown or deleted one is missing (an error of that
// code), a paused one InvalidStateException unless pausedOK.
func (s *Server) domainService(ctx context.Context, arn, missing string, pausedOK bool) (*openrunner.Service, error) {
	if _, err := ownedARN(ctx, arn, openrunner.ResourceService); err != nil {
		if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
			err = openrunner.Errorf(missing, "%s", openrunner.ErrorMessage(err))
		}
		return nil, err
	}
	svc, err := s.Services.FindServiceByARN(ctx, arn)
	if err == nil && svc.Status == openrunner.ServiceDeleted {
		err = openrunner.Errorf(openrunner.ENOTFOUND, "Service %s was deleted.", arn)
	}
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil, openrunner.Errorf(missing, "%s", openrunner.ErrorMessage(err))
	} else if err != nil {
		return nil, err
	}
	if svc.Status == openrunner.ServicePaused && !pausedOK {
		return nil, openrunner.Errorf(openrunner.EINVALIDSTATE,
			"The service %s is PAUSED: custom domains can't be associated or disassociated while it is paused. Resume it first.", svc.Name)
	}
	return svc, nil
}

func (s *Server) kickDomains(serviceARN string) {
	if s.Domains.Kick != nil {
		s.Domains.Kick(serviceARN)
	}
}

// domainName checks and normalizes a DomainName: lowercase, no trailing
// dot, labels of letters, digits and hyphens, "*." only as the first label.
func domainName(s string) (string, error) {
	name := strings.ToLower(strings.TrimSuffix(s, "."))
	bad := func(why string) error {
		return openrunner.Errorf(openrunner.EINVALID, "DomainName %q is not a valid domain name: %s.", openrunner.Truncate(s, 255), why)
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return "", bad("it needs at least two labels, such as example.com")
	}
	for i, l := range labels {
		if l == "*" && i == 0 && len(labels) > 2 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || strings.ContainsFunc(l, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
		}) {
			return "", bad("each label is 1 to 63 letters, digits or hyphens, and a wildcard is *. before at least two labels")
		}
	}
	return name, nil
}

// ValidationRecords are a domain's CertificateValidationRecords: each of
// its hosts as a CNAME to the DNS target (the ServiceUrl host), which is
// what HTTP-01 and TLS-ALPN-01 validation need (docs/decisions.md).
func ValidationRecords(d *openrunner.CustomDomain, target string) []openrunner.ValidationRecord {
	var out []openrunner.ValidationRecord
	for _, h := range d.Hosts() {
		out = append(out, openrunner.ValidationRecord{Name: h + ".", Type: "CNAME", Value: target + ".", Status: openrunner.RecordPendingValidation})
	}
	return out
}

func wireDomain(d *openrunner.CustomDomain) *wire.CustomDomain {
	out := &wire.CustomDomain{DomainName: wire.Ptr(d.Name), EnableWWWSubdomain: wire.Ptr(d.WWW),
		Status: wire.Ptr(wire.CustomDomainAssociationStatus(d.Status)), CertificateValidationRecords: []wire.CertificateValidationRecord{}}
	for _, r := range d.Records {
		out.CertificateValidationRecords = append(out.CertificateValidationRecords, wire.CertificateValidationRecord{
			Name: wire.Ptr(r.Name), Type: wire.Ptr(r.Type), Value: wire.Ptr(r.Value),
			Status: wire.Ptr(wire.CertificateValidationRecordStatus(r.Status)),
		})
	}
	return out
}

// vpcDNSTargets lists the service's VPC ingress connection (a service has
// at most one that is not DELETED): where it answers inside its VPC. A
// lookup that fails leaves the list empty rather than failing the domain
// operation.
func (s *Server) vpcDNSTargets(ctx context.Context, serviceARN string) []wire.VpcDNSTarget {
	out := []wire.VpcDNSTarget{}
	if s.VPC == nil {
		return out
	}
	c, err := s.VPC.FindVpcIngressConnectionForService(ctx, serviceARN)
	if err != nil {
		return out
	}
	return append(out, wire.VpcDNSTarget{DomainName: wire.Ptr(c.DomainName), VpcId: wire.Ptr(c.VpcID),
		VpcIngressConnectionArn: wire.Ptr(c.ARN())})
}
