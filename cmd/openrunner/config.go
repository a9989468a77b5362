package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/openrunner/openrunner/daemon"
)

// serveConfig is the server's configuration from flags, each with an
// OPENRUNNER_* environment equivalent; a flag given on the command line wins.
type serveConfig struct {
	Listen          string
	DataDir         string
	CredentialsFile string
	MaxConnections  int
	LogLevel        string
	LogFormat       string
}

// parseServeFlags parses args, using getenv for OPENRUNNER_* defaults.
func parseServeFlags(args []string, getenv func(string) string, stderr io.Writer) (serveConfig, error) {
	var c serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Listen, "listen", env("OPENRUNNER_LISTEN", daemon.DefaultListen),
		"API address (env OPENRUNNER_LISTEN); a non-loopback address requires --credentials-file")
	fs.StringVar(&c.DataDir, "data-dir", env("OPENRUNNER_DATA_DIR", defaultDataDir(getenv)),
		"directory for all state (env OPENRUNNER_DATA_DIR)")
	fs.StringVar(&c.CredentialsFile, "credentials-file", env("OPENRUNNER_CREDENTIALS_FILE", ""),
		`access keys, one "ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID" per line (env OPENRUNNER_CREDENTIALS_FILE); default: only test/test for account 000000000000`)
	maxConn, err := strconv.Atoi(env("OPENRUNNER_MAX_CONNECTIONS", "10"))
	if err != nil {
		return c, fmt.Errorf("OPENRUNNER_MAX_CONNECTIONS: %w", err)
	}
	fs.IntVar(&c.MaxConnections, "max-connections", maxConn, "connections quota per account and Region (env OPENRUNNER_MAX_CONNECTIONS)")
	fs.StringVar(&c.LogLevel, "log-level", env("OPENRUNNER_LOG_LEVEL", "info"), "debug, info, warn or error (env OPENRUNNER_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", env("OPENRUNNER_LOG_FORMAT", "text"), "text or json (env OPENRUNNER_LOG_FORMAT)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("serve takes no arguments, got %q", fs.Args())
	}
	if c.MaxConnections < 1 {
		return c, fmt.Errorf("--max-connections must be at least 1")
	}
	return c, nil
}

// defaultDataDir is $XDG_DATA_HOME/openrunner, else ~/.local/share/openrunner,
// else ./openrunner-data.
func defaultDataDir(getenv func(string) string) string {
	if x := getenv("XDG_DATA_HOME"); x != "" {
		return filepath.Join(x, "openrunner")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "openrunner")
	}
	return "openrunner-data"
}

func (c serveConfig) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(c.LogFormat) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format must be text or json")
	}
}
