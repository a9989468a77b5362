package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/internal/sampleapp"
	"github.com/openrunner/openrunner/internal/testutil"
)

// slowBuild is an apprunner.yaml whose build takes a few seconds, long
// enough to kill the server in the middle of it.
const slowBuild = `version: 1.0
runtime: python311
build:
  commands:
    build:
      - sleep 3
      - echo built > built.txt
run:
  command: python3 app.py
  network:
    port: 8080
`

// TestKill9MidBuild kills the server while a source-code service builds
// (host-process runtime, repository on the provider simulator). After a
// restart the deployment runs again and the service answers; the partial
// build of the killed server is gone.
func TestKill9MidBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ctx := context.Background()
	sim := providersim.New(providersim.Options{})
	t.Cleanup(sim.Close)
	sim.AddUser("octo")
	files := sampleapp.Python("survived").Files
	files["apprunner.yaml"] = slowBuild
	repo := sim.AddRepo("github", "octo", "slow", "main")
	if _, err := repo.Commit("main", files, "slow"); err != nil {
		t.Fatal(err)
	}

	bin, dir, addr, router := buildBinary(t), t.TempDir(), freePort(t), freePort(t)
	args := []string{"--runtime", "process", "--router-listen", router, "--github-url", sim.GitHubURL(), "--github-api-url", sim.GitHubAPIURL()}
	srv := startServer(t, bin, addr, dir, args...)
	endpoint := "http://" + addr
	c := testutil.Client(endpoint, testutil.ClientOptions{})
	creds := aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}
	conn, err := c.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String("github-conn"), ProviderType: types.ProviderTypeGithub})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(api.CompleteConnectionHandshakeInput{ConnectionArn: *conn.Connection.ConnectionArn, Token: sim.IssueGitHubToken("octo", "repo")})
	if _, err := callExtension(ctx, endpoint, "CompleteConnectionHandshake", body, creds, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName: aws.String("survives-kill"),
		SourceConfiguration: &types.SourceConfiguration{
			CodeRepository: &types.CodeRepository{
				RepositoryUrl:     aws.String(repo.CloneURL()),
				SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String("main")},
				CodeConfiguration: &types.CodeConfiguration{ConfigurationSource: types.ConfigurationSourceRepository},
			},
			AuthenticationConfiguration: &types.AuthenticationConfiguration{ConnectionArn: conn.Connection.ConnectionArn},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Service.ServiceArn)
	// Kill the server once the build runs.
	logBody, _ := json.Marshal(api.GetServiceLogsInput{ServiceArn: arn})
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		b, err := callExtension(ctx, endpoint, "GetServiceLogs", logBody, creds, "us-east-1")
		if err == nil && strings.Contains(string(b), "Step 1/2 : RUN sleep 3") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the build did not start: %s, %v", b, err)
		}
	}
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	srv.Wait()
	partial, _ := os.ReadDir(filepath.Join(dir, "builds"))
	if len(partial) != 1 {
		t.Fatalf("builds at the kill: %v", partial)
	}

	startServer(t, bin, addr, dir, args...)
	// Registered after the restart, so that it runs before the server
	// is stopped.
	t.Cleanup(func() {
		// The instance outlives the server by design; deleting the
		// service stops it.
		_, _ = c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: out.Service.ServiceArn})
		for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			d, err := c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: out.Service.ServiceArn})
			if err != nil || d.Service.Status == types.ServiceStatusDeleted {
				return
			}
		}
	})

	if status := settledStatus(t, c, out.Service.ServiceArn, 90*time.Second); status != types.ServiceStatusRunning {
		t.Fatalf("after kill -9 and restart: %s, want RUNNING", status)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+router+"/", nil)
	req.Host = aws.ToString(out.Service.ServiceUrl)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.TrimSpace(string(got)) != "survived" {
		t.Fatalf("the service answers %d %q", resp.StatusCode, got)
	}
	builds, _ := os.ReadDir(filepath.Join(dir, "builds"))
	if len(builds) != 1 || builds[0].Name() == partial[0].Name() {
		t.Fatalf("builds after the restart: %v (the killed one was %s)", builds, partial[0].Name())
	}
}
