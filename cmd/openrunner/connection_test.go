package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/handshake"
	"github.com/openrunner/openrunner/internal/providersim"
	"github.com/openrunner/openrunner/internal/testutil"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestConnectionHandshakeCommand completes handshakes with tokens through
// the command, the signed extension endpoint, the real handshake code and
// the provider simulator, then checks the result with the AWS SDK and that
// no token was written anywhere in clear.
func TestConnectionHandshakeCommand(t *testing.T) {
	sim := providersim.New(providersim.Options{})
	defer sim.Close()
	user := sim.AddUser("octocat")
	ghToken := sim.IssueGitHubToken("octocat", "repo")
	bbToken := sim.IssueBitbucketToken("octocat")
	apiToken := "ATATT3xFfGF0-api-token-value"
	sim.AddBitbucketAPIToken("octocat", apiToken)

	logs := &syncBuffer{}
	dir := t.TempDir()
	d := testutil.MustRunDaemon(t, daemon.Config{
		DataDir:   dir,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		GitHub:    handshake.GitHubConfig{URL: sim.GitHubURL(), APIURL: sim.GitHubAPIURL()},
		Bitbucket: handshake.BitbucketConfig{URL: sim.BitbucketURL(), APIURL: sim.BitbucketAPIURL()},
	})
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")

	handshakeCmd := func(arn, token string) (string, error) {
		t.Helper()
		tokenFile := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		var stdout bytes.Buffer
		err := runConnection(context.Background(), []string{"handshake", "--endpoint-url", d.URL(), "--connection-arn", arn, "--token-file", tokenFile}, &stdout, &bytes.Buffer{})
		return stdout.String(), err
	}
	status := func(name string) types.ConnectionStatus {
		t.Helper()
		out, err := c.ListConnections(context.Background(), &apprunner.ListConnectionsInput{ConnectionName: aws.String(name)})
		if err != nil || len(out.ConnectionSummaryList) != 1 {
			t.Fatalf("ListConnections(%s): %+v, %v", name, out, err)
		}
		return out.ConnectionSummaryList[0].Status
	}
	create := func(name string, p types.ProviderType) string {
		t.Helper()
		out, err := c.CreateConnection(context.Background(), &apprunner.CreateConnectionInput{ConnectionName: aws.String(name), ProviderType: p})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Connection.ConnectionArn)
	}

	for _, tc := range []struct {
		name     string
		provider types.ProviderType
		token    string
	}{
		{"gh-pat", types.ProviderTypeGithub, ghToken},
		{"bb-oauth", types.ProviderTypeBitbucket, bbToken},
		{"bb-api-token", types.ProviderTypeBitbucket, user.Email + ":" + apiToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			arn := create(tc.name, tc.provider)
			out, err := handshakeCmd(arn, tc.token)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if !strings.Contains(out, "AVAILABLE") || !strings.Contains(out, "octocat") {
				t.Fatalf("command printed %q", out)
			}
			if got := status(tc.name); got != types.ConnectionStatusAvailable {
				t.Fatalf("ListConnections status %s, want AVAILABLE", got)
			}
		})
	}

	t.Run("RejectedToken", func(t *testing.T) {
		arn := create("gh-bad", types.ProviderTypeGithub)
		_, err := handshakeCmd(arn, "ghp_not-a-real-token")
		if err == nil || !strings.Contains(err.Error(), "InvalidRequestException") || !strings.Contains(err.Error(), "Bad credentials") {
			t.Fatalf("want the provider's reason, got %v", err)
		}
		if got := status("gh-bad"); got != types.ConnectionStatusError {
			t.Fatalf("status %s, want ERROR", got)
		}
		// An ERROR connection can be completed again with a good token.
		if _, err := handshakeCmd(arn, ghToken); err != nil {
			t.Fatal(err)
		}
		if got := status("gh-bad"); got != types.ConnectionStatusAvailable {
			t.Fatalf("status %s after retry, want AVAILABLE", got)
		}
	})

	t.Run("UnknownConnection", func(t *testing.T) {
		_, err := handshakeCmd("arn:aws:apprunner:us-east-1:000000000000:connection/nope/0123456789abcdef0123456789abcdef", ghToken)
		if err == nil || !strings.Contains(err.Error(), "ResourceNotFoundException") {
			t.Fatalf("got %v", err)
		}
	})

	t.Run("NoTokenInClear", func(t *testing.T) {
		secrets := []string{ghToken, bbToken, apiToken}
		err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
			if err != nil || info.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds a token in clear", path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range secrets {
			if strings.Contains(logs.String(), s) {
				t.Error("the logs hold a token in clear")
			}
		}
	})
}
