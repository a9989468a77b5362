package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/internal/testutil"
)

func TestParseServeFlags(t *testing.T) {
	env := map[string]string{"OPENRUNNER_LISTEN": "127.0.0.1:9999", "OPENRUNNER_DATA_DIR": "/env/data", "HOME": "/home/u"}
	getenv := func(k string) string { return env[k] }

	c, err := parseServeFlags(nil, getenv, io.Discard)
	if err != nil || c.Listen != "127.0.0.1:9999" || c.DataDir != "/env/data" || c.MaxConnections != 10 {
		t.Fatalf("env defaults: %+v, %v", c, err)
	}
	c, err = parseServeFlags([]string{"--listen", "127.0.0.1:1", "--data-dir", "/flag", "--max-connections", "3"}, getenv, io.Discard)
	if err != nil || c.Listen != "127.0.0.1:1" || c.DataDir != "/flag" || c.MaxConnections != 3 {
		t.Fatalf("flags win: %+v, %v", c, err)
	}
	delete(env, "OPENRUNNER_DATA_DIR")
	delete(env, "OPENRUNNER_LISTEN")
	c, err = parseServeFlags(nil, getenv, io.Discard)
	if err != nil || c.DataDir != "/home/u/.local/share/openrunner" || c.Listen != "127.0.0.1:4590" {
		t.Fatalf("built-in defaults: %+v, %v", c, err)
	}
	env["XDG_DATA_HOME"] = "/xdg"
	if c, _ := parseServeFlags(nil, getenv, io.Discard); c.DataDir != "/xdg/openrunner" {
		t.Fatalf("XDG: %s", c.DataDir)
	}
	for _, bad := range [][]string{{"--max-connections", "0"}, {"extra-arg"}, {"--no-such-flag"}} {
		if _, err := parseServeFlags(bad, getenv, io.Discard); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
	creds := filepath.Join(t.TempDir(), "registries")
	os.WriteFile(creds, []byte("# ECR\n123456789012.dkr.ecr.us-east-1.amazonaws.com AWS token-value\n"), 0o600)
	env["OPENRUNNER_REGISTRY_MIRRORS"] = "a.example=localhost:5000"
	c, err = parseServeFlags([]string{"--registry-mirror", "b.example=localhost:5001", "--registry-credentials-file", creds, "--max-services", "5"}, getenv, io.Discard)
	if err != nil || c.RegistryMirrors["a.example"] != "localhost:5000" || c.RegistryMirrors["b.example"] != "localhost:5001" || c.MaxServices != 5 ||
		c.RegistryCredentials["123456789012.dkr.ecr.us-east-1.amazonaws.com"].Password != "token-value" {
		t.Fatalf("registry flags: %+v, %v", c, err)
	}
	if _, err := parseServeFlags([]string{"--registry-mirror", "nonsense"}, getenv, io.Discard); err == nil {
		t.Error("a malformed mirror must fail")
	}
	delete(env, "OPENRUNNER_REGISTRY_MIRRORS")
	env["OPENRUNNER_MAX_CONNECTIONS"] = "many"
	if _, err := parseServeFlags(nil, getenv, io.Discard); err == nil {
		t.Error("a non-numeric OPENRUNNER_MAX_CONNECTIONS must fail")
	}
}

// buildBinary builds the openrunner binary once per test run.
func buildBinary(tb testing.TB) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "openrunner")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("go build: %v", err)
	}
	return bin
}

func freePort(tb testing.TB) string {
	tb.Helper()
	return "127.0.0.1:" + strconv.Itoa(testutil.FreePort(tb))
}

// startServer runs "openrunner serve" and waits until it is healthy.
func startServer(tb testing.TB, bin, addr, dir string, args ...string) *exec.Cmd {
	tb.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--listen", addr, "--router-listen", "127.0.0.1:0", "--router-tls-listen", "127.0.0.1:0", "--data-dir", dir, "--log-level", "warn"}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/_openrunner/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatal("server did not become healthy")
	return nil
}

// TestKill9KeepsAcknowledgedWrites creates connections as fast as it can
// while the server is killed with SIGKILL mid-stream; every create that was
// acknowledged must be there after a restart.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, dir, addr := buildBinary(t), t.TempDir(), freePort(t)
	srv := startServer(t, bin, addr, dir, "--max-connections", "100000")
	c := testutil.Client("http://"+addr, testutil.ClientOptions{})

	// Four writers, so the kill lands while commits are in flight.
	acked := make(chan string, 100000)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				out, err := c.CreateConnection(context.Background(), &apprunner.CreateConnectionInput{
					ConnectionName: aws.String(fmt.Sprintf("kill-%d-%05d", w, i)), ProviderType: types.ProviderTypeGithub,
				})
				if err != nil {
					return // the server is gone
				}
				acked <- aws.ToString(out.Connection.ConnectionArn)
			}
		}()
	}
	for len(acked) < 200 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	wg.Wait()
	close(acked)

	startServer(t, bin, addr, dir, "--max-connections", "100000")
	// A new client: the old one's keep-alive connections died with the server.
	c = testutil.Client("http://"+addr, testutil.ClientOptions{})
	present := map[string]bool{}
	p := apprunner.NewListConnectionsPaginator(c, &apprunner.ListConnectionsInput{MaxResults: aws.Int32(100)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page.ConnectionSummaryList {
			present[aws.ToString(s.ConnectionArn)] = true
		}
	}
	n := 0
	for arn := range acked {
		n++
		if !present[arn] {
			t.Fatalf("acknowledged connection %s is gone after kill -9", arn)
		}
	}
	// At most one create per writer was in flight when the server died.
	if len(present) < n || len(present) > n+4 {
		t.Fatalf("%d connections after restart for %d acknowledged creates", len(present), n)
	}
	t.Logf("%d acknowledged creates survived kill -9", n)
}

func TestVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	out, err := exec.Command(buildBinary(t), "version").Output()
	if err != nil || !strings.HasPrefix(string(out), "openrunner ") {
		t.Fatalf("version: %q, %v", out, err)
	}
}

// settledStatus polls DescribeService until the service leaves
// OPERATION_IN_PROGRESS (or timeout passes) and returns its status.
func settledStatus(t *testing.T, c *apprunner.Client, arn *string, timeout time.Duration) types.ServiceStatus {
	t.Helper()
	var status types.ServiceStatus
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		d, err := c.DescribeService(context.Background(), &apprunner.DescribeServiceInput{ServiceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		if status = d.Service.Status; status != types.ServiceStatusOperationInProgress {
			break
		}
	}
	return status
}

// TestKill9MidDeployment kills the server right after CreateService
// answered, while the deployment runs; after a restart the service must
// reach RUNNING (the operation re-runs), never stay OPERATION_IN_PROGRESS,
// and leave no stray container.
func TestKill9MidDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	testutil.NeedDockerTestImage(t)
	bin, dir, addr := buildBinary(t), t.TempDir(), freePort(t)
	srv := startServer(t, bin, addr, dir, "--runtime", "docker")
	c := testutil.Client("http://"+addr, testutil.ClientOptions{})
	out, err := c.CreateService(context.Background(), &apprunner.CreateServiceInput{
		ServiceName: aws.String("survives-kill"),
		SourceConfiguration: &types.SourceConfiguration{
			AutoDeploymentsEnabled: aws.Bool(false),
			ImageRepository: &types.ImageRepository{
				ImageIdentifier: aws.String(testutil.DockerTestImage), ImageRepositoryType: types.ImageRepositoryTypeEcr,
				ImageConfiguration: &types.ImageConfiguration{Port: aws.String("8080")},
			},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()

	startServer(t, bin, addr, dir, "--runtime", "docker")
	c = testutil.Client("http://"+addr, testutil.ClientOptions{})
	if status := settledStatus(t, c, out.Service.ServiceArn, 60*time.Second); status != types.ServiceStatusRunning {
		t.Fatalf("after kill -9 and restart: %s, want RUNNING", status)
	}
	ids, err := exec.Command("docker", "ps", "-q", "--filter", "label=dev.openrunner.service-arn="+aws.ToString(out.Service.ServiceArn)).Output()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(string(ids))); n != 1 {
		t.Fatalf("%d containers for the service, want 1", n)
	}
	if _, err := c.DeleteService(context.Background(), &apprunner.DeleteServiceInput{ServiceArn: out.Service.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		d, _ := c.DescribeService(context.Background(), &apprunner.DescribeServiceInput{ServiceArn: out.Service.ServiceArn})
		if d != nil && d.Service.Status == types.ServiceStatusDeleted {
			return
		}
	}
	t.Fatal("delete did not finish")
}
