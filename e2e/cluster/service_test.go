package cluster_test

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/internal/sampleapp"
	"github.com/openrunner/openrunner/internal/testutil"
	"github.com/openrunner/openrunner/process"
)

// Test timing: short leases and resyncs, so a takeover takes seconds.
const (
	testLeaseTTL = 3 * time.Second
	testResync   = time.Second
)

// env is a cluster whose servers reach a simulated GitHub, with one
// AVAILABLE connection, a repository holding the Python sample and a
// binary of the Go sample for image services.
type env struct {
	*cluster
	sim   *providersim.Sim
	conn  string
	repo  *providersim.Repo
	image string // file:// reference of the Go sample's binary
}

const (
	imageMessage  = "from-an-image"
	sourceMessage = "from-source"
)

// buildImage builds the Go sample once, beside the binary (TestMain
// removes both).
var buildImage = sync.OnceValues(func() (string, error) {
	dir := filepath.Join(filepath.Dir(bin), "image")
	if err := sampleapp.Go(imageMessage).Write(dir); err != nil {
		return "", err
	}
	cmd := exec.Command("go", "build", "-o", "app", ".")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return "file://" + filepath.Join(dir, "app"), nil
})

// newEnv starts n servers; flags, after the test's own, may override them.
func newEnv(t testing.TB, n int, flags ...string) *env {
	t.Helper()
	image, err := buildImage()
	if err != nil {
		t.Fatal(err)
	}
	sim := providersim.New(providersim.Options{})
	t.Cleanup(sim.Close)
	sim.AddUser("octo")
	cl := newCluster(t, n, append([]string{"--github-url", sim.GitHubURL(), "--github-api-url", sim.GitHubAPIURL(),
		"--lease-ttl", testLeaseTTL.String(), "--resync-interval", testResync.String()}, flags...)...)
	e := &env{cluster: cl, sim: sim, image: image}
	out, err := cl.servers[0].client.CreateConnection(ctx, &apprunner.CreateConnectionInput{ConnectionName: aws.String("github-conn"), ProviderType: types.ProviderTypeGithub})
	if err != nil {
		t.Fatal(err)
	}
	e.conn = aws.ToString(out.Connection.ConnectionArn)
	// The handshake completes through another server than the create.
	var hs api.CompleteConnectionHandshakeOutput
	testutil.Extension(t, "http://"+cl.servers[n-1].api, "CompleteConnectionHandshake", api.CompleteConnectionHandshakeInput{
		ConnectionArn: e.conn, Token: sim.IssueGitHubToken("octo", "repo", "admin:repo_hook")}, &hs)
	if hs.Connection.Status != "AVAILABLE" {
		t.Fatalf("handshake: %+v", hs.Connection)
	}
	e.repo = sim.AddRepo("github", "octo", "hello", "main")
	if _, err := e.repo.Commit("main", sampleapp.Python(sourceMessage).Files, "first"); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) imageSource() *types.SourceConfiguration {
	return &types.SourceConfiguration{
		AutoDeploymentsEnabled: aws.Bool(false),
		ImageRepository: &types.ImageRepository{ImageIdentifier: aws.String(e.image), ImageRepositoryType: types.ImageRepositoryTypeEcr,
			ImageConfiguration: &types.ImageConfiguration{Port: aws.String("8080")}},
	}
}

func (e *env) codeSource() *types.SourceConfiguration {
	return &types.SourceConfiguration{
		CodeRepository: &types.CodeRepository{
			RepositoryUrl:     aws.String(e.repo.CloneURL()),
			SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String("main")},
			CodeConfiguration: &types.CodeConfiguration{ConfigurationSource: types.ConfigurationSourceRepository},
		},
		AuthenticationConfiguration: &types.AuthenticationConfiguration{ConnectionArn: aws.String(e.conn)},
	}
}

// waitStatus polls DescribeService through s until the service leaves
// OPERATION_IN_PROGRESS, or fails the test after within.
func waitStatus(t testing.TB, s *server, arn *string, within time.Duration) *types.Service {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, err := s.client.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		if out.Service.Status != types.ServiceStatusOperationInProgress {
			return out.Service
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s stayed OPERATION_IN_PROGRESS for %v", aws.ToString(arn), within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// get sends GET / to s's router for host.
func get(s *server, host string) (int, string, error) {
	req, _ := http.NewRequest(http.MethodGet, "http://"+s.router+"/", nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b)), nil
}

// waitServes waits until s's router answers 200 want for host.
func waitServes(t testing.TB, s *server, host, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, body, err := get(s, host)
		if err == nil && code == 200 && body == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server %d's router answers %d %q (%v) for %s, want 200 %q", s.i, code, body, err, host, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// instances lists the instances the process runtime of s's data
// directory runs (s must be stopped: its runtime is not shared).
func instances(t testing.TB, s *server) int {
	t.Helper()
	rt, err := process.New(process.Options{Dir: filepath.Join(s.dir, "process"), Owner: s.id})
	if err != nil {
		t.Fatal(err)
	}
	list, err := rt.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range list {
		if st, err := rt.InstanceState(ctx, in.ID); err == nil && st.Running {
			n++
		}
	}
	return n
}

// TestServicesServeEverywhere: 10 image and source-code services, created
// through different servers, each serve on every server's router, and
// deleting them through yet another leaves no instance running.
func TestServicesServeEverywhere(t *testing.T) {
	e := newEnv(t, 3)
	type created struct {
		svc  *types.Service
		want string
	}
	var all []created
	for i := range 10 {
		src, want := e.imageSource(), imageMessage
		if i%2 == 1 {
			src, want = e.codeSource(), sourceMessage
		}
		out, err := e.servers[i%3].client.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(fmt.Sprintf("svc-%d", i)), SourceConfiguration: src})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, created{out.Service, want})
	}
	holders := map[string]int{}
	for i, c := range all {
		svc := waitStatus(t, e.servers[(i+1)%3], c.svc.ServiceArn, 4*time.Minute)
		if svc.Status != types.ServiceStatusRunning {
			t.Fatalf("%s is %s", aws.ToString(svc.ServiceName), svc.Status)
		}
		holders[e.leaseHolder(t, aws.ToString(svc.ServiceArn))]++
		for _, s := range e.servers {
			waitServes(t, s, aws.ToString(svc.ServiceUrl), c.want, 3*testResync)
		}
	}
	t.Logf("lease holders: %v", holders)
	// Each server reports its share, in its health and its metrics.
	sum := 0
	for _, s := range e.servers {
		h, err := s.health()
		if err != nil || h.Store != "postgres" || h.Server != s.id {
			t.Fatalf("server %d health %+v, %v", s.i, h, err)
		}
		sum += h.Leases
		resp, err := http.Get("http://" + s.api + "/_openrunner/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf(`openrunner_server_leases{server=%q} %d`, s.id, h.Leases)
		if !strings.Contains(string(b), want) || !strings.Contains(string(b), `openrunner_server_store_up{server="`+s.id+`",store="postgres"} 1`) {
			t.Fatalf("server %d metrics lack %s:\n%s", s.i, want, b)
		}
	}
	if sum < len(all) {
		t.Fatalf("the servers report %d leases for %d services", sum, len(all))
	}
	for i, c := range all {
		if _, err := e.servers[(i+2)%3].client.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: c.svc.ServiceArn}); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range all {
		if svc := waitStatus(t, e.servers[i%3], c.svc.ServiceArn, time.Minute); svc.Status != types.ServiceStatusDeleted {
			t.Fatalf("%s is %s", aws.ToString(svc.ServiceName), svc.Status)
		}
		for _, s := range e.servers {
			deadline := time.Now().Add(3 * testResync)
			for {
				code, _, err := get(s, aws.ToString(c.svc.ServiceUrl))
				if err == nil && code == http.StatusNotFound {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("server %d still routes the deleted %s: %d %v", s.i, aws.ToString(c.svc.ServiceName), code, err)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	for _, s := range e.servers {
		s.stop()
		if n := instances(t, s); n != 0 {
			t.Errorf("server %d still runs %d instances", s.i, n)
		}
	}
}
