// Package daemon assembles a running OpenRunner server from its parts: the
// store, the API (awsjson + sigv4 + api) and the health endpoint. It lives
// outside cmd/openrunner so that tests anywhere can run the whole server
// in-process; the binary only turns flags into a Config.
package daemon

import (
	"cmp"
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
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/awsjson"
	"github.com/openrunner/openrunner/console"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/handshake"
	"github.com/openrunner/openrunner/health"
	"github.com/openrunner/openrunner/logs"
	"github.com/openrunner/openrunner/process"
	"github.com/openrunner/openrunner/reconcile"
	"github.com/openrunner/openrunner/router"
	"github.com/openrunner/openrunner/sigv4"
	"github.com/openrunner/openrunner/source"
	"github.com/openrunner/openrunner/sqlite"
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
	// RouterListen is the data plane's address; default DefaultRouterListen.
	RouterListen string
	// BaseDomain ends every ServiceUrl; default DefaultBaseDomain.
	BaseDomain string
	// RegistryMirrors and RegistryCredentials configure image pulls (see
	// docker.Options.Mirrors and Registries).
	RegistryMirrors     map[string]string
	RegistryCredentials map[string]docker.Credentials
	// RuntimeImages overrides the Docker base images of managed runtimes
	// (docker.Options.RuntimeImages).
	RuntimeImages map[string]string
	// PollInterval, if positive, polls providers for new commits of
	// auto-deploying services (reconcile.Engine.PollInterval).
	PollInterval time.Duration
	// AllowEndOfSupport lets new services use managed runtimes past App
	// Runner's end of support.
	AllowEndOfSupport bool
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
	// DefaultBaseDomain sits under localhost, which resolves to the
	// loopback address without any DNS set-up (RFC 6761).
	DefaultBaseDomain = "apprunner.localhost"
)

// Daemon is a running OpenRunner server.
type Daemon struct {
	cfg    Config
	logger *slog.Logger

	lock *os.File
	db   *sqlite.DB
	ln   net.Listener

	runtime      openrunner.Runtime
	hooks        *webhook.Hooks
	handshakes   *handshake.Service
	owner        string
	logs         *logs.Store
	engine       *reconcile.Engine
	routerLn     net.Listener
	routerServer *http.Server
	routerServed chan error
	server       *http.Server
	ready        atomic.Bool
	served       chan error
	// keyMismatch is set when the secret key cannot open what the database
	// sealed: the data directory was copied without its key.
	keyMismatch atomic.Bool
}

// New returns a Daemon for cfg; Open starts it.
func New(cfg Config) *Daemon {
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
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

// Open starts the daemon: it checks the configuration, opens the store and
// starts serving. It returns once the listener is bound, so a port-0 address
// is known (Addr) and listen errors are reported synchronously.
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
	if d.cfg.DataDir == "" {
		return errors.New("a data directory is required (--data-dir, OPENRUNNER_DATA_DIR)")
	}
	if err := os.MkdirAll(d.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if d.lock, err = lockDataDir(d.cfg.DataDir); err != nil {
		return err
	}
	master, err := vault.LoadOrCreateKey(d.cfg.DataDir, d.cfg.SecretKey)
	if err != nil {
		return err
	}

	d.db = sqlite.NewDB(filepath.Join(d.cfg.DataDir, "openrunner.db"))
	d.db.Now = d.cfg.Now
	d.db.Quotas = d.cfg.Quotas
	if err := d.db.Open(); err != nil {
		return err
	}

	if d.ln, err = net.Listen("tcp", d.cfg.Listen); err != nil {
		return err
	}
	publicURL := strings.TrimRight(d.cfg.PublicURL, "/")
	if publicURL == "" {
		publicURL = d.URL()
	}

	connections := sqlite.NewConnectionService(d.db)
	v, err := vault.New(master)
	if err != nil {
		return err
	}
	if err := d.checkVaultKey(ctx, v); err != nil {
		return err
	}
	handshakes, err := handshake.New(handshake.Config{
		Connections: connections,
		Vault:       v,
		CallbackURL: publicURL + "/console/oauth/callback",
		GitHub:      d.cfg.GitHub,
		Bitbucket:   d.cfg.Bitbucket,
		HTTPClient:  d.cfg.HTTPClient,
		Now:         d.cfg.Now,
		Logger:      d.logger,
	})
	if err != nil {
		return err
	}
	svc := &api.Server{
		ProviderURLs: d.providerURLs(),
		Connections:  connections,
		Tags:         sqlite.NewTagService(d.db),
		Pages:        api.NewPageTokens(vault.DeriveKey(master, "pagetoken")),
	}
	ext := &api.Extensions{Handshakes: handshakes, Pages: svc.Pages}
	d.handshakes = handshakes
	d.hooks = &webhook.Hooks{Connections: connections, MasterKey: master, PublicURL: publicURL, Logger: d.logger,
		GitHubAPIURL: d.cfg.GitHub.APIURL, BitbucketAPIURL: d.cfg.Bitbucket.APIURL, HTTPClient: d.cfg.HTTPClient}
	ext.Connections, ext.Webhook = connections, d.hooks.Webhook
	if err := d.openServices(ctx, svc, ext); err != nil {
		return err
	}
	verifier := &sigv4.Verifier{Credentials: creds, Service: "apprunner", Now: d.cfg.Now}
	authenticate := func(r *http.Request, body []byte) (context.Context, error) {
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
	apiHandler := &awsjson.Server{
		TargetPrefix: "AppRunner",
		Namespace:    "com.amazonaws.apprunner",
		Authenticate: authenticate,
		Dispatch: func(ctx context.Context, op string, body []byte) (any, error) {
			return wire.Dispatch(ctx, svc, op, body)
		},
		MapError:     api.MapError,
		MaxBodyBytes: d.cfg.MaxBodyBytes,
		Logger:       d.logger,
		Now:          d.cfg.Now,
	}

	extHandler := &awsjson.Server{
		TargetPrefix: api.ExtensionTargetPrefix,
		Namespace:    "com.amazonaws.apprunner",
		Path:         "/_openrunner/",
		Authenticate: authenticate,
		Dispatch:     ext.Dispatch,
		MapError:     api.MapError,
		MaxBodyBytes: d.cfg.MaxBodyBytes,
		Logger:       d.logger,
		Now:          d.cfg.Now,
	}
	consoleHandler := console.New(console.Config{
		Connections: connections,
		Handshakes:  handshakes,
		SignIn: func(ctx context.Context, accessKeyID, secret string) (string, bool, error) {
			c, ok, err := creds.LookupCredential(ctx, accessKeyID)
			if err != nil || !ok {
				return "", false, err
			}
			return c.AccountID, subtle.ConstantTimeCompare([]byte(c.SecretAccessKey), []byte(secret)) == 1, nil
		},
		Secure: strings.HasPrefix(publicURL, "https://"),
		Now:    d.cfg.Now,
		Logger: d.logger,
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /_openrunner/health", d.handleHealth)
	mux.Handle("/_openrunner/", extHandler)
	mux.Handle(webhook.DeliveryPath, d.hooks)
	mux.Handle("/console/", consoleHandler)
	mux.Handle("/console", http.RedirectHandler("/console/", http.StatusFound))
	mux.Handle("/", apiHandler)
	d.server = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.logger.Handler(), slog.LevelWarn),
	}
	d.served = make(chan error, 1)
	go func() { d.served <- d.server.Serve(d.ln) }()
	d.ready.Store(true)
	if defaults {
		d.logger.Warn("using the default credentials (access key test, account 000000000000); configure --credentials-file for real use")
	}
	d.logger.Info("openrunner serving", "api", d.URL(), "console", publicURL+"/console/", "data_dir", d.cfg.DataDir, "version", Version)
	return nil
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
	if d.engine != nil {
		errs = append(errs, d.engine.Close())
		d.engine = nil
	}
	if d.logs != nil {
		errs = append(errs, d.logs.Close())
		d.logs = nil
	}
	if c, ok := d.runtime.(interface{ Close() error }); ok {
		errs = append(errs, c.Close())
		d.runtime = nil
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
	if d.db != nil {
		errs = append(errs, d.db.Close())
		d.db = nil
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
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": status, "version": Version, "store": "sqlite", "secrets": secrets})
}

// vaultCheckKey names the meta entry that proves which key sealed the
// database's secrets.
const vaultCheckKey = "vault-check"

// checkVaultKey seals a known value on first start and opens it on later
// ones. A data directory copied without secret.key (or run with another
// OPENRUNNER_SECRET_KEY) still starts, but its stored provider tokens are
// unreadable: say so loudly instead of failing later and obscurely.
func (d *Daemon) checkVaultKey(ctx context.Context, v *vault.Vault) error {
	sealed, err := d.db.Meta(ctx, vaultCheckKey)
	if err != nil {
		return err
	}
	if sealed == nil {
		return d.db.SetMeta(ctx, vaultCheckKey, v.Seal([]byte("openrunner"), vaultCheckKey))
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

// openServices chooses the runtime, starts the operations engine and the
// router, and gives the API the service store and the deployer. Without a
// runtime the service operations explain what is missing.
func (d *Daemon) openServices(ctx context.Context, svc *api.Server, ext *api.Extensions) error {
	owner, err := d.ownerID(ctx)
	if err != nil {
		return err
	}
	d.owner = owner
	switch d.cfg.Runtime {
	case "", "docker":
		rt, err := docker.New(docker.Options{Host: d.cfg.DockerHost, Owner: owner, Logger: d.logger, Now: d.cfg.Now,
			Mirrors: d.cfg.RegistryMirrors, Registries: d.cfg.RegistryCredentials, RuntimeImages: d.cfg.RuntimeImages})
		if err == nil {
			err = rt.Open(ctx)
		}
		if err != nil {
			if d.cfg.Runtime == "docker" {
				return err
			}
			d.logger.Info("no Docker engine answers; services run as host processes (--runtime process)", "docker", err)
			if d.runtime, err = d.processRuntime(owner); err != nil {
				return err
			}
			break
		}
		d.runtime = rt
	case "process":
		if d.runtime, err = d.processRuntime(owner); err != nil {
			return err
		}
	case "none":
		svc.RuntimeError = "This OpenRunner runs no services (--runtime none)."
		return nil
	default:
		return fmt.Errorf("--runtime must be docker, process or none, got %q", d.cfg.Runtime)
	}

	services := sqlite.NewServiceService(d.db)
	if d.logs, err = logs.Open(filepath.Join(d.cfg.DataDir, "logs"), logs.Options{Now: d.cfg.Now, Logger: d.logger}); err != nil {
		return err
	}
	rtr := router.New(router.Options{Logger: d.logger, Now: d.cfg.Now})
	d.engine = &reconcile.Engine{
		Services:       services,
		Runtime:        d.runtime,
		Router:         rtr,
		Prober:         &health.Prober{},
		Logs:           d.logs,
		BaseDomain:     d.cfg.BaseDomain,
		Instances:      1,
		MaxConcurrency: 100,
		Connections:    d.hooks.Connections,
		PollInterval:   d.cfg.PollInterval,
		Logger:         d.logger,
		Now:            d.cfg.Now,
	}
	d.engine.Source = reconcile.Source{
		Fetcher:           &source.Fetcher{Dir: filepath.Join(d.cfg.DataDir, "sources", "git")},
		Credentials:       d.handshakes,
		Dir:               filepath.Join(d.cfg.DataDir, "sources", "snapshots"),
		AllowEndOfSupport: d.cfg.AllowEndOfSupport,
		ProviderURLs:      d.providerURLs(),
		RegisterWebhook:   d.hooks.Register,
		UnregisterWebhook: d.hooks.Unregister,
	}
	if b, ok := d.runtime.(openrunner.Builder); ok {
		d.engine.Source.Builder = b
	}
	d.hooks.Services, d.hooks.AutoDeploy = services, d.engine.AutoDeploy
	if err := d.engine.Open(ctx); err != nil {
		return err
	}
	if d.routerLn, err = net.Listen("tcp", d.cfg.RouterListen); err != nil {
		return fmt.Errorf("router: %w", err)
	}
	d.routerServer = &http.Server{Handler: rtr, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(d.logger.Handler(), slog.LevelWarn)}
	d.routerServed = make(chan error, 1)
	go func() { d.routerServed <- d.routerServer.Serve(d.routerLn) }()
	svc.Services, svc.Deployer = services, d.engine
	ext.Logs, ext.Services = d.logs, services
	return nil
}

// providerURLs are the providers' web URLs by ProviderType: repositories
// must be there to be fetched with a connection's token.
func (d *Daemon) providerURLs() map[string]string {
	return map[string]string{
		openrunner.ProviderGitHub:    strings.TrimRight(cmp.Or(d.cfg.GitHub.URL, handshake.DefaultGitHubURL), "/"),
		openrunner.ProviderBitbucket: strings.TrimRight(cmp.Or(d.cfg.Bitbucket.URL, handshake.DefaultBitbucketURL), "/"),
	}
}

// processRuntime returns the host-process runtime, keeping its instances
// and builds in the data directory.
func (d *Daemon) processRuntime(owner string) (openrunner.Runtime, error) {
	return process.New(process.Options{Dir: filepath.Join(d.cfg.DataDir, "process"), BuildDir: filepath.Join(d.cfg.DataDir, "builds"),
		Owner: owner, Logger: d.logger, Now: d.cfg.Now})
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
	v, err := d.db.Meta(ctx, key)
	if err != nil || v != nil {
		return string(v), err
	}
	id := "openrunner-" + openrunner.NewID()[:12]
	return id, d.db.SetMeta(ctx, key, []byte(id))
}
