package openrunner

import (
	"context"
	"strings"
	"time"
)

// Runtime runs service revisions: containers on a Docker engine, child
// processes on the host, or pods on Kubernetes. It knows nothing of App
// Runner's API. The reconciler tells it what should run ("revision R of
// service S should have N ready instances of this spec") and reads back what
// does (each revision's ready endpoints and failures); the runtime converges
// on its own: it starts instances in parallel, health-checks them with the
// revision's HealthCheckConfig, replaces any that exit or fail their checks,
// and stops extra ones.
//
// Every instance a Runtime starts carries the labels of its InstanceSpec, so
// that a restarted server finds what is running (Open adopts it) and the
// reconciler stops what it no longer wants.
type Runtime interface {
	// Name is the runtime's name as --runtime takes it: "docker", "process".
	Name() string

	// Open connects to the engine, adopts the running instances a previous
	// run of this OpenRunner left (each counts as ready at once, so traffic
	// keeps flowing through a restart, and is health-checked from then on)
	// and starts converging. hooks say whom to tell about changes.
	Open(ctx context.Context, hooks RuntimeHooks) error

	// Close stops converging and returns once the runtime's goroutines have
	// ended. Instances keep running; the next Open adopts them.
	Close() error

	// EnsureImage makes the image available to the revisions that name it
	// and returns its identity. An image already present under exactly ref
	// is used as it is unless pull is true; otherwise it is pulled.
	// Progress lines go to log. Returns EINVALID with a message a user can
	// act on (unknown image, denied, registry unreachable) when the image
	// cannot be had.
	EnsureImage(ctx context.Context, ref string, pull bool, log func(line string)) (Image, error)

	// SetRevision records that spec.Replicas ready instances of the
	// revision should run, and returns at once (EINVALID for a spec no
	// instance can start from). The runtime then converges in the
	// background: it starts the missing instances in parallel, counts each
	// ready once it passed its health check (HealthyThreshold passes),
	// checks it every Interval for its life, replaces one that exits or
	// fails UnhealthyThreshold checks in a row, and stops extra ones
	// (not-ready ones first, then the newest), draining each through
	// RuntimeHooks.Drain first. A revision's spec does not change: calling
	// SetRevision again only changes Replicas.
	SetRevision(ctx context.Context, spec RevisionSpec) error

	// RemoveRevision drains and stops every instance of the revision and
	// forgets it. It returns once they are stopped. Removing a revision the
	// runtime does not know is not an error.
	RemoveRevision(ctx context.Context, serviceARN, revisionID string) error

	// Revisions reports every revision the runtime holds, those set with
	// SetRevision and those found at Open, for one service, or for all
	// when serviceARN is "".
	Revisions(ctx context.Context, serviceARN string) ([]RevisionStatus, error)

	// FollowLogs sends the instance's output to sink, one line at a time,
	// from since on, until ctx ends or the instance is gone.
	FollowLogs(ctx context.Context, instanceID string, since time.Time, sink func(LogLine)) error
}

// RuntimeHooks are how a Runtime tells the rest of OpenRunner about its
// instances. Every field may be nil. Hooks are called without the runtime's
// locks held, possibly from several goroutines at once.
type RuntimeHooks struct {
	// Changed is called when something about one of the service's
	// revisions changed: an instance became ready, stopped being ready, or
	// failed.
	Changed func(serviceARN string)
	// Drain is called before an instance that may have received traffic is
	// stopped. It takes the instance out of routing and returns once no
	// request is in flight on it, or ctx ends.
	Drain func(ctx context.Context, instanceID string)
	// Output returns where an instance's output lines go; the runtime
	// follows every instance it starts (from its start) or adopts (from
	// then on) into it. A nil func or a nil result: not followed.
	Output func(in *Instance) func(LogLine)
}

// RevisionSpec is what a Runtime should run of one revision.
type RevisionSpec struct {
	ServiceARN string
	RevisionID string
	// Instance is how each instance starts; its ServiceARN and RevisionID
	// are the revision's.
	Instance    InstanceSpec
	HealthCheck HealthCheckConfig
	// Replicas is how many ready instances should run; 0 stops them all
	// (the revision stays known until RemoveRevision).
	Replicas int
}

// RevisionStatus is what a Runtime observes of one revision.
type RevisionStatus struct {
	ServiceARN string
	RevisionID string
	// Replicas is the count last set with SetRevision; -1 for a revision
	// found at Open that has not been set since.
	Replicas int
	// Ready are the instances that passed their health check and have not
	// failed since, oldest first.
	Ready []Endpoint
	// Starting counts instances started and not yet ready.
	Starting int
	// Failures are the newest failures of the revision's instances (at most
	// MaxRevisionFailures, oldest first); FailureCount counts every one
	// since the revision was first set or found.
	Failures     []InstanceFailure
	FailureCount int
}

// MaxRevisionFailures is how many failures a RevisionStatus keeps.
const MaxRevisionFailures = 10

// Endpoint is a ready instance: where the router sends traffic.
type Endpoint struct {
	InstanceID string
	// Addr is host:port where the application answers, reachable from this
	// OpenRunner process.
	Addr      string
	StartedAt time.Time
}

// Why an instance failed (InstanceFailure.Reason).
const (
	FailureStart     = "start"     // the runtime could not start it (bad command, image)
	FailureExited    = "exited"    // the application exited (or was killed)
	FailureUnhealthy = "unhealthy" // it failed its health checks
)

// InstanceFailure is one instance's failure.
type InstanceFailure struct {
	InstanceID string
	At         time.Time
	Reason     string // FailureStart, FailureExited or FailureUnhealthy
	// ExitCode is the application's exit code for FailureExited, else -1.
	ExitCode int
	// Message says what happened, in words a user can act on.
	Message string
	// BeforeReady is true when the instance failed before it was ever
	// ready: a failed start or first health check.
	BeforeReady bool
}

// InstanceDriver starts and stops single instances: the engine-specific
// half of a Runtime. Docker and the process runtime implement it, and
// package replicas turns a driver into a Runtime (health checks, replicas,
// replacement, adoption).
type InstanceDriver interface {
	// StartInstance starts one instance of spec and returns once the
	// engine has started it (not once it is healthy). Returns EINVALID if
	// it cannot start (bad command, image without a usable entrypoint).
	StartInstance(ctx context.Context, spec InstanceSpec) (*Instance, error)

	// InstanceState reports whether the instance is still running and, if
	// it exited, how. Returns ENOTFOUND if the engine has no such instance.
	InstanceState(ctx context.Context, id string) (InstanceState, error)

	// StopInstance stops the instance (SIGTERM, then SIGKILL after grace)
	// and removes it. Stopping an instance that is gone is not an error.
	StopInstance(ctx context.Context, id string, grace time.Duration) error

	// ListInstances returns every instance this driver started for this
	// OpenRunner (found by label), running or not.
	ListInstances(ctx context.Context) ([]*Instance, error)

	// FollowLogs is Runtime.FollowLogs.
	FollowLogs(ctx context.Context, id string, since time.Time, sink func(LogLine)) error
}

// Image identifies a resolved image.
type Image struct {
	Ref string // as the service names it
	ID  string // content identity (image id or digest): equal ids run the same bits
}

// InstanceSpec is what a Runtime needs to start an instance.
type InstanceSpec struct {
	ServiceARN string
	RevisionID string
	Image      string // an image reference EnsureImage resolved
	Port       int    // the port the application listens on; PORT is set to it
	// PortEnv names one more variable that receives the port, as PORT does
	// (apprunner.yaml run.network.env); "" for none. A runtime that picks
	// the port itself (process) sets both to the port it picked.
	PortEnv string
	Env     map[string]string // RuntimeEnvironmentVariables (and secrets, resolved)
	// StartCommand replaces the image's command when set; it is run with
	// "/bin/sh -c" when the image has a shell, and split on white space
	// otherwise.
	StartCommand string
	CPU          int // in App Runner units: 1024 = 1 vCPU
	MemoryMB     int
	Labels       map[string]string // added to the runtime's own labels
	// Networks are the networks the instance joins besides the runtime's
	// default one (VPC egress); empty for none.
	Networks []string
}

// Validate returns EINVALID for a spec no runtime can start: the checks
// every Runtime makes before it starts anything. A runtime adds its own
// limits after these.
func (s InstanceSpec) Validate() error {
	switch {
	case s.Image == "":
		return Errorf(EINVALID, "an image is required")
	case s.Port < 1 || s.Port > 65535:
		return Errorf(EINVALID, "port %d is not between 1 and 65535", s.Port)
	case s.CPU < 0:
		return Errorf(EINVALID, "CPU %d is negative", s.CPU)
	case s.MemoryMB < 0:
		return Errorf(EINVALID, "memory %d MB is negative", s.MemoryMB)
	case strings.ContainsRune(s.StartCommand, 0):
		return Errorf(EINVALID, "the start command contains a NUL character")
	}
	for k, v := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) {
			return Errorf(EINVALID, "%q is not a valid environment variable", k)
		}
	}
	return nil
}

// Instance is a started instance.
type Instance struct {
	ID         string
	ServiceARN string
	RevisionID string
	// Addr is host:port where the application answers, reachable from this
	// OpenRunner process (health checks and the router use it).
	Addr      string
	StartedAt time.Time
	Labels    map[string]string
}

// InstanceState is an instance's run state.
type InstanceState struct {
	Running  bool
	ExitCode int    // when not running
	Reason   string // e.g. "OOMKilled", "exited"
}

// LogLine is one line of an instance's output.
type LogLine struct {
	Time   time.Time
	Stream string // "stdout" or "stderr"
	Text   string
}

// Instance labels that every Runtime sets.
const (
	LabelManagedBy  = "dev.openrunner.managed-by" // value: "openrunner"
	LabelServiceARN = "dev.openrunner.service-arn"
	LabelRevision   = "dev.openrunner.revision"
)

// Builder builds a runnable image from a snapshot of a service's source
// code, following an apprunner.yaml build (App Runner's managed runtimes).
// The runtimes that can run built images implement it: Docker builds an
// image from a generated multi-stage Dockerfile; the process runtime runs
// the commands with the host's toolchains in a directory of its own.
type Builder interface {
	// Build runs spec's steps and returns the image its instances start
	// from (InstanceSpec.Image = Image.Ref, with the start command and
	// environment of the run section). Each line of build output goes to
	// spec.Log with its phase prefix ("[Build] ..."). Returns EINVALID with
	// the reason (a failed command and its exit code, a toolchain missing
	// on the host) when the build fails; other errors are OpenRunner's.
	Build(ctx context.Context, spec BuildSpec) (Image, error)

	// RemoveBuild deletes what Build made for a revision (an image, a
	// directory). Removing what is gone is not an error.
	RemoveBuild(ctx context.Context, ref string) error

	// Builds lists what Build made and RemoveBuild has not removed,
	// finished or not (a server killed during a build leaves a partial
	// one), so that a restarted server removes what no revision uses.
	Builds(ctx context.Context) ([]BuiltImage, error)
}

// BuiltImage is one build a Builder holds.
type BuiltImage struct {
	Ref        string // for RemoveBuild
	RevisionID string // the revision it was built for
}

// BuildSpec is one build of a service revision.
type BuildSpec struct {
	ServiceARN string
	RevisionID string
	// SourceDir is a snapshot of the whole repository at the commit being
	// deployed. The builder copies what it needs and never writes here.
	SourceDir string
	// Directory is the SourceDirectory inside SourceDir, slash-separated,
	// cleaned, without leading slash; "" for the repository root. Build
	// and start commands run there (WORKDIR /app/<Directory>).
	Directory string
	// Runtime is the managed runtime's apprunner.yaml name ("python311"),
	// RuntimeVersion the version prefix to build on ("3.11", "18.19").
	Runtime        string
	RuntimeVersion string
	// Steps run in order: pre-build and build on the build image, pre-run
	// on the run image (revised builds), post-build after.
	Steps []BuildStep
	// Port is run.network.port: the Docker image EXPOSEs it.
	Port int
	// Log receives every line of build output, phase prefix included.
	Log func(line string)
}

// BuildStep is one phase of a build: each command runs in its own shell
// (one RUN layer each) with Env set (build.env).
type BuildStep struct {
	Phase      string // "PreBuild", "Build", "PreRun", "PostBuild": the log prefix
	OnRunImage bool   // runs on the run image (pre-run, the original build's second build)
	Commands   []string
	Env        []EnvVar
}

// EnvVar is a name and a value, in the order they were written.
type EnvVar struct {
	Name  string
	Value string
}
