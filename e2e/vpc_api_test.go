package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

func createConnector(tb testing.TB, c *apprunner.Client, name string, subnets ...string) *types.VpcConnector {
	tb.Helper()
	out, err := c.CreateVpcConnector(ctx, &apprunner.CreateVpcConnectorInput{VpcConnectorName: aws.String(name),
		Subnets: subnets, SecurityGroups: []string{"sg-0123456789abcdef0"}, Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("db")}}})
	if err != nil {
		tb.Fatalf("CreateVpcConnector(%s): %v", name, err)
	}
	return out.VpcConnector
}

// waitIngress polls DescribeVpcIngressConnection until the connection
// leaves its PENDING_* status.
func waitIngress(tb testing.TB, c *apprunner.Client, arn *string) *types.VpcIngressConnection {
	tb.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := c.DescribeVpcIngressConnection(ctx, &apprunner.DescribeVpcIngressConnectionInput{VpcIngressConnectionArn: arn})
		if err != nil {
			tb.Fatal(err)
		}
		if !strings.HasPrefix(string(out.VpcIngressConnection.Status), "PENDING_") {
			return out.VpcIngressConnection
		}
		time.Sleep(100 * time.Millisecond)
	}
	tb.Fatal("the VPC ingress connection stayed PENDING")
	return nil
}

// TestVpcConnectorAPI runs every VpcConnector operation and error through
// the SDK.
func TestVpcConnectorAPI(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "process", Quotas: openrunner.Quotas{VpcConnectors: 3}})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	vc := createConnector(t, c, "db-connector", "subnet-aaa", "subnet-bbb")
	if vc.Status != types.VpcConnectorStatusActive || aws.ToInt32(&vc.VpcConnectorRevision) != 1 ||
		!strings.Contains(aws.ToString(vc.VpcConnectorArn), ":vpcconnector/db-connector/1/") ||
		strings.Join(vc.Subnets, ",") != "subnet-aaa,subnet-bbb" || strings.Join(vc.SecurityGroups, ",") != "sg-0123456789abcdef0" || vc.CreatedAt == nil {
		t.Fatalf("CreateVpcConnector: %+v", vc)
	}
	_, err := c.CreateVpcConnector(ctx, &apprunner.CreateVpcConnectorInput{VpcConnectorName: aws.String("db-connector"), Subnets: []string{"subnet-c"}})
	wantAPIError(t, err, "InvalidRequestException", "already exists")
	_, err = c.CreateVpcConnector(ctx, &apprunner.CreateVpcConnectorInput{VpcConnectorName: aws.String("no-subnets"), Subnets: []string{}})
	wantAPIError(t, err, "InvalidRequestException", "Subnets")
	_, err = c.CreateVpcConnector(ctx, &apprunner.CreateVpcConnectorInput{VpcConnectorName: aws.String("twice"), Subnets: []string{"s-1", "s-1"}})
	wantAPIError(t, err, "InvalidRequestException", "twice")

	createConnector(t, c, "second", "subnet-1")
	createConnector(t, c, "third", "subnet-1")
	_, err = c.CreateVpcConnector(ctx, &apprunner.CreateVpcConnectorInput{VpcConnectorName: aws.String("fourth"), Subnets: []string{"subnet-1"}})
	wantAPIError(t, err, "ServiceQuotaExceededException")

	// Pagination: full objects, one page at a time.
	var names []string
	in := &apprunner.ListVpcConnectorsInput{MaxResults: aws.Int32(2)}
	for p := apprunner.NewListVpcConnectorsPaginator(c, in); p.HasMorePages(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.VpcConnectors {
			names = append(names, aws.ToString(v.VpcConnectorName)+"/"+strings.Join(v.Subnets, "+"))
		}
	}
	if got := strings.Join(names, ","); got != "db-connector/subnet-aaa+subnet-bbb,second/subnet-1,third/subnet-1" {
		t.Fatalf("ListVpcConnectors: %s", got)
	}
	if tags, err := c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: vc.VpcConnectorArn}); err != nil || len(tags.Tags) != 1 {
		t.Fatalf("tags: %+v, %v", tags, err)
	}

	// Full ARNs only.
	partial := strings.Join(strings.Split(aws.ToString(vc.VpcConnectorArn), "/")[:2], "/")
	_, err = c.DescribeVpcConnector(ctx, &apprunner.DescribeVpcConnectorInput{VpcConnectorArn: aws.String(partial)})
	wantAPIError(t, err, "InvalidRequestException", "full VPC connector ARN")
	_, err = c.DescribeVpcConnector(ctx, &apprunner.DescribeVpcConnectorInput{VpcConnectorArn: aws.String(partial + "/1/" + openrunner.NewID())})
	wantAPIError(t, err, "ResourceNotFoundException")

	// A service using it keeps it from being deleted.
	svc, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("uses-vpc"), SourceConfiguration: imageSource(testImage, nil, ""),
		NetworkConfiguration: &types.NetworkConfiguration{EgressConfiguration: &types.EgressConfiguration{EgressType: types.EgressTypeVpc, VpcConnectorArn: vc.VpcConnectorArn}}})
	if err != nil {
		t.Fatal(err)
	}
	if e := svc.Service.NetworkConfiguration.EgressConfiguration; e.EgressType != types.EgressTypeVpc || aws.ToString(e.VpcConnectorArn) != aws.ToString(vc.VpcConnectorArn) {
		t.Fatalf("NetworkConfiguration: %+v", e)
	}
	_, err = c.DeleteVpcConnector(ctx, &apprunner.DeleteVpcConnectorInput{VpcConnectorArn: vc.VpcConnectorArn})
	wantAPIError(t, err, "InvalidRequestException", "Provided VPC connector arn is being used by other services. ARN:  "+aws.ToString(vc.VpcConnectorArn))
	waitStatus(t, c, svc.Service.ServiceArn)
	if _, err := c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: svc.Service.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, svc.Service.ServiceArn)

	del, err := c.DeleteVpcConnector(ctx, &apprunner.DeleteVpcConnectorInput{VpcConnectorArn: vc.VpcConnectorArn})
	if err != nil || del.VpcConnector.Status != types.VpcConnectorStatusInactive || del.VpcConnector.DeletedAt == nil {
		t.Fatalf("DeleteVpcConnector: %+v, %v", del, err)
	}
	got, err := c.DescribeVpcConnector(ctx, &apprunner.DescribeVpcConnectorInput{VpcConnectorArn: vc.VpcConnectorArn})
	if err != nil || got.VpcConnector.Status != types.VpcConnectorStatusInactive {
		t.Fatalf("DescribeVpcConnector after delete: %+v, %v", got, err)
	}
	_, err = c.DeleteVpcConnector(ctx, &apprunner.DeleteVpcConnectorInput{VpcConnectorArn: vc.VpcConnectorArn})
	wantAPIError(t, err, "InvalidRequestException", "has been deleted")

	// CreateService checks the connector.
	for _, tc := range []struct {
		egress   *types.EgressConfiguration
		fragment string
	}{
		{&types.EgressConfiguration{EgressType: types.EgressTypeVpc}, "VpcConnectorArn"},
		{&types.EgressConfiguration{EgressType: types.EgressTypeVpc, VpcConnectorArn: vc.VpcConnectorArn}, "has been deleted"},
		{&types.EgressConfiguration{EgressType: types.EgressTypeVpc, VpcConnectorArn: aws.String(partial + "/1/" + openrunner.NewID())}, "doesn't exist"},
	} {
		_, err = c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("bad-egress"), SourceConfiguration: imageSource(testImage, nil, ""),
			NetworkConfiguration: &types.NetworkConfiguration{EgressConfiguration: tc.egress}})
		wantAPIError(t, err, "InvalidRequestException", tc.fragment)
	}
}

// TestVpcIngressConnectionAPI runs every VpcIngressConnection operation and
// error through the SDK. The process runtime has no private networks:
// connections end FAILED_CREATION, saying so.
func TestVpcIngressConnectionAPI(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "process"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	create := func(name string) *types.Service {
		t.Helper()
		out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(name), SourceConfiguration: imageSource(testImage, nil, ""),
			NetworkConfiguration: &types.NetworkConfiguration{IngressConfiguration: &types.IngressConfiguration{IsPubliclyAccessible: false}}})
		if err != nil {
			t.Fatal(err)
		}
		if out.Service.ServiceUrl != nil || out.Service.NetworkConfiguration.IngressConfiguration.IsPubliclyAccessible {
			t.Fatalf("a private service: %+v", out.Service)
		}
		return out.Service
	}
	a, b := create("private-a"), create("private-b")
	vpcCfg := &types.IngressVpcConfiguration{VpcId: aws.String("vpc-0abc"), VpcEndpointId: aws.String("vpce-0abc")}

	_, err := c.CreateVpcIngressConnection(ctx, &apprunner.CreateVpcIngressConnectionInput{VpcIngressConnectionName: aws.String("ghost"),
		ServiceArn: aws.String(strings.Replace(aws.ToString(a.ServiceArn), aws.ToString(a.ServiceId), openrunner.NewID(), 1)), IngressVpcConfiguration: vpcCfg})
	wantAPIError(t, err, "InvalidRequestException", "doesn't exist")
	_, err = c.CreateVpcIngressConnection(ctx, &apprunner.CreateVpcIngressConnectionInput{VpcIngressConnectionName: aws.String("no-vpc"),
		ServiceArn: a.ServiceArn, IngressVpcConfiguration: &types.IngressVpcConfiguration{VpcEndpointId: aws.String("vpce-1")}})
	wantAPIError(t, err, "InvalidRequestException", "VpcId")

	out, err := c.CreateVpcIngressConnection(ctx, &apprunner.CreateVpcIngressConnectionInput{VpcIngressConnectionName: aws.String("ingress-a"),
		ServiceArn: a.ServiceArn, IngressVpcConfiguration: vpcCfg, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	if err != nil {
		t.Fatal(err)
	}
	ic := out.VpcIngressConnection
	if ic.Status != types.VpcIngressConnectionStatusPendingCreation || aws.ToString(ic.AccountId) != "000000000000" && len(aws.ToString(ic.AccountId)) != 12 ||
		!strings.Contains(aws.ToString(ic.VpcIngressConnectionArn), ":vpcingressconnection/ingress-a/") ||
		!strings.HasSuffix(aws.ToString(ic.DomainName), ".us-east-1.apprunner.localhost") || aws.ToString(ic.IngressVpcConfiguration.VpcId) != "vpc-0abc" {
		t.Fatalf("CreateVpcIngressConnection: %+v", ic)
	}
	_, err = c.CreateVpcIngressConnection(ctx, &apprunner.CreateVpcIngressConnectionInput{VpcIngressConnectionName: aws.String("ingress-a2"), ServiceArn: a.ServiceArn, IngressVpcConfiguration: vpcCfg})
	wantAPIError(t, err, "InvalidRequestException", "already has a VPC ingress connection")
	_, err = c.CreateVpcIngressConnection(ctx, &apprunner.CreateVpcIngressConnectionInput{VpcIngressConnectionName: aws.String("ingress-a"), ServiceArn: b.ServiceArn, IngressVpcConfiguration: vpcCfg})
	wantAPIError(t, err, "InvalidRequestException", "already exists")

	failed := waitIngress(t, c, ic.VpcIngressConnectionArn)
	if failed.Status != types.VpcIngressConnectionStatusFailedCreation {
		t.Fatalf("on the process runtime: %s, want FAILED_CREATION", failed.Status)
	}
	if log := (&sourceEnv{d: d}).serviceLog(t, aws.ToString(a.ServiceArn), false); !strings.Contains(log, "VPC ingress connections need the docker runtime") {
		t.Fatalf("the service log does not say why:\n%s", log)
	}

	outB, err := c.CreateVpcIngressConnection(ctx, &apprunner.CreateVpcIngressConnectionInput{VpcIngressConnectionName: aws.String("ingress-b"),
		ServiceArn: b.ServiceArn, IngressVpcConfiguration: &types.IngressVpcConfiguration{VpcId: aws.String("vpc-0abc"), VpcEndpointId: aws.String("vpce-other")}})
	if err != nil {
		t.Fatal(err)
	}
	list := func(f *types.ListVpcIngressConnectionsFilter, max *int32) []string {
		t.Helper()
		var arns []string
		for p := apprunner.NewListVpcIngressConnectionsPaginator(c, &apprunner.ListVpcIngressConnectionsInput{Filter: f, MaxResults: max}); p.HasMorePages(); {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range page.VpcIngressConnectionSummaryList {
				arns = append(arns, aws.ToString(s.VpcIngressConnectionArn)+" "+aws.ToString(s.ServiceArn))
			}
		}
		return arns
	}
	aLine, bLine := aws.ToString(ic.VpcIngressConnectionArn)+" "+aws.ToString(a.ServiceArn), aws.ToString(outB.VpcIngressConnection.VpcIngressConnectionArn)+" "+aws.ToString(b.ServiceArn)
	wantEqual := func(what string, got []string, want ...string) {
		t.Helper()
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("%s:\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	wantEqual("all, by pages of 1", list(nil, aws.Int32(1)), aLine, bLine)
	wantEqual("by service", list(&types.ListVpcIngressConnectionsFilter{ServiceArn: b.ServiceArn}, nil), bLine)
	wantEqual("by endpoint", list(&types.ListVpcIngressConnectionsFilter{VpcEndpointId: aws.String("vpce-0abc")}, nil), aLine)
	wantEqual("by both", list(&types.ListVpcIngressConnectionsFilter{ServiceArn: b.ServiceArn, VpcEndpointId: aws.String("vpce-0abc")}, nil))

	// Update: allowed in FAILED_CREATION, and fails again.
	up, err := c.UpdateVpcIngressConnection(ctx, &apprunner.UpdateVpcIngressConnectionInput{VpcIngressConnectionArn: ic.VpcIngressConnectionArn,
		IngressVpcConfiguration: &types.IngressVpcConfiguration{VpcId: aws.String("vpc-new"), VpcEndpointId: aws.String("vpce-new")}})
	if err != nil || up.VpcIngressConnection.Status != types.VpcIngressConnectionStatusPendingUpdate || aws.ToString(up.VpcIngressConnection.IngressVpcConfiguration.VpcId) != "vpc-new" {
		t.Fatalf("UpdateVpcIngressConnection: %+v, %v", up, err)
	}
	if got := waitIngress(t, c, ic.VpcIngressConnectionArn); got.Status != types.VpcIngressConnectionStatusFailedUpdate {
		t.Fatalf("after update: %s, want FAILED_UPDATE", got.Status)
	}

	// Delete: PENDING_DELETION, then DELETED, still describable; no more
	// changes after.
	del, err := c.DeleteVpcIngressConnection(ctx, &apprunner.DeleteVpcIngressConnectionInput{VpcIngressConnectionArn: ic.VpcIngressConnectionArn})
	if err != nil || del.VpcIngressConnection.Status != types.VpcIngressConnectionStatusPendingDeletion {
		t.Fatalf("DeleteVpcIngressConnection: %+v, %v", del, err)
	}
	gone := waitIngress(t, c, ic.VpcIngressConnectionArn)
	if gone.Status != types.VpcIngressConnectionStatusDeleted || gone.DeletedAt == nil {
		t.Fatalf("after delete: %+v", gone)
	}
	_, err = c.DeleteVpcIngressConnection(ctx, &apprunner.DeleteVpcIngressConnectionInput{VpcIngressConnectionArn: ic.VpcIngressConnectionArn})
	wantAPIError(t, err, "InvalidStateException", "Current status: DELETED")
	_, err = c.UpdateVpcIngressConnection(ctx, &apprunner.UpdateVpcIngressConnectionInput{VpcIngressConnectionArn: ic.VpcIngressConnectionArn, IngressVpcConfiguration: vpcCfg})
	wantAPIError(t, err, "InvalidStateException", "Current status: DELETED")
	wantEqual("after delete", list(nil, nil), bLine)
	_, err = c.DescribeVpcIngressConnection(ctx, &apprunner.DescribeVpcIngressConnectionInput{VpcIngressConnectionArn: aws.String(aws.ToString(ic.VpcIngressConnectionArn) + "x")})
	wantAPIError(t, err, "ResourceNotFoundException")
	// Another account sees nothing.
	other := testutil.Client(d.URL(), testutil.ClientOptions{AccessKeyID: "AKIAOTHER", SecretAccessKey: "other"})
	if _, err := other.DescribeVpcIngressConnection(ctx, &apprunner.DescribeVpcIngressConnectionInput{VpcIngressConnectionArn: outB.VpcIngressConnection.VpcIngressConnectionArn}); err == nil {
		t.Fatal("another identity described the connection")
	}
}
