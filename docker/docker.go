package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"time"

	"github.com/docker/docker/client"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/replicas"
)

var (
	_ openrunner.Runtime        = (*Runtime)(nil)
	_ openrunner.InstanceDriver = (*Runtime)(nil)
)

// Labels the Docker runtime sets on its containers besides the
// openrunner.Label* ones every Runtime sets.
const (
	// LabelOwner holds Options.Owner, so that two OpenRunners sharing an
	// engine never list, adopt or stop each other's containers.
	LabelOwner = "dev.openrunner.owner"
	// LabelPort holds the port the application listens on inside the
	// container, to find its published address again after a restart.
	LabelPort = "dev.openrunner.port"
	// LabelImage holds InstanceSpec.Image: the container runs the image ID
	// it resolved to, which is what `docker ps` shows.
	LabelImage = "dev.openrunner.image"
)

// Defaults for the Options fields left empty.
const (
	DefaultOwner      = "default"
	DefaultNamePrefix = "openrunner-"
	DefaultPublishIP  = "127.0.0.1"
)

// Credentials are a registry user name and password (for ECR: "AWS" and the
// token that `aws ecr get-login-password` prints).
type Credentials struct {
	Username string
	Password string
}

// Options configure a Runtime. The zero value talks to the engine that
// $DOCKER_HOST names, or to the default socket.
type Options struct {
	// Host is the engine's address, e.g. "unix:///var/run/docker.sock" or
	// "tcp://10.0.0.5:2376". Empty means $DOCKER_HOST (with
	// $DOCKER_TLS_VERIFY and $DOCKER_CERT_PATH), else the default socket.
	Host string

	// Owner names this OpenRunner among those sharing one engine: it
	// labels every container this runtime starts, and ListInstances,
	// InstanceState, StopInstance and FollowLogs see only containers with
	// the same owner. Empty means "default".
	Owner string

	// NamePrefix starts every container name, so that `docker ps` shows
	// which containers OpenRunner runs. Empty means "openrunner-".
	NamePrefix string

	// PublishIP is the host address instance ports are published on and
	// the host part of Instance.Addr. Empty means 127.0.0.1, reachable only
	// from this machine; OpenRunner's router is what serves the outside.
	PublishIP string

	// Registries holds credentials by registry host as it appears in image
	// references ("123456789012.dkr.ecr.us-east-1.amazonaws.com",
	// "ghcr.io", "docker.io"). Pulls from other hosts are anonymous, or
	// use what the engine itself is configured with.
	Registries map[string]Credentials

	// Mirrors maps a registry host to another that serves the same
	// repositories, e.g. an ECR host to "localhost:5000" for running App
	// Runner services offline. Images are pulled from the mirror and
	// tagged under the reference the service names. Credentials are looked
	// up for the mirror's host.
	Mirrors map[string]string

	// RuntimeImages maps a managed runtime's apprunner.yaml name
	// ("python311") to the image its source-code services are built and
	// run on, in place of the one DefaultRuntimeImages gives. The image
	// serves both the build and the run stages, so it needs the runtime's
	// language with its build tools and a shell. It is pulled as a
	// service's image is when the engine lacks it.
	RuntimeImages map[string]string

	// Logger receives the runtime's own log lines. Nil discards them.
	Logger *slog.Logger

	// Now returns the current time. Nil means time.Now.
	Now func() time.Time

	// Replicas configures the controller that keeps revisions' instances
	// running (health checks, replacement, backoff). Its Logger and Now
	// default to the ones above.
	Replicas replicas.Options

	// IngressProxy is the executable the proxy containers of VPC ingress
	// connections run as "<it> ingress-proxy --listen :80 --target ADDR";
	// empty means this process's own executable (openrunner).
	IngressProxy string
}

// Runtime runs instances as containers on a Docker engine. Create it with
// New, call Open before use and Close when done. It is safe for concurrent
// use.
type Runtime struct {
	client     *client.Client
	owner      string
	namePrefix string
	publishIP  string
	registries map[string]Credentials
	mirrors    map[string]string
	logger     *slog.Logger
	now        func() time.Time

	runtimeImages map[string]string // Options.RuntimeImages

	ctl *replicas.Controller // the revision half of openrunner.Runtime

	mu       sync.Mutex
	hasShell map[string]bool // by image ID: whether the image has /bin/sh

	ingressProxy string     // Options.IngressProxy
	ingressMu    sync.Mutex // guards ingressRef
	ingressRef   string     // the proxy image, once built
}

// New returns a Runtime for the engine opts names. It does not contact the
// engine; Open does.
func New(opts Options) (*Runtime, error) {
	clientOpts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if opts.Host != "" {
		clientOpts = append(clientOpts, client.WithHost(opts.Host))
	}
	c, err := client.NewClientWithOpts(clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	r := &Runtime{
		client:     c,
		owner:      opts.Owner,
		namePrefix: opts.NamePrefix,
		publishIP:  opts.PublishIP,
		registries: opts.Registries,
		mirrors:    opts.Mirrors,
		logger:     opts.Logger,
		now:        opts.Now,
		hasShell:   map[string]bool{},

		ingressProxy: opts.IngressProxy,
	}
	r.runtimeImages = maps.Clone(opts.RuntimeImages)
	if r.owner == "" {
		r.owner = DefaultOwner
	}
	if r.namePrefix == "" {
		r.namePrefix = DefaultNamePrefix
	}
	if r.publishIP == "" {
		r.publishIP = DefaultPublishIP
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	ro := opts.Replicas
	if ro.Logger == nil {
		ro.Logger = r.logger
	}
	if ro.Now == nil {
		ro.Now = r.now
	}
	r.ctl = replicas.New(r, ro)
	return r, nil
}

// Open checks that the engine answers and agrees on an API version, then
// adopts the containers a previous run left running and starts converging
// revisions (see replicas.Controller.Open).
func (r *Runtime) Open(ctx context.Context, hooks openrunner.RuntimeHooks) error {
	// An engine that answers at all answers a ping at once; the bound only
	// matters for a TCP host that swallows packets.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ping, err := r.client.Ping(ctx)
	if err != nil {
		return fmt.Errorf("no Docker engine answers at %s: start dockerd or use --runtime process (%v)", r.client.DaemonHost(), err)
	}
	r.client.NegotiateAPIVersionPing(ping)
	r.logger.Info("docker engine", "host", r.client.DaemonHost(), "api", r.client.ClientVersion(), "owner", r.owner)
	return r.ctl.Open(ctx, hooks)
}

// Close stops converging, waits for the controller's goroutines and
// releases the client's connections. Containers keep running.
func (r *Runtime) Close() error {
	err := r.ctl.Close()
	return errors.Join(err, r.client.Close())
}

// SetRevision checks that containers can be made of spec.Instance
// (including that its networks exist) and hands the revision to the
// controller; see openrunner.Runtime.
func (r *Runtime) SetRevision(ctx context.Context, spec openrunner.RevisionSpec) error {
	if err := validSpec(spec.Instance); err != nil {
		return err
	}
	if err := r.checkNetworks(ctx, spec.Instance.Networks); err != nil {
		return err
	}
	return r.ctl.SetRevision(ctx, spec)
}

// RemoveRevision drains and stops the revision's containers and forgets
// it; see openrunner.Runtime.
func (r *Runtime) RemoveRevision(ctx context.Context, serviceARN, revisionID string) error {
	return r.ctl.RemoveRevision(ctx, serviceARN, revisionID)
}

// Revisions reports the revisions the runtime holds; see
// openrunner.Runtime.
func (r *Runtime) Revisions(ctx context.Context, serviceARN string) ([]openrunner.RevisionStatus, error) {
	return r.ctl.Revisions(ctx, serviceARN)
}

// Name returns "docker".
func (r *Runtime) Name() string { return "docker" }

// Host returns the engine's address.
func (r *Runtime) Host() string { return r.client.DaemonHost() }

// Owner returns the owner label value this runtime's containers carry.
func (r *Runtime) Owner() string { return r.owner }
