package main

import (
	"context"
	"os"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/daemon"
)

func runServe(ctx context.Context, args []string) error {
	c, err := parseServeFlags(args, os.Getenv, os.Stderr)
	if err != nil {
		return err
	}
	logger, err := c.logger(os.Stderr)
	if err != nil {
		return err
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
		PollInterval:        c.PollInterval,
		AllowEndOfSupport:   c.AllowEndOfSupportRuntimes,
		PublicURL:           c.PublicURL,
		Runtime:             c.Runtime,
		DockerHost:          c.DockerHost,
		RouterListen:        c.RouterListen,
		BaseDomain:          c.BaseDomain,
		GitHub:              c.GitHub,
		Bitbucket:           c.Bitbucket,
		Logger:              logger,
	})
	if err := d.Open(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	logger.Info("shutting down")
	return d.Close()
}
