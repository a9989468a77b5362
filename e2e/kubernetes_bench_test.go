package e2e_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

// BenchmarkRuntimeCreateRunning measures CreateService → RUNNING for an
// image the runtime already has, on Docker and on the Kubernetes test
// cluster side by side in one run (the same test app, a TCP health check
// every second, polling DescribeService every 10 ms).
func BenchmarkRuntimeCreateRunning(b *testing.B) {
	for _, runtime := range []string{"docker", "kubernetes"} {
		b.Run(runtime, func(b *testing.B) {
			cfg := daemon.Config{Runtime: runtime, Quotas: openrunner.Quotas{Services: 1 << 20}}
			image := testImage
			if runtime == "docker" {
				testutil.NeedDockerTestImage(b)
			} else {
				k := newKubeEnv(b)
				cfg.Kubernetes, image = k.cfg.Kubernetes, k.image
			}
			d := testutil.MustRunDaemon(b, cfg)
			c := testutil.Client(d.URL(), testutil.ClientOptions{})
			hc := &types.HealthCheckConfiguration{Protocol: types.HealthCheckProtocolTcp, Interval: aws.Int32(1), Timeout: aws.Int32(1)}
			small := &types.InstanceConfiguration{Cpu: aws.String("0.25 vCPU"), Memory: aws.String("0.5 GB")}
			b.ResetTimer()
			for i := range b.N {
				out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(fmt.Sprintf("bench-%d", i)),
					SourceConfiguration: imageSource(image, nil, ""), HealthCheckConfiguration: hc, InstanceConfiguration: small})
				if err != nil {
					b.Fatal(err)
				}
				pollRunning(b, c, out.Service.ServiceArn)
				b.StopTimer()
				if _, err := c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: out.Service.ServiceArn}); err != nil {
					b.Fatal(err)
				}
				waitStatus(b, c, out.Service.ServiceArn)
				b.StartTimer()
			}
		})
	}
}

// pollRunning polls DescribeService every 10 ms, as a client would, until
// the service is RUNNING; any status but OPERATION_IN_PROGRESS fails.
func pollRunning(b testing.TB, c *apprunner.Client, arn *string) {
	b.Helper()
	for {
		ds, err := c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: arn})
		if err != nil {
			b.Fatal(err)
		}
		if ds.Service.Status == types.ServiceStatusRunning {
			return
		}
		if ds.Service.Status != types.ServiceStatusOperationInProgress {
			b.Fatalf("status %s", ds.Service.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
