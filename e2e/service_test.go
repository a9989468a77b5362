package e2e_test

import (
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

// testImage is an ECR-shaped reference to the test app's image, built into
// the local engine (see testutil.DockerTestImage).
const testImage = testutil.DockerTestImage

func needDocker(t *testing.T) { testutil.NeedDockerTestImage(t) }

// waitStatus polls DescribeService until the service leaves
// OPERATION_IN_PROGRESS and returns it. Builds from source may take
// minutes on a cold Docker cache.
func waitStatus(t testing.TB, c *apprunner.Client, arn *string) *types.Service {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		if out.Service.Status != types.ServiceStatusOperationInProgress {
			return out.Service
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the service stayed OPERATION_IN_PROGRESS")
	return nil
}

// get sends GET path to the router with the service's host.
func get(t testing.TB, routerURL, host, path string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, routerURL+path, nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func imageSource(ref string, env map[string]string, start string) *types.SourceConfiguration {
	ic := &types.ImageConfiguration{Port: aws.String("8080"), RuntimeEnvironmentVariables: env}
	if start != "" {
		ic.StartCommand = aws.String(start)
	}
	return &types.SourceConfiguration{
		AutoDeploymentsEnabled: aws.Bool(false),
		ImageRepository:        &types.ImageRepository{ImageIdentifier: aws.String(ref), ImageRepositoryType: types.ImageRepositoryTypeEcr, ImageConfiguration: ic},
	}
}

func containersOf(t *testing.T, serviceARN string) string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-a", "-q", "--filter", "label=dev.openrunner.service-arn="+serviceARN).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestImageServiceLifecycle(t *testing.T) {
	needDocker(t)
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	created, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName:           aws.String("hello-image"),
		SourceConfiguration:   imageSource(testImage, map[string]string{"GREETING_SOURCE": "e2e"}, "/testapp --greeting hi-from-openrunner"),
		InstanceConfiguration: &types.InstanceConfiguration{Cpu: aws.String("0.25 vCPU"), Memory: aws.String("0.5 GB"), InstanceRoleArn: aws.String("arn:aws:iam::000000000000:role/app")},
		HealthCheckConfiguration: &types.HealthCheckConfiguration{
			Protocol: types.HealthCheckProtocolHttp, Path: aws.String("/"), Interval: aws.Int32(1), Timeout: aws.Int32(1),
		},
		NetworkConfiguration:       &types.NetworkConfiguration{IpAddressType: types.IpAddressTypeDualStack},
		ObservabilityConfiguration: &types.ServiceObservabilityConfiguration{ObservabilityEnabled: false},
		EncryptionConfiguration:    &types.EncryptionConfiguration{KmsKey: aws.String("arn:aws:kms:us-east-1:000000000000:key/0a1b2c3d-0000-4000-8000-000000000000")},
		Tags:                       []types.Tag{{Key: aws.String("team"), Value: aws.String("web")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	svc := created.Service
	if svc.Status != types.ServiceStatusOperationInProgress || aws.ToString(created.OperationId) == "" || len(aws.ToString(svc.ServiceId)) != 32 {
		t.Fatalf("CreateService: %+v", svc)
	}
	if aws.ToString(svc.InstanceConfiguration.Cpu) != "256" || aws.ToString(svc.InstanceConfiguration.Memory) != "512" {
		t.Fatalf("Cpu/Memory not normalized: %+v", svc.InstanceConfiguration)
	}
	host := aws.ToString(svc.ServiceUrl)
	if !strings.HasSuffix(host, ".us-east-1.apprunner.localhost") || len(strings.SplitN(host, ".", 2)[0]) != 10 || strings.Contains(host, "://") {
		t.Fatalf("ServiceUrl %q", host)
	}
	if got := aws.ToString(svc.AutoScalingConfigurationSummary.AutoScalingConfigurationArn); !strings.HasSuffix(got, ":autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001") {
		t.Fatalf("ASC %s", got)
	}

	running := waitStatus(t, c, svc.ServiceArn)
	if running.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s, want RUNNING", running.Status)
	}
	// Every member comes back as created (defaults filled in).
	hc, nc, ic := running.HealthCheckConfiguration, running.NetworkConfiguration, running.InstanceConfiguration
	if hc.Protocol != types.HealthCheckProtocolHttp || aws.ToInt32(hc.Interval) != 1 || aws.ToInt32(hc.Timeout) != 1 || aws.ToInt32(hc.HealthyThreshold) != 1 || aws.ToInt32(hc.UnhealthyThreshold) != 5 ||
		nc.IpAddressType != types.IpAddressTypeDualStack || nc.EgressConfiguration.EgressType != types.EgressTypeDefault || !aws.ToBool(&nc.IngressConfiguration.IsPubliclyAccessible) ||
		aws.ToString(ic.InstanceRoleArn) != "arn:aws:iam::000000000000:role/app" || aws.ToString(ic.Cpu) != "256" ||
		running.ObservabilityConfiguration == nil || running.ObservabilityConfiguration.ObservabilityEnabled ||
		!strings.HasPrefix(aws.ToString(running.EncryptionConfiguration.KmsKey), "arn:aws:kms:") ||
		aws.ToString(running.SourceConfiguration.ImageRepository.ImageConfiguration.StartCommand) != "/testapp --greeting hi-from-openrunner" ||
		aws.ToBool(running.SourceConfiguration.AutoDeploymentsEnabled) || running.CreatedAt == nil || running.UpdatedAt.Before(*running.CreatedAt) {
		t.Fatalf("DescribeService did not round-trip: hc=%+v net=%+v inst=%+v obs=%+v enc=%+v", hc, nc, ic, running.ObservabilityConfiguration, running.EncryptionConfiguration)
	}
	if tags, err := c.ListTagsForResource(ctx, &apprunner.ListTagsForResourceInput{ResourceArn: svc.ServiceArn}); err != nil || len(tags.Tags) != 1 {
		t.Fatalf("service tags: %+v, %v", tags, err)
	}
	// Start command and port honored; environment visible.
	if code, body := get(t, d.RouterURL(), host, "/"); code != 200 || !strings.Contains(body, "hi-from-openrunner") {
		t.Fatalf("GET /: %d %q", code, body)
	}
	if code, body := get(t, d.RouterURL(), host, "/env?name=GREETING_SOURCE"); code != 200 || !strings.Contains(body, "e2e") {
		t.Fatalf("GET /env: %d %q", code, body)
	}
	if code, _ := get(t, d.RouterURL(), "nothing.us-east-1.apprunner.localhost", "/"); code != 404 {
		t.Fatalf("unknown host: %d, want 404", code)
	}

	list, err := c.ListServices(ctx, &apprunner.ListServicesInput{})
	if err != nil || len(list.ServiceSummaryList) != 1 || list.ServiceSummaryList[0].Status != types.ServiceStatusRunning {
		t.Fatalf("ListServices: %+v, %v", list, err)
	}

	// Pause → 503; pausing again is a no-op without an OperationId.
	p, err := c.PauseService(ctx, &apprunner.PauseServiceInput{ServiceArn: svc.ServiceArn})
	if err != nil || aws.ToString(p.OperationId) == "" {
		t.Fatalf("PauseService: %+v, %v", p, err)
	}
	if s := waitStatus(t, c, svc.ServiceArn); s.Status != types.ServiceStatusPaused {
		t.Fatalf("status %s, want PAUSED", s.Status)
	}
	if code, body := get(t, d.RouterURL(), host, "/"); code != 503 || !strings.Contains(body, "paused") {
		t.Fatalf("paused: %d %q", code, body)
	}
	if again, err := c.PauseService(ctx, &apprunner.PauseServiceInput{ServiceArn: svc.ServiceArn}); err != nil || again.OperationId != nil || again.Service.Status != types.ServiceStatusPaused {
		t.Fatalf("second PauseService: %+v, %v", again, err)
	}
	if containersOf(t, aws.ToString(svc.ServiceArn)) != "" {
		t.Fatal("a paused service still has containers")
	}

	// Resume → 200 again.
	if _, err := c.ResumeService(ctx, &apprunner.ResumeServiceInput{ServiceArn: svc.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	if s := waitStatus(t, c, svc.ServiceArn); s.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s, want RUNNING", s.Status)
	}
	if code, _ := get(t, d.RouterURL(), host, "/"); code != 200 {
		t.Fatalf("resumed: %d", code)
	}

	ops, err := c.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: svc.ServiceArn})
	if err != nil || len(ops.OperationSummaryList) != 3 {
		t.Fatalf("ListOperations: %+v, %v", ops, err)
	}
	for i, want := range []types.OperationType{types.OperationTypeResumeService, types.OperationTypePauseService, types.OperationTypeCreateService} {
		if o := ops.OperationSummaryList[i]; o.Type != want || o.Status != types.OperationStatusSucceeded || o.EndedAt == nil {
			t.Fatalf("operation %d: %+v, want %s SUCCEEDED (newest first)", i, o, want)
		}
	}

	// Delete → DELETED, describable, no container, 404 at the URL.
	if _, err := c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: svc.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	if s := waitStatus(t, c, svc.ServiceArn); s.Status != types.ServiceStatusDeleted || s.DeletedAt == nil {
		t.Fatalf("after delete: %s %v", s.Status, s.DeletedAt)
	}
	if left := containersOf(t, aws.ToString(svc.ServiceArn)); left != "" {
		t.Fatalf("containers left after delete: %s", left)
	}
	if code, _ := get(t, d.RouterURL(), host, "/"); code != 404 {
		t.Fatalf("deleted service answers %d, want 404", code)
	}
	list, _ = c.ListServices(ctx, &apprunner.ListServicesInput{})
	if len(list.ServiceSummaryList) != 0 {
		t.Fatalf("ListServices still lists the deleted service")
	}
}

func TestImageServiceCreateFailed(t *testing.T) {
	needDocker(t)
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	for _, tc := range []struct {
		name, image string
		env         map[string]string
	}{
		{"crashes", testImage, map[string]string{"TESTAPP_EXIT_CODE": "3"}},
		{"unpullable", "127.0.0.1:1/nope/missing:1", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
				ServiceName:         aws.String("fails-" + tc.name),
				SourceConfiguration: imageSource(tc.image, tc.env, ""),
			})
			if err != nil {
				t.Fatal(err)
			}
			if s := waitStatus(t, c, out.Service.ServiceArn); s.Status != types.ServiceStatusCreateFailed {
				t.Fatalf("status %s, want CREATE_FAILED", s.Status)
			}
			ops, err := c.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: out.Service.ServiceArn, MaxResults: aws.Int32(1)})
			if err != nil || len(ops.OperationSummaryList) != 1 || ops.OperationSummaryList[0].Status != types.OperationStatusFailed {
				t.Fatalf("ListOperations: %+v, %v", ops, err)
			}
			if left := containersOf(t, aws.ToString(out.Service.ServiceArn)); left != "" {
				t.Fatalf("a failed create left containers: %s", left)
			}
			// CREATE_FAILED is fixed with UpdateService ("rebuild").
			if _, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: out.Service.ServiceArn, SourceConfiguration: imageSource(testImage, nil, "")}); err != nil {
				t.Fatal(err)
			}
			if s := waitStatus(t, c, out.Service.ServiceArn); s.Status != types.ServiceStatusRunning {
				t.Fatalf("after fixing with UpdateService: %s, want RUNNING", s.Status)
			}
			if code, _ := get(t, d.RouterURL(), aws.ToString(out.Service.ServiceUrl), "/"); code != 200 {
				t.Fatalf("fixed service answers %d", code)
			}
		})
	}
}

// TestImageServiceUpdateAndRollback: an update goes live without losing a
// request; a broken update rolls back and the old revision keeps serving,
// again without losing a request; a StartDeployment of an unchanged image
// succeeds without a new revision.
func TestImageServiceUpdateAndRollback(t *testing.T) {
	needDocker(t)
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	created, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName:         aws.String("updated"),
		SourceConfiguration: imageSource(testImage, map[string]string{"VERSION": "one"}, ""),
	})
	if err != nil {
		t.Fatal(err)
	}
	arn, host := created.Service.ServiceArn, aws.ToString(created.Service.ServiceUrl)
	if s := waitStatus(t, c, arn); s.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s", s.Status)
	}

	// Steady load for the whole test: every request must succeed.
	stop := make(chan struct{})
	var failures, total atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, d.RouterURL()+"/", nil)
				req.Host = host
				resp, err := http.DefaultClient.Do(req)
				total.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()

	version := func() string {
		_, body := get(t, d.RouterURL(), host, "/env?name=VERSION")
		return strings.TrimSpace(body)
	}
	if got := version(); got != "one" {
		t.Fatalf("VERSION %q", got)
	}

	up, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: arn, SourceConfiguration: imageSource(testImage, map[string]string{"VERSION": "two"}, "")})
	if err != nil {
		t.Fatal(err)
	}
	if got := up.Service.SourceConfiguration.ImageRepository.ImageConfiguration.RuntimeEnvironmentVariables["VERSION"]; got != "two" {
		t.Fatalf("UpdateService response shows VERSION %q, want the new configuration", got)
	}
	if s := waitStatus(t, c, arn); s.Status != types.ServiceStatusRunning {
		t.Fatalf("after update: %s", s.Status)
	}
	if got := version(); got != "two" {
		t.Fatalf("after update VERSION %q, want two", got)
	}

	// A broken update: the app exits at once. It rolls back.
	if _, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: arn, SourceConfiguration: imageSource(testImage, map[string]string{"VERSION": "three", "TESTAPP_EXIT_CODE": "1"}, "")}); err != nil {
		t.Fatal(err)
	}
	// A second mutation during the operation is refused.
	_, err = c.PauseService(ctx, &apprunner.PauseServiceInput{ServiceArn: arn})
	wantAPIError(t, err, "InvalidStateException", "operation in progress")
	_, err = c.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: arn})
	wantAPIError(t, err, "InvalidRequestException", "operation in progress")

	s := waitStatus(t, c, arn)
	if s.Status != types.ServiceStatusRunning {
		t.Fatalf("after a failed update: %s, want RUNNING (rolled back)", s.Status)
	}
	if got := s.SourceConfiguration.ImageRepository.ImageConfiguration.RuntimeEnvironmentVariables["VERSION"]; got != "two" {
		t.Fatalf("configuration after rollback shows VERSION %q, want two", got)
	}
	if got := version(); got != "two" {
		t.Fatalf("after rollback VERSION %q, want two", got)
	}
	ops, _ := c.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: arn, MaxResults: aws.Int32(1)})
	if o := ops.OperationSummaryList[0]; o.Type != types.OperationTypeUpdateService || o.Status != types.OperationStatusRollbackSucceeded {
		t.Fatalf("latest operation %+v, want UPDATE_SERVICE ROLLBACK_SUCCEEDED", o)
	}

	// StartDeployment of the same image: nothing to roll out.
	dep, err := c.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: arn})
	if err != nil || aws.ToString(dep.OperationId) == "" {
		t.Fatalf("StartDeployment: %+v, %v", dep, err)
	}
	if s := waitStatus(t, c, arn); s.Status != types.ServiceStatusRunning {
		t.Fatalf("after StartDeployment: %s", s.Status)
	}
	ops, _ = c.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: arn, MaxResults: aws.Int32(1)})
	if o := ops.OperationSummaryList[0]; o.Type != types.OperationTypeStartDeployment || o.Status != types.OperationStatusSucceeded {
		t.Fatalf("latest operation %+v", o)
	}
	if n := len(strings.Fields(containersOf(t, aws.ToString(arn)))); n != 1 {
		t.Fatalf("%d containers, want 1", n)
	}

	close(stop)
	wg.Wait()
	stop = make(chan struct{})
	if failures.Load() != 0 || total.Load() < 50 {
		t.Fatalf("%d of %d requests failed during the redeploys", failures.Load(), total.Load())
	}
	t.Logf("%d requests during two redeploys, none failed", total.Load())
}

// TestRestartRestoresServices: after a restart, a running service whose
// container is still there is adopted, one whose container vanished is
// started again, and a paused one answers 503 again.
func TestRestartRestoresServices(t *testing.T) {
	needDocker(t)
	dir := t.TempDir()
	d := daemon.New(daemon.Config{Listen: "127.0.0.1:0", RouterListen: "127.0.0.1:0", DataDir: dir, Runtime: "docker"})
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	svcs := map[string]*types.Service{}
	for _, name := range []string{"adopted", "vanished", "paused"} {
		out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(name), SourceConfiguration: imageSource(testImage, nil, "")})
		if err != nil {
			t.Fatal(err)
		}
		if s := waitStatus(t, c, out.Service.ServiceArn); s.Status != types.ServiceStatusRunning {
			t.Fatalf("%s: %s", name, s.Status)
		}
		svcs[name] = out.Service
	}
	if _, err := c.PauseService(ctx, &apprunner.PauseServiceInput{ServiceArn: svcs["paused"].ServiceArn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, svcs["paused"].ServiceArn)
	adoptedBefore := containersOf(t, aws.ToString(svcs["adopted"].ServiceArn))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "rm", "-f", containersOf(t, aws.ToString(svcs["vanished"].ServiceArn))).CombinedOutput(); err != nil {
		t.Fatalf("docker rm: %v %s", err, out)
	}

	d2 := testutil.MustRunDaemon(t, daemon.Config{DataDir: dir, Runtime: "docker"})
	t.Cleanup(func() {
		c2 := testutil.Client(d2.URL(), testutil.ClientOptions{})
		for _, s := range svcs {
			c2.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: s.ServiceArn})
		}
	})
	for name, want := range map[string]int{"adopted": 200, "vanished": 200, "paused": 503} {
		var code int
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			if code, _ = get(t, d2.RouterURL(), aws.ToString(svcs[name].ServiceUrl), "/"); code == want {
				break
			}
		}
		if code != want {
			t.Errorf("%s after restart: %d, want %d", name, code, want)
		}
	}
	if got := containersOf(t, aws.ToString(svcs["adopted"].ServiceArn)); got != adoptedBefore {
		t.Errorf("the running container was replaced (%q → %q), not adopted", adoptedBefore, got)
	}
}

// TestNoRuntime: without a container runtime the service calls explain
// what is missing.
func TestNoRuntime(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "none"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	_, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("no-runtime"), SourceConfiguration: imageSource(testImage, nil, "")})
	wantAPIError(t, err, "InvalidRequestException", "--runtime none")
	d2 := daemon.New(daemon.Config{Listen: "127.0.0.1:0", RouterListen: "127.0.0.1:0", DataDir: t.TempDir(), Runtime: "docker", DockerHost: "unix:///nonexistent/docker.sock"})
	if err := d2.Open(ctx); err == nil {
		d2.Close()
		t.Fatal("--runtime docker without an engine must refuse to start")
	} else if !strings.Contains(err.Error(), "no Docker engine answers") {
		t.Fatalf("unclear: %v", err)
	}
}

// TestUnhealthyInstanceReplaced: an instance that dies while the service
// runs is replaced, and the service answers again without any API call.
func TestUnhealthyInstanceReplaced(t *testing.T) {
	needDocker(t)
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName:              aws.String("self-healing"),
		SourceConfiguration:      imageSource(testImage, nil, ""),
		HealthCheckConfiguration: &types.HealthCheckConfiguration{Interval: aws.Int32(1), UnhealthyThreshold: aws.Int32(2)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := waitStatus(t, c, out.Service.ServiceArn); s.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s", s.Status)
	}
	host := aws.ToString(out.Service.ServiceUrl)
	before := containersOf(t, aws.ToString(out.Service.ServiceArn))
	if b, err := exec.Command("docker", "kill", before).CombinedOutput(); err != nil {
		t.Fatalf("docker kill: %v %s", err, b)
	}
	var code int
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if code, _ = get(t, d.RouterURL(), host, "/"); code == 200 {
			break
		}
	}
	if code != 200 {
		t.Fatalf("the service did not recover: %d", code)
	}
	// The replacement is routed first; the dead container is removed next.
	var after []string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		after = strings.Fields(containersOf(t, aws.ToString(out.Service.ServiceArn)))
		if !slices.Contains(after, before) {
			break
		}
	}
	if slices.Contains(after, before) || len(after) != 1 {
		t.Fatalf("containers after the replacement: %v (dead: %s)", after, before)
	}
	if s, _ := c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: out.Service.ServiceArn}); s.Service.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s", s.Service.Status)
	}
}
