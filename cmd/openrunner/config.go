package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/openrunner/openrunner/apprunneryaml"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/handshake"
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
	PublicURL       string
	Runtime         string
	DockerHost      string
	Kubernetes      daemon.KubernetesConfig
	RouterListen    string
	// The router's HTTPS side: its address, the operator's certificate
	// and the plain listener's redirect.
	RouterTLSListen string
	TLSCertFile     string
	TLSKeyFile      string
	RedirectHTTP    bool
	BaseDomain      string
	MaxServices     int
	// Registry mirrors (FROM=TO) and credentials (host → user, password).
	RegistryMirrors     map[string]string
	RegistryCredentials map[string]docker.Credentials
	// RuntimeImages maps managed runtimes to Docker base images.
	RuntimeImages             map[string]string
	PollInterval              time.Duration
	AllowEndOfSupportRuntimes bool
	// Autoscaling windows, the default idle time before zero, the router's
	// overload queue, and the metrics token.
	AutoscaleStableWindow time.Duration
	AutoscalePanicWindow  time.Duration
	ScaleToZeroAfter      time.Duration
	QueueTimeout          time.Duration
	QueueSize             int
	MetricsTokenFile      string
	// Several servers on one PostgreSQL database (see README, "Running
	// several servers").
	DatabaseURL      string
	LeaseTTL         time.Duration
	ResyncInterval   time.Duration
	AdvertiseAddress string
	// OTLPEndpoint is where traced services' spans go.
	OTLPEndpoint string

	GitHub    handshake.GitHubConfig
	Bitbucket handshake.BitbucketConfig
	// GitHubAppPrivateKeyFile is read into GitHub.AppPrivateKeyPEM.
	GitHubAppPrivateKeyFile string
	// VPCNetworks maps subnet and VPC ids to Docker networks (ID=NETWORK).
	VPCNetworks map[string]string
	// Custom domains: ACME and the limit per service (domains.go).
	Domains domainConfig
	// SecretsSource is where services' secret references are read:
	// embedded or aws.
	SecretsSource string
	// HTTPTimeouts bound slow clients on the API and router listeners.
	HTTPTimeouts daemon.HTTPTimeouts
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
	fs.StringVar(&c.PublicURL, "public-url", env("OPENRUNNER_PUBLIC_URL", ""),
		"how browsers reach this server, e.g. https://runner.example.com; the OAuth callback is <public-url>/console/oauth/callback (env OPENRUNNER_PUBLIC_URL; default http://<listen>)")

	fs.StringVar(&c.Runtime, "runtime", env("OPENRUNNER_RUNTIME", ""), "where services run and build: docker, process (host processes with the host's toolchains), kubernetes (Deployments on a cluster, see --kubeconfig), or none; default: docker when its engine answers, else process (env OPENRUNNER_RUNTIME)")
	c.RuntimeImages = map[string]string{}
	for _, m := range strings.FieldsFunc(env("OPENRUNNER_RUNTIME_IMAGES", ""), func(r rune) bool { return r == ',' }) {
		if err := addRuntimeImage(c.RuntimeImages, m); err != nil {
			return c, fmt.Errorf("OPENRUNNER_RUNTIME_IMAGES: %w", err)
		}
	}
	fs.Func("runtime-image", "Docker base image of a managed runtime's builds, as RUNTIME=IMAGE, e.g. python311=registry.example.com/python:3.11-slim; repeatable (env OPENRUNNER_RUNTIME_IMAGES, comma-separated)",
		func(v string) error { return addRuntimeImage(c.RuntimeImages, v) })
	poll, err := time.ParseDuration(env("OPENRUNNER_POLL_INTERVAL", "0s"))
	if err != nil {
		return c, fmt.Errorf("OPENRUNNER_POLL_INTERVAL: %w", err)
	}
	fs.DurationVar(&c.PollInterval, "poll-interval", poll, "ask providers for new commits of auto-deploying services this often, for set-ups webhooks cannot reach, e.g. 1m; 0 turns polling off (env OPENRUNNER_POLL_INTERVAL)")
	durations := []struct {
		p          *time.Duration
		name, def  string
		usage, env string
	}{
		{&c.AutoscaleStableWindow, "autoscale-stable-window", "60s", "the autoscaler averages demand over this window, and scales in only after it", "OPENRUNNER_AUTOSCALE_STABLE_WINDOW"},
		{&c.AutoscalePanicWindow, "autoscale-panic-window", "6s", "the autoscaler's short window: demand over it at twice the capacity scales out at once", "OPENRUNNER_AUTOSCALE_PANIC_WINDOW"},
		{&c.ScaleToZeroAfter, "scale-to-zero-after", "5m", "how long a scale-to-zero service (tag openrunner:min-size=0 on its auto scaling configuration) stays idle before its last instance stops, unless the tag openrunner:scale-to-zero-after says", "OPENRUNNER_SCALE_TO_ZERO_AFTER"},
		{&c.QueueTimeout, "queue-timeout", "10s", "how long a request waits for an instance when every instance is at its maximum concurrency, before it gets 429", "OPENRUNNER_QUEUE_TIMEOUT"},
		{&c.HTTPTimeouts.ReadHeader, "read-header-timeout", "10s", "the time a request's headers (and a TLS handshake) have to arrive on the API and router listeners", "OPENRUNNER_READ_HEADER_TIMEOUT"},
		{&c.HTTPTimeouts.Body, "body-timeout", "30s", "the time a request's body has to arrive on the API and router listeners, extended by 1s for every --body-min-rate bytes received", "OPENRUNNER_BODY_TIMEOUT"},
		{&c.HTTPTimeouts.Idle, "idle-timeout", "120s", "how long a kept-alive connection to the API or router may wait for its next request", "OPENRUNNER_IDLE_TIMEOUT"},
	}
	for _, d := range durations {
		v, err := time.ParseDuration(env(d.env, d.def))
		if err != nil {
			return c, fmt.Errorf("%s: %w", d.env, err)
		}
		fs.DurationVar(d.p, d.name, v, d.usage+" (env "+d.env+")")
	}
	queueSize, err := strconv.Atoi(env("OPENRUNNER_QUEUE_SIZE", "100"))
	if err != nil {
		return c, fmt.Errorf("OPENRUNNER_QUEUE_SIZE: %w", err)
	}
	minRate, err := strconv.ParseInt(env("OPENRUNNER_BODY_MIN_RATE", "500"), 10, 64)
	if err != nil {
		return c, fmt.Errorf("OPENRUNNER_BODY_MIN_RATE: %w", err)
	}
	fs.Int64Var(&c.HTTPTimeouts.BodyMinRate, "body-min-rate", minRate, "bytes per second of request body that extend --body-timeout by 1s each (env OPENRUNNER_BODY_MIN_RATE)")
	fs.IntVar(&c.QueueSize, "queue-size", queueSize, "requests that may wait for an instance per service; more get 429 at once (env OPENRUNNER_QUEUE_SIZE)")
	fs.StringVar(&c.MetricsTokenFile, "metrics-token-file", env("OPENRUNNER_METRICS_TOKEN_FILE", ""),
		"a file holding the bearer token /_openrunner/metrics requires; required to serve the metrics on a non-loopback --listen (env OPENRUNNER_METRICS_TOKEN_FILE)")
	eos := env("OPENRUNNER_ALLOW_END_OF_SUPPORT_RUNTIMES", "false") == "true"
	fs.BoolVar(&c.AllowEndOfSupportRuntimes, "allow-end-of-support-runtimes", eos, "let new services use managed runtimes past App Runner's end of support, such as go1 and nodejs18 (env OPENRUNNER_ALLOW_END_OF_SUPPORT_RUNTIMES=true)")
	fs.StringVar(&c.DockerHost, "docker-host", env("DOCKER_HOST", ""), "Docker engine address (env DOCKER_HOST)")
	fs.StringVar(&c.Kubernetes.Kubeconfig, "kubeconfig", env("OPENRUNNER_KUBECONFIG", ""),
		"--runtime kubernetes: the cluster's kubeconfig file; default: the in-cluster configuration in a Pod, else $KUBECONFIG or ~/.kube/config (env OPENRUNNER_KUBECONFIG)")
	fs.StringVar(&c.Kubernetes.Namespace, "kubernetes-namespace", env("OPENRUNNER_KUBERNETES_NAMESPACE", "openrunner"),
		"--runtime kubernetes: the namespace of the services' Deployments, created if missing (env OPENRUNNER_KUBERNETES_NAMESPACE)")
	fs.StringVar(&c.Kubernetes.Registry, "registry", env("OPENRUNNER_REGISTRY", ""),
		"--runtime kubernetes: where source-code services' images are pushed, e.g. localhost:5000/openrunner; empty: source-code services are refused (env OPENRUNNER_REGISTRY)")
	fs.StringVar(&c.RouterListen, "router-listen", env("OPENRUNNER_ROUTER_LISTEN", daemon.DefaultRouterListen), "address services answer on (env OPENRUNNER_ROUTER_LISTEN)")
	fs.StringVar(&c.RouterTLSListen, "router-tls-listen", env("OPENRUNNER_ROUTER_TLS_LISTEN", daemon.DefaultRouterTLSListen),
		"address services answer on over HTTPS (HTTP/2 and HTTP/1.1), with certificates from the local CA (openrunner ca) or --tls-cert-file; off for none (env OPENRUNNER_ROUTER_TLS_LISTEN)")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", env("OPENRUNNER_TLS_CERT_FILE", ""),
		"the operator's certificate (PEM, chain after the leaf), served for the names it covers, e.g. *.us-east-1.<base-domain>; reloaded when it changes (env OPENRUNNER_TLS_CERT_FILE)")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", env("OPENRUNNER_TLS_KEY_FILE", ""), "its private key (PEM) (env OPENRUNNER_TLS_KEY_FILE)")
	redirect := env("OPENRUNNER_REDIRECT_HTTP", "false") == "true"
	fs.BoolVar(&c.RedirectHTTP, "redirect-http", redirect, "answer every plain-HTTP request to a service with 308 to https:// (except ACME HTTP-01 challenges), as App Runner does (env OPENRUNNER_REDIRECT_HTTP=true)")
	fs.StringVar(&c.OTLPEndpoint, "otlp-endpoint", env("OPENRUNNER_OTLP_ENDPOINT", getenv("OTEL_EXPORTER_OTLP_ENDPOINT")),
		"OTLP/HTTP collector base URL that traced services' spans go to, e.g. http://127.0.0.1:4318 (env OPENRUNNER_OTLP_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT)")
	fs.StringVar(&c.BaseDomain, "base-domain", env("OPENRUNNER_BASE_DOMAIN", daemon.DefaultBaseDomain), "ServiceUrls are <id>.<region>.<base-domain> (env OPENRUNNER_BASE_DOMAIN)")
	maxSvc, err := strconv.Atoi(env("OPENRUNNER_MAX_SERVICES", "30"))
	if err != nil {
		return c, fmt.Errorf("OPENRUNNER_MAX_SERVICES: %w", err)
	}
	fs.IntVar(&c.MaxServices, "max-services", maxSvc, "services quota per account and Region; CREATE_FAILED services count (env OPENRUNNER_MAX_SERVICES)")
	c.RegistryMirrors = map[string]string{}
	for _, m := range strings.FieldsFunc(env("OPENRUNNER_REGISTRY_MIRRORS", ""), func(r rune) bool { return r == ',' }) {
		if err := addMirror(c.RegistryMirrors, m); err != nil {
			return c, fmt.Errorf("OPENRUNNER_REGISTRY_MIRRORS: %w", err)
		}
	}
	fs.Func("registry-mirror", "pull images of registry FROM from TO instead, as FROM=TO, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com=localhost:5000; repeatable (env OPENRUNNER_REGISTRY_MIRRORS, comma-separated)",
		func(v string) error { return addMirror(c.RegistryMirrors, v) })
	c.VPCNetworks = map[string]string{}
	for _, m := range strings.FieldsFunc(env("OPENRUNNER_VPC_NETWORK", ""), func(r rune) bool { return r == ',' }) {
		if err := addVPCNetwork(c.VPCNetworks, m); err != nil {
			return c, fmt.Errorf("OPENRUNNER_VPC_NETWORK: %w", err)
		}
	}
	fs.Func("vpc-network", "attach the instances of VPC connectors naming subnet (or ingress connections naming VPC) ID to Docker network NETWORK, as ID=NETWORK; an id not mapped names the network of the same name; repeatable (env OPENRUNNER_VPC_NETWORK, comma-separated)",
		func(v string) error { return addVPCNetwork(c.VPCNetworks, v) })
	regCreds := env("OPENRUNNER_REGISTRY_CREDENTIALS_FILE", "")
	fs.StringVar(&regCreds, "registry-credentials-file", regCreds, `registry credentials, one "HOST USERNAME PASSWORD" per line (env OPENRUNNER_REGISTRY_CREDENTIALS_FILE)`)
	fs.StringVar(&c.GitHub.ClientID, "github-client-id", env("OPENRUNNER_GITHUB_CLIENT_ID", ""), "GitHub OAuth App or GitHub App client id (env OPENRUNNER_GITHUB_CLIENT_ID)")
	fs.StringVar(&c.GitHub.ClientSecret, "github-client-secret", env("OPENRUNNER_GITHUB_CLIENT_SECRET", ""), "its client secret (env OPENRUNNER_GITHUB_CLIENT_SECRET; prefer the environment: flags show in ps)")
	fs.StringVar(&c.GitHub.URL, "github-url", env("OPENRUNNER_GITHUB_URL", "https://github.com"), "GitHub web URL; a GitHub Enterprise Server's own (env OPENRUNNER_GITHUB_URL)")
	fs.StringVar(&c.GitHub.APIURL, "github-api-url", env("OPENRUNNER_GITHUB_API_URL", "https://api.github.com"), "GitHub API URL (env OPENRUNNER_GITHUB_API_URL)")
	appID, err := strconv.ParseInt(env("OPENRUNNER_GITHUB_APP_ID", "0"), 10, 64)
	if err != nil {
		return c, fmt.Errorf("OPENRUNNER_GITHUB_APP_ID: %w", err)
	}
	fs.Int64Var(&c.GitHub.AppID, "github-app-id", appID, "GitHub App id: repository access then uses installation tokens (env OPENRUNNER_GITHUB_APP_ID)")
	fs.StringVar(&c.GitHubAppPrivateKeyFile, "github-app-private-key-file", env("OPENRUNNER_GITHUB_APP_PRIVATE_KEY_FILE", ""), "the GitHub App's private key, PEM (env OPENRUNNER_GITHUB_APP_PRIVATE_KEY_FILE)")
	fs.StringVar(&c.Bitbucket.ClientID, "bitbucket-client-id", env("OPENRUNNER_BITBUCKET_CLIENT_ID", ""), "Bitbucket OAuth consumer key (env OPENRUNNER_BITBUCKET_CLIENT_ID)")
	fs.StringVar(&c.Bitbucket.ClientSecret, "bitbucket-client-secret", env("OPENRUNNER_BITBUCKET_CLIENT_SECRET", ""), "its secret (env OPENRUNNER_BITBUCKET_CLIENT_SECRET; prefer the environment)")
	fs.StringVar(&c.Bitbucket.URL, "bitbucket-url", env("OPENRUNNER_BITBUCKET_URL", "https://bitbucket.org"), "Bitbucket web URL (env OPENRUNNER_BITBUCKET_URL)")
	fs.StringVar(&c.Bitbucket.APIURL, "bitbucket-api-url", env("OPENRUNNER_BITBUCKET_API_URL", "https://api.bitbucket.org/2.0"), "Bitbucket API URL (env OPENRUNNER_BITBUCKET_API_URL)")
	checkDomains, err := domainFlags(fs, env, &c.Domains)
	if err != nil {
		return c, err
	}

	fs.StringVar(&c.SecretsSource, "secrets-source", env("OPENRUNNER_SECRETS_SOURCE", "embedded"),
		"where services' RuntimeEnvironmentSecrets are read: embedded (this server's Secrets Manager and Parameter Store) or aws (the AWS SDK's default credentials, Region and AWS_ENDPOINT_URL_* endpoints) (env OPENRUNNER_SECRETS_SOURCE)")

	fs.StringVar(&c.DatabaseURL, "database-url", env("OPENRUNNER_DATABASE_URL", ""),
		"keep all state in this PostgreSQL database, postgres://user:password@host:port/db, which several servers may share; requires OPENRUNNER_SECRET_KEY (env OPENRUNNER_DATABASE_URL; default: SQLite in --data-dir)")
	fs.StringVar(&c.AdvertiseAddress, "advertise-address", env("OPENRUNNER_ADVERTISE_ADDRESS", ""),
		"the host or IP address other servers reach this one's instances at, e.g. 10.0.0.5 (env OPENRUNNER_ADVERTISE_ADDRESS; default: the instances' own addresses)")
	for _, d := range []struct {
		p                       *time.Duration
		name, def, use, envName string
	}{
		{&c.LeaseTTL, "lease-ttl", "15s", "a server that stops renewing its leases (killed, cut off) loses its services to the others after this long", "OPENRUNNER_LEASE_TTL"},
		{&c.ResyncInterval, "resync-interval", "10s", "every service is reconciled at least this often, and a lapsed lease taken over", "OPENRUNNER_RESYNC_INTERVAL"},
	} {
		v, err := time.ParseDuration(env(d.envName, d.def))
		if err != nil {
			return c, fmt.Errorf("%s: %w", d.envName, err)
		}
		fs.DurationVar(d.p, d.name, v, d.use+" (env "+d.envName+")")
	}

	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.LeaseTTL < time.Second || c.ResyncInterval < 100*time.Millisecond {
		return c, fmt.Errorf("--lease-ttl must be at least 1s and --resync-interval at least 100ms")
	}
	if err := checkDomains(); err != nil {
		return c, err
	}
	if c.SecretsSource != "embedded" && c.SecretsSource != "aws" {
		return c, fmt.Errorf("--secrets-source must be embedded or aws")
	}
	if c.PollInterval < 0 || (c.PollInterval > 0 && c.PollInterval < time.Second) {
		return c, fmt.Errorf("--poll-interval must be 0 (off) or at least 1s")
	}
	if c.AutoscalePanicWindow < time.Second || c.AutoscaleStableWindow < c.AutoscalePanicWindow {
		return c, fmt.Errorf("--autoscale-panic-window must be at least 1s and --autoscale-stable-window at least as long")
	}
	if c.ScaleToZeroAfter < 0 || c.QueueTimeout <= 0 || c.QueueSize < 1 {
		return c, fmt.Errorf("--scale-to-zero-after must not be negative, --queue-timeout must be positive and --queue-size at least 1")
	}
	if t := c.HTTPTimeouts; t.ReadHeader <= 0 || t.Body <= 0 || t.Idle <= 0 || t.BodyMinRate < 1 {
		return c, fmt.Errorf("--read-header-timeout, --body-timeout and --idle-timeout must be positive and --body-min-rate at least 1")
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		return c, fmt.Errorf("a TLS certificate needs both --tls-cert-file and --tls-key-file")
	}
	if c.RedirectHTTP && c.RouterTLSListen == "off" {
		return c, fmt.Errorf("--redirect-http needs the HTTPS listener, but --router-tls-listen is off")
	}
	if c.MaxServices < 1 {
		return c, fmt.Errorf("--max-services must be at least 1")
	}
	if regCreds != "" {
		if c.RegistryCredentials, err = loadRegistryCredentials(regCreds); err != nil {
			return c, err
		}
	}
	if c.GitHubAppPrivateKeyFile != "" {
		pem, err := os.ReadFile(c.GitHubAppPrivateKeyFile)
		if err != nil {
			return c, fmt.Errorf("--github-app-private-key-file: %w", err)
		}
		c.GitHub.AppPrivateKeyPEM = pem
	}
	if (c.GitHub.AppID != 0) != (len(c.GitHub.AppPrivateKeyPEM) != 0) {
		return c, fmt.Errorf("a GitHub App needs both --github-app-id and --github-app-private-key-file")
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

// addVPCNetwork parses ID=NETWORK into m.
func addVPCNetwork(m map[string]string, v string) error {
	id, network, ok := strings.Cut(strings.TrimSpace(v), "=")
	if !ok || id == "" || network == "" || strings.ContainsAny(id+network, " ,") {
		return fmt.Errorf("a VPC network is ID=NETWORK with a subnet or VPC id and a Docker network name, got %q", v)
	}
	m[id] = network
	return nil
}

// addMirror parses FROM=TO into m.
func addMirror(m map[string]string, v string) error {
	from, to, ok := strings.Cut(strings.TrimSpace(v), "=")
	if !ok || from == "" || to == "" || strings.ContainsAny(from+to, "/ ") {
		return fmt.Errorf("a registry mirror is FROM=TO with two registry hosts, got %q", v)
	}
	m[from] = to
	return nil
}

// loadRegistryCredentials reads "HOST USERNAME PASSWORD" lines; # starts a
// comment. Errors name the line, never a password.
func loadRegistryCredentials(path string) (map[string]docker.Credentials, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--registry-credentials-file: %w", err)
	}
	out := map[string]docker.Credentials{}
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			return nil, fmt.Errorf("%s:%d: want HOST USERNAME PASSWORD", path, i+1)
		}
		out[f[0]] = docker.Credentials{Username: f[1], Password: f[2]}
	}
	return out, nil
}

// addRuntimeImage adds RUNTIME=IMAGE to m.
func addRuntimeImage(m map[string]string, v string) error {
	name, image, ok := strings.Cut(strings.TrimSpace(v), "=")
	if !ok || name == "" || image == "" || strings.ContainsAny(image, " \t") {
		return fmt.Errorf("runtime image %q is not RUNTIME=IMAGE", v)
	}
	if _, known := apprunneryaml.LookupRuntime(name); !known {
		return fmt.Errorf("runtime image %q: %s is not a managed runtime (python3, python311, nodejs22, go1, ...)", v, name)
	}
	m[name] = image
	return nil
}
