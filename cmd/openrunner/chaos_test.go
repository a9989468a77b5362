package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/aws/smithy-go"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/internal/sampleapp"
)

// chaosServer is an openrunner serve child process that chaos kills with
// SIGKILL and restarts on the same data directory and ports.
type chaosServer struct {
	bin, dir, addr, router string
	args                   []string
	mu                     sync.Mutex
	cmd                    *exec.Cmd
	kills                  int
	// killAt asks chaos for a kill after the given delay.
	killAt chan time.Duration
}

func (s *chaosServer) start() error {
	cmd := exec.Command(s.bin, append([]string{"serve", "--listen", s.addr, "--router-listen", s.router, "--router-tls-listen", "127.0.0.1:0",
		"--data-dir", s.dir, "--log-level", "warn", "--runtime", "process"}, s.args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + s.addr + "/_openrunner/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
	}
	return errors.New("the server did not become healthy after a restart")
}

// kill9 kills the server with SIGKILL and waits for it to go.
func (s *chaosServer) kill9() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		_ = s.cmd.Wait()
		s.cmd = nil
		s.kills++
	}
}

// chaos kills and restarts the server at random intervals until stop is
// closed; the first error it meets goes to errs.
func (s *chaosServer) chaos(r *rand.Rand, stop <-chan struct{}, errs chan<- error) {
	for {
		select {
		case <-stop:
			errs <- nil
			return
		case <-time.After(time.Duration(3000+r.IntN(7000)) * time.Millisecond):
		case delay := <-s.killAt:
			time.Sleep(delay)
		}
		s.kill9()
		if err := s.start(); err != nil {
			errs <- err
			return
		}
	}
}

// want is the state a service's last acknowledged call asked for; after a
// call whose answer was lost (the server died under it) either the state
// before or the one it asked for is right, until resolved.
type want struct {
	name    string
	arn     string
	status  types.ServiceStatus // RUNNING, PAUSED or DELETED
	version string              // the VERSION variable of its configuration
	alt     *want               // the other possible state, if ambiguous
}

// TestKill9Chaos runs service operations (create, update, deploy, pause,
// resume, delete) on the process runtime while the server is killed with
// SIGKILL at random points and restarted. At the end (after convergence)
// no acknowledged write is lost, no service is stuck in
// OPERATION_IN_PROGRESS, every service is in the state its last
// acknowledged call asked for and serves the configuration it asked for,
// and every instance process is one the runtime records for a running
// service. OPENRUNNER_CHAOS_OPS sets the number of operations (default
// 40; bench/chaos.sh runs 200).
func TestKill9Chaos(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	ops := 40
	if v := os.Getenv("OPENRUNNER_CHAOS_OPS"); v != "" {
		ops, _ = strconv.Atoi(v)
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("OPENRUNNER_CHAOS_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (OPENRUNNER_CHAOS_SEED), %d operations", seed, ops)
	r := rand.New(rand.NewPCG(seed, 1))
	d := newChildDriver(t, sampleapp.Python("chaos"))
	d.r = r
	s := d.s
	ctx := context.Background()

	stop, errs := make(chan struct{}), make(chan error, 1)
	go s.chaos(rand.New(rand.NewPCG(seed, 2)), stop, errs)
	start := time.Now()
	for d.calls < ops {
		select {
		case err := <-errs: // chaos could not restart the server
			t.Fatal(err)
		default:
		}
		d.step(ctx)
	}
	close(stop)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	// One last kill at the end, before convergence.
	s.kill9()
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d operations (%d acknowledged, %d refused, %d lost to a kill) on %d services in %v, %d kills",
		d.calls, d.acked, d.refused, d.lost, len(d.services), time.Since(start).Round(time.Millisecond), s.kills)
	d.check(ctx, start)
}

// newChildDriver starts the provider simulator with app in a repository,
// and openrunner serve (process runtime, with args) on it; it returns a
// driver of its API (no retries), the GitHub connection made, that deletes
// the services and stops the server when the test ends.
func newChildDriver(t *testing.T, app sampleapp.App, args ...string) *chaosDriver {
	sim := providersim.New(providersim.Options{})
	t.Cleanup(sim.Close)
	sim.AddUser("octo")
	repo := sim.AddRepo("github", "octo", "app", "main")
	if _, err := repo.Commit("main", app.Files, "app"); err != nil {
		t.Fatal(err)
	}
	s := &chaosServer{bin: buildBinary(t), dir: t.TempDir(), addr: freePort(t), router: freePort(t),
		args: append([]string{"--github-url", sim.GitHubURL(), "--github-api-url", sim.GitHubAPIURL()}, args...), killAt: make(chan time.Duration)}
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	c := apprunner.New(apprunner.Options{BaseEndpoint: aws.String("http://" + s.addr), Region: "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		}), Retryer: aws.NopRetryer{}})
	d := &chaosDriver{t: t, c: c, s: s, app: app, repoURL: repo.CloneURL(), conn: chaosConnection(t, c, s, sim)}
	t.Cleanup(d.cleanup)
	return d
}

// chaosConnection makes the GitHub connection the services use.
func chaosConnection(t *testing.T, c *apprunner.Client, s *chaosServer, sim *providersim.Sim) string {
	ctx := context.Background()
	conn, err := c.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String("chaos-github"), ProviderType: types.ProviderTypeGithub})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(api.CompleteConnectionHandshakeInput{ConnectionArn: *conn.Connection.ConnectionArn, Token: sim.IssueGitHubToken("octo", "repo")})
	if _, err := callExtension(ctx, "http://"+s.addr, "CompleteConnectionHandshake", body, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, "us-east-1"); err != nil {
		t.Fatal(err)
	}
	return *conn.Connection.ConnectionArn
}

// outcome sorts a call's error: nil (acknowledged), an API error (refused,
// nothing changed) or anything else (the answer was lost).
func outcome(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return "acked"
	case errors.As(err, &ae):
		return "refused: " + ae.ErrorCode()
	}
	return "lost"
}

func (w *want) String() string { return fmt.Sprintf("%s %s version %q", w.name, w.status, w.version) }
