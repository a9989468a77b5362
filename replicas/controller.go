// Package replicas turns an openrunner.InstanceDriver, which starts and
// stops single instances, into the revision half of an openrunner.Runtime:
// it keeps each revision's replica count of ready instances running, starts
// missing ones in parallel, health-checks them for their life, replaces
// those that exit or fail their checks (after a growing backoff), stops
// extra ones, drains ready ones before stopping them, and adopts what a
// previous run left running.
package replicas

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/health"
)

// Defaults for the Options fields left zero.
const (
	DefaultStopGrace         = 10 * time.Second
	DefaultRestartBackoffMin = time.Second
	DefaultRestartBackoffMax = 30 * time.Second
	DefaultBackoffReset      = time.Minute
)

// DefaultHealthCheck is the check of a revision found at Open that has not
// been set since: App Runner's defaults.
var DefaultHealthCheck = openrunner.HealthCheckConfig{
	Protocol: "TCP", Interval: 5, Timeout: 2, HealthyThreshold: 1, UnhealthyThreshold: 5,
}

// Options configure a Controller. The zero value is usable.
type Options struct {
	// StopGrace is how long a stopped instance has between SIGTERM and
	// SIGKILL, and bounds the Drain hook. Zero means DefaultStopGrace.
	StopGrace time.Duration
	// Prober runs the health checks. Nil means a zero health.Prober.
	Prober *health.Prober
	// Logger receives the controller's log lines. Nil discards them.
	Logger *slog.Logger
	// Now timestamps failures and readiness. Nil means time.Now.
	Now func() time.Time
	// RestartBackoffMin is the wait before the replacement of the first
	// failed instance; each further failure in a row doubles it, up to
	// RestartBackoffMax. Zero means the defaults.
	RestartBackoffMin time.Duration
	RestartBackoffMax time.Duration
	// BackoffReset is how long an instance must stay ready for the backoff
	// to start over from RestartBackoffMin. Zero means DefaultBackoffReset.
	BackoffReset time.Duration
}

// Controller keeps revisions' instances running on an InstanceDriver. It
// implements the Open, Close, SetRevision, RemoveRevision and Revisions
// methods of openrunner.Runtime; a runtime embeds it and adds Name,
// EnsureImage and FollowLogs. It is safe for concurrent use.
type Controller struct {
	driver openrunner.InstanceDriver
	opts   Options
	log    *slog.Logger

	mu     sync.Mutex
	state  int // notOpen, open, closed
	hooks  openrunner.RuntimeHooks
	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	revs   map[revKey]*revision
	wg     sync.WaitGroup // every goroutine the controller started
}

const (
	notOpen = iota
	open
	closed
)

type revKey struct{ service, revision string }

// New returns a Controller over driver. Open starts it.
func New(driver openrunner.InstanceDriver, opts Options) *Controller {
	if opts.StopGrace <= 0 {
		opts.StopGrace = DefaultStopGrace
	}
	if opts.Prober == nil {
		opts.Prober = &health.Prober{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RestartBackoffMin <= 0 {
		opts.RestartBackoffMin = DefaultRestartBackoffMin
	}
	if opts.RestartBackoffMax <= 0 {
		opts.RestartBackoffMax = DefaultRestartBackoffMax
	}
	opts.RestartBackoffMax = max(opts.RestartBackoffMax, opts.RestartBackoffMin)
	if opts.BackoffReset <= 0 {
		opts.BackoffReset = DefaultBackoffReset
	}
	return &Controller{driver: driver, opts: opts, log: opts.Logger, revs: map[revKey]*revision{}}
}

// Open adopts the driver's running instances (each ready at once, grouped
// into revisions by their service and revision, with Replicas -1 until
// SetRevision), stops and removes its exited ones, and starts monitoring.
// hooks say whom to tell about changes. A Controller opens once.
func (c *Controller) Open(ctx context.Context, hooks openrunner.RuntimeHooks) error {
	c.mu.Lock()
	if c.state != notOpen {
		c.mu.Unlock()
		return fmt.Errorf("replicas: Open called twice")
	}
	c.state = open
	c.hooks = hooks
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.mu.Unlock()

	list, err := c.driver.ListInstances(ctx)
	if err != nil {
		c.mu.Lock()
		c.state = notOpen
		c.cancel()
		c.mu.Unlock()
		return err
	}
	var adopt []*openrunner.Instance
	for _, inst := range list {
		if inst.ServiceARN == "" || inst.RevisionID == "" {
			continue
		}
		st, err := c.driver.InstanceState(ctx, inst.ID)
		switch {
		case openrunner.ErrorCode(err) == openrunner.ENOTFOUND:
		case err != nil:
			c.log.Warn("cannot read the state of an instance found at open", "id", inst.ID, "err", err)
		case st.Running:
			adopt = append(adopt, inst)
		default:
			if err := c.driver.StopInstance(ctx, inst.ID, 0); err != nil {
				c.log.Warn("cannot remove an exited instance", "id", inst.ID, "err", err)
			}
		}
	}
	services := c.adopt(adopt, c.listening(ctx, adopt))
	for _, s := range services {
		c.changed(s)
	}
	return nil
}

// listening probes the instances found at Open over TCP, side by side,
// and returns those that accept connections: they are ready at once. An
// instance started just before a crash may not listen yet; it is not
// routed until its health check passes.
func (c *Controller) listening(ctx context.Context, list []*openrunner.Instance) map[string]bool {
	ok := make([]bool, len(list))
	var wg sync.WaitGroup
	for i, inst := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok[i] = c.opts.Prober.Probe(ctx, openrunner.HealthCheckConfig{Protocol: "TCP", Timeout: 2}, inst.Addr) == nil
		}()
	}
	wg.Wait()
	out := map[string]bool{}
	for i, inst := range list {
		out[inst.ID] = ok[i]
	}
	return out
}

// adopt records instances as instances of their revisions, ready if they
// listen, and starts monitoring them (or waiting for the others to pass
// their health check). It returns the services they belong to.
func (c *Controller) adopt(list []*openrunner.Instance, listening map[string]bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var services []string
	now := c.opts.Now()
	for _, inst := range list {
		k := revKey{inst.ServiceARN, inst.RevisionID}
		rev := c.revs[k]
		if rev == nil {
			rev = c.newRevision(k)
			rev.replicas = -1
			c.revs[k] = rev
			c.startLoop(rev)
		}
		if rev.find(inst.ID) != nil {
			continue
		}
		in := &instance{id: inst.ID, inst: inst, adopted: true}
		if listening[inst.ID] {
			in.ready, in.readySince = true, now
		}
		rev.instances = append(rev.instances, in)
		c.runInstance(rev, in)
		if !slices.Contains(services, inst.ServiceARN) {
			services = append(services, inst.ServiceARN)
		}
	}
	return services
}

// Close stops monitoring and converging and returns once every goroutine
// of the controller has ended (stops in progress finish first). Instances
// keep running; the next Open adopts them.
func (c *Controller) Close() error {
	c.mu.Lock()
	if c.state == open {
		c.cancel()
	}
	c.state = closed
	c.mu.Unlock()
	c.wg.Wait()
	return nil
}

// SetRevision records that spec.Replicas ready instances of the revision
// should run and returns at once; the controller converges in the
// background. Returns EINVALID for a spec no instance can start from. Once
// a revision has a spec only Replicas changes; a revision found at Open
// takes the spec and keeps its adopted instances.
func (c *Controller) SetRevision(ctx context.Context, spec openrunner.RevisionSpec) error {
	if spec.ServiceARN == "" || spec.RevisionID == "" {
		return openrunner.Errorf(openrunner.EINVALID, "a revision needs a service ARN and a revision id")
	}
	if spec.Replicas < 0 {
		return openrunner.Errorf(openrunner.EINVALID, "replicas %d is negative", spec.Replicas)
	}
	spec.Instance.ServiceARN, spec.Instance.RevisionID = spec.ServiceARN, spec.RevisionID
	if err := spec.Instance.Validate(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.usable(); err != nil {
		return err
	}
	k := revKey{spec.ServiceARN, spec.RevisionID}
	rev := c.revs[k]
	if rev == nil {
		rev = c.newRevision(k)
		c.revs[k] = rev
		c.startLoop(rev)
	}
	if !rev.hasSpec {
		rev.spec, rev.hasSpec = spec, true
	}
	rev.replicas = spec.Replicas
	rev.wakeUp()
	return nil
}

// usable returns an error unless the controller is open. c.mu is held.
func (c *Controller) usable() error {
	switch c.state {
	case notOpen:
		return openrunner.Errorf(openrunner.EINVALIDSTATE, "the runtime is not open")
	case closed:
		return openrunner.Errorf(openrunner.EINVALIDSTATE, "the runtime is closed")
	}
	return nil
}

// RemoveRevision drains and stops every instance of the revision, forgets
// it, and returns once they are stopped (or ctx ends). An unknown revision
// is not an error.
func (c *Controller) RemoveRevision(ctx context.Context, serviceARN, revisionID string) error {
	c.mu.Lock()
	if err := c.usable(); err != nil {
		c.mu.Unlock()
		return err
	}
	k := revKey{serviceARN, revisionID}
	rev := c.revs[k]
	if rev == nil {
		c.mu.Unlock()
		return nil
	}
	delete(c.revs, k)
	rev.removed = true
	close(rev.gone)
	for _, in := range rev.instances {
		in.requestStop()
	}
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { rev.wg.Wait(); close(done) }()
	select {
	case <-done:
		c.changed(serviceARN)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Revisions reports every revision the controller holds for serviceARN,
// or for all services when serviceARN is "", in service and revision
// order.
func (c *Controller) Revisions(ctx context.Context, serviceARN string) ([]openrunner.RevisionStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []openrunner.RevisionStatus
	for k, rev := range c.revs {
		if serviceARN != "" && k.service != serviceARN {
			continue
		}
		out = append(out, rev.status())
	}
	slices.SortFunc(out, func(a, b openrunner.RevisionStatus) int {
		if a.ServiceARN != b.ServiceARN {
			if a.ServiceARN < b.ServiceARN {
				return -1
			}
			return 1
		}
		if a.RevisionID < b.RevisionID {
			return -1
		}
		if a.RevisionID > b.RevisionID {
			return 1
		}
		return 0
	})
	return out, nil
}

// changed calls the Changed hook. c.mu must not be held.
func (c *Controller) changed(serviceARN string) {
	c.mu.Lock()
	h := c.hooks.Changed
	c.mu.Unlock()
	if h != nil {
		h(serviceARN)
	}
}

// drain calls the Drain hook, bounded by StopGrace. c.mu must not be held.
func (c *Controller) drain(id string) {
	c.mu.Lock()
	h := c.hooks.Drain
	c.mu.Unlock()
	if h == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StopGrace)
	defer cancel()
	h(ctx, id)
}

// follow follows the instance's output into the Output hook's sink, if
// any, from since on. c.mu is held.
func (c *Controller) follow(inst *openrunner.Instance, since time.Time) {
	if c.hooks.Output == nil {
		return
	}
	out, ctx := c.hooks.Output, c.ctx
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		sink := out(inst)
		if sink == nil {
			return
		}
		if err := c.driver.FollowLogs(ctx, inst.ID, since, sink); err != nil && ctx.Err() == nil &&
			openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
			c.log.Warn("cannot follow instance output", "id", inst.ID, "err", err)
		}
	}()
}
