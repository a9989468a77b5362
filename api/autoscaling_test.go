package api_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/sqlite"
	"github.com/openrunner/openrunner/wire"
)

type nopDeployer struct{}

func (nopDeployer) Kick(string) {}

// TestServiceDesiredFromAutoScaling: a service's desired bounds come from
// its auto scaling configuration, at creation and with an update, and its
// tags opt into scale to zero.
func TestServiceDesiredFromAutoScaling(t *testing.T) {
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "openrunner.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	services := sqlite.NewServiceService(db)
	s := &api.Server{Connections: sqlite.NewConnectionService(db), Tags: sqlite.NewTagService(db), AutoScaling: sqlite.NewAutoScalingConfigurationService(db), Services: services,
		Deployer: nopDeployer{}, Pages: api.NewPageTokens(make([]byte, 32)), BaseDomain: "example.test"}
	ctx := openrunner.NewContextWithScope(context.Background(), openrunner.Scope{AccountID: "111111111111", Region: "us-east-1"})

	small, err := s.CreateAutoScalingConfiguration(ctx, &wire.CreateAutoScalingConfigurationInput{
		AutoScalingConfigurationName: wire.Ptr("small"), MinSize: wire.Ptr(int32(2)), MaxSize: wire.Ptr(int32(4)), MaxConcurrency: wire.Ptr(int32(20))})
	if err != nil {
		t.Fatal(err)
	}
	zero, err := s.CreateAutoScalingConfiguration(ctx, &wire.CreateAutoScalingConfigurationInput{
		AutoScalingConfigurationName: wire.Ptr("zero"), MaxSize: wire.Ptr(int32(3)),
		Tags: []wire.Tag{{Key: wire.Ptr(openrunner.TagMinSize), Value: wire.Ptr("0")}, {Key: wire.Ptr(openrunner.TagScaleToZeroAfter), Value: wire.Ptr("5m")}}})
	if err != nil {
		t.Fatal(err)
	}
	desired := func(arn *string) openrunner.DesiredState {
		t.Helper()
		svc, err := services.FindServiceByARN(ctx, *arn)
		if err != nil {
			t.Fatal(err)
		}
		return svc.Desired
	}
	src := &wire.SourceConfiguration{ImageRepository: &wire.ImageRepository{
		ImageIdentifier: wire.Ptr("public.ecr.aws/x/y:1"), ImageRepositoryType: wire.Ptr(wire.ImageRepositoryType("ECR_PUBLIC"))}}

	out, err := s.CreateService(ctx, &wire.CreateServiceInput{ServiceName: wire.Ptr("default"), SourceConfiguration: src})
	if err != nil {
		t.Fatal(err)
	}
	if d := desired(out.Service.ServiceArn); d.MinSize != 1 || d.MaxSize != 25 || d.MaxConcurrency != 100 || d.Instances != 1 || d.ScaleToZero {
		t.Fatalf("default desired %+v", d)
	}
	out, err = s.CreateService(ctx, &wire.CreateServiceInput{ServiceName: wire.Ptr("small"), SourceConfiguration: src,
		AutoScalingConfigurationArn: wire.Ptr("arn:aws:apprunner:us-east-1:111111111111:autoscalingconfiguration/small")})
	if err != nil {
		t.Fatal(err)
	}
	arn := out.Service.ServiceArn
	if d := desired(arn); d.MinSize != 2 || d.MaxSize != 4 || d.MaxConcurrency != 20 || d.Instances != 2 || d.ScaleToZero {
		t.Fatalf("small desired %+v", d)
	}
	if got := wire.Deref(out.Service.AutoScalingConfigurationSummary.AutoScalingConfigurationArn); got != *small.AutoScalingConfiguration.AutoScalingConfigurationArn {
		t.Fatalf("summary ARN %s", got)
	}

	// The update's bounds are stored with its operation.
	if _, err := s.UpdateService(ctx, &wire.UpdateServiceInput{ServiceArn: arn, AutoScalingConfigurationArn: zero.AutoScalingConfiguration.AutoScalingConfigurationArn}); err == nil {
		t.Fatal("an update while the create is in progress was accepted")
	}
	svc, err := services.FindServiceByARN(ctx, *arn)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := services.FindOperations(ctx, *arn, openrunner.OperationFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	op := ops.Operations[0]
	op.Status = openrunner.OperationFailed
	svc.Status = openrunner.ServiceCreateFailed
	if err := services.FinishOperation(ctx, op, svc); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateService(ctx, &wire.UpdateServiceInput{ServiceArn: arn, AutoScalingConfigurationArn: zero.AutoScalingConfiguration.AutoScalingConfigurationArn}); err != nil {
		t.Fatal(err)
	}
	if d := desired(arn); d.MinSize != 1 || d.MaxSize != 3 || d.MaxConcurrency != 100 || !d.ScaleToZero || d.ScaleToZeroAfter != 5*time.Minute {
		t.Fatalf("zero desired %+v", d)
	}
}
