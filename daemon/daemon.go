// Package daemon assembles a running OpenRunner server from its parts: the
// store, the API (awsjson + sigv4 + api) and the health endpoint. It lives
// outside cmd/openrunner so that tests anywhere can run the whole server
// in-process; the binary only turns flags into a Config.
package daemon

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/acme"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/awsjson"
	"github.com/openrunner/openrunner/cluster"
	"github.com/openrunner/openrunner/console"
	"github.com/openrunner/openrunner/customdomain"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/handshake"
	"github.com/openrunner/openrunner/ingress"
	"github.com/openrunner/openrunner/logs"
	"github.com/openrunner/openrunner/metrics"
	"github.com/openrunner/openrunner/reconcile"
	"github.com/openrunner/openrunner/sigv4"
	"github.com/openrunner/openrunner/tracing"
	"github.com/openrunner/openrunner/vault"
	"github.com/openrunner/openrunner/webhook"
	"github.com/openrunner/openrunner/wire"
)

// Version is OpenRunner's version, set at build time with
// -ldflags "-X github.com/openrunner/openrunner/daemon.Version=...".
var Version = "dev"

// Config configures a Daemon. Zero values are defaults.
type Config struct {
	// Listen is the API's address; default DefaultListen.
	Listen string
	// DataDir holds all state (database, secret key); required.
	DataDir string
	// CredentialsFile lists the access keys accepted by SigV4 (see
	// LoadCredentials). Empty: only the default test/test key.
	CredentialsFile string
	// SecretKey overrides the data directory's master key (hex or base64).
	SecretKey string
	// Quotas per account and Region; zero fields take App Runner's defaults.
	Quotas openrunner.Quotas
	// MaxBodyBytes limits API request bodies; 0 means awsjson's default.
	MaxBodyBytes int64

	// PublicURL is how browsers reach this server (scheme, host and port):
	// the console's OAuth callback is PublicURL + /console/oauth/callback.
	// Empty: http://<Listen address>.
	PublicURL string
	// GitHub and Bitbucket configure the connection handshakes.
	GitHub    handshake.GitHubConfig
	Bitbucket handshake.BitbucketConfig
	// HTTPClient reaches the providers; nil: a client with a 30 s timeout.
	HTTPClient *http.Client

	// Runtime selects where services run and build: "docker", "process"
	// (host processes), "none", or "" for Docker when its engine answers
	// and process otherwise.
	Runtime string
	// DockerHost is the Docker engine's address; "" means DOCKER_HOST or the
	// default socket.
	DockerHost string
	// Kubernetes configures --runtime kubernetes.
	Kubernetes KubernetesConfig
	// RouterListen is the data plane's address; default DefaultRouterListen.
	RouterListen string
	// RouterTLSListen is the data plane's HTTPS address, "off" for none.
	// Empty means DefaultRouterTLSListen when RouterListen is empty too,
	// and otherwise a free port on RouterListen's host (so that a Config
	// naming only its plain router address never collides on the default
	// HTTPS port).
	RouterTLSListen string
	// TLSCertFile and TLSKeyFile are the operator's certificate and key
	// (PEM), served for the names the certificate covers and reloaded when
	// the files change; empty for none.
	TLSCertFile, TLSKeyFile string
	// RedirectHTTP makes the plain router listener answer 308 to HTTPS
	// (except ACME HTTP-01 challenges).
	RedirectHTTP bool
	// BaseDomain ends every ServiceUrl; default DefaultBaseDomain.
	BaseDomain string
	// ACME configures custom domains' certificates by ACME; without it
	// they come from the local CA.
	ACME ACMEConfig
	// MaxCustomDomains is the most custom domains a service may have;
	// 0 means App Runner's 5.
	MaxCustomDomains int
	// RegistryMirrors and RegistryCredentials configure image pulls (see
	// docker.Options.Mirrors and Registries).
	RegistryMirrors     map[string]string
	RegistryCredentials map[string]docker.Credentials
	// RuntimeImages overrides the Docker base images of managed runtimes
	// (docker.Options.RuntimeImages).
	RuntimeImages map[string]string
	// IngressProxy is the executable the proxy containers of VPC ingress
	// connections run (docker.Options.IngressProxy); empty: this one.
	IngressProxy string
	// VPCNetworks maps subnet and VPC ids to Docker networks
	// (--vpc-network); an id it does not map names the network of the same
	// name.
	VPCNetworks map[string]string
	// PollInterval, if positive, polls providers for new commits of
	// auto-deploying services (reconcile.Engine.PollInterval).
	PollInterval time.Duration
	// AllowEndOfSupport lets new services use managed runtimes past App
	// Runner's end of support.
	AllowEndOfSupport bool
	// Autoscale configures the autoscaler and the router's overload queue.
	Autoscale AutoscaleConfig
	// MetricsToken is the bearer token /_openrunner/metrics requires;
	// without one the metrics are served only on a loopback Listen.
	MetricsToken string
	// MetricsSampleInterval is how often the console's metrics history
	// samples every service; 0 means 10 s.
	MetricsSampleInterval time.Duration
	// DatabaseURL, if set, keeps every store in that PostgreSQL database,
	// which several servers may share; SecretKey is then required (every
	// server must open what the others sealed).
	DatabaseURL string
	// LeaseTTL and ResyncInterval time the reconciler's leases and resync
	// (reconcile.Controller); zero: its defaults.
	LeaseTTL, ResyncInterval time.Duration
	// AdvertiseAddress is the host other servers reach this server's
	// instances at; "" keeps the instances' own addresses.
	AdvertiseAddress string
	// OTLPEndpoint is the OTLP/HTTP collector base URL (e.g.
	// http://127.0.0.1:4318) that traced services' spans go to; empty:
	// traces have nowhere to go.
	OTLPEndpoint string
	// SecretsSource is where services' secret references are resolved:
	// "embedded" or "" (this server's Secrets Manager and Parameter Store)
	// or "aws" (the AWS SDK's default configuration).
	SecretsSource string
	// HTTPTimeouts bound slow clients on the API and router listeners.
	HTTPTimeouts HTTPTimeouts
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Default addresses and names.
const (
	// DefaultListen is the API's default address: loopback only.
	DefaultListen = "127.0.0.1:4590"
	// DefaultRouterListen is where services answer by default.
	DefaultRouterListen = "127.0.0.1:4591"
	// DefaultRouterTLSListen is where services answer over HTTPS by
	// default.
	DefaultRouterTLSListen = "127.0.0.1:4592"
	// DefaultBaseDomain sits under localhost, which resolves to the
	// loopback address without any DNS set-up (RFC 6761).
	DefaultBaseDomain = "apprunner.localhost"
)

// Daemon is a running OpenRunner server.
type Daemon struct {
	cfg    Config
	logger *slog.Logger

	lock   *os.File
	stores openrunner.Stores
	ln     net.Listener

	master       []byte
	runtime      openrunner.Runtime
	hooks        *webhook.Hooks
	handshakes   *handshake.Service
	owner        string
	logs         *logs.Store
	reconciler   *reconcile.Controller
	cluster      *cluster.Cluster // nil unless the store is shared
	holding      func() int       // the reconciler's lease count; nil when no services run
	metrics      metrics.Source   // nil when no services run
	ingress      *ingress.Controller
	tracing      *tracing.Tracing
	history      *metrics.History // the console's charts; nil when no services run
	routerLn     net.Listener
	routerServer *http.Server
	routerServed chan error
	tls          routerTLS
	domains      *customdomain.Controller
	acme         *acme.Manager
	server       *http.Server
	ready        atomic.Bool
	served       chan error
	// keyMismatch is set when the secret key cannot open what the database
	// sealed: the data directory was copied without its key.
	keyMismatch atomic.Bool
	// secrets resolves services' secret references; vault seals their
	// values with the revisions.
	secrets openrunner.SecretResolver
	vault   *vault.Vault
}

// New returns a Daemon for cfg; Open starts it.
func New(cfg Config) *Daemon {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.RouterTLSListen == "" {
		cfg.RouterTLSListen = defaultRouterTLSListen(cfg.RouterListen)
	}
	if cfg.RouterListen == "" {
		cfg.RouterListen = DefaultRouterListen
	}
	if cfg.BaseDomain == "" {
		cfg.BaseDomain = DefaultBaseDomain
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Quotas.Connections <= 0 {
		cfg.Quotas.Connections = openrunner.DefaultQuotas().Connections
	}
	if cfg.Quotas.Services <= 0 {
		cfg.Quotas.Services = openrunner.DefaultQuotas().Services
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Daemon{cfg: cfg, logger: logger}
}

// Open starts the daemon: it checks the configuration, opens the store,
// the services (runtime, router, reconciler) and the API, and starts
// serving. It returns once the listeners are bound, so a port-0 address is
// known (Addr) and listen errors are reported synchronously.
func (d *Daemon) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			d.Close()
		}
	}()
	creds, defaults, err := d.credentials()
	if err != nil {
		return err
	}
	if defaults && !isLoopback(d.cfg.Listen) {
		return fmt.Errorf("refusing to listen on %s with the default test/test credentials: anyone who can reach this address could use it. "+
			"Give real credentials with --credentials-file (OPENRUNNER_CREDENTIALS_FILE), or listen on a loopback address such as 127.0.0.1:4590", d.cfg.Listen)
	}
	if err := d.openStore(ctx); err != nil {
		return err
	}
	if d.ln, err = net.Listen("tcp", d.cfg.Listen); err != nil {
		return err
	}
	parts, err := d.openParts(ctx, creds)
	if err != nil {
		return err
	}
	d.server = d.httpServer(d.mux(parts), slog.NewLogLogger(d.logger.Handler(), slog.LevelWarn))
	d.served = make(chan error, 1)
	go func() { d.served <- d.server.Serve(d.ln) }()
	d.ready.Store(true)
	if defaults {
		d.logger.Warn("using the default credentials (access key test, account 000000000000); configure --credentials-file for real use")
	}
	d.logger.Info("openrunner serving", "api", d.URL(), "console", d.publicURL()+"/console/", "data_dir", d.cfg.DataDir, "version", Version)
	return nil
}

// openStore takes the data directory, its master key and its database.
func (d *Daemon) openStore(ctx context.Context) (err error) {
	if d.cfg.DataDir == "" {
		return errors.New("a data directory is required (--data-dir, OPENRUNNER_DATA_DIR)")
	}
	if err := os.MkdirAll(d.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if d.lock, err = lockDataDir(d.cfg.DataDir); err != nil {
		return err
	}
	if d.master, err = vault.LoadOrCreateKey(d.cfg.DataDir, d.cfg.SecretKey); err != nil {
		return err
	}
	d.stores, err = d.openDatabase(ctx)
	return err
}

// publicURL is how browsers reach this server.
func (d *Daemon) publicURL() string {
	if u := strings.TrimRight(d.cfg.PublicURL, "/"); u != "" {
		return u
	}
	return d.URL()
}

// parts are the handlers the API listener serves.
type parts struct {
	api, ext, console, webhooks http.Handler
}

// openParts builds the connection handshakes, the services, the App Runner
// API, OpenRunner's extension API and the console.
func (d *Daemon) openParts(ctx context.Context, creds sigv4.StaticCredentials) (parts, error) {
	connections := d.stores.Connections
	v, err := vault.New(d.master)
	if err != nil {
		return parts{}, err
	}
	if err := d.checkVaultKey(ctx, v); err != nil {
		return parts{}, err
	}
	handshakes, err := handshake.New(handshake.Config{
		Connections: connections,
		Vault:       v,
		CallbackURL: d.publicURL() + "/console/oauth/callback",
		GitHub:      d.cfg.GitHub,
		Bitbucket:   d.cfg.Bitbucket,
		HTTPClient:  d.cfg.HTTPClient,
		Now:         d.cfg.Now,
		Logger:      d.logger,
		Shared:      d.stores.Ephemeral,
	})
	if err != nil {
		return parts{}, err
	}
	svc := &api.Server{
		ProviderURLs: d.providerURLs(),
		Connections:  connections,
		Tags:         d.stores.Tags,
		AutoScaling:  d.stores.AutoScaling,
		Pages:        api.NewPageTokens(vault.DeriveKey(d.master, "pagetoken")),
		BaseDomain:   d.cfg.BaseDomain,
		VPC:          d.stores.VPC,
	}
	svc.Observability = d.stores.Observability
	ext := &api.Extensions{Handshakes: handshakes, Pages: svc.Pages}
	d.handshakes = handshakes
	d.hooks = &webhook.Hooks{Connections: connections, MasterKey: d.master, PublicURL: d.publicURL(), Logger: d.logger,
		GitHubAPIURL: d.cfg.GitHub.APIURL, BitbucketAPIURL: d.cfg.Bitbucket.APIURL, HTTPClient: d.cfg.HTTPClient}
	ext.Connections, ext.Webhook = connections, d.hooks.Webhook
	secretAPIs, err := d.openSecrets(ctx, v, creds)
	if err != nil {
		return parts{}, err
	}
	if err := d.openServices(ctx, svc, ext); err != nil {
		return parts{}, err
	}
	authenticate := d.authenticator(creds)
	return parts{
		api: &awsjson.ByTarget{Servers: secretAPIs, Default: d.awsJSON("AppRunner", "", authenticate, func(ctx context.Context, op string, body []byte) (any, error) {
			return wire.Dispatch(ctx, svc, op, body)
		}, d.storeErrors)},
		ext:      d.awsJSON(api.ExtensionTargetPrefix, "/_openrunner/", authenticate, ext.Dispatch, d.storeErrors),
		console:  d.console(connections, handshakes, creds, svc),
		webhooks: d.hooks,
	}, nil
}

// mux routes the API listener's requests to the parts.
func (d *Daemon) mux(p parts) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_openrunner/health", d.handleHealth)
	if h := d.metricsHandler(); h != nil {
		mux.Handle("GET /_openrunner/metrics", h)
	}
	mux.Handle("/_openrunner/", p.ext)
	mux.Handle(webhook.DeliveryPath, p.webhooks)
	mux.Handle("/console/", p.console)
	mux.Handle("/console", http.RedirectHandler("/console/", http.StatusFound))
	mux.Handle("/", p.api)
	return mux
}

// authenticator verifies a request's SigV4 signature and puts the caller's
// Scope in its context.
func (d *Daemon) authenticator(creds sigv4.StaticCredentials) func(r *http.Request, body []byte) (context.Context, error) {
	return d.authenticatorFor(creds, "apprunner")
}

// authenticatorFor is authenticator for the API whose SigV4 signing name
// is service.
func (d *Daemon) authenticatorFor(creds sigv4.StaticCredentials, service string) func(r *http.Request, body []byte) (context.Context, error) {
	verifier := &sigv4.Verifier{Credentials: creds, Service: service, Now: d.cfg.Now}
	return func(r *http.Request, body []byte) (context.Context, error) {
		id, err := verifier.Verify(r, body)
		if err != nil {
			var se *sigv4.Error
			if errors.As(err, &se) {
				return nil, &awsjson.Error{Type: se.Type, Message: se.Message, Status: se.Status}
			}
			return nil, err
		}
		// Clone: the region is a substring of the Authorization header, and
		// the Scope may outlive the request (caches key on it).
		scope := openrunner.Scope{AccountID: strings.Clone(id.AccountID), Region: strings.Clone(id.Region)}
		return openrunner.NewContextWithScope(r.Context(), scope), nil
	}
}

// awsJSON serves an AWS JSON 1.0 API whose operations carry prefix.
func (d *Daemon) awsJSON(prefix, path string, authenticate func(*http.Request, []byte) (context.Context, error), dispatch func(context.Context, string, []byte) (any, error),
	wrap ...func(dispatcher) dispatcher) http.Handler {
	for _, w := range wrap {
		dispatch = w(dispatch)
	}
	return &awsjson.Server{
		TargetPrefix: prefix,
		Namespace:    "com.amazonaws.apprunner",
		Path:         path,
		Authenticate: authenticate,
		Dispatch:     dispatch,
		MapError:     api.MapError,
		MaxBodyBytes: d.cfg.MaxBodyBytes,
		Logger:       d.logger,
		Now:          d.cfg.Now,
	}
}

// console serves the web console, signing in with the API's access keys.
func (d *Daemon) console(connections openrunner.ConnectionService, handshakes *handshake.Service, creds sigv4.StaticCredentials, svc *api.Server) http.Handler {
	cfg := console.Config{
		Connections: connections,
		Handshakes:  handshakes,
		SignIn: func(ctx context.Context, accessKeyID, secret string) (string, bool, error) {
			c, ok, err := creds.LookupCredential(ctx, accessKeyID)
			if err != nil || !ok {
				return "", false, err
			}
			return c.AccountID, subtle.ConstantTimeCompare([]byte(c.SecretAccessKey), []byte(secret)) == 1, nil
		},
		Secure:   strings.HasPrefix(d.publicURL(), "https://"),
		Now:      d.cfg.Now,
		Logger:   d.logger,
		Sessions: d.stores.Ephemeral,
	}
	d.consoleServices(&cfg, svc)
	return console.New(cfg)
}

func (d *Daemon) credentials() (creds sigv4.StaticCredentials, defaults bool, err error) {
	if d.cfg.CredentialsFile == "" {
		return sigv4.StaticCredentials{DefaultAccessKeyID: {
			AccessKeyID: DefaultAccessKeyID, SecretAccessKey: DefaultSecretAccessKey, AccountID: DefaultAccountID,
		}}, true, nil
	}
	creds, err = LoadCredentials(d.cfg.CredentialsFile)
	return creds, false, err
}

// Addr returns the API's bound address.
func (d *Daemon) Addr() net.Addr { return d.ln.Addr() }

// URL returns the API's base URL, e.g. http://127.0.0.1:4590.
func (d *Daemon) URL() string { return "http://" + d.ln.Addr().String() }

// shutdownGrace is how long Close waits for API requests in flight. It is
// longer than the providers' 30 s client timeout, so a handshake or token
// refresh caught by a shutdown still stores what the provider returned (a
// rotated refresh token is only good once).
const shutdownGrace = 35 * time.Second

// Close stops accepting requests, waits up to shutdownGrace for those in
// flight, and closes the store.
func (d *Daemon) Close() error {
	d.ready.Store(false)
	var errs []error
	if d.server == nil && d.ln != nil {
		d.ln.Close() // Open failed after binding
	}
	if d.routerServer != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_ = d.routerServer.Shutdown(ctx)
		cancel()
		<-d.routerServed
		d.routerServer = nil
	} else if d.routerLn != nil {
		d.routerLn.Close()
	}
	if d.history != nil {
		d.history.Close()
		d.history = nil
	}
	d.closeRouterTLS()
	if d.ingress != nil {
		errs = append(errs, d.ingress.Close())
		d.ingress = nil
	}
	errs = append(errs, d.closeDomains())
	if d.reconciler != nil {
		errs = append(errs, d.reconciler.Close())
		d.reconciler = nil
	}
	if d.cluster != nil {
		d.cluster.Close()
		d.cluster = nil
	}
	errs = append(errs, d.closeTracing())
	if d.runtime != nil {
		errs = append(errs, d.runtime.Close())
		d.runtime = nil
	}
	if d.logs != nil {
		errs = append(errs, d.logs.Close())
		d.logs = nil
	}
	if d.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		if err := d.server.Shutdown(ctx); err != nil {
			errs = append(errs, err)
		}
		if err := <-d.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		d.server = nil
	}
	if d.stores.Close != nil {
		errs = append(errs, d.stores.Close())
		d.stores = openrunner.Stores{}
	}
	if d.lock != nil {
		errs = append(errs, d.lock.Close()) // releases the flock
		d.lock = nil
	}
	return errors.Join(errs...)
}

func (d *Daemon) handleHealth(w http.ResponseWriter, r *http.Request) {
	status, code := "ok", http.StatusOK
	if !d.ready.Load() {
		status, code = "starting", http.StatusServiceUnavailable
	}
	secrets := "ok"
	if d.keyMismatch.Load() {
		secrets = "unreadable: the secret key does not match this data directory"
	}
	body := map[string]any{"status": status, "version": Version, "store": d.stores.Kind, "secrets": secrets}
	if status == "ok" {
		status, code = d.clusterHealth(r.Context(), body)
		body["status"] = status
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(body)
}

// vaultCheckKey names the meta entry that proves which key sealed the
// database's secrets.
const vaultCheckKey = "vault-check"

// checkVaultKey seals a known value on first start and opens it on later
// ones. A data directory copied without secret.key (or run with another
// OPENRUNNER_SECRET_KEY) still starts, but its stored provider tokens are
// unreadable: say so loudly instead of failing later and obscurely.
func (d *Daemon) checkVaultKey(ctx context.Context, v *vault.Vault) error {
	sealed, err := d.stores.Meta.AddMeta(ctx, vaultCheckKey, v.Seal([]byte("openrunner"), vaultCheckKey))
	if err != nil {
		return err
	}
	if _, err := v.Open(sealed, vaultCheckKey); err != nil {
		d.keyMismatch.Store(true)
		d.logger.Error("the secret key does not match the one this data directory's secrets were sealed with: " +
			"connection tokens cannot be decrypted and those connections need a new handshake. " +
			"Restore the data directory's original secret.key (or OPENRUNNER_SECRET_KEY) to keep them.")
	}
	return nil
}

// isLoopback reports whether addr (host:port) binds only loopback
// interfaces. An empty host binds every interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// lockDataDir takes an exclusive lock on dir for this process's lifetime.
// One server owns a data directory: the store caches what it writes, and two
// writers on one SQLite file would only wait on each other.
func lockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("the data directory %s is in use by another openrunner process (%v); stop it or give another --data-dir", dir, err)
	}
	return f, nil
}

// Owner returns the id this server's runtime instances are labelled with
// (the docker runtime's dev.openrunner.owner label); "" when no services run.
func (d *Daemon) Owner() string {
	if d.runtime == nil {
		return ""
	}
	return d.owner
}

// DataDir returns the data directory.
func (d *Daemon) DataDir() string { return d.cfg.DataDir }

// RuntimeName returns the name of the runtime services run on ("docker",
// "process"), or "" when no services run.
func (d *Daemon) RuntimeName() string {
	if d.runtime == nil {
		return ""
	}
	return d.runtime.Name()
}

// RouterURL returns the data plane's base URL, e.g. http://127.0.0.1:4591;
// "" when no services run.
func (d *Daemon) RouterURL() string {
	if d.routerLn == nil {
		return ""
	}
	return "http://" + d.routerLn.Addr().String()
}

// ownerID names this data directory's OpenRunner on shared engines: every
// instance it starts carries it, and it adopts or stops only instances
// that carry it, so two servers on one Docker engine never touch each
// other's containers. It is made once and kept in the database.
func (d *Daemon) ownerID(ctx context.Context) (string, error) {
	const key = "owner-id"
	if d.stores.Shared {
		return serverID(d.cfg.DataDir)
	}
	v, err := d.stores.Meta.AddMeta(ctx, key, []byte("openrunner-"+openrunner.NewID()[:12]))
	return string(v), err
}

// metricsHandler serves /_openrunner/metrics: without authentication on a
// loopback listener, with the bearer token elsewhere, and not at all
// elsewhere without a token (nil).
func (d *Daemon) metricsHandler() http.Handler {
	source := d.metrics
	if source == nil {
		source = func(context.Context) ([]metrics.Service, error) { return nil, nil }
	}
	if d.cfg.MetricsToken == "" && !isLoopback(d.cfg.Listen) {
		d.logger.Info("/_openrunner/metrics is not served: this listener is not loopback and no --metrics-token-file is given")
		return nil
	}
	return metrics.NewHandler(source, metrics.Options{Token: d.cfg.MetricsToken, Logger: d.logger, Server: d.serverFigures})
}
