package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/logbuf"
)

func runServe(ctx context.Context, args []string) error {
	c, err := parseServeFlags(args, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	// Log lines are written in batches (warnings and errors at once): a
	// write per access-log line was a fifth of a signed call's CPU.
	logw := logbuf.New(os.Stderr, 50*time.Millisecond)
	defer logw.Close()
	logger, err := c.logger(logw)
	if err != nil {
		return err
	}
	logger = slog.New(logbuf.Handler(logger.Handler(), logw, slog.LevelWarn))
	token := ""
	if c.MetricsTokenFile != "" {
		b, err := os.ReadFile(c.MetricsTokenFile)
		if err != nil {
			return fmt.Errorf("--metrics-token-file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return fmt.Errorf("--metrics-token-file %s is empty", c.MetricsTokenFile)
		}
	}
	d := daemon.New(daemon.Config{
		Listen:              c.Listen,
		DataDir:             c.DataDir,
		CredentialsFile:     c.CredentialsFile,
		SecretKey:           os.Getenv("OPENRUNNER_SECRET_KEY"),
		Quotas:              openrunner.Quotas{Connections: c.MaxConnections, Services: c.MaxServices},
		RegistryMirrors:     c.RegistryMirrors,
		RegistryCredentials: c.RegistryCredentials,
		RuntimeImages:       c.RuntimeImages,
		VPCNetworks:         c.VPCNetworks,
		PollInterval:        c.PollInterval,
		AllowEndOfSupport:   c.AllowEndOfSupportRuntimes,
		PublicURL:           c.PublicURL,
		Runtime:             c.Runtime,
		SecretsSource:       c.SecretsSource,
		DockerHost:          c.DockerHost,
		Kubernetes:          c.Kubernetes,
		RouterListen:        c.RouterListen,
		RouterTLSListen:     c.RouterTLSListen,
		TLSCertFile:         c.TLSCertFile,
		TLSKeyFile:          c.TLSKeyFile,
		RedirectHTTP:        c.RedirectHTTP,
		BaseDomain:          c.BaseDomain,
		GitHub:              c.GitHub,
		Bitbucket:           c.Bitbucket,
		Autoscale: daemon.AutoscaleConfig{StableWindow: c.AutoscaleStableWindow, PanicWindow: c.AutoscalePanicWindow,
			ScaleToZeroAfter: c.ScaleToZeroAfter, QueueTimeout: c.QueueTimeout, QueueSize: c.QueueSize},
		DatabaseURL: c.DatabaseURL, LeaseTTL: c.LeaseTTL, ResyncInterval: c.ResyncInterval,
		AdvertiseAddress: c.AdvertiseAddress,
		MetricsToken:     token,
		ACME:             c.Domains.ACME,
		MaxCustomDomains: c.Domains.MaxCustomDomains,
		OTLPEndpoint:     c.OTLPEndpoint,
		HTTPTimeouts:     c.HTTPTimeouts,
		Logger:           logger,
	})
	if err := d.Open(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return d.Close()
}
