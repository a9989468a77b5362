package process

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/replicas"
)

var (
	_ openrunner.Runtime        = (*Runtime)(nil)
	_ openrunner.InstanceDriver = (*Runtime)(nil)
	_ openrunner.Builder        = (*Runtime)(nil)
)

// Labels the process runtime sets on its instances besides the
// openrunner.Label* ones every Runtime sets.
const (
	// LabelOwner holds Options.Owner, so that two OpenRunners sharing a
	// Dir never list, adopt or stop each other's instances.
	LabelOwner = "dev.openrunner.owner"
	// LabelImage holds InstanceSpec.Image as the service named it.
	LabelImage = "dev.openrunner.image"
)

// Defaults for the Options fields left empty.
const (
	DefaultOwner       = "default"
	DefaultMaxLogBytes = 10 << 20
)

// Options configure a Runtime.
type Options struct {
	// Dir holds one directory per instance: its state file, the FIFOs its
	// output goes through and its log. It must be on a local file system
	// and survive OpenRunner restarts for running instances to be adopted.
	// Required.
	Dir string

	// Owner names this OpenRunner among those sharing Dir: ListInstances,
	// InstanceState, StopInstance and FollowLogs see only instances with
	// the same owner. Empty means "default".
	Owner string

	// MaxLogBytes bounds an instance's log: past it the log file is
	// rotated, keeping one previous file, so an instance keeps at most
	// about twice this much. Zero means 10 MiB.
	MaxLogBytes int64

	// BuildDir holds one directory per build of a service revision
	// (Build): the copy of its source, what its build commands installed
	// (a Python virtual environment, npm's global prefix, GOBIN) and a
	// record of how its instances must run. Builds are kept until
	// RemoveBuild. It must be on a local file system and survive
	// OpenRunner restarts, like Dir. Required for Build: without it the
	// runtime runs artifacts but cannot build source code.
	BuildDir string

	// LookupEnv reads OpenRunner's environment, of which instances and
	// builds see only PATH, HOME, USER, LANG, LC_ALL, TZ and TMPDIR (and
	// GOTOOLCHAIN for Go builds). The toolchains a build needs are looked
	// up on that PATH. Nil means os.LookupEnv.
	LookupEnv func(key string) (string, bool)

	// Logger receives the runtime's own log lines. Nil discards them.
	Logger *slog.Logger

	// Now returns the current time; it timestamps log lines and
	// Instance.StartedAt. Nil means time.Now.
	Now func() time.Time

	// Replicas configures the controller that keeps revisions' instances
	// running (health checks, replacement, backoff). Its Logger and Now
	// default to the ones above.
	Replicas replicas.Options
}

// Runtime runs instances as child processes of this OpenRunner. Create it
// with New and Close it when done. It is safe for concurrent use.
//
// Unlike a container runtime, it isolates nothing: instances run as the
// OpenRunner user with the host's file system and toolchains, and the CPU
// and memory of an InstanceSpec are recorded but not enforced. Builds
// (Build) run with the host's toolchains too. It needs Linux (it reads
// /proc to recognise its processes after a restart).
type Runtime struct {
	dir       string // Options.Dir/instances, absolute
	buildDir  string // Options.BuildDir, absolute; "" if unset
	owner     string
	maxLog    int64
	lookupEnv func(string) (string, bool)
	logger    *slog.Logger
	now       func() time.Time

	ctl *replicas.Controller // the revision half of openrunner.Runtime

	mu       sync.Mutex
	images   map[string]imageCache // by ref
	building map[string]bool       // revision IDs being built
	starting map[string]bool       // instance directories being started
}

// New returns a Runtime keeping its state under opts.Dir and its builds
// under opts.BuildDir, which it creates if needed.
func New(opts Options) (*Runtime, error) {
	if opts.Dir == "" {
		return nil, errors.New("process: Options.Dir is required")
	}
	dir, err := filepath.Abs(filepath.Join(opts.Dir, "instances"))
	if err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("process: %w", err)
	}
	r := &Runtime{
		dir:       dir,
		owner:     opts.Owner,
		maxLog:    opts.MaxLogBytes,
		lookupEnv: opts.LookupEnv,
		logger:    opts.Logger,
		now:       opts.Now,
		images:    map[string]imageCache{},
		building:  map[string]bool{},
		starting:  map[string]bool{},
	}
	if opts.BuildDir != "" {
		if r.buildDir, err = filepath.Abs(opts.BuildDir); err != nil {
			return nil, fmt.Errorf("process: %w", err)
		}
		if err := os.MkdirAll(r.buildDir, 0o700); err != nil {
			return nil, fmt.Errorf("process: %w", err)
		}
	}
	if r.lookupEnv == nil {
		r.lookupEnv = os.LookupEnv
	}
	if r.owner == "" {
		r.owner = DefaultOwner
	}
	if r.maxLog <= 0 {
		r.maxLog = DefaultMaxLogBytes
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

// Open adopts the running instances a previous run left and starts
// converging revisions (see replicas.Controller.Open). The instance-level
// methods (openrunner.InstanceDriver) work without it.
func (r *Runtime) Open(ctx context.Context, hooks openrunner.RuntimeHooks) error {
	return r.ctl.Open(ctx, hooks)
}

// Close stops converging and returns once the controller's goroutines
// have ended. It stops no instance: instances keep running, and their
// supervisors and log collectors keep going until they exit, so that an
// OpenRunner that creates a new Runtime (or restarts) adopts them.
func (r *Runtime) Close() error { return r.ctl.Close() }

// SetRevision checks spec.Instance and hands the revision to the
// controller; see openrunner.Runtime.
func (r *Runtime) SetRevision(ctx context.Context, spec openrunner.RevisionSpec) error {
	if err := checkNetworks(spec.Instance); err != nil {
		return err
	}
	return r.ctl.SetRevision(ctx, spec)
}

// RemoveRevision drains and stops the revision's instances and forgets
// it; see openrunner.Runtime.
func (r *Runtime) RemoveRevision(ctx context.Context, serviceARN, revisionID string) error {
	return r.ctl.RemoveRevision(ctx, serviceARN, revisionID)
}

// Revisions reports the revisions the runtime holds; see
// openrunner.Runtime.
func (r *Runtime) Revisions(ctx context.Context, serviceARN string) ([]openrunner.RevisionStatus, error) {
	return r.ctl.Revisions(ctx, serviceARN)
}

// checkNetworks refuses a spec with networks: host processes share the
// host's network.
func checkNetworks(spec openrunner.InstanceSpec) error {
	if len(spec.Networks) > 0 {
		return openrunner.Errorf(openrunner.EINVALID, "VPC egress needs the docker runtime: the process runtime cannot attach instances to networks %v (run openrunner serve --runtime docker)", spec.Networks)
	}
	return nil
}

// Name returns "process".
func (r *Runtime) Name() string { return "process" }

// Owner returns the owner this runtime's instances carry.
func (r *Runtime) Owner() string { return r.owner }
