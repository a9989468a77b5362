package e2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/testutil"
)

func writeCredentials(tb testing.TB, lines ...string) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "credentials")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		tb.Fatal(err)
	}
	return path
}

func TestSigV4Errors(t *testing.T) {
	d := testutil.MustRunDaemon(t, daemon.Config{})

	_, err := testutil.Client(d.URL(), testutil.ClientOptions{AccessKeyID: "test", SecretAccessKey: "wrong"}).ListConnections(ctx, &apprunner.ListConnectionsInput{})
	wantAPIError(t, err, "InvalidSignatureException", "signature we calculated does not match")
	_, err = testutil.Client(d.URL(), testutil.ClientOptions{AccessKeyID: "AKIAUNKNOWN", SecretAccessKey: "x"}).ListConnections(ctx, &apprunner.ListConnectionsInput{})
	wantAPIError(t, err, "UnrecognizedClientException")

	body := []byte(`{}`)
	send := func(r *http.Request) (int, string, string) {
		t.Helper()
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		if resp.Header.Get("x-amzn-RequestId") == "" {
			t.Error("response without x-amzn-RequestId")
		}
		return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), b.String()
	}
	newReq := func() *http.Request {
		r, _ := http.NewRequest(http.MethodPost, d.URL()+"/", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		r.Header.Set("X-Amz-Target", "AppRunner.ListConnections")
		return r
	}
	sign := func(r *http.Request, at time.Time) {
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, hex.EncodeToString(sum[:]), "apprunner", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Missing", func(t *testing.T) {
		status, typ, b := send(newReq())
		if status != 403 || typ != "MissingAuthenticationTokenException" || !strings.Contains(b, "Missing Authentication Token") {
			t.Fatalf("%d %s %s", status, typ, b)
		}
	})
	t.Run("Incomplete", func(t *testing.T) {
		r := newReq()
		r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20261125/us-east-1/apprunner/aws4_request")
		status, typ, _ := send(r)
		if status != 400 || typ != "IncompleteSignatureException" {
			t.Fatalf("%d %s", status, typ)
		}
	})
	t.Run("Expired", func(t *testing.T) {
		r := newReq()
		sign(r, time.Now().Add(-20*time.Minute))
		status, typ, b := send(r)
		if status != 403 || typ != "InvalidSignatureException" || !strings.Contains(b, "Signature expired") {
			t.Fatalf("%d %s %s", status, typ, b)
		}
	})
	t.Run("WithinSkew", func(t *testing.T) {
		r := newReq()
		sign(r, time.Now().Add(-10*time.Minute))
		if status, typ, b := send(r); status != 200 {
			t.Fatalf("%d %s %s", status, typ, b)
		}
	})
	t.Run("TamperedBody", func(t *testing.T) {
		r := newReq()
		sign(r, time.Now())
		r.Body, r.ContentLength = http.NoBody, 0
		r.Header.Del("Content-Length")
		r2, _ := http.NewRequest(http.MethodPost, d.URL()+"/", strings.NewReader(`{"MaxResults":1}`))
		r2.Header = r.Header
		if status, typ, _ := send(r2); status != 403 || typ != "InvalidSignatureException" {
			t.Fatalf("%d %s", status, typ)
		}
	})
	t.Run("TamperedTarget", func(t *testing.T) {
		r := newReq()
		r.Header.Set("X-Amz-Target", "AppRunner.CreateConnection")
		sign(r, time.Now())
		r.Header.Set("X-Amz-Target", "AppRunner.ListConnections")
		if status, typ, _ := send(r); status != 403 || typ != "InvalidSignatureException" {
			t.Fatalf("%d %s", status, typ)
		}
	})
	t.Run("Presigned", func(t *testing.T) {
		r := newReq()
		sum := sha256.Sum256(body)
		u, hdr, err := v4.NewSigner().PresignHTTP(ctx, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, r, hex.EncodeToString(sum[:]), "apprunner", "us-east-1", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		p, _ := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
		p.Header = hdr
		p.Header.Set("X-Amz-Target", "AppRunner.ListConnections")
		p.Header.Set("Content-Type", "application/x-amz-json-1.0")
		if status, typ, b := send(p); status != 200 {
			t.Fatalf("presigned: %d %s %s", status, typ, b)
		}
	})
}

func TestAccountsAndRegionsAreIsolated(t *testing.T) {
	creds := writeCredentials(t,
		"# two accounts",
		"AKIAALICE000000000001 alice-secret-key 111111111111",
		"AKIABOB00000000000002 bob-secret-key-1 222222222222",
	)
	d := testutil.MustRunDaemon(t, daemon.Config{CredentialsFile: creds})
	alice := testutil.Client(d.URL(), testutil.ClientOptions{AccessKeyID: "AKIAALICE000000000001", SecretAccessKey: "alice-secret-key"})
	aliceEU := testutil.Client(d.URL(), testutil.ClientOptions{AccessKeyID: "AKIAALICE000000000001", SecretAccessKey: "alice-secret-key", Region: "eu-west-1"})
	bob := testutil.Client(d.URL(), testutil.ClientOptions{AccessKeyID: "AKIABOB00000000000002", SecretAccessKey: "bob-secret-key-1"})

	a := createConn(t, alice, "shared-name", types.ProviderTypeGithub)
	if !strings.HasPrefix(aws.ToString(a.ConnectionArn), "arn:aws:apprunner:us-east-1:111111111111:connection/shared-name/") {
		t.Fatalf("alice's ARN %s", aws.ToString(a.ConnectionArn))
	}
	// Same name, other account or Region: allowed, and separate.
	b := createConn(t, bob, "shared-name", types.ProviderTypeGithub)
	e := createConn(t, aliceEU, "shared-name", types.ProviderTypeGithub)
	if !strings.Contains(aws.ToString(e.ConnectionArn), ":eu-west-1:111111111111:") || !strings.Contains(aws.ToString(b.ConnectionArn), ":222222222222:") {
		t.Fatalf("ARNs %s %s", aws.ToString(e.ConnectionArn), aws.ToString(b.ConnectionArn))
	}
	for _, c := range []*apprunner.Client{alice, aliceEU, bob} {
		out, err := c.ListConnections(ctx, &apprunner.ListConnectionsInput{})
		if err != nil || len(out.ConnectionSummaryList) != 1 {
			t.Fatalf("each scope sees only its own connection: %+v, %v", out, err)
		}
	}
	_, err := bob.DeleteConnection(ctx, &apprunner.DeleteConnectionInput{ConnectionArn: a.ConnectionArn})
	wantAPIError(t, err, "ResourceNotFoundException")
	_, err = aliceEU.TagResource(ctx, &apprunner.TagResourceInput{ResourceArn: a.ConnectionArn, Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantAPIError(t, err, "ResourceNotFoundException")

	// The default test key is gone once a credentials file is given.
	_, err = testutil.Client(d.URL(), testutil.ClientOptions{}).ListConnections(ctx, &apprunner.ListConnectionsInput{})
	wantAPIError(t, err, "UnrecognizedClientException")
}

func TestRefuseDefaultCredentialsOffLoopback(t *testing.T) {
	d := daemon.New(daemon.Config{Listen: "0.0.0.0:0", DataDir: t.TempDir()})
	err := d.Open(ctx)
	if err == nil {
		d.Close()
		t.Fatal("serving the default credentials on every interface must be refused")
	}
	if !strings.Contains(err.Error(), "--credentials-file") {
		t.Fatalf("the refusal must say how to fix it: %v", err)
	}
	creds := writeCredentials(t, "AKIAREAL000000000001 a-long-secret-key 123456789012")
	d = daemon.New(daemon.Config{Listen: "0.0.0.0:0", DataDir: t.TempDir(), CredentialsFile: creds})
	if err := d.Open(ctx); err != nil {
		t.Fatalf("with a credentials file, any address is allowed: %v", err)
	}
	d.Close()
}

func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	testutil.MustRunDaemon(t, daemon.Config{DataDir: dir})
	d := daemon.New(daemon.Config{Listen: "127.0.0.1:0", DataDir: dir})
	err := d.Open(ctx)
	if err == nil {
		d.Close()
		t.Fatal("a second server on the same data directory must be refused")
	}
	if !strings.Contains(err.Error(), "in use by another openrunner process") {
		t.Fatalf("unclear refusal: %v", err)
	}
}

func TestDataDirCopiedWithoutKey(t *testing.T) {
	dir := t.TempDir()
	d := daemon.New(daemon.Config{Listen: "127.0.0.1:0", DataDir: dir})
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := os.Remove(filepath.Join(dir, "secret.key")); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	d2 := testutil.MustRunDaemon(t, daemon.Config{DataDir: dir, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !strings.Contains(logs.String(), "secret key does not match") {
		t.Fatalf("no clear warning in the logs: %s", logs.String())
	}
	resp, err := http.Get(d2.URL() + "/_openrunner/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	if !strings.Contains(b.String(), "unreadable") {
		t.Fatalf("health does not say the secrets are unreadable: %s", b.String())
	}
}
