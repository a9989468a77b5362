package e2e_test

import (
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

// Custom domain statuses as App Runner sends them: lowercase, unlike the
// model's enum (apprunner-api.md §3.8).
const (
	domainCreating                        types.CustomDomainAssociationStatus = "creating"
	domainPendingCertificateDnsValidation types.CustomDomainAssociationStatus = "pending_certificate_dns_validation"
	domainActive                          types.CustomDomainAssociationStatus = "active"
	domainDeleting                        types.CustomDomainAssociationStatus = "deleting"
	domainCreateFailed                    types.CustomDomainAssociationStatus = "create_failed"
)

// runningService creates an image service answering greeting on / and
// waits for it to run. Its image is this binary's (a private tag), so
// another checkout's test image cannot stand in.
func runningService(t testing.TB, c *apprunner.Client, name, greeting string) *types.Service {
	t.Helper()
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(name),
		SourceConfiguration: imageSource(testutil.PinnedDockerTestImage(t), nil, "/testapp --greeting "+greeting)})
	if err != nil {
		t.Fatal(err)
	}
	svc := waitStatus(t, c, out.Service.ServiceArn)
	if svc.Status != types.ServiceStatusRunning {
		t.Fatalf("service %s: %s", name, svc.Status)
	}
	return svc
}

func associate(t testing.TB, c *apprunner.Client, svc *types.Service, name string, www *bool) (*apprunner.AssociateCustomDomainOutput, error) {
	t.Helper()
	return c.AssociateCustomDomain(ctx, &apprunner.AssociateCustomDomainInput{ServiceArn: svc.ServiceArn, DomainName: aws.String(name), EnableWWWSubdomain: www})
}

// describeDomains pages through DescribeCustomDomains, size at a time.
func describeDomains(t testing.TB, c *apprunner.Client, arn *string, size int32) []types.CustomDomain {
	t.Helper()
	var all []types.CustomDomain
	p := apprunner.NewDescribeCustomDomainsPaginator(c, &apprunner.DescribeCustomDomainsInput{ServiceArn: arn, MaxResults: aws.Int32(size)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.CustomDomains) > int(size) || aws.ToString(page.DNSTarget) == "" {
			t.Fatalf("page: %d domains, DNSTarget %q", len(page.CustomDomains), aws.ToString(page.DNSTarget))
		}
		all = append(all, page.CustomDomains...)
	}
	return all
}

// waitDomain polls until the domain has status (or, for "", is gone) and
// returns it.
func waitDomain(t testing.TB, c *apprunner.Client, arn *string, name string, status types.CustomDomainAssociationStatus, within time.Duration) *types.CustomDomain {
	t.Helper()
	deadline := time.Now().Add(within)
	var last *types.CustomDomain
	for time.Now().Before(deadline) {
		last = nil
		for _, d := range describeDomains(t, c, arn, 5) {
			if aws.ToString(d.DomainName) == name {
				last = &d
			}
		}
		if (status == "" && last == nil) || (last != nil && last.Status == status) {
			return last
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("domain %s: %+v, want status %q", name, last, status)
	return nil
}

// httpsGet sends GET / to the router's TLS listener with SNI and Host
// host, trusting only roots (any certificate when nil: unknown hosts get the
// default one), and returns the status, body and protocol.
func httpsGet(t testing.TB, tlsAddr, host string, roots *x509.CertPool) (int, string, string) {
	t.Helper()
	client := testutil.HTTPSClient(tlsAddr, roots, true)
	tr := client.Transport.(*http.Transport)
	tr.TLSClientConfig.InsecureSkipVerify = roots == nil
	defer tr.CloseIdleConnections()
	resp, err := client.Get("https://" + host + "/")
	if err != nil {
		t.Fatalf("GET https://%s/: %v", host, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), resp.Proto
}

// serviceLog returns the service's event log, or its application log.
func serviceLog(t testing.TB, apiURL string, arn string, application bool) string {
	t.Helper()
	var sb strings.Builder
	in := api.GetServiceLogsInput{ServiceArn: arn, Application: application}
	for range 50 {
		var out api.GetServiceLogsOutput
		testutil.Extension(t, apiURL, "GetServiceLogs", in, &out)
		for _, ev := range out.Events {
			sb.WriteString(ev.Message + "\n")
		}
		if len(out.Events) == 0 || out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}
	return sb.String()
}

func recordsOf(d *types.CustomDomain) string {
	var out []string
	for _, r := range d.CertificateValidationRecords {
		out = append(out, fmt.Sprintf("%s %s %s %s", aws.ToString(r.Name), aws.ToString(r.Type), aws.ToString(r.Value), r.Status))
	}
	return strings.Join(out, "; ")
}

// TestCustomDomainsLocalCA covers the three operations without ACME: a
// domain gets a local-CA certificate and is active at once.
func TestCustomDomainsLocalCA(t *testing.T) {
	needDocker(t)
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	a := runningService(t, c, "domains-a", "from-a")
	b := runningService(t, c, "domains-b", "from-b")
	tlsAddr := strings.TrimPrefix(d.RouterTLSURL(), "https://")
	roots := d.LocalCA().Pool()

	out, err := associate(t, c, a, "App.Example.test.", nil)
	if err != nil {
		t.Fatal(err)
	}
	target := aws.ToString(a.ServiceUrl)
	if aws.ToString(out.DNSTarget) != target || out.CustomDomain.Status != domainCreating ||
		!aws.ToBool(out.CustomDomain.EnableWWWSubdomain) || aws.ToString(out.CustomDomain.DomainName) != "app.example.test" {
		t.Fatalf("AssociateCustomDomain: target %q (ServiceUrl %q), status %s, www %v, name %q", aws.ToString(out.DNSTarget), target,
			out.CustomDomain.Status, aws.ToBool(out.CustomDomain.EnableWWWSubdomain), aws.ToString(out.CustomDomain.DomainName))
	}
	want := fmt.Sprintf("app.example.test. CNAME %s. PENDING_VALIDATION; www.app.example.test. CNAME %s. PENDING_VALIDATION", target, target)
	if got := recordsOf(out.CustomDomain); got != want {
		t.Fatalf("records %s, want %s", got, want)
	}
	active := waitDomain(t, c, a.ServiceArn, "app.example.test", domainActive, 30*time.Second)
	if got := recordsOf(active); got != strings.ReplaceAll(want, "PENDING_VALIDATION", "SUCCESS") {
		t.Fatalf("active records %s", got)
	}
	for _, host := range []string{"app.example.test", "www.app.example.test"} {
		if code, body, proto := httpsGet(t, tlsAddr, host, roots); code != 200 || body != "from-a" || proto != "HTTP/2.0" {
			t.Fatalf("https://%s: %d %q %s", host, code, body, proto)
		}
		if code, body := get(t, d.RouterURL(), host, "/"); code != 200 || strings.TrimSpace(body) != "from-a" {
			t.Fatalf("http://%s: %d %q", host, code, body)
		}
	}

	// A host belongs to one service.
	_, err = associate(t, c, b, "app.example.test", aws.Bool(false))
	wantAPIError(t, err, "InvalidRequestException", "already associated")
	_, err = associate(t, c, b, "www.app.example.test", aws.Bool(false))
	wantAPIError(t, err, "InvalidRequestException", "already associated")
	_, err = associate(t, c, a, "app.example.test", nil)
	wantAPIError(t, err, "InvalidRequestException")

	// Five per service; pages of 2 list them in association order.
	names := []string{"app.example.test"}
	for i := 2; i <= 5; i++ {
		n := fmt.Sprintf("d%d.example.test", i)
		if _, err := associate(t, c, a, n, aws.Bool(false)); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	_, err = associate(t, c, a, "d6.example.test", nil)
	wantAPIError(t, err, "InvalidRequestException", "maximum number of custom domains (5)")
	var got []string
	for _, dom := range describeDomains(t, c, a.ServiceArn, 2) {
		got = append(got, aws.ToString(dom.DomainName))
	}
	if !slices.Equal(got, names) {
		t.Fatalf("DescribeCustomDomains pages: %v, want %v", got, names)
	}
	_, err = c.DescribeCustomDomains(ctx, &apprunner.DescribeCustomDomainsInput{ServiceArn: a.ServiceArn, MaxResults: aws.Int32(6)})
	if err == nil {
		t.Fatal("MaxResults 6 accepted")
	}

	// A wildcard has no www and serves any one name under it.
	wout, err := associate(t, c, b, "*.wild.example.test", nil)
	if err != nil || aws.ToBool(wout.CustomDomain.EnableWWWSubdomain) || len(wout.CustomDomain.CertificateValidationRecords) != 1 {
		t.Fatalf("wildcard: %+v %v", wout, err)
	}
	waitDomain(t, c, b.ServiceArn, "*.wild.example.test", domainActive, 30*time.Second)
	if code, body, _ := httpsGet(t, tlsAddr, "anything.wild.example.test", roots); code != 200 || body != "from-b" {
		t.Fatalf("wildcard host: %d %q", code, body)
	}

	// Disassociate: deleting, then gone, and the host answers 404.
	dis, err := c.DisassociateCustomDomain(ctx, &apprunner.DisassociateCustomDomainInput{ServiceArn: a.ServiceArn, DomainName: aws.String("app.example.test")})
	if err != nil || dis.CustomDomain.Status != domainDeleting || aws.ToString(dis.DNSTarget) != target {
		t.Fatalf("DisassociateCustomDomain: %+v %v", dis, err)
	}
	waitDomain(t, c, a.ServiceArn, "app.example.test", "", 30*time.Second)
	waitFor(t, "app.example.test answers 404", func() bool {
		code, _ := get(t, d.RouterURL(), "app.example.test", "/")
		return code == http.StatusNotFound
	})
	if code, _, _ := httpsGet(t, tlsAddr, "www.app.example.test", nil); code != http.StatusNotFound {
		t.Fatalf("https after disassociate: %d", code)
	}
	_, err = c.DisassociateCustomDomain(ctx, &apprunner.DisassociateCustomDomainInput{ServiceArn: a.ServiceArn, DomainName: aws.String("app.example.test")})
	wantAPIError(t, err, "ResourceNotFoundException")

	// Unknown services; paused services.
	unknown := aws.String(strings.Replace(aws.ToString(a.ServiceArn), aws.ToString(a.ServiceId), "0123456789abcdef0123456789abcdef", 1))
	_, err = c.DescribeCustomDomains(ctx, &apprunner.DescribeCustomDomainsInput{ServiceArn: unknown})
	wantAPIError(t, err, "ResourceNotFoundException")
	_, err = c.AssociateCustomDomain(ctx, &apprunner.AssociateCustomDomainInput{ServiceArn: unknown, DomainName: aws.String("x.example.test")})
	wantAPIError(t, err, "InvalidRequestException")
	_, err = associate(t, c, b, "bad_name.example.test", nil)
	wantAPIError(t, err, "InvalidRequestException")
	if _, err := c.PauseService(ctx, &apprunner.PauseServiceInput{ServiceArn: b.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, b.ServiceArn)
	_, err = associate(t, c, b, "paused.example.test", nil)
	wantAPIError(t, err, "InvalidStateException")
	if len(describeDomains(t, c, b.ServiceArn, 5)) != 1 {
		t.Fatal("a paused service's domains are not described")
	}

	// DeleteService removes the service's domains: their names are free.
	if _, err := c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: a.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, a.ServiceArn)
	if _, err := c.ResumeService(ctx, &apprunner.ResumeServiceInput{ServiceArn: b.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, b.ServiceArn)
	waitFor(t, "d2.example.test is free again", func() bool {
		_, err := associate(t, c, b, "d2.example.test", nil)
		return err == nil
	})
}

// waitFor polls cond for up to 30 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
