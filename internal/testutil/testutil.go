// Package testutil starts OpenRunner servers and AWS SDK clients for tests.
package testutil

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/process"
)

// MustRunDaemon starts a daemon on a loopback port with a fresh data
// directory (unless cfg names one) and closes it when the test ends.
func MustRunDaemon(tb testing.TB, cfg daemon.Config) *daemon.Daemon {
	tb.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	if cfg.RouterListen == "" {
		cfg.RouterListen = "127.0.0.1:0"
	}
	if cfg.DataDir == "" {
		cfg.DataDir = tb.TempDir()
	}
	if cfg.Logger == nil && os.Getenv("OPENRUNNER_TEST_LOG") != "" {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	d := daemon.New(cfg)
	if err := d.Open(context.Background()); err != nil {
		tb.Fatalf("daemon.Open: %v", err)
	}
	owner, runtime := d.Owner(), d.RuntimeName()
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("daemon.Close: %v", err)
		}
		// Instances outlive a server by design (the next one adopts them);
		// a test's server has no next one.
		switch {
		case owner == "":
		case runtime == "process":
			stopProcesses(filepath.Join(cfg.DataDir, "process"), owner)
		default:
			removeContainers(owner)
		}
	})
	return d
}

// ClientOptions selects the identity of a Client.
type ClientOptions struct {
	AccessKeyID, SecretAccessKey string // default test/test
	Region                       string // default us-east-1
}

// Client returns an App Runner client of the real AWS SDK aimed at url. It
// retries only transport failures (a keep-alive connection the client closed
// under itself, aws/aws-sdk-go-v2#1825, or a server that is restarting), so
// a test sees every API error at once.
func Client(url string, o ClientOptions) *apprunner.Client {
	if o.AccessKeyID == "" {
		o.AccessKeyID, o.SecretAccessKey = daemon.DefaultAccessKeyID, daemon.DefaultSecretAccessKey
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	return apprunner.New(apprunner.Options{
		Region:       o.Region,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, ""),
		Retryer: retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.Retryables = []retry.IsErrorRetryable{retry.IsErrorRetryableFunc(transportError)}
		}),
	})
}

// transportError reports whether err happened below HTTP: no response was
// read, so the server never answered this attempt.
func transportError(err error) aws.Ternary {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.HTTPStatusCode() != 0 && !errors.Is(err, net.ErrClosed) {
		return aws.FalseTernary // the server answered: an API error
	}
	if errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return aws.TrueTernary
	}
	return aws.UnknownTernary
}

// removeContainers removes the Docker containers and build images of one
// server.
func removeContainers(owner string) {
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label="+docker.LabelOwner+"="+owner).Output()
	if err == nil && len(strings.TrimSpace(string(out))) > 0 {
		_ = exec.Command("docker", append([]string{"rm", "-f"}, strings.Fields(string(out))...)...).Run()
	}
	// And the images its source-code builds made.
	out, err = exec.Command("docker", "images", "-q", "--filter", "label="+docker.LabelOwner+"="+owner).Output()
	if err == nil && len(strings.TrimSpace(string(out))) > 0 {
		_ = exec.Command("docker", append([]string{"rmi", "-f"}, strings.Fields(string(out))...)...).Run()
	}
}

// stopProcesses stops every instance the process runtime in dir started
// for owner.
func stopProcesses(dir, owner string) {
	rt, err := process.New(process.Options{Dir: dir, Owner: owner})
	if err != nil {
		return
	}
	ctx := context.Background()
	all, _ := rt.ListInstances(ctx)
	for _, in := range all {
		_ = rt.StopInstance(ctx, in.ID, 5*time.Second)
	}
}

// Extension calls an OpenRunner extension operation (POST /_openrunner/)
// on the server at baseURL, signed with SigV4 as the SDK would sign it
// with the default test credentials, and decodes the answer into out. A
// status other than 200 fails the test.
func Extension(tb testing.TB, baseURL, op string, in, out any) {
	tb.Helper()
	body, _ := json.Marshal(in)
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/_openrunner/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", api.ExtensionTargetPrefix+"."+op)
	sum := sha256.Sum256(body)
	creds := aws.Credentials{AccessKeyID: daemon.DefaultAccessKeyID, SecretAccessKey: daemon.DefaultSecretAccessKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "apprunner", "us-east-1", time.Now()); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("%s: %d %s", op, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		tb.Fatal(err)
	}
}
