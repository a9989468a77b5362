package e2e_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/handshake"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/internal/sampleapp"
	"github.com/openrunner/openrunner/internal/testutil"
)

// sourceEnv is an OpenRunner whose connections reach the provider
// simulator, with one AVAILABLE connection per provider.
type sourceEnv struct {
	sim    *providersim.Sim
	d      *daemon.Daemon
	c      *apprunner.Client
	conns  map[string]string // provider ("github", "bitbucket") → connection ARN
	tokens map[string]string // provider → the token its handshake used
	cfg    daemon.Config
}

// newSourceEnv starts the simulator and a daemon on runtime ("process" or
// "docker"); cfg may set more fields.
func newSourceEnv(t testing.TB, runtime string, cfg daemon.Config) *sourceEnv {
	t.Helper()
	sim := providersim.New(providersim.Options{})
	t.Cleanup(sim.Close)
	sim.AddUser("octo")
	cfg.Runtime = runtime
	cfg.GitHub = handshake.GitHubConfig{URL: sim.GitHubURL(), APIURL: sim.GitHubAPIURL()}
	cfg.Bitbucket = handshake.BitbucketConfig{URL: sim.BitbucketURL(), APIURL: sim.BitbucketAPIURL()}
	cfg.AllowEndOfSupport = true // go1 is past App Runner's end of support
	// Kubernetes builds with Docker too.
	if runtime == "docker" || runtime == "kubernetes" {
		base := testutil.NeedBuildBaseImage(t)
		cfg.RuntimeImages = map[string]string{"python311": base, "nodejs22": base, "go1": base}
	}
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	d := testutil.MustRunDaemon(t, cfg)
	e := &sourceEnv{sim: sim, d: d, c: testutil.Client(d.URL(), testutil.ClientOptions{}),
		conns: map[string]string{}, tokens: map[string]string{}, cfg: cfg}
	for _, p := range []struct {
		name string
		typ  types.ProviderType
		tok  string
	}{
		{"github", types.ProviderTypeGithub, sim.IssueGitHubToken("octo", "repo", "admin:repo_hook")},
		{"bitbucket", types.ProviderTypeBitbucket, sim.IssueBitbucketToken("octo", "repository", "webhook")},
	} {
		conn := createConn(t, e.c, "conn-"+p.name, p.typ)
		e.handshake(t, *conn.ConnectionArn, p.tok)
		e.conns[p.name], e.tokens[p.name] = *conn.ConnectionArn, p.tok
	}
	return e
}

// extension calls an OpenRunner extension operation, signed as the SDK
// would sign it.
func (e *sourceEnv) extension(t testing.TB, op string, in, out any) {
	t.Helper()
	testutil.Extension(t, e.d.URL(), op, in, out)
}

func (e *sourceEnv) handshake(t testing.TB, arn, token string) {
	t.Helper()
	var out api.CompleteConnectionHandshakeOutput
	e.extension(t, "CompleteConnectionHandshake", api.CompleteConnectionHandshakeInput{ConnectionArn: arn, Token: token}, &out)
	if out.Connection.Status != "AVAILABLE" {
		t.Fatalf("handshake: %+v", out.Connection)
	}
}

// serviceLog returns the service's event log (or application log) as text.
func (e *sourceEnv) serviceLog(t testing.TB, arn string, application bool) string {
	t.Helper()
	return serviceLog(t, e.d.URL(), arn, application)
}

// codeSource is a SourceConfiguration for repo's branch, with the
// configuration from apprunner.yaml unless values are given.
func codeSource(repoURL, branch, dir, connection string, values *types.CodeConfigurationValues) *types.SourceConfiguration {
	cc := &types.CodeConfiguration{ConfigurationSource: types.ConfigurationSourceRepository}
	if values != nil {
		cc = &types.CodeConfiguration{ConfigurationSource: types.ConfigurationSourceApi, CodeConfigurationValues: values}
	}
	cr := &types.CodeRepository{
		RepositoryUrl:     aws.String(repoURL),
		SourceCodeVersion: &types.SourceCodeVersion{Type: types.SourceCodeVersionTypeBranch, Value: aws.String(branch)},
		CodeConfiguration: cc,
	}
	if dir != "" {
		cr.SourceDirectory = aws.String(dir)
	}
	return &types.SourceConfiguration{
		CodeRepository:              cr,
		AuthenticationConfiguration: &types.AuthenticationConfiguration{ConnectionArn: aws.String(connection)},
	}
}

func (e *sourceEnv) create(t testing.TB, name string, src *types.SourceConfiguration) *types.Service {
	t.Helper()
	out, err := e.c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(name), SourceConfiguration: src})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = e.c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: out.Service.ServiceArn})
	})
	return waitStatus(t, e.c, out.Service.ServiceArn)
}

// body returns what the service answers at / (status and body).
func (e *sourceEnv) body(t testing.TB, svc *types.Service) (int, string) {
	t.Helper()
	return get(t, e.d.RouterURL(), *svc.ServiceUrl, "/")
}

// waitBody waits until the service answers want at /.
func (e *sourceEnv) waitBody(t testing.TB, svc *types.Service, want string) {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	var code int
	var got string
	for time.Now().Before(deadline) {
		if code, got = e.body(t, svc); code == 200 && strings.TrimSpace(got) == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the service answers %d %q, want %q", code, got, want)
}

// operations returns the service's operations, newest first.
func (e *sourceEnv) operations(t testing.TB, arn *string) []types.OperationSummary {
	t.Helper()
	out, err := e.c.ListOperations(ctx, &apprunner.ListOperationsInput{ServiceArn: arn})
	if err != nil {
		t.Fatal(err)
	}
	return out.OperationSummaryList
}

// waitOperations waits until the service has n operations, none of them
// unfinished, and returns them newest first.
func (e *sourceEnv) waitOperations(t testing.TB, arn *string, n int) []types.OperationSummary {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		ops := e.operations(t, arn)
		done := len(ops) >= n
		for _, op := range ops {
			if op.EndedAt == nil {
				done = false
			}
		}
		if done {
			return ops
		}
		time.Sleep(50 * time.Millisecond)
	}
	ops := e.operations(t, arn)
	t.Fatalf("want %d finished operations, have %d: %+v", n, len(ops), ops)
	return nil
}

// noFileHolds fails if a file under dir holds secret.
func noFileHolds(t testing.TB, dir, secret string) {
	t.Helper()
	_ = filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds a secret", p)
		}
		return nil
	})
}

// repoFor adds a GitHub or Bitbucket repository to the simulator with
// app's files as its first commit on main.
func (e *sourceEnv) repoFor(t testing.TB, provider, name string, files map[string]string) *providersim.Repo {
	t.Helper()
	repo := e.sim.AddRepo(provider, "octo", name, "main")
	if _, err := repo.Commit("main", files, "first"); err != nil {
		t.Fatal(err)
	}
	return repo
}

// TestSourceServiceLifecycle is the whole story on the process runtime:
// a Python app with apprunner.yaml is created from GitHub, answers at its
// ServiceUrl, goes live on its own when a commit is pushed, rolls back a
// broken push, and holds on to its connection until it is deleted.
func TestSourceServiceLifecycle(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{})
	repo := e.repoFor(t, "github", "hello", sampleapp.Python("v1", sampleapp.WithRunEnv("GREETING", "hi"), sampleapp.WithBuildEnv("BUILD_ONLY", "b")).Files)

	svc := e.create(t, "hello-py", codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil))
	if svc.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s; log:\n%s", svc.Status, e.serviceLog(t, *svc.ServiceArn, false))
	}
	if src := svc.SourceConfiguration; src.CodeRepository == nil || !aws.ToBool(src.AutoDeploymentsEnabled) {
		t.Fatalf("source configuration %+v: want a code repository with automatic deployments on by default", src)
	}
	e.waitBody(t, svc, "v1")
	if code, got := get(t, e.d.RouterURL(), *svc.ServiceUrl, "/env?name=GREETING"); code != 200 || got != "hi" {
		t.Fatalf("run.env GREETING: %d %q", code, got)
	}
	if code, _ := get(t, e.d.RouterURL(), *svc.ServiceUrl, "/env?name=BUILD_ONLY"); code != 404 {
		t.Fatalf("build.env leaked into the running app: %d", code)
	}
	log := e.serviceLog(t, *svc.ServiceArn, false)
	for _, want := range []string{
		"[AppRunner] Deployment Artifact: [Repo Type: Source], [Repository: " + repo.CloneURL() + "], [Branch: main], [SourceDirectory: /]",
		"[AppRunner] Creating pipeline for automatic deployments.",
		"[AppRunner] Successfully created pipeline for automatic deployments.",
		"[AppRunner] Pulling source code from GITHUB Repository ( " + repo.CloneURL() + " ).",
		"[AppRunner] Successfully pulled your application source code.",
		"Deploying commit " + repo.Head("main"),
		"[AppRunner] Reading apprunner.yaml config file.",
		"[AppRunner] Starting to build your application source code.",
		"[Build] ",
		"[AppRunner] Successfully built your application source code.",
		"[AppRunner] Service status is set to RUNNING.",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the service log lacks %q:\n%s", want, log)
		}
	}
	// The instance's output reaches the application log.
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(e.serviceLog(t, *svc.ServiceArn, true), "listening on port"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("application log:\n%s", e.serviceLog(t, *svc.ServiceArn, true))
		}
	}
	if hooks := e.sim.Hooks(); len(hooks) != 1 || !strings.Contains(hooks[0].URL, "/_openrunner/webhooks/github/") {
		t.Fatalf("registered hooks: %+v", hooks)
	}

	// A connection in use cannot be deleted.
	_, err := e.c.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: aws.String(e.conns["github"])})
	wantAPIError(t, err, "InvalidRequestException", "hello-py")

	// A push goes live on its own, through the webhook.
	if _, err := repo.Commit("main", sampleapp.Python("v2").Files, "v2"); err != nil {
		t.Fatal(err)
	}
	e.waitBody(t, svc, "v2")
	ops := e.waitOperations(t, svc.ServiceArn, 2)
	if ops[0].Type != types.OperationTypeStartDeployment || ops[0].Status != types.OperationStatusSucceeded {
		t.Fatalf("after a push: %+v", ops[0])
	}
	// A redelivery of the same push deploys nothing again.
	deliveries := e.sim.Deliveries()
	if _, err := e.sim.Redeliver(deliveries[len(deliveries)-1].ID); err != nil {
		t.Fatal(err)
	}
	e.sim.WaitDeliveries()

	// A broken build rolls back; v2 keeps serving and the log says why.
	if _, err := repo.Commit("main", sampleapp.Python("v3", sampleapp.WithBrokenBuild()).Files, "broken"); err != nil {
		t.Fatal(err)
	}
	ops = e.waitOperations(t, svc.ServiceArn, 3)
	if ops[0].Status != types.OperationStatusRollbackSucceeded {
		t.Fatalf("broken push: %+v", ops[0])
	}
	if code, got := e.body(t, svc); code != 200 || strings.TrimSpace(got) != "v2" {
		t.Fatalf("after the rollback the service answers %d %q", code, got)
	}
	if log := e.serviceLog(t, *svc.ServiceArn, false); !strings.Contains(log, "exit code 1") || !strings.Contains(log, "Rolling back") {
		t.Fatalf("the log does not say why the deployment failed:\n%s", log)
	}
	if len(e.operations(t, svc.ServiceArn)) != 3 {
		t.Fatal("the redelivery made a deployment")
	}

	// Secrets never land in the data directory or the service log.
	noFileHolds(t, e.d.DataDir(), e.tokens["github"])

	// Deleted, the service lets go of its connection and its builds.
	if _, err := e.c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: svc.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e.c, svc.ServiceArn)
	if _, err := e.c.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: aws.String(e.conns["github"])}); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(e.d.DataDir(), "builds")); len(entries) != 0 {
		t.Fatalf("builds left after delete: %v", entries)
	}
	if hooks := e.sim.Hooks(); len(hooks) != 0 {
		t.Fatalf("the webhook outlived the service: %+v", hooks)
	}
}

// TestSourceServiceFailures: a first deployment that cannot succeed ends
// CREATE_FAILED with the reason in the log, and UpdateService repairs it.
func TestSourceServiceFailures(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{})
	invalid := e.repoFor(t, "github", "invalid", sampleapp.Python("x", sampleapp.WithInvalidConfig()).Files)
	broken := e.repoFor(t, "github", "broken", sampleapp.Python("x", sampleapp.WithBrokenBuild()).Files)
	good := e.repoFor(t, "github", "good", sampleapp.Python("fixed").Files)
	pending := createConn(t, e.c, "pending", types.ProviderTypeGithub)

	for _, tc := range []struct {
		name, repo, conn string
		branch           string
		want             []string
	}{
		{"bad-yaml", invalid.CloneURL(), e.conns["github"], "main", []string{"Invalid apprunner.yaml", "line "}},
		{"bad-build", broken.CloneURL(), e.conns["github"], "main", []string{"[Build] ", "exit code 1", "Failed to deploy your application source code."}},
		{"no-branch", good.CloneURL(), e.conns["github"], "nope", []string{"The branch nope does not exist"}},
		{"pending-conn", good.CloneURL(), *pending.ConnectionArn, "main", []string{
			"Failed to retrieve the latest commit from your source repository. Be sure you configure your service with a valid connection to your GitHub repository"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := e.create(t, tc.name, codeSource(tc.repo, tc.branch, "", tc.conn, nil))
			if svc.Status != types.ServiceStatusCreateFailed {
				t.Fatalf("status %s", svc.Status)
			}
			log := e.serviceLog(t, *svc.ServiceArn, false)
			for _, w := range tc.want {
				if !strings.Contains(log, w) {
					t.Errorf("the log lacks %q:\n%s", w, log)
				}
			}
			ops := e.operations(t, svc.ServiceArn)
			if ops[0].Status != types.OperationStatusFailed {
				t.Fatalf("operation %+v", ops[0])
			}
			if tc.name != "bad-build" {
				return
			}
			// UpdateService turns a CREATE_FAILED service into a running one.
			up, err := e.c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: svc.ServiceArn,
				SourceConfiguration: codeSource(good.CloneURL(), "main", "", e.conns["github"], nil)})
			if err != nil {
				t.Fatal(err)
			}
			svc = waitStatus(t, e.c, up.Service.ServiceArn)
			if svc.Status != types.ServiceStatusRunning {
				t.Fatalf("after the update: %s\n%s", svc.Status, e.serviceLog(t, *svc.ServiceArn, false))
			}
			e.waitBody(t, svc, "fixed")
			// The repository it left behind keeps no webhook of ours.
			for _, h := range e.sim.Hooks() {
				if h.Repo == "octo/broken" {
					t.Errorf("the webhook of the repository the service moved away from is still there: %+v", h)
				}
			}
		})
	}

	// A connection that does not exist is refused at once.
	_, err := e.c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("ghost"),
		SourceConfiguration: codeSource(good.CloneURL(), "main", "", strings.Replace(e.conns["github"], "conn-github", "conn-ghost", 1), nil)})
	wantAPIError(t, err, "InvalidRequestException", "doesn't exist")
	// Only http(s) repositories, without credentials in the URL.
	for _, u := range []string{"file:///etc", "https://octo:secret@github.com/octo/good"} {
		_, err = e.c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("bad-url"),
			SourceConfiguration: codeSource(u, "main", "", e.conns["github"], nil)})
		wantAPIError(t, err, "InvalidRequestException", "repository URL")
	}
	// The connection's token only ever goes to its provider.
	_, err = e.c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("elsewhere"),
		SourceConfiguration: codeSource("https://attacker.example.com/octo/good.git", "main", "", e.conns["github"], nil)})
	wantAPIError(t, err, "InvalidRequestException", "isn't on GITHUB")
	for _, tc := range []struct{ branch, dir, want string }{{"-x", "", "branch"}, {"main", "/a/../../etc", "SourceDirectory"}} {
		_, err = e.c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("bad-input"),
			SourceConfiguration: codeSource(good.CloneURL(), tc.branch, tc.dir, e.conns["github"], nil)})
		wantAPIError(t, err, "InvalidRequestException", tc.want)
	}
}

// TestSourceLanguages deploys the Node.js and Go samples on the process
// runtime, one from apprunner.yaml on Bitbucket and one from API values.
func TestSourceLanguages(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{})
	node := sampleapp.Node("from node", sampleapp.WithPortEnv("APP_PORT"))
	goApp := sampleapp.Go("from go")
	nodeRepo := e.repoFor(t, "bitbucket", "node-app", node.Files)
	goRepo := e.repoFor(t, "github", "go-app", goApp.Files)

	nodeSvc := e.create(t, "node-svc", codeSource(nodeRepo.CloneURL(), "main", "", e.conns["bitbucket"], nil))
	v := goApp.Values
	goSvc := e.create(t, "go-svc", codeSource(goRepo.CloneURL(), "main", "", e.conns["github"], &types.CodeConfigurationValues{
		Runtime: types.Runtime(v.Runtime), BuildCommand: aws.String(v.BuildCommand), StartCommand: aws.String(v.StartCommand), Port: aws.String(v.Port),
	}))
	for _, s := range []struct {
		svc  *types.Service
		want string
	}{{nodeSvc, "from node"}, {goSvc, "from go"}} {
		if s.svc.Status != types.ServiceStatusRunning {
			t.Fatalf("%s: %s\n%s", *s.svc.ServiceName, s.svc.Status, e.serviceLog(t, *s.svc.ServiceArn, false))
		}
		e.waitBody(t, s.svc, s.want)
	}
	if log := e.serviceLog(t, *nodeSvc.ServiceArn, false); !strings.Contains(log, "Pulling source code from BITBUCKET Repository") {
		t.Fatalf("node log:\n%s", log)
	}
	if log := e.serviceLog(t, *goSvc.ServiceArn, false); strings.Contains(log, "Reading apprunner.yaml") {
		t.Fatalf("an API-configured service read apprunner.yaml:\n%s", log)
	}
}

// TestSourceMonorepo: two services from two directories of one Bitbucket
// repository; a push redeploys only the one whose directory changed, and
// pushes during a deployment coalesce into one more.
func TestSourceMonorepo(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{})
	api1 := sampleapp.Python("api v1", sampleapp.WithDir("services/api"))
	web1 := sampleapp.Node("web v1", sampleapp.WithDir("services/web"))
	files := map[string]string{"README.md": "mono\n"}
	for k, v := range api1.Files {
		files[k] = v
	}
	for k, v := range web1.Files {
		files[k] = v
	}
	repo := e.repoFor(t, "bitbucket", "mono", files)
	apiSvc := e.create(t, "api-svc", codeSource(repo.CloneURL(), "main", api1.SourceDirectory(), e.conns["bitbucket"], nil))
	webSvc := e.create(t, "web-svc", codeSource(repo.CloneURL(), "main", web1.SourceDirectory(), e.conns["bitbucket"], nil))
	e.waitBody(t, apiSvc, "api v1")
	e.waitBody(t, webSvc, "web v1")

	if _, err := repo.Commit("main", sampleapp.Node("web v2", sampleapp.WithDir("services/web")).Files, "web only"); err != nil {
		t.Fatal(err)
	}
	e.waitBody(t, webSvc, "web v2")
	e.sim.WaitDeliveries()
	// The api service saw the push and found nothing of its own in it.
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(e.serviceLog(t, *apiSvc.ServiceArn, false), "changes nothing under /services/api") {
		if time.Now().After(deadline) {
			t.Fatalf("api log:\n%s", e.serviceLog(t, *apiSvc.ServiceArn, false))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(e.operations(t, apiSvc.ServiceArn)); n != 1 {
		t.Fatalf("the api service has %d operations, want 1", n)
	}

	// Three quick pushes: one deployment is running when the others
	// arrive, and they make at most one more, of the newest commit.
	for i := 3; i <= 5; i++ {
		if _, err := repo.Commit("main", sampleapp.Python(fmt.Sprintf("api v%d", i), sampleapp.WithDir("services/api")).Files, "api"); err != nil {
			t.Fatal(err)
		}
	}
	e.waitBody(t, apiSvc, "api v5")
	e.sim.WaitDeliveries()
	ops := e.waitOperations(t, apiSvc.ServiceArn, 2)
	if len(ops) > 3 {
		t.Fatalf("three pushes made %d deployments, want at most 2", len(ops)-1)
	}

	// The webhook stays while one service still needs it.
	if _, err := e.c.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: apiSvc.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, e.c, apiSvc.ServiceArn)
	if hooks := e.sim.Hooks(); len(hooks) != 1 {
		t.Fatalf("hooks after deleting one of two services: %+v", hooks)
	}
}

// TestSourceRevokedToken: a connection whose token the provider stopped
// accepting turns ERROR, and the deployment says so.
func TestSourceRevokedToken(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{})
	repo := e.repoFor(t, "github", "app", sampleapp.Python("v1").Files)
	svc := e.create(t, "app-svc", codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil))
	e.waitBody(t, svc, "v1")
	e.sim.RevokeToken(e.tokens["github"])
	if _, err := e.c.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: svc.ServiceArn}); err != nil {
		t.Fatal(err)
	}
	ops := e.waitOperations(t, svc.ServiceArn, 2)
	if ops[0].Status != types.OperationStatusRollbackSucceeded {
		t.Fatalf("deployment with a revoked token: %+v", ops[0])
	}
	if log := e.serviceLog(t, *svc.ServiceArn, false); !strings.Contains(log, "no longer accepts the credentials") {
		t.Fatalf("log:\n%s", log)
	}
	list, err := e.c.ListConnections(ctx, &apprunner.ListConnectionsInput{ConnectionName: aws.String("conn-github")})
	if err != nil || len(list.ConnectionSummaryList) != 1 || list.ConnectionSummaryList[0].Status != types.ConnectionStatusError {
		t.Fatalf("connection after the revocation: %+v, %v", list, err)
	}
	e.waitBody(t, svc, "v1") // still serving
}

// TestSourcePolling: with a token that cannot register webhooks (a
// Bitbucket token without the webhook scope), the
// service still picks up pushes by polling.
func TestSourcePolling(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{PollInterval: time.Second})
	conn := createConn(t, e.c, "no-hooks", types.ProviderTypeBitbucket)
	e.handshake(t, *conn.ConnectionArn, e.sim.IssueBitbucketToken("octo", "repository")) // no webhook scope
	repo := e.repoFor(t, "bitbucket", "polled", sampleapp.Python("v1").Files)
	svc := e.create(t, "polled", codeSource(repo.CloneURL(), "main", "", *conn.ConnectionArn, nil))
	e.waitBody(t, svc, "v1")
	if log := e.serviceLog(t, *svc.ServiceArn, false); !strings.Contains(log, "Could not register a push webhook") {
		t.Fatalf("log:\n%s", log)
	}
	if _, err := repo.Commit("main", sampleapp.Python("v2").Files, "v2"); err != nil {
		t.Fatal(err)
	}
	e.waitBody(t, svc, "v2")
}

// TestSourceDocker builds the three samples on the Docker runtime, from
// base images built locally (nothing can be pulled here).
func TestSourceDocker(t *testing.T) {
	e := newSourceEnv(t, "docker", daemon.Config{})
	for _, app := range []sampleapp.App{sampleapp.Python("py on docker"), sampleapp.Node("node on docker"), sampleapp.Go("go on docker")} {
		t.Run(app.Language, func(t *testing.T) {
			repo := e.repoFor(t, "github", "docker-"+app.Language, app.Files)
			svc := e.create(t, "docker-"+app.Language, codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil))
			if svc.Status != types.ServiceStatusRunning {
				t.Fatalf("%s\n%s", svc.Status, e.serviceLog(t, *svc.ServiceArn, false))
			}
			e.waitBody(t, svc, app.Message)
			if app.Language == "python" {
				next := sampleapp.Python("py on docker v2")
				if _, err := repo.Commit("main", next.Files, "v2"); err != nil {
					t.Fatal(err)
				}
				e.waitBody(t, svc, next.Message)
			}
		})
	}
}

// TestSourceManualWebhook: when OpenRunner cannot register the webhook,
// GetConnectionWebhook gives what a person enters in the provider's
// settings, and deliveries to it deploy.
func TestSourceManualWebhook(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{})
	conn := createConn(t, e.c, "manual-hooks", types.ProviderTypeBitbucket)
	e.handshake(t, *conn.ConnectionArn, e.sim.IssueBitbucketToken("octo", "repository")) // no webhook scope
	repo := e.repoFor(t, "bitbucket", "manual", sampleapp.Python("v1").Files)
	svc := e.create(t, "manual", codeSource(repo.CloneURL(), "main", "", *conn.ConnectionArn, nil))
	e.waitBody(t, svc, "v1")
	if len(e.sim.Hooks()) != 0 {
		t.Fatalf("hooks: %+v", e.sim.Hooks())
	}

	var hook api.GetConnectionWebhookOutput
	e.extension(t, "GetConnectionWebhook", api.GetConnectionWebhookInput{ConnectionArn: *conn.ConnectionArn}, &hook)
	if !strings.HasPrefix(hook.Url, e.d.URL()+"/_openrunner/webhooks/bitbucket/") || len(hook.Secret) < 32 || hook.Events[0] != "repo:push" {
		t.Fatalf("webhook: %+v", hook)
	}
	// The person adds the webhook in Bitbucket's settings (here through
	// its REST API, with a token that may).
	body, _ := json.Marshal(map[string]any{"url": hook.Url, "active": true, "events": hook.Events, "secret": hook.Secret, "description": "by hand"})
	req, _ := http.NewRequest(http.MethodPost, e.sim.BitbucketAPIURL()+"/repositories/octo/manual/hooks", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.sim.IssueBitbucketToken("octo", "webhook"))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("creating the hook: %s", resp.Status)
	}
	if _, err := repo.Commit("main", sampleapp.Python("v2").Files, "v2"); err != nil {
		t.Fatal(err)
	}
	e.waitBody(t, svc, "v2")

	// A delivery signed with another secret is refused.
	d := e.sim.Deliveries()[len(e.sim.Deliveries())-1]
	forged, _ := http.NewRequest(http.MethodPost, hook.Url, bytes.NewReader(d.Body))
	forged.Header = d.Header.Clone()
	forged.Header.Set("X-Hub-Signature", "sha256="+strings.Repeat("0", 64))
	forged.Header.Set("X-Request-UUID", "forged")
	resp, err = http.DefaultClient.Do(forged)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged delivery: %s", resp.Status)
	}
}

// TestRuntimeDefaultsToProcess: with no Docker engine answering,
// openrunner serve runs services as host processes.
func TestRuntimeDefaultsToProcess(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{DockerHost: "unix://" + filepath.Join(t.TempDir(), "no-docker.sock")})
	if d.RuntimeName() != "process" {
		t.Fatalf("runtime %q, want process", d.RuntimeName())
	}
	// A container image cannot run there, and the service says why.
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("image-on-process"), SourceConfiguration: imageSource(testImage, nil, "")})
	if err != nil {
		t.Fatal(err)
	}
	if svc := waitStatus(t, c, out.Service.ServiceArn); svc.Status != types.ServiceStatusCreateFailed {
		t.Fatalf("status %s", svc.Status)
	}
	e := &sourceEnv{d: d, c: c}
	if log := e.serviceLog(t, *out.Service.ServiceArn, false); !strings.Contains(log, "--runtime docker") {
		t.Fatalf("log:\n%s", log)
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestSourceRestart: a restarted server adopts a source service's running
// instance, removes builds no revision uses (as a server killed during a
// build leaves them), and keeps deploying pushes.
func TestSourceRestart(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{Listen: freeAddr(t), RouterListen: freeAddr(t)})
	repo := e.repoFor(t, "github", "restart", sampleapp.Python("v1").Files)
	svc := e.create(t, "restart-svc", codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil))
	e.waitBody(t, svc, "v1")
	builds := filepath.Join(e.cfg.DataDir, "builds")
	active, _ := os.ReadDir(builds)
	if len(active) != 1 {
		t.Fatalf("builds: %v", active)
	}
	if err := e.d.Close(); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(builds, strings.Repeat("ab", 16))
	if err := os.MkdirAll(filepath.Join(partial, "app"), 0o700); err != nil {
		t.Fatal(err)
	}
	e.d = testutil.MustRunDaemon(t, e.cfg)
	e.c = testutil.Client(e.d.URL(), testutil.ClientOptions{})
	e.waitBody(t, svc, "v1")
	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Fatalf("the partial build is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(builds, active[0].Name())); err != nil {
		t.Fatalf("the active build is gone: %v", err)
	}
	if _, err := repo.Commit("main", sampleapp.Python("v2").Files, "v2"); err != nil {
		t.Fatal(err)
	}
	e.waitBody(t, svc, "v2")
}

// TestSourceInstanceReplaced: the instance of a source-code service that
// dies is replaced, as an image service's is (the engine once read the
// port of a replacement from the image configuration, which a source-code
// revision does not have, and never replaced it).
func TestSourceInstanceReplaced(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{})
	repo := e.repoFor(t, "github", "replaced", sampleapp.Python("v1").Files)
	svc := e.create(t, "replaced-svc", codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil))
	e.waitBody(t, svc, "v1")
	killed := killUnder(t, filepath.Join(e.cfg.DataDir, "builds"))
	if killed == 0 {
		t.Fatal("found no instance process to kill")
	}
	for deadline := time.Now().Add(60 * time.Second); !strings.Contains(e.serviceLog(t, *svc.ServiceArn, false), "Replacing instance"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no replacement; service log:\n%s", e.serviceLog(t, *svc.ServiceArn, false))
		}
	}
	e.waitBody(t, svc, "v1")
}

// killUnder kills (SIGKILL) the processes whose working directory is under
// dir, and returns how many it killed.
func killUnder(t testing.TB, dir string) int {
	t.Helper()
	procs, _ := filepath.Glob("/proc/[0-9]*")
	n := 0
	for _, p := range procs {
		cwd, err := os.Readlink(filepath.Join(p, "cwd"))
		if err != nil || !strings.HasPrefix(cwd, dir+string(filepath.Separator)) {
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(p))
		if err == nil && syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}
