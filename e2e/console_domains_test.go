package e2e_test

// TestConsoleServices' steps for the features that build on custom
// domains, observability configurations and VPC ingress connections.

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/chromedp/chromedp"
)

// press clicks an element that does not leave the page (a checkbox, a
// radio button).
func (b *tab) press(t *testing.T, sel string) {
	t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("press %s: %v", sel, err)
	}
}

// customDomains links a domain on the Custom domains tab, sees its DNS
// target and records as DescribeCustomDomains has them, watches the local
// CA make it active, reaches the service at it over HTTPS, and unlinks it.
func (f *serviceFlow) customDomains(t *testing.T) {
	const name = "app.console.test"
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN+"&tab=domains")
	// A name the API refuses: its message, next to the field.
	f.b.fill(t, "domain_name", "not a domain")
	f.b.click(t, "#link-domain")
	_, want := f.srv.API.AssociateCustomDomain(ctx, &apprunner.AssociateCustomDomainInput{ServiceArn: &f.imageARN, DomainName: aws.String("not a domain")})
	if got := f.b.text(t, "#domain_name-error"); want == nil || !strings.Contains(want.Error(), got) || got == "" {
		t.Fatalf("domain error %q, the API says %v", got, want)
	}
	f.b.shots(t, "38-domains-validation")

	f.b.fill(t, "domain_name", name)
	f.b.click(t, "#link-domain")
	if got := f.b.text(t, ".flash-success"); got != "Linking "+name+": create the records below at your DNS provider." {
		t.Fatalf("flash %q", got)
	}
	out, err := f.srv.API.DescribeCustomDomains(ctx, &apprunner.DescribeCustomDomainsInput{ServiceArn: &f.imageARN})
	if err != nil || len(out.CustomDomains) != 1 || !aws.ToBool(out.CustomDomains[0].EnableWWWSubdomain) {
		t.Fatalf("DescribeCustomDomains: %+v, %v", out, err)
	}
	if got := f.b.text(t, "#dns-target"); got != aws.ToString(out.DNSTarget) {
		t.Fatalf("DNS target %q, the API says %q", got, aws.ToString(out.DNSTarget))
	}
	page := f.b.text(t, `[id="domain-`+name+`"]`)
	for _, r := range out.CustomDomains[0].CertificateValidationRecords {
		for _, v := range []string{aws.ToString(r.Name), aws.ToString(r.Type), aws.ToString(r.Value)} {
			if !strings.Contains(page, v) {
				t.Fatalf("the domain's records lack %q:\n%s", v, page)
			}
		}
	}
	if n := len(out.CustomDomains[0].CertificateValidationRecords); n != 2 {
		t.Fatalf("%d records, want the domain's and www's", n)
	}
	// The local CA issues its certificate: the tab shows it active.
	waitDomain(t, f.srv.API, &f.imageARN, name, domainActive, 30*time.Second)
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+f.imageARN+"&tab=domains")
	f.b.waitText(t, `[id="domain-`+name+`"] .domain-status`, "active", 5*time.Second)
	tlsAddr := strings.TrimPrefix(f.srv.D.RouterTLSURL(), "https://")
	if code, body, _ := httpsGet(t, tlsAddr, "www."+name, f.srv.D.LocalCA().Pool()); code != 200 || strings.TrimSpace(body) != "hi-from-console" {
		t.Fatalf("https://www.%s: %d %q", name, code, body)
	}
	f.b.shots(t, "39-service-domains")

	f.b.click(t, `[id="domain-`+name+`"] button.unlink`)
	if got := f.b.text(t, ".flash-success"); got != "Unlinking "+name+"." {
		t.Fatalf("flash %q", got)
	}
	waitFor(t, "the domain to go", func() bool {
		out, err := f.srv.API.DescribeCustomDomains(ctx, &apprunner.DescribeCustomDomainsInput{ServiceArn: &f.imageARN})
		return err == nil && len(out.CustomDomains) == 0
	})
}

// createObserved creates services with the new settings: a validation
// error for each (observability enabled without a configuration, a private
// endpoint without its connection's name), the API's words next to the
// fields; then a traced service with the configuration chosen, and a
// private one with its VPC ingress connection, each checked through the
// SDK.
func (f *serviceFlow) createObserved(t *testing.T) {
	oc, err := f.srv.API.CreateObservabilityConfiguration(ctx, &apprunner.CreateObservabilityConfigurationInput{
		ObservabilityConfigurationName: aws.String("console-traces"),
		TraceConfiguration:             &types.TraceConfiguration{Vendor: types.TracingVendorAwsxray},
	})
	if err != nil {
		t.Fatal(err)
	}
	ocARN := aws.ToString(oc.ObservabilityConfiguration.ObservabilityConfigurationArn)
	f.b.navigate(t, f.srv.URL+"/console/services/create")
	f.b.fill(t, "service_name", "traced-app")
	f.b.fill(t, "image_identifier", f.app)
	f.b.fill(t, "image_start", f.app+" --greeting traced")
	f.b.press(t, "#observability_enabled")
	f.b.press(t, "#ingress-private")
	f.b.click(t, "#submit-service")
	// The connection is checked first: it must not fail once the service
	// exists.
	if got := f.b.text(t, "#ingress_name-error"); !strings.Contains(got, "'vpcIngressConnectionName' failed to satisfy constraint: Member must not be null") {
		t.Fatalf("ingress name error %q", got)
	}
	f.b.shots(t, "40-create-private-validation")
	f.b.press(t, "#ingress-public")
	f.b.click(t, "#submit-service")
	_, want := f.srv.API.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("traced-app"),
		SourceConfiguration:        &types.SourceConfiguration{ImageRepository: &types.ImageRepository{ImageIdentifier: &f.app, ImageRepositoryType: types.ImageRepositoryTypeEcr}},
		ObservabilityConfiguration: &types.ServiceObservabilityConfiguration{ObservabilityEnabled: true}})
	if got := f.b.text(t, "#observability-error"); want == nil || !strings.Contains(want.Error(), got) || got == "" {
		t.Fatalf("observability error %q, the API says %v", got, want)
	}
	f.b.shots(t, "41-create-observability-validation")
	if out, err := f.srv.API.ListServices(ctx, &apprunner.ListServicesInput{}); err != nil || len(out.ServiceSummaryList) != 2 {
		t.Fatalf("a refused form created a service: %+v, %v", out, err)
	}

	f.b.fill(t, "observability", ocARN)
	f.b.click(t, "#submit-service")
	f.b.wantOn(t, "/console/services/view")
	arn := f.b.serviceARN(t)
	o := f.srv.describe(t, arn).ObservabilityConfiguration
	if o == nil || !o.ObservabilityEnabled || aws.ToString(o.ObservabilityConfigurationArn) != ocARN {
		t.Fatalf("ObservabilityConfiguration %+v, want %s", o, ocARN)
	}
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+arn+"&tab=configuration")
	cfg := f.b.text(t, "#configuration")
	for _, w := range []string{"console-traces, revision 1 (ACTIVE)", "AWSXRAY", ocARN} {
		if !strings.Contains(cfg, w) {
			t.Errorf("configuration lacks %q:\n%s", w, cfg)
		}
	}
	f.b.shots(t, "42-service-observability")
	f.b.navigate(t, f.srv.URL+"/console/services/edit?arn="+arn)
	if checked := f.b.attr(t, "#observability_enabled", "checked"); checked != "" {
		t.Fatalf("edit form: observability checked=%q", checked)
	}

	f.createPrivate(t)
}

// createPrivate creates a private service with its VPC ingress connection.
func (f *serviceFlow) createPrivate(t *testing.T) {
	f.b.navigate(t, f.srv.URL+"/console/services/create")
	f.b.fill(t, "service_name", "private-app")
	f.b.fill(t, "image_identifier", f.app)
	f.b.press(t, "#ingress-private")
	f.b.fill(t, "ingress_name", "private-in")
	f.b.fill(t, "ingress_vpc", "vpc-console")
	f.b.fill(t, "ingress_endpoint", "vpce-console")
	f.b.shots(t, "43-create-private")
	f.b.click(t, "#submit-service")
	f.b.wantOn(t, "/console/services/view")
	arn := f.b.serviceARN(t)
	if n := f.srv.describe(t, arn).NetworkConfiguration; n == nil || n.IngressConfiguration.IsPubliclyAccessible {
		t.Fatalf("NetworkConfiguration %+v", n)
	}
	out, err := f.srv.API.ListVpcIngressConnections(ctx, &apprunner.ListVpcIngressConnectionsInput{Filter: &types.ListVpcIngressConnectionsFilter{ServiceArn: &arn}})
	if err != nil || len(out.VpcIngressConnectionSummaryList) != 1 {
		t.Fatalf("ListVpcIngressConnections: %+v, %v", out, err)
	}
	d, err := f.srv.API.DescribeVpcIngressConnection(ctx, &apprunner.DescribeVpcIngressConnectionInput{VpcIngressConnectionArn: out.VpcIngressConnectionSummaryList[0].VpcIngressConnectionArn})
	if err != nil || aws.ToString(d.VpcIngressConnection.VpcIngressConnectionName) != "private-in" ||
		aws.ToString(d.VpcIngressConnection.IngressVpcConfiguration.VpcId) != "vpc-console" {
		t.Fatalf("DescribeVpcIngressConnection: %+v, %v", d, err)
	}
	f.b.navigate(t, f.srv.URL+"/console/services/view?arn="+arn+"&tab=configuration")
	cfg := f.b.text(t, "#configuration")
	for _, w := range []string{"Private endpoint", "private-in", aws.ToString(d.VpcIngressConnection.DomainName), "vpce-console"} {
		if !strings.Contains(cfg, w) {
			t.Errorf("configuration lacks %q:\n%s", w, cfg)
		}
	}
	if got := f.b.text(t, "#private-domain"); got != aws.ToString(d.VpcIngressConnection.DomainName) {
		t.Fatalf("the header shows the private domain %q", got)
	}
	f.b.shots(t, "44-service-private")
}
