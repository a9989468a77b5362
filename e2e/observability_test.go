package e2e_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

const obsPrefix = "arn:aws:apprunner:us-east-1:000000000000:observabilityconfiguration/"

func createObs(tb testing.TB, c *apprunner.Client, name string, xray bool, tags ...types.Tag) *types.ObservabilityConfiguration {
	tb.Helper()
	in := &apprunner.CreateObservabilityConfigurationInput{ObservabilityConfigurationName: aws.String(name), Tags: tags}
	if xray {
		in.TraceConfiguration = &types.TraceConfiguration{Vendor: types.TracingVendorAwsxray}
	}
	out, err := c.CreateObservabilityConfiguration(ctx, in)
	if err != nil {
		tb.Fatalf("CreateObservabilityConfiguration(%s): %v", name, err)
	}
	return out.ObservabilityConfiguration
}

func describeObs(tb testing.TB, c *apprunner.Client, arn string) *types.ObservabilityConfiguration {
	tb.Helper()
	out, err := c.DescribeObservabilityConfiguration(ctx, &apprunner.DescribeObservabilityConfigurationInput{ObservabilityConfigurationArn: aws.String(arn)})
	if err != nil {
		tb.Fatalf("DescribeObservabilityConfiguration(%s): %v", arn, err)
	}
	return out.ObservabilityConfiguration
}

func deleteObs(c *apprunner.Client, arn string) (*types.ObservabilityConfiguration, error) {
	out, err := c.DeleteObservabilityConfiguration(ctx, &apprunner.DeleteObservabilityConfigurationInput{ObservabilityConfigurationArn: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	return out.ObservabilityConfiguration, nil
}

// listObs renders every page of ListObservabilityConfigurations, read with
// the SDK's paginator, as name/revision.
func listObs(tb testing.TB, c *apprunner.Client, in apprunner.ListObservabilityConfigurationsInput) string {
	tb.Helper()
	var out []string
	p := apprunner.NewListObservabilityConfigurationsPaginator(c, &in, func(o *apprunner.ListObservabilityConfigurationsPaginatorOptions) {
		o.StopOnDuplicateToken = true
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			tb.Fatal(err)
		}
		if in.MaxResults != nil && len(page.ObservabilityConfigurationSummaryList) > int(*in.MaxResults) {
			tb.Fatalf("page of %d with MaxResults %d", len(page.ObservabilityConfigurationSummaryList), *in.MaxResults)
		}
		for _, s := range page.ObservabilityConfigurationSummaryList {
			out = append(out, fmt.Sprintf("%s/%d", aws.ToString(s.ObservabilityConfigurationName), s.ObservabilityConfigurationRevision))
		}
	}
	return strings.Join(out, " ")
}

func TestObservabilityConfigurationLifecycle(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "none"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	r1 := createObs(t, c, "tracing", true, types.Tag{Key: aws.String("team"), Value: aws.String("web")})
	arn := aws.ToString(r1.ObservabilityConfigurationArn)
	if !strings.HasPrefix(arn, obsPrefix+"tracing/1/") || r1.ObservabilityConfigurationRevision != 1 || !r1.Latest ||
		r1.Status != types.ObservabilityConfigurationStatusActive || r1.TraceConfiguration == nil ||
		r1.TraceConfiguration.Vendor != types.TracingVendorAwsxray || r1.CreatedAt == nil || r1.DeletedAt != nil {
		t.Fatalf("created %+v", r1)
	}
	r2 := createObs(t, c, "tracing", false)
	if r2.ObservabilityConfigurationRevision != 2 || r2.TraceConfiguration != nil || !r2.Latest {
		t.Fatalf("revision 2 %+v", r2)
	}
	if describeObs(t, c, arn).Latest {
		t.Fatal("revision 1 still Latest")
	}
	if got := describeObs(t, c, obsPrefix+"tracing"); aws.ToString(got.ObservabilityConfigurationArn) != aws.ToString(r2.ObservabilityConfigurationArn) {
		t.Fatalf("name-only ARN describes %s", aws.ToString(got.ObservabilityConfigurationArn))
	}
	if got := describeObs(t, c, obsPrefix+"tracing/1"); aws.ToString(got.ObservabilityConfigurationArn) != arn {
		t.Fatalf("name/revision ARN describes %s", aws.ToString(got.ObservabilityConfigurationArn))
	}
	tags, err := c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Value) != "web" {
		t.Fatalf("tags %+v, %v", tags, err)
	}

	// Listing: active revisions in creation order, every page.
	createObs(t, c, "other", true)
	for _, tt := range []struct {
		in   apprunner.ListObservabilityConfigurationsInput
		want string
	}{
		{apprunner.ListObservabilityConfigurationsInput{}, "tracing/1 tracing/2 other/1"},
		{apprunner.ListObservabilityConfigurationsInput{MaxResults: aws.Int32(1)}, "tracing/1 tracing/2 other/1"},
		{apprunner.ListObservabilityConfigurationsInput{LatestOnly: true}, "tracing/2 other/1"},
		{apprunner.ListObservabilityConfigurationsInput{ObservabilityConfigurationName: aws.String("tracing"), MaxResults: aws.Int32(1)}, "tracing/1 tracing/2"},
	} {
		if got := listObs(t, c, tt.in); got != tt.want {
			t.Fatalf("list %+v = %s, want %s", tt.in, got, tt.want)
		}
	}
	// A NextToken works only with the parameters it was issued for.
	page, err := c.ListObservabilityConfigurations(ctx, &apprunner.ListObservabilityConfigurationsInput{MaxResults: aws.Int32(1)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("first page %+v, %v", page, err)
	}
	_, err = c.ListObservabilityConfigurations(ctx, &apprunner.ListObservabilityConfigurationsInput{MaxResults: aws.Int32(1),
		NextToken: page.NextToken, LatestOnly: true})
	wantAPIError(t, err, "InvalidRequestException", "NextToken")

	// Delete: returns the revision INACTIVE, which stays describable.
	del, err := deleteObs(c, obsPrefix+"tracing")
	if err != nil || aws.ToString(del.ObservabilityConfigurationArn) != aws.ToString(r2.ObservabilityConfigurationArn) ||
		del.Status != types.ObservabilityConfigurationStatusInactive || del.DeletedAt == nil || del.Latest {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	if got := describeObs(t, c, aws.ToString(r2.ObservabilityConfigurationArn)); got.Status != types.ObservabilityConfigurationStatusInactive || got.DeletedAt == nil {
		t.Fatalf("deleted revision describes %+v", got)
	}
	if !describeObs(t, c, arn).Latest {
		t.Fatal("revision 1 is not Latest once revision 2 is deleted")
	}
	_, err = deleteObs(c, aws.ToString(r2.ObservabilityConfigurationArn))
	wantAPIError(t, err, "InvalidRequestException", "has been deleted")
	if got := listObs(t, c, apprunner.ListObservabilityConfigurationsInput{}); got != "tracing/1 other/1" {
		t.Fatalf("list after delete = %s", got)
	}

	// Errors.
	_, err = c.CreateObservabilityConfiguration(ctx, &apprunner.CreateObservabilityConfigurationInput{ObservabilityConfigurationName: aws.String("DefaultConfiguration")})
	wantAPIError(t, err, "InvalidRequestException", "reserved")
	_, err = c.CreateObservabilityConfiguration(ctx, &apprunner.CreateObservabilityConfigurationInput{ObservabilityConfigurationName: aws.String("x")})
	wantAPIError(t, err, "InvalidRequestException")
	_, err = c.CreateObservabilityConfiguration(ctx, &apprunner.CreateObservabilityConfigurationInput{ObservabilityConfigurationName: aws.String("vendor"),
		TraceConfiguration: &types.TraceConfiguration{Vendor: "JAEGER"}})
	wantAPIError(t, err, "InvalidRequestException")
	for _, arn := range []string{obsPrefix + "nope", obsPrefix + "tracing/9", obsPrefix + "tracing/1/00000000000000000000000000000009"} {
		_, err = c.DescribeObservabilityConfiguration(ctx, &apprunner.DescribeObservabilityConfigurationInput{ObservabilityConfigurationArn: aws.String(arn)})
		wantAPIError(t, err, "ResourceNotFoundException")
		_, err = deleteObs(c, arn)
		wantAPIError(t, err, "ResourceNotFoundException")
	}
	_, err = c.DescribeObservabilityConfiguration(ctx, &apprunner.DescribeObservabilityConfigurationInput{ObservabilityConfigurationArn: aws.String(ascPrefix + "tracing")})
	wantAPIError(t, err, "InvalidRequestException")
	_, err = c.DescribeObservabilityConfiguration(ctx, &apprunner.DescribeObservabilityConfigurationInput{
		ObservabilityConfigurationArn: aws.String("arn:aws:apprunner:us-east-1:123456789012:observabilityconfiguration/tracing")})
	wantAPIError(t, err, "ResourceNotFoundException")
	for i := 0; i < 9; i++ { // revisions quota: 10 per name
		createObs(t, c, "other", false)
	}
	_, err = c.CreateObservabilityConfiguration(ctx, &apprunner.CreateObservabilityConfigurationInput{ObservabilityConfigurationName: aws.String("other")})
	wantAPIError(t, err, "ServiceQuotaExceededException", "revisions")
}

func TestObservabilityConfigurationServices(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "process"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	xray := createObs(t, c, "xray", true)
	plain := createObs(t, c, "plain", false)
	gone := createObs(t, c, "gone", true)
	if _, err := deleteObs(c, aws.ToString(gone.ObservabilityConfigurationArn)); err != nil {
		t.Fatal(err)
	}
	obs := func(enabled bool, arn string) *types.ServiceObservabilityConfiguration {
		o := &types.ServiceObservabilityConfiguration{ObservabilityEnabled: enabled}
		if arn != "" {
			o.ObservabilityConfigurationArn = aws.String(arn)
		}
		return o
	}
	// The process runtime runs no images: the service ends CREATE_FAILED,
	// and still uses its configuration.
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("traced"),
		SourceConfiguration: imageSource(testImage, nil, ""), ObservabilityConfiguration: obs(true, obsPrefix+"xray")})
	if err != nil {
		t.Fatal(err)
	}
	svc := waitStatus(t, c, out.Service.ServiceArn)
	if o := svc.ObservabilityConfiguration; o == nil || !o.ObservabilityEnabled ||
		aws.ToString(o.ObservabilityConfigurationArn) != aws.ToString(xray.ObservabilityConfigurationArn) {
		t.Fatalf("DescribeService observability %+v, want the full ARN of xray/1", o)
	}
	_, err = deleteObs(c, aws.ToString(xray.ObservabilityConfigurationArn))
	wantAPIError(t, err, "InvalidRequestException", "used by one or more services")

	for _, tt := range []struct {
		o   *types.ServiceObservabilityConfiguration
		msg string
	}{
		{obs(true, ""), "ObservabilityConfigurationArn is required"},
		{obs(true, obsPrefix+"nope"), "isn't valid"},
		{obs(true, aws.ToString(gone.ObservabilityConfigurationArn)), "has been deleted"},
		{obs(true, ascPrefix+"xray"), "isn't valid"},
		{obs(true, "arn:aws:apprunner:us-east-1:123456789012:observabilityconfiguration/xray"), "isn't valid"},
	} {
		_, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("refused"),
			SourceConfiguration: imageSource(testImage, nil, ""), ObservabilityConfiguration: tt.o})
		wantAPIError(t, err, "InvalidRequestException", tt.msg)
		_, err = c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: svc.ServiceArn, ObservabilityConfiguration: tt.o})
		wantAPIError(t, err, "InvalidRequestException", tt.msg)
	}

	// UpdateService names another configuration (in use while the update
	// runs: storetest covers that). It fails (the process runtime runs no
	// images), so the service keeps xray/1 and plain is free again.
	up, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: svc.ServiceArn, ObservabilityConfiguration: obs(true, obsPrefix+"plain/1")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(up.Service.ObservabilityConfiguration.ObservabilityConfigurationArn); got != aws.ToString(plain.ObservabilityConfigurationArn) {
		t.Fatalf("UpdateService returned %s", got)
	}
	got := waitStatus(t, c, svc.ServiceArn)
	if o := got.ObservabilityConfiguration; o == nil || aws.ToString(o.ObservabilityConfigurationArn) != aws.ToString(xray.ObservabilityConfigurationArn) {
		t.Fatalf("after the failed update: %+v", o)
	}
	if _, err := deleteObs(c, aws.ToString(plain.ObservabilityConfigurationArn)); err != nil {
		t.Fatalf("delete once the update ended: %v", err)
	}
	// Disabled observability drops the ARN.
	up, err = c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: svc.ServiceArn,
		ObservabilityConfiguration: obs(false, aws.ToString(xray.ObservabilityConfigurationArn))})
	if err != nil {
		t.Fatal(err)
	}
	if o := up.Service.ObservabilityConfiguration; o == nil || o.ObservabilityEnabled || o.ObservabilityConfigurationArn != nil {
		t.Fatalf("disabled observability returns %+v", o)
	}
	waitStatus(t, c, svc.ServiceArn)
	// A deleted service frees its configuration.
	if _, err := c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: svc.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, svc.ServiceArn)
	if _, err := deleteObs(c, aws.ToString(xray.ObservabilityConfigurationArn)); err != nil {
		t.Fatalf("delete once the service is deleted: %v", err)
	}
}
