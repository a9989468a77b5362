// Package testutil starts OpenRunner servers and AWS SDK clients for tests.
package testutil

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/openrunner/openrunner/daemon"
)

// MustRunDaemon starts a daemon on a loopback port with a fresh data
// directory (unless cfg names one) and closes it when the test ends.
func MustRunDaemon(tb testing.TB, cfg daemon.Config) *daemon.Daemon {
	tb.Helper()
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
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
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("daemon.Close: %v", err)
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
// does not retry, so a test sees every error at once.
func Client(url string, o ClientOptions) *apprunner.Client {
	if o.AccessKeyID == "" {
		o.AccessKeyID, o.SecretAccessKey = daemon.DefaultAccessKeyID, daemon.DefaultSecretAccessKey
	}
	if o.Region == "" {
		o.Region = "us-east-1"
	}
	return apprunner.New(apprunner.Options{
		Region:           o.Region,
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, ""),
		RetryMaxAttempts: 1,
	})
}
