package logs_test

import (
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/logs"
)

func TestEventTexts(t *testing.T) {
	const op = "7f05c57529fb4b5cb1191af5be19fc14"
	tcp := openrunner.HealthCheckConfig{Protocol: "TCP"}
	http := openrunner.HealthCheckConfig{Protocol: "HTTP", Path: "/api/health"}
	for _, tt := range []struct{ got, want string }{
		// Wording seen in App Runner's logs (apprunner-runtime.md §3.2 and
		// public deployment logs).
		{logs.OperationStarted(openrunner.OperationCreateService), "[AppRunner] Service creation started."},
		{logs.OperationStarted(openrunner.OperationUpdateService), "[AppRunner] Service update started."},
		{logs.OperationStarted(openrunner.OperationStartDeployment), "[AppRunner] Service update started."},
		{logs.StatusSet(openrunner.ServiceOperationInProgress), "[AppRunner] Service status is set to OPERATION_IN_PROGRESS."},
		{logs.StatusSet(openrunner.ServiceRunning), "[AppRunner] Service status is set to RUNNING."},
		{logs.OperationCompleted(openrunner.OperationCreateService), "[AppRunner] Service creation completed successfully."},
		{logs.OperationCompleted(openrunner.OperationUpdateService), "[AppRunner] Service update completed successfully. New configuration is deployed."},
		{logs.OperationCompleted(openrunner.OperationStartDeployment), "[AppRunner] Service update completed successfully. New configuration is deployed."},
		{logs.DeploymentStarted(op, logs.Trigger(openrunner.OperationCreateService)), "[AppRunner] Deployment with ID : " + op + " started. Triggering event : SERVICE_CREATE"},
		{logs.DeploymentStarted(op, logs.Trigger(openrunner.OperationUpdateService)), "[AppRunner] Deployment with ID : " + op + " started. Triggering event : SERVICE_UPDATE"},
		{logs.DeploymentStarted(op, logs.Trigger(openrunner.OperationStartDeployment)), "[AppRunner] Deployment with ID : " + op + " started. Triggering event : SERVICE_DEPLOY"},
		{logs.DeploymentFailed(op, ""), "[AppRunner] Deployment with ID : " + op + " failed."},
		{logs.DeploymentFailed(op, logs.ReasonHealthCheckFailed), "[AppRunner] Deployment with ID : " + op + " failed. Failure reason : Health check failed."},
		{logs.DeploymentFailed(op, "Health check failed."), "[AppRunner] Deployment with ID : " + op + " failed. Failure reason : Health check failed."},
		{logs.DeploymentArtifactSource("https://github.com/octo/app", "main", ""), "[AppRunner] Deployment Artifact: [Repo Type: Source], [Repository: https://github.com/octo/app], [Branch: main], [SourceDirectory: /]"},
		{logs.CreatingPipeline, "[AppRunner] Creating pipeline for automatic deployments."},
		{logs.PipelineCreated, "[AppRunner] Successfully created pipeline for automatic deployments."},
		{logs.PullingSource("GITHUB", "https://github.com/octo/app"), "[AppRunner] Pulling source code from GITHUB Repository ( https://github.com/octo/app )."},
		{logs.SourcePulled, "[AppRunner] Successfully pulled your application source code."},
		{logs.ReadingConfigFile, "[AppRunner] Reading apprunner.yaml config file."},
		{logs.StartingSourceDeploy, "[AppRunner] Starting to deploy your application source code."},
		{logs.StartingBuild, "[AppRunner] Starting to build your application source code."},
		{logs.BuildSucceeded, "[AppRunner] Successfully built your application source code."},
		{logs.SourceDeployFailed, "[AppRunner] Failed to deploy your application source code."},
		{logs.StartingImagePull, "[AppRunner] Starting to pull your application image."},
		{logs.PullingImage("150806394439.dkr.ecr.eu-west-3.amazonaws.com/scale0", "ECR"), "[AppRunner] Pulling image 150806394439.dkr.ecr.eu-west-3.amazonaws.com/scale0 from ECR repository."},
		{logs.ImagePulled("ECR"), "[AppRunner] Successfully pulled your application image from ECR."},
		{logs.ImageDeployFailed, "[AppRunner] Failed to deploy your application image."},
		{logs.Provisioning(true), "[AppRunner] Provisioning instances and deploying image for publicly accessible service."},
		{logs.HealthCheckStarted(tcp, "8080"), "[AppRunner] Performing health check on protocol `TCP` [Port: '8080']."},
		{logs.HealthCheckStarted(http, "3000"), "[AppRunner] Performing health check on protocol `HTTP` [Path: '/api/health'], [Port: '3000']."},
		{logs.HealthCheckFailed(tcp, "3000"), "[AppRunner] Health check failed on protocol `TCP` [Port: '3000']. Check your configured port number."},
		{logs.HealthCheckFailed(http, "3000"), "[AppRunner] Health check failed on protocol `HTTP`[Path: '/api/health'], [Port: '3000']. Check your configured port number."},
		{logs.HealthCheckStarted(openrunner.HealthCheckConfig{Protocol: "HTTP"}, "80"), "[AppRunner] Performing health check on protocol `HTTP` [Path: '/'], [Port: '80']."},
		{logs.HealthCheckSucceeded, "[AppRunner] Health check is successful. Routing traffic to application."},
		{logs.TrafficRouted, "[AppRunner] Successfully routed incoming traffic to application."},
		{logs.ApplicationExited(1), "[AppRunner] Your application stopped or failed to start. See logs for more information.  Container exit code: 1"},

		// UNCONFIRMED wording: OpenRunner's, in App Runner's style.
		{logs.OperationStarted(openrunner.OperationPauseService), "[AppRunner] Service pause started."},
		{logs.OperationCompleted(openrunner.OperationPauseService), "[AppRunner] Service pause completed successfully."},
		{logs.OperationStarted(openrunner.OperationResumeService), "[AppRunner] Service resume started."},
		{logs.OperationCompleted(openrunner.OperationResumeService), "[AppRunner] Service resume completed successfully."},
		{logs.OperationStarted(openrunner.OperationDeleteService), "[AppRunner] Service deletion started."},
		{logs.OperationCompleted(openrunner.OperationDeleteService), "[AppRunner] Service deletion completed successfully."},
		{logs.OperationFailed(openrunner.OperationCreateService), "[AppRunner] Service creation failed."},
		{logs.OperationFailed(openrunner.OperationDeleteService), "[AppRunner] Service deletion failed."},
		{logs.PullingImage("public.ecr.aws/nginx/nginx:latest", "ECR_PUBLIC"), "[AppRunner] Pulling image public.ecr.aws/nginx/nginx:latest from ECR Public repository."},
		{logs.Provisioning(false), "[AppRunner] Provisioning instances and deploying image for privately accessible service."},
		{logs.RollbackStarted, "[AppRunner] Rolling back to the previous successful deployment."},
		{logs.RollbackSucceeded, "[AppRunner] Rollback completed successfully. The previous deployment is serving traffic."},
		{logs.RollbackFailed, "[AppRunner] Rollback failed."},
	} {
		if tt.got != tt.want {
			t.Errorf("got  %q\nwant %q", tt.got, tt.want)
		}
	}
	if got := logs.Trigger(openrunner.OperationPauseService); got != "" {
		t.Errorf("Trigger(PAUSE_SERVICE) = %q, want none", got)
	}
}

func TestNames(t *testing.T) {
	if got, want := logs.DeploymentStream("op"), "deployment/op"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := logs.InstanceStream("i"), "instance/i"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	got, err := logs.LogGroupName(arn1, logs.GroupApplication)
	if want := "/aws/apprunner/web/0123456789abcdef0123456789abcdef/application"; err != nil || got != want {
		t.Errorf("LogGroupName = %q, %v, want %q", got, err, want)
	}
	for _, tt := range []struct{ arn, group string }{
		{"nope", logs.GroupService},
		{"arn:aws:apprunner:us-east-1:000000000000:connection/c/0123", logs.GroupService},
		{arn1, "other"},
	} {
		if _, err := logs.LogGroupName(tt.arn, tt.group); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("LogGroupName(%q, %q) = %v, want EINVALID", tt.arn, tt.group, err)
		}
	}
}

func TestApplicationSink(t *testing.T) {
	s := MustOpen(t, "", logs.Options{})
	sink := s.ApplicationSink(arn1, "c0ffee")
	sink(openrunner.LogLine{Time: t0, Stream: "stdout", Text: "out"})
	sink(openrunner.LogLine{Time: t0, Stream: "stderr", Text: "err"})
	es, _ := MustRead(t, s, logs.Query{ServiceARN: arn1, Group: logs.GroupApplication, Stream: "instance/c0ffee"})
	if len(es) != 2 || es[0].Text != "out" || es[1].Text != "err" || !es[0].Time.Equal(t0) {
		t.Fatalf("got %+v", es)
	}
}
