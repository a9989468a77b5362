// Package memruntime is an openrunner.Runtime that runs nothing outside
// the test process: its instances are in-process HTTP servers that
// emulate the conformance suite's test app (runtimetest/testapp), kept by
// an Engine, and a replicas.Controller keeps revisions running on them as
// it does for Docker and host processes. It is for fast tests of what
// drives a Runtime (the reconciler, the daemon).
package memruntime

import (
	"context"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/replicas"
)

// Defaults for the replicas.Options left zero: short, for fast tests.
const (
	DefaultStopGrace         = time.Second
	DefaultRestartBackoffMin = 20 * time.Millisecond
	DefaultRestartBackoffMax = 500 * time.Millisecond
	DefaultBackoffReset      = time.Second
)

// Runtime is an openrunner.Runtime over an Engine. The Engine's methods
// (the InstanceDriver, AddImage, Crash, SetHealthy, Instances) are
// promoted.
type Runtime struct {
	*Engine
	ctl *replicas.Controller
}

var (
	_ openrunner.Runtime        = (*Runtime)(nil)
	_ openrunner.InstanceDriver = (*Runtime)(nil)
)

// New returns a Runtime over e; Open starts it. Zero durations in opts get
// this package's short defaults rather than those of package replicas.
func New(e *Engine, opts replicas.Options) *Runtime {
	if opts.StopGrace <= 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.RestartBackoffMin <= 0 {
		opts.RestartBackoffMin = DefaultRestartBackoffMin
	}
	if opts.RestartBackoffMax <= 0 {
		opts.RestartBackoffMax = DefaultRestartBackoffMax
	}
	if opts.BackoffReset <= 0 {
		opts.BackoffReset = DefaultBackoffReset
	}
	return &Runtime{Engine: e, ctl: replicas.New(e, opts)}
}

// Name returns "memory".
func (r *Runtime) Name() string { return "memory" }

// Open adopts the Engine's running instances and starts converging.
func (r *Runtime) Open(ctx context.Context, hooks openrunner.RuntimeHooks) error {
	return r.ctl.Open(ctx, hooks)
}

// Close stops converging; the Engine's instances keep running.
func (r *Runtime) Close() error { return r.ctl.Close() }

// EnsureImage returns the image if it was added with AddImage, else
// EINVALID. Nothing is pulled.
func (r *Runtime) EnsureImage(ctx context.Context, ref string, pull bool, log func(line string)) (openrunner.Image, error) {
	return r.image(ref)
}

// SetRevision hands the revision to the controller; see openrunner.Runtime.
func (r *Runtime) SetRevision(ctx context.Context, spec openrunner.RevisionSpec) error {
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
