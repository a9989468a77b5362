package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

// TestLogsCommand reads a service's event and application logs with the
// command, through the signed GetServiceLogs endpoint, for a service that
// runs and one whose application exits.
func TestLogsCommand(t *testing.T) {
	testutil.NeedDockerTestImage(t)
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")

	create := func(name string, env map[string]string) string {
		out, err := c.CreateService(context.Background(), &apprunner.CreateServiceInput{
			ServiceName: aws.String(name),
			SourceConfiguration: &types.SourceConfiguration{
				AutoDeploymentsEnabled: aws.Bool(false),
				ImageRepository: &types.ImageRepository{
					ImageIdentifier: aws.String(testutil.DockerTestImage), ImageRepositoryType: types.ImageRepositoryTypeEcr,
					ImageConfiguration: &types.ImageConfiguration{Port: aws.String("8080"), RuntimeEnvironmentVariables: env},
				},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(out.Service.ServiceArn)
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			ds, err := c.DescribeService(context.Background(), &apprunner.DescribeServiceInput{ServiceArn: &arn})
			if err != nil {
				t.Fatal(err)
			}
			if ds.Service.Status != types.ServiceStatusOperationInProgress {
				return arn
			}
		}
		t.Fatal("service stayed OPERATION_IN_PROGRESS")
		return ""
	}
	logs := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := runLogs(context.Background(), append([]string{"--endpoint-url", d.URL()}, args...), &out, &bytes.Buffer{}); err != nil {
			t.Fatalf("openrunner logs %v: %v", args, err)
		}
		return out.String()
	}
	// eventually retries: instance output reaches the store asynchronously.
	eventually := func(args []string, want string) string {
		t.Helper()
		var got string
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if got = logs(args...); strings.Contains(got, want) {
				return got
			}
		}
		t.Fatalf("openrunner logs %v has no %q:\n%s", args, want, got)
		return ""
	}

	ok := create("logged", nil)
	events := logs(ok)
	for _, want := range []string{
		"[AppRunner] Service creation started.",
		"[AppRunner] Deployment with ID : ",
		"[AppRunner] Pulling image " + testutil.DockerTestImage,
		"[AppRunner] Health check is successful. Routing traffic to application.",
		"[AppRunner] Service status is set to RUNNING.",
	} {
		if !strings.Contains(events, want) {
			t.Errorf("service log lacks %q:\n%s", want, events)
		}
	}
	eventually([]string{"--application", ok}, "testapp: stdout ready")
	eventually([]string{"--application", ok}, "testapp: stderr ready")

	failed := create("exits", map[string]string{"TESTAPP_EXIT_CODE": "3"})
	eventually([]string{failed}, "Container exit code: 3")
	eventually([]string{failed}, "Service status is set to CREATE_FAILED.")
}
