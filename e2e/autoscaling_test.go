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

const (
	ascPrefix  = "arn:aws:apprunner:us-east-1:000000000000:autoscalingconfiguration/"
	defaultASC = ascPrefix + "DefaultConfiguration/1/00000000000000000000000000000001"
)

func createASC(tb testing.TB, c *apprunner.Client, name string, maxConc, minSize, maxSize int32, tags ...types.Tag) *types.AutoScalingConfiguration {
	tb.Helper()
	in := &apprunner.CreateAutoScalingConfigurationInput{AutoScalingConfigurationName: aws.String(name), Tags: tags}
	if maxConc != 0 {
		in.MaxConcurrency = aws.Int32(maxConc)
	}
	if minSize != 0 {
		in.MinSize = aws.Int32(minSize)
	}
	if maxSize != 0 {
		in.MaxSize = aws.Int32(maxSize)
	}
	out, err := c.CreateAutoScalingConfiguration(ctx, in)
	if err != nil {
		tb.Fatalf("CreateAutoScalingConfiguration(%s): %v", name, err)
	}
	return out.AutoScalingConfiguration
}

func describeASC(tb testing.TB, c *apprunner.Client, arn string) *types.AutoScalingConfiguration {
	tb.Helper()
	out, err := c.DescribeAutoScalingConfiguration(ctx, &apprunner.DescribeAutoScalingConfigurationInput{AutoScalingConfigurationArn: aws.String(arn)})
	if err != nil {
		tb.Fatalf("DescribeAutoScalingConfiguration(%s): %v", arn, err)
	}
	return out.AutoScalingConfiguration
}

func deleteASC(c *apprunner.Client, arn string, all bool) (*types.AutoScalingConfiguration, error) {
	out, err := c.DeleteAutoScalingConfiguration(ctx, &apprunner.DeleteAutoScalingConfigurationInput{
		AutoScalingConfigurationArn: aws.String(arn), DeleteAllRevisions: all})
	if err != nil {
		return nil, err
	}
	return out.AutoScalingConfiguration, nil
}

// listASCs renders every page of ListAutoScalingConfigurations as
// name/revision, * marking IsDefault.
func listASCs(tb testing.TB, c *apprunner.Client, in apprunner.ListAutoScalingConfigurationsInput) string {
	tb.Helper()
	var out []string
	for {
		page, err := c.ListAutoScalingConfigurations(ctx, &in)
		if err != nil {
			tb.Fatal(err)
		}
		for _, s := range page.AutoScalingConfigurationSummaryList {
			if s.Status != "active" {
				tb.Fatalf("listed %s with status %s", aws.ToString(s.AutoScalingConfigurationArn), s.Status)
			}
			e := fmt.Sprintf("%s/%d", aws.ToString(s.AutoScalingConfigurationName), s.AutoScalingConfigurationRevision)
			if aws.ToBool(s.IsDefault) {
				e += "*"
			}
			out = append(out, e)
		}
		if page.NextToken == nil {
			return strings.Join(out, " ")
		}
		if in.MaxResults != nil && len(page.AutoScalingConfigurationSummaryList) != int(*in.MaxResults) {
			tb.Fatalf("a page of %d before the last, MaxResults %d", len(page.AutoScalingConfigurationSummaryList), *in.MaxResults)
		}
		in.NextToken = page.NextToken
	}
}

func TestAutoScalingConfigurationLifecycle(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "none"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	// Every account starts with the AWS-provided default.
	def := describeASC(t, c, defaultASC)
	if aws.ToString(def.AutoScalingConfigurationName) != "DefaultConfiguration" || aws.ToInt32(def.AutoScalingConfigurationRevision) != 1 ||
		!aws.ToBool(def.IsDefault) || !aws.ToBool(def.Latest) || def.Status != "active" || aws.ToInt32(def.MaxConcurrency) != 100 ||
		aws.ToInt32(def.MinSize) != 1 || aws.ToInt32(def.MaxSize) != 25 || aws.ToBool(def.HasAssociatedService) || def.DeletedAt != nil {
		t.Fatalf("default = %+v", def)
	}
	if got := listASCs(t, c, apprunner.ListAutoScalingConfigurationsInput{}); got != "DefaultConfiguration/1*" {
		t.Fatalf("list = %s", got)
	}

	// Revisions.
	r1 := createASC(t, c, "high", 0, 0, 0, types.Tag{Key: aws.String("team"), Value: aws.String("webs")})
	if aws.ToInt32(r1.AutoScalingConfigurationRevision) != 1 || !aws.ToBool(r1.Latest) || aws.ToBool(r1.IsDefault) || r1.Status != "active" ||
		aws.ToInt32(r1.MaxConcurrency) != 100 || aws.ToInt32(r1.MinSize) != 1 || aws.ToInt32(r1.MaxSize) != 25 || r1.CreatedAt == nil ||
		!strings.HasPrefix(aws.ToString(r1.AutoScalingConfigurationArn), ascPrefix+"high/1/") {
		t.Fatalf("created %+v", r1)
	}
	r2 := createASC(t, c, "high", 50, 2, 10)
	if aws.ToInt32(r2.AutoScalingConfigurationRevision) != 2 || aws.ToInt32(r2.MaxConcurrency) != 50 || aws.ToInt32(r2.MinSize) != 2 || aws.ToInt32(r2.MaxSize) != 10 {
		t.Fatalf("revision 2 = %+v", r2)
	}
	if aws.ToBool(describeASC(t, c, *r1.AutoScalingConfigurationArn).Latest) {
		t.Fatal("revision 1 still Latest")
	}
	if got := describeASC(t, c, ascPrefix+"high"); aws.ToString(got.AutoScalingConfigurationArn) != *r2.AutoScalingConfigurationArn {
		t.Fatalf("name-only ARN describes %s", aws.ToString(got.AutoScalingConfigurationArn))
	}
	if got := describeASC(t, c, ascPrefix+"high/1"); aws.ToString(got.AutoScalingConfigurationArn) != *r1.AutoScalingConfigurationArn {
		t.Fatalf("name/revision ARN describes %s", aws.ToString(got.AutoScalingConfigurationArn))
	}

	// Bounds.
	for _, in := range []*apprunner.CreateAutoScalingConfigurationInput{
		{MinSize: aws.Int32(5), MaxSize: aws.Int32(4)},
		{MinSize: aws.Int32(26)},
		{MaxSize: aws.Int32(26)},
		{MaxSize: aws.Int32(0)},
		{MaxConcurrency: aws.Int32(201)},
		{MaxConcurrency: aws.Int32(0)},
		{AutoScalingConfigurationName: aws.String("bad name")},
	} {
		if in.AutoScalingConfigurationName == nil {
			in.AutoScalingConfigurationName = aws.String("bounds")
		}
		_, err := c.CreateAutoScalingConfiguration(ctx, in)
		wantAPIError(t, err, "InvalidRequestException")
	}
	_, err := c.DescribeAutoScalingConfiguration(ctx, &apprunner.DescribeAutoScalingConfigurationInput{AutoScalingConfigurationArn: aws.String(ascPrefix + "nope")})
	wantAPIError(t, err, "ResourceNotFoundException")
	_, err = c.DescribeAutoScalingConfiguration(ctx, &apprunner.DescribeAutoScalingConfigurationInput{
		AutoScalingConfigurationArn: aws.String("arn:aws:apprunner:us-east-1:000000000000:connection/high/51dd2ed254834e68a2332aeae754a96b")})
	wantAPIError(t, err, "InvalidRequestException")

	// Listing: LatestOnly, name filter, pages.
	createASC(t, c, "slow", 0, 0, 0)
	createASC(t, c, "high", 0, 0, 0)
	for _, tt := range []struct {
		in   apprunner.ListAutoScalingConfigurationsInput
		want string
	}{
		{apprunner.ListAutoScalingConfigurationsInput{}, "DefaultConfiguration/1* high/1 high/2 slow/1 high/3"},
		{apprunner.ListAutoScalingConfigurationsInput{LatestOnly: true}, "DefaultConfiguration/1* slow/1 high/3"},
		{apprunner.ListAutoScalingConfigurationsInput{AutoScalingConfigurationName: aws.String("high")}, "high/1 high/2 high/3"},
		{apprunner.ListAutoScalingConfigurationsInput{AutoScalingConfigurationName: aws.String("high"), LatestOnly: true}, "high/3"},
		{apprunner.ListAutoScalingConfigurationsInput{MaxResults: aws.Int32(1)}, "DefaultConfiguration/1* high/1 high/2 slow/1 high/3"},
		{apprunner.ListAutoScalingConfigurationsInput{MaxResults: aws.Int32(2), LatestOnly: true}, "DefaultConfiguration/1* slow/1 high/3"},
	} {
		if got := listASCs(t, c, tt.in); got != tt.want {
			t.Fatalf("%+v: %s, want %s", tt.in, got, tt.want)
		}
	}
	page, err := c.ListAutoScalingConfigurations(ctx, &apprunner.ListAutoScalingConfigurationsInput{MaxResults: aws.Int32(1)})
	if err != nil || page.NextToken == nil {
		t.Fatalf("first page %+v, %v", page, err)
	}
	_, err = c.ListAutoScalingConfigurations(ctx, &apprunner.ListAutoScalingConfigurationsInput{MaxResults: aws.Int32(1), LatestOnly: true, NextToken: page.NextToken})
	wantAPIError(t, err, "InvalidRequestException", "NextToken")

	// Tags.
	tags, err := c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: r1.AutoScalingConfigurationArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "team" {
		t.Fatalf("tags %+v, %v", tags, err)
	}
	if _, err := c.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: r1.AutoScalingConfigurationArn,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UntagResource(ctx, &apprunner.UntagResourceInput{ResourceArn: r1.AutoScalingConfigurationArn, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	tags, err = c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: r1.AutoScalingConfigurationArn})
	if err != nil || len(tags.Tags) != 1 || aws.ToString(tags.Tags[0].Key) != "env" {
		t.Fatalf("tags %+v, %v", tags, err)
	}
	_, err = c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: aws.String(defaultASC)})
	wantAPIError(t, err, "ResourceNotFoundException")

	// Deletes: a full ARN, a name-only ARN (the latest), again, all.
	del, err := deleteASC(c, *r2.AutoScalingConfigurationArn, false)
	if err != nil || del.Status != "inactive" || del.DeletedAt == nil || aws.ToInt32(del.AutoScalingConfigurationRevision) != 2 {
		t.Fatalf("delete = %+v, %v", del, err)
	}
	if got := describeASC(t, c, *r2.AutoScalingConfigurationArn); got.Status != "inactive" || got.DeletedAt == nil || aws.ToBool(got.Latest) {
		t.Fatalf("deleted revision describes as %+v", got)
	}
	_, err = deleteASC(c, *r2.AutoScalingConfigurationArn, false)
	wantAPIError(t, err, "InvalidRequestException", "The auto scaling configuration you specified has been deleted")
	del, err = deleteASC(c, ascPrefix+"high", false)
	if err != nil || aws.ToInt32(del.AutoScalingConfigurationRevision) != 3 {
		t.Fatalf("name-only delete = %+v, %v", del, err)
	}
	if r := createASC(t, c, "high", 0, 0, 0); aws.ToInt32(r.AutoScalingConfigurationRevision) != 2 {
		t.Fatalf("after deleting 2 and 3: revision %d, want 2", aws.ToInt32(r.AutoScalingConfigurationRevision))
	}
	_, err = deleteASC(c, *r1.AutoScalingConfigurationArn, true)
	wantAPIError(t, err, "InvalidRequestException", "DeleteAllRevisions")
	if _, err := deleteASC(c, ascPrefix+"high", true); err != nil {
		t.Fatal(err)
	}
	if got := listASCs(t, c, apprunner.ListAutoScalingConfigurationsInput{}); got != "DefaultConfiguration/1* slow/1" {
		t.Fatalf("after deleting all revisions: %s", got)
	}
	if r := createASC(t, c, "high", 0, 0, 0); aws.ToInt32(r.AutoScalingConfigurationRevision) != 1 {
		t.Fatalf("re-created: revision %d, want 1", aws.ToInt32(r.AutoScalingConfigurationRevision))
	}

	// The default moves; the default can't be deleted.
	_, err = deleteASC(c, defaultASC, false)
	wantAPIError(t, err, "InvalidRequestException", "You can't delete a reserved auto scaling configuration")
	createASC(t, c, "slow", 0, 0, 0)
	up, err := c.UpdateDefaultAutoScalingConfiguration(ctx, &apprunner.UpdateDefaultAutoScalingConfigurationInput{AutoScalingConfigurationArn: aws.String(ascPrefix + "slow")})
	if err != nil || aws.ToInt32(up.AutoScalingConfiguration.AutoScalingConfigurationRevision) != 2 || !aws.ToBool(up.AutoScalingConfiguration.IsDefault) {
		t.Fatalf("UpdateDefault = %+v, %v", up, err)
	}
	if got := listASCs(t, c, apprunner.ListAutoScalingConfigurationsInput{}); got != "DefaultConfiguration/1 slow/1 high/1 slow/2*" {
		t.Fatalf("after moving the default: %s", got)
	}
	_, err = deleteASC(c, ascPrefix+"slow", false)
	wantAPIError(t, err, "InvalidRequestException", "reserved")
	if _, err := c.UpdateDefaultAutoScalingConfiguration(ctx, &apprunner.UpdateDefaultAutoScalingConfigurationInput{AutoScalingConfigurationArn: aws.String(defaultASC)}); err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateDefaultAutoScalingConfiguration(ctx, &apprunner.UpdateDefaultAutoScalingConfigurationInput{AutoScalingConfigurationArn: aws.String(ascPrefix + "nope")})
	wantAPIError(t, err, "ResourceNotFoundException")

	// Quotas: 5 revisions per name, 10 names (the default not counted).
	for i := 0; i < 4; i++ {
		createASC(t, c, "high", 0, 0, 0)
	}
	_, err = c.CreateAutoScalingConfiguration(ctx, &apprunner.CreateAutoScalingConfigurationInput{AutoScalingConfigurationName: aws.String("high")})
	wantAPIError(t, err, "ServiceQuotaExceededException", "revisions")
	for i := 3; i <= 10; i++ { // high and low exist
		createASC(t, c, fmt.Sprintf("name-%02d", i), 0, 0, 0)
	}
	_, err = c.CreateAutoScalingConfiguration(ctx, &apprunner.CreateAutoScalingConfigurationInput{AutoScalingConfigurationName: aws.String("name-11")})
	wantAPIError(t, err, "ServiceQuotaExceededException")
}

func TestAutoScalingConfigurationServices(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "process"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	createASC(t, c, "webs", 0, 0, 0)
	web2 := createASC(t, c, "webs", 10, 2, 3)
	// The process runtime runs no images: these services end CREATE_FAILED,
	// which still use their configuration.
	create := func(name string, asc *string) *types.Service {
		t.Helper()
		out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(name),
			SourceConfiguration: imageSource(testImage, nil, ""), AutoScalingConfigurationArn: asc})
		if err != nil {
			t.Fatalf("CreateService(%s): %v", name, err)
		}
		return waitStatus(t, c, out.Service.ServiceArn)
	}
	summary := func(svc *types.Service) string {
		out, err := c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: svc.ServiceArn})
		if err != nil {
			t.Fatal(err)
		}
		s := out.Service.AutoScalingConfigurationSummary
		return fmt.Sprintf("%s %s/%d %s default=%t used=%t", aws.ToString(s.AutoScalingConfigurationArn), aws.ToString(s.AutoScalingConfigurationName),
			s.AutoScalingConfigurationRevision, s.Status, aws.ToBool(s.IsDefault), aws.ToBool(s.HasAssociatedService))
	}
	listServices := func(arn string) string {
		t.Helper()
		var out []string
		in := &apprunner.ListServicesForAutoScalingConfigurationInput{AutoScalingConfigurationArn: aws.String(arn), MaxResults: aws.Int32(1)}
		for {
			page, err := c.ListServicesForAutoScalingConfiguration(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, page.ServiceArnList...)
			if page.NextToken == nil {
				return strings.Join(out, " ")
			}
			in.NextToken = page.NextToken
		}
	}

	a := create("uses-web", aws.String(ascPrefix+"webs"))
	if got, want := summary(a), *web2.AutoScalingConfigurationArn+" webs/2 active default=false used=true"; got != want {
		t.Fatalf("summary %s, want %s", got, want)
	}
	b := create("uses-default", nil)
	if got, want := summary(b), defaultASC+" DefaultConfiguration/1 active default=true used=true"; got != want {
		t.Fatalf("summary %s, want %s", got, want)
	}
	e := create("uses-web-too", web2.AutoScalingConfigurationArn)
	if got, want := listServices(ascPrefix+"webs"), *a.ServiceArn+" "+*e.ServiceArn; got != want {
		t.Fatalf("services of web: %s, want %s", got, want)
	}
	if got := listServices(defaultASC); got != *b.ServiceArn {
		t.Fatalf("services of the default: %s", got)
	}
	if got := listServices(ascPrefix + "webs/1"); got != "" {
		t.Fatalf("services of webs/1: %s", got)
	}
	_, err := deleteASC(c, *web2.AutoScalingConfigurationArn, false)
	wantAPIError(t, err, "InvalidRequestException",
		"You can't delete the auto scaling configuration. It's used by one or more services. To delete it, update the services to use other auto scaling configurations.")

	// Bad configurations are refused.
	for _, tt := range []struct{ arn, msg string }{
		{"", "autoScalingConfigurationArn"}, // the model's length constraint comes first
		{ascPrefix + "nope", "isn't valid"},
		{ascPrefix + "webs/1/00000000000000000000000000000009", "isn't valid"},
	} {
		_, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("refused"),
			SourceConfiguration: imageSource(testImage, nil, ""), AutoScalingConfigurationArn: aws.String(tt.arn)})
		wantAPIError(t, err, "InvalidRequestException", tt.msg)
		_, err = c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: a.ServiceArn, AutoScalingConfigurationArn: aws.String(tt.arn)})
		wantAPIError(t, err, "InvalidRequestException", tt.msg)
	}
	// Scale to zero is opted into by tags; a bad duration is refused.
	bad := createASC(t, c, "zero", 0, 0, 0,
		types.Tag{Key: aws.String("openrunner:min-size"), Value: aws.String("0")},
		types.Tag{Key: aws.String("openrunner:scale-to-zero-after"), Value: aws.String("soon")})
	_, err = c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: a.ServiceArn, AutoScalingConfigurationArn: bad.AutoScalingConfigurationArn})
	wantAPIError(t, err, "InvalidRequestException", "openrunner:scale-to-zero-after")

	// UpdateService moves a service to another configuration.
	up, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: a.ServiceArn, AutoScalingConfigurationArn: aws.String(defaultASC)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(up.Service.AutoScalingConfigurationSummary.AutoScalingConfigurationArn); got != defaultASC {
		t.Fatalf("UpdateService returned summary %s", got)
	}
	waitStatus(t, c, a.ServiceArn)
	if got, want := summary(a), defaultASC+" DefaultConfiguration/1 active default=true used=true"; got != want {
		t.Fatalf("after the update: %s, want %s", got, want)
	}
	if got := listServices(defaultASC); got != *a.ServiceArn+" "+*b.ServiceArn {
		t.Fatalf("services of the default: %s", got)
	}
	if _, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: e.ServiceArn, AutoScalingConfigurationArn: aws.String(ascPrefix + "webs/1")}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, e.ServiceArn)
	if aws.ToBool(describeASC(t, c, *web2.AutoScalingConfigurationArn).HasAssociatedService) {
		t.Fatal("webs/2 still HasAssociatedService")
	}
	if !aws.ToBool(describeASC(t, c, ascPrefix+"webs/1").HasAssociatedService) {
		t.Fatal("webs/1 not HasAssociatedService")
	}
	if _, err := deleteASC(c, *web2.AutoScalingConfigurationArn, false); err != nil {
		t.Fatal(err)
	}

	// A new default is what services naming none get; a deleted service
	// no longer holds its configuration.
	if _, err := c.UpdateDefaultAutoScalingConfiguration(ctx, &apprunner.UpdateDefaultAutoScalingConfigurationInput{AutoScalingConfigurationArn: aws.String(ascPrefix + "webs")}); err != nil {
		t.Fatal(err)
	}
	f := create("uses-new-default", nil)
	if got := summary(f); !strings.Contains(got, " webs/1 active default=true used=true") {
		t.Fatalf("summary %s", got)
	}
	if _, err := c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: e.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, e.ServiceArn)
	if got := listServices(ascPrefix + "webs"); got != *f.ServiceArn {
		t.Fatalf("services of webs/1 after deleting one: %s", got)
	}
}
