package e2e_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/sampleapp"
	"github.com/openrunner/openrunner/internal/testutil"
)

// lockedBuffer collects a server's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// loggedConfig returns cfg with a debug logger into a buffer.
func loggedConfig(cfg daemon.Config) (daemon.Config, *lockedBuffer) {
	buf := new(lockedBuffer)
	cfg.Logger = slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return cfg, buf
}

func randomValue(prefix string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func hashOf(v string) string {
	h := sha256.Sum256([]byte(v))
	return hex.EncodeToString(h[:])
}

// storedSecrets are the secrets a test stores in an OpenRunner: a JSON
// database secret, a plain API key, and two SSM parameters.
type storedSecrets struct {
	dbARN, keyARN, paramARN string
	password, apiKey        string
	host, token             string
}

func storeSecrets(t *testing.T, url string) *storedSecrets {
	t.Helper()
	sm, ps := secretClients(url)
	s := &storedSecrets{password: randomValue("pw-"), apiKey: randomValue("key-"), host: randomValue("host-"), token: randomValue("tok-")}
	db, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("db"), SecretString: aws.String(`{"username":"app","password":"` + s.password + `"}`)})
	if err != nil {
		t.Fatal(err)
	}
	key, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("api-key"), SecretString: aws.String(s.apiKey)})
	if err != nil {
		t.Fatal(err)
	}
	s.dbARN, s.keyARN = *db.ARN, *key.ARN
	for name, v := range map[string]string{"/app/db/host": s.host, "app-token": s.token} {
		if _, err := ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(v), Type: ssmtypes.ParameterTypeSecureString}); err != nil {
			t.Fatal(err)
		}
	}
	s.paramARN = "arn:aws:ssm:us-east-1:000000000000:parameter/app/db/host"
	return s
}

// refs are the service's references: a JSON key, a whole secret, an SSM
// parameter by ARN and one by name.
func (s *storedSecrets) refs() map[string]string {
	return map[string]string{
		"DB_PASSWORD": s.dbARN + ":password::",
		"API_KEY":     s.keyARN,
		"DB_HOST":     s.paramARN,
		"APP_TOKEN":   "app-token",
	}
}

func (s *storedSecrets) values() []string { return []string{s.password, s.apiKey, s.host, s.token} }

// wantEnvHashes checks what the service's instances have in their
// environment, by hash.
func wantEnvHashes(t *testing.T, routerURL, host string, want map[string]string) {
	t.Helper()
	for name, v := range want {
		code, got := get(t, routerURL, host, "/env-hash?name="+name)
		if code == 404 && strings.HasPrefix(got, "404 page not found") {
			// The test image was built from an older testapp without
			// /env-hash (the image's tag is shared by every checkout on
			// this Docker engine): hash the value here instead.
			if code, got = get(t, routerURL, host, "/env?name="+name); code == 200 {
				got = hashOf(got)
			}
		}
		if code != 200 || got != hashOf(v) {
			t.Errorf("%s: %d, want the hash of its secret", name, code)
		}
	}
}

// noValueIn fails if any value appears in what.
func noValueIn(t *testing.T, where, what string, values []string) {
	t.Helper()
	for _, v := range values {
		if strings.Contains(what, v) {
			t.Errorf("%s holds a secret value", where)
		}
	}
}

// rawDescribe returns the raw body of DescribeService, so that a test can
// search it for values.
func rawDescribe(t *testing.T, c *apprunner.Client, arn string) string {
	t.Helper()
	var raw []byte
	_, err := c.DescribeService(ctx, &apprunner.DescribeServiceInput{ServiceArn: &arn}, func(o *apprunner.Options) {
		o.HTTPClient = captureClient{&raw}
	})
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// captureClient keeps the body of the response it passes on.
type captureClient struct{ body *[]byte }

func (c captureClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return nil, err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	*c.body = b
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return resp, nil
}

// TestImageServiceSecrets: an image service receives the values of its
// RuntimeEnvironmentSecrets (JSON key, whole secret, SSM by ARN and by
// name); a rotated secret reaches it with StartDeployment only; a missing
// secret is CREATE_FAILED naming the variable; no value is in the data
// directory, the server's log, the service's logs or the API's answers.
func TestImageServiceSecrets(t *testing.T) {
	needDocker(t)
	cfg, serverLog := loggedConfig(daemon.Config{Runtime: "docker", DataDir: t.TempDir()})
	d := testutil.MustRunDaemon(t, cfg)
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	s := storeSecrets(t, d.URL())

	src := imageSource(testImage, map[string]string{"PLAIN": "p"}, "")
	src.ImageRepository.ImageConfiguration.RuntimeEnvironmentSecrets = s.refs()
	created, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("with-secrets"), SourceConfiguration: src})
	if err != nil {
		t.Fatal(err)
	}
	arn := *created.Service.ServiceArn
	svc := waitStatus(t, c, &arn)
	log := serviceLogs(t, d, arn)
	if svc.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s; log:\n%s", svc.Status, log)
	}
	wantEnvHashes(t, d.RouterURL(), *svc.ServiceUrl, map[string]string{"DB_PASSWORD": s.password, "API_KEY": s.apiKey, "DB_HOST": s.host, "APP_TOKEN": s.token, "PLAIN": "p"})
	if got := svc.SourceConfiguration.ImageRepository.ImageConfiguration.RuntimeEnvironmentSecrets; fmt.Sprint(got) != fmt.Sprint(s.refs()) {
		t.Fatalf("DescribeService secrets = %v, want the references %v", got, s.refs())
	}

	// Rotation: the running service keeps its value until StartDeployment.
	rotated := randomValue("pw2-")
	sm, _ := secretClients(d.URL())
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("db"), SecretString: aws.String(`{"username":"app","password":"` + rotated + `"}`)}); err != nil {
		t.Fatal(err)
	}
	wantEnvHashes(t, d.RouterURL(), *svc.ServiceUrl, map[string]string{"DB_PASSWORD": s.password})
	if _, err := c.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: &arn}); err != nil {
		t.Fatal(err)
	}
	waitOperationsDone(t, c, &arn, 2)
	wantEnvHashes(t, d.RouterURL(), *svc.ServiceUrl, map[string]string{"DB_PASSWORD": rotated})

	// A secret gone since: the next deployment rolls back, and the service
	// keeps serving what it had.
	if _, err := sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String("api-key"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.StartDeployment(ctx, &apprunner.StartDeploymentInput{ServiceArn: &arn}); err != nil {
		t.Fatal(err)
	}
	ops := (&sourceEnv{c: c}).waitOperations(t, &arn, 3)
	if ops[0].Status != types.OperationStatusRollbackSucceeded {
		t.Fatalf("deployment without its secret: %s", ops[0].Status)
	}
	if log := serviceLogs(t, d, arn); !strings.Contains(log, "The secret API_KEY could not be read") {
		t.Fatalf("the rollback's log does not name API_KEY:\n%s", log)
	}
	wantEnvHashes(t, d.RouterURL(), *svc.ServiceUrl, map[string]string{"API_KEY": s.apiKey, "DB_PASSWORD": rotated})

	// A missing secret and a missing JSON key fail the first deployment.
	for _, tc := range []struct{ name, ref, want string }{
		{"missing-secret", "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-AbCdEf", "The secret MISSING could not be read"},
		{"missing-key", s.dbARN + ":nokey::", "no key \"nokey\""},
		{"other-account", strings.Replace(s.dbARN, "000000000000", "111111111111", 1), "has no access"},
	} {
		bad := imageSource(testImage, nil, "")
		bad.ImageRepository.ImageConfiguration.RuntimeEnvironmentSecrets = map[string]string{"MISSING": tc.ref}
		out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String(tc.name), SourceConfiguration: bad})
		if err != nil {
			t.Fatal(err)
		}
		failed := waitStatus(t, c, out.Service.ServiceArn)
		badLog := serviceLogs(t, d, *out.Service.ServiceArn)
		if failed.Status != types.ServiceStatusCreateFailed || !strings.Contains(badLog, "MISSING") || !strings.Contains(badLog, tc.want) {
			t.Fatalf("%s: status %s; log:\n%s", tc.name, failed.Status, badLog)
		}
	}

	// Nowhere in clear.
	values := append(s.values(), rotated)
	noValueIn(t, "the server log", serverLog.String(), values)
	noValueIn(t, "the service log", serviceLogs(t, d, arn), values)
	noValueIn(t, "DescribeService", rawDescribe(t, c, arn), values)
	for _, v := range values {
		noFileHolds(t, cfg.DataDir, v)
	}
}

// waitOperationsDone waits for n finished operations of the service.
func waitOperationsDone(t *testing.T, c *apprunner.Client, arn *string, n int) {
	t.Helper()
	e := &sourceEnv{c: c}
	ops := e.waitOperations(t, arn, n)
	if ops[0].Status != types.OperationStatusSucceeded {
		t.Fatalf("operation %s: %s", ops[0].Type, ops[0].Status)
	}
}

// serviceLogs reads a service's event log through the extension API.
func serviceLogs(t *testing.T, d *daemon.Daemon, arn string) string {
	t.Helper()
	e := &sourceEnv{d: d}
	return e.serviceLog(t, arn, false) + e.serviceLog(t, arn, true)
}

// TestSourceServiceSecrets: apprunner.yaml run.secrets and
// CodeConfigurationValues.RuntimeEnvironmentSecrets reach a source-code
// service at run time, never its build.
func TestSourceServiceSecrets(t *testing.T) {
	e := newSourceEnv(t, "process", daemon.Config{})
	s := storeSecrets(t, e.d.URL())
	opts := []sampleapp.Option{}
	for name, ref := range s.refs() {
		opts = append(opts, sampleapp.WithRunSecret(name, ref))
	}
	app := sampleapp.Python("v1", opts...)
	repo := e.repoFor(t, "github", "with-secrets", app.Files)
	want := map[string]string{"DB_PASSWORD": s.password, "API_KEY": s.apiKey, "DB_HOST": s.host, "APP_TOKEN": s.token}

	// From apprunner.yaml.
	svc := e.create(t, "yaml-secrets", codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil))
	if svc.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s; log:\n%s", svc.Status, e.serviceLog(t, *svc.ServiceArn, false))
	}
	wantEnvHashes(t, e.d.RouterURL(), *svc.ServiceUrl, want)

	// From CodeConfigurationValues.
	values := &types.CodeConfigurationValues{Runtime: types.Runtime(app.Values.Runtime), BuildCommand: aws.String(app.Values.BuildCommand),
		StartCommand: aws.String(app.Values.StartCommand), Port: aws.String(app.Values.Port), RuntimeEnvironmentSecrets: app.Values.Secrets}
	api := e.create(t, "api-secrets", codeSource(repo.CloneURL(), "main", "", e.conns["github"], values))
	if api.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s; log:\n%s", api.Status, e.serviceLog(t, *api.ServiceArn, false))
	}
	wantEnvHashes(t, e.d.RouterURL(), *api.ServiceUrl, want)
	for _, arn := range []string{*svc.ServiceArn, *api.ServiceArn} {
		noValueIn(t, "the service log", e.serviceLog(t, arn, false)+e.serviceLog(t, arn, true), s.values())
	}
	for _, v := range s.values() {
		noFileHolds(t, e.cfg.DataDir, v)
	}
}

// TestSecretsSourceAWS: with --secrets-source aws, references resolve
// through aws-sdk-go-v2's default configuration; AWS_ENDPOINT_URL points
// it at a second OpenRunner's embedded store.
func TestSecretsSourceAWS(t *testing.T) {
	needDocker(t)
	store := testutil.MustRunDaemon(t, daemon.Config{Runtime: "none"})
	s := storeSecrets(t, store.URL())
	// The SDK's service-specific endpoint variables (the service ids
	// "Secrets Manager" and "SSM"); AWS_ENDPOINT_URL would do for both.
	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", store.URL())
	t.Setenv("AWS_ENDPOINT_URL_SSM", store.URL())
	t.Setenv("AWS_ACCESS_KEY_ID", daemon.DefaultAccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", daemon.DefaultSecretAccessKey)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	d := testutil.MustRunDaemon(t, daemon.Config{Runtime: "docker", SecretsSource: "aws"})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})

	src := imageSource(testImage, nil, "")
	src.ImageRepository.ImageConfiguration.RuntimeEnvironmentSecrets = s.refs()
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("aws-secrets"), SourceConfiguration: src})
	if err != nil {
		t.Fatal(err)
	}
	svc := waitStatus(t, c, out.Service.ServiceArn)
	if svc.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s; log:\n%s", svc.Status, serviceLogs(t, d, *svc.ServiceArn))
	}
	wantEnvHashes(t, d.RouterURL(), *svc.ServiceUrl, map[string]string{"DB_PASSWORD": s.password, "API_KEY": s.apiKey, "DB_HOST": s.host, "APP_TOKEN": s.token})

	// The second server's own embedded store is not consulted.
	if _, err := secretsClientsCreate(d.URL()); err != nil {
		t.Fatal(err)
	}
	bad := imageSource(testImage, nil, "")
	bad.ImageRepository.ImageConfiguration.RuntimeEnvironmentSecrets = map[string]string{"LOCAL": "only-local"}
	out, err = c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("aws-missing"), SourceConfiguration: bad})
	if err != nil {
		t.Fatal(err)
	}
	if failed := waitStatus(t, c, out.Service.ServiceArn); failed.Status != types.ServiceStatusCreateFailed {
		t.Fatalf("a parameter only in the local store: status %s", failed.Status)
	}
}

// secretsClientsCreate stores the parameter only-local in url's own store.
func secretsClientsCreate(url string) (*ssm.PutParameterOutput, error) {
	_, ps := secretClients(url)
	return ps.PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("only-local"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString})
}

// TestSecretsSurviveRestart: an instance started again after a restart (its
// container gone) gets the values its revision was deployed with, not the
// secret's newer value: values are kept, sealed, with the revision.
func TestSecretsSurviveRestart(t *testing.T) {
	needDocker(t)
	dir := t.TempDir()
	d := daemon.New(daemon.Config{Listen: "127.0.0.1:0", RouterListen: "127.0.0.1:0", DataDir: dir, Runtime: "docker"})
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	s := storeSecrets(t, d.URL())
	src := imageSource(testImage, nil, "")
	src.ImageRepository.ImageConfiguration.RuntimeEnvironmentSecrets = s.refs()
	out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{ServiceName: aws.String("restarted"), SourceConfiguration: src})
	if err != nil {
		t.Fatal(err)
	}
	if svc := waitStatus(t, c, out.Service.ServiceArn); svc.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s", svc.Status)
	}
	sm, _ := secretClients(d.URL())
	if _, err := sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String("api-key"), SecretString: aws.String(randomValue("newer-"))}); err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Service.ServiceArn)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("docker", "rm", "-f", containersOf(t, arn)).CombinedOutput(); err != nil {
		t.Fatalf("docker rm: %v %s", err, out)
	}
	d2 := testutil.MustRunDaemon(t, daemon.Config{DataDir: dir, Runtime: "docker"})
	t.Cleanup(func() {
		_, _ = testutil.Client(d2.URL(), testutil.ClientOptions{}).DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: &arn})
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if code, _ := get(t, d2.RouterURL(), *out.Service.ServiceUrl, "/"); code == 200 {
			break
		}
	}
	wantEnvHashes(t, d2.RouterURL(), *out.Service.ServiceUrl, map[string]string{"API_KEY": s.apiKey, "DB_PASSWORD": s.password})
}
