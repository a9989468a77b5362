// Package reconcile converges every service on its desired state. The
// store holds what each service should be (its active revision, the
// revision being rolled out, its instance count, whether it is paused) and
// its unfinished operation; a pass of Reconcile reads that, observes the
// runtime, and takes the idempotent steps that bring the runtime and the
// router to it, completing or failing the operation once what it observes
// matches. Passes are level-triggered: they run on every kick (an API call,
// a runtime change, a push), on a periodic resync, and again with backoff
// after an error, and any of them may be cut short by a crash and simply
// run again.
//
// The package's files: controller.go (this one: the keyed queue, its
// workers, leases and the resync), service.go (one service's pass),
// runtime.go (what the runtime is asked for), routes.go (what the router is
// asked for), scale.go (what the autoscaler decides), source.go and
// autodeploy.go (fetching and building source code, and deploying pushes).
package reconcile

import (
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/autoscale"
)

// Defaults of the Controller's timing.
const (
	DefaultWorkers      = 8
	DefaultResync       = 10 * time.Second
	DefaultLeaseTTL     = 15 * time.Second
	DefaultStopGrace    = 10 * time.Second
	defaultRetryMin     = 200 * time.Millisecond
	defaultRetryMax     = 30 * time.Second
	leaseKeyServicePart = "service/"
)

// Controller runs Reconcile for every service that needs it: one key per
// service in a work queue whose duplicate kicks coalesce, a few workers
// that never work on one service at once, retries with backoff, and a
// periodic resync of every service. A service is reconciled only while this
// server holds its lease.
type Controller struct {
	Services openrunner.ServiceService
	Leases   openrunner.LeaseService
	Runtime  openrunner.Runtime
	Router   Router
	// Events receives the service event lines; nil keeps only the Logger.
	Events Events
	// BaseDomain is the ServiceUrl suffix after the Region.
	BaseDomain string
	// CustomHosts returns the hosts of a service's active custom domains
	// (package customdomain), routed beside its ServiceUrl; nil: none.
	CustomHosts func(serviceARN string) []string
	// Holder names this server in leases.
	Holder string
	// Connections finds the connections of source-code services (for the
	// provider's name in their lines); nil names every provider GitHub.
	Connections openrunner.ConnectionService
	// Source builds source-code services; without a Builder they fail.
	Source Source
	// PollInterval, if positive, asks providers for new commits of
	// auto-deploying services that often.
	PollInterval time.Duration
	// Autoscaler decides each running service's instance count from the
	// Demand the router reports; nil keeps every count where the store
	// has it.
	Autoscaler *autoscale.Autoscaler
	Demand     Demand
	// ScaleToZeroAfter is how long a scale-to-zero service stays idle
	// before it goes to zero, when its configuration does not say; default
	// DefaultScaleToZeroAfter.
	ScaleToZeroAfter time.Duration
	// VPC resolves the networks of VPC-egress revisions.
	VPC VPC
	// OTLPEndpoint is the collector base URL that instances of traced
	// services are given (OTEL_EXPORTER_OTLP_ENDPOINT); "" when traces
	// have nowhere to go.
	OTLPEndpoint string
	// Secrets resolves services' secret references at each deployment,
	// and Sealer seals the values kept with the revision; without them a
	// service with secrets fails to deploy.
	Secrets openrunner.SecretResolver
	Sealer  openrunner.Sealer

	Workers  int           // default DefaultWorkers
	Resync   time.Duration // default DefaultResync
	LeaseTTL time.Duration // default DefaultLeaseTTL
	// StopGrace bounds how long an instance may take to stop; default
	// DefaultStopGrace.
	StopGrace time.Duration
	// RetryMin and RetryMax bound the backoff of a failing key.
	RetryMin, RetryMax time.Duration

	Logger *slog.Logger
	Now    func() time.Time

	queue *queue
	memo  memos
	// spawnMu orders goroutines started from outside the controller's own
	// goroutines (Poke, from the router) with Close's wait for them, and
	// Kick's read of queue with Open's write.
	spawnMu sync.Mutex
	closing bool
	held    sync.Map // service ARN → when this server's lease on it expires
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Open starts the workers, the resync and the lease renewal, and queues
// every service once. It does not wait for any pass.
func (c *Controller) Open(ctx context.Context) error {
	c.defaults()
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	q := newQueue(c.RetryMin, c.RetryMax)
	c.spawnMu.Lock() // Kick may come from a runtime's goroutine already
	c.queue = q
	c.spawnMu.Unlock()
	c.memo = memos{m: map[string]*memo{}}
	c.pruneBuilds(ctx)
	if err := c.resync(ctx, true); err != nil {
		c.cancel()
		return err
	}
	for range c.Workers {
		c.wg.Add(1)
		go c.work()
	}
	c.wg.Add(2)
	go c.every(c.Resync, func() { _ = c.resync(c.ctx, false) })
	go c.every(c.LeaseTTL/3, c.renewLeases)
	c.wg.Add(1)
	go c.every(min(time.Second, c.LeaseTTL/3), c.adoptLapsed)
	if c.Autoscaler != nil && c.Demand != nil {
		c.autoscaling()
	}
	if c.PollInterval > 0 && c.Source.Fetcher != nil && c.Source.Credentials != nil {
		c.wg.Add(1)
		go c.every(c.PollInterval, c.poll)
	}
	return nil
}

func (c *Controller) defaults() {
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.Resync <= 0 {
		c.Resync = DefaultResync
	}
	if c.LeaseTTL <= 0 {
		c.LeaseTTL = DefaultLeaseTTL
	}
	if c.StopGrace <= 0 {
		c.StopGrace = DefaultStopGrace
	}
	if c.ScaleToZeroAfter <= 0 {
		c.ScaleToZeroAfter = DefaultScaleToZeroAfter
	}
	if c.RetryMin <= 0 {
		c.RetryMin = defaultRetryMin
	}
	if c.RetryMax <= 0 {
		c.RetryMax = defaultRetryMax
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Holder == "" {
		c.Holder = "openrunner-" + openrunner.NewID()[:12]
	}
}

// Close stops the workers after their current pass, waits for them and
// for the jobs they started (builds are cancelled), and gives up this
// server's leases so another server can take its services at once.
// Instances keep running; the next Open adopts them.
func (c *Controller) Close() error {
	if c.cancel == nil {
		return nil
	}
	c.spawnMu.Lock()
	c.closing = true
	c.spawnMu.Unlock()
	c.cancel()
	c.queue.shutDown()
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.held.Range(func(k, _ any) bool {
		_ = c.Leases.ReleaseLease(ctx, leaseKeyServicePart+k.(string), c.Holder)
		c.held.Delete(k)
		return true
	})
	return nil
}

// Kick queues a pass of the service. It returns at once; kicks of a
// service that is already queued coalesce into one pass.
func (c *Controller) Kick(serviceARN string) {
	c.spawnMu.Lock()
	q := c.queue
	c.spawnMu.Unlock()
	if q != nil {
		q.add(serviceARN)
	}
}

// work takes keys off the queue until it shuts down.
func (c *Controller) work() {
	defer c.wg.Done()
	for {
		arn, ok := c.queue.get()
		if !ok {
			return
		}
		err := c.pass(arn)
		c.queue.done(arn, err)
		if err != nil && c.ctx.Err() == nil {
			c.Logger.Warn("reconcile", "service", arn, "error", err)
		}
	}
}

// pass reconciles one service if this server holds, or can take, its
// lease. A panic is an error of the pass, retried with backoff.
func (c *Controller) pass(arn string) (err error) {
	defer func() {
		if p := recover(); p != nil {
			c.Logger.Error("reconcile panicked", "service", arn, "panic", p, "stack", string(debug.Stack()))
			err = errPanic
		}
	}()
	if !c.leased(arn) {
		expires := c.Now().Add(c.LeaseTTL) // no later than the store's
		ok, err := c.Leases.AcquireLease(c.ctx, leaseKeyServicePart+arn, c.Holder, c.LeaseTTL)
		if err != nil {
			return err
		}
		if !ok {
			c.held.Delete(arn)
			return c.release(arn) // another server reconciles it
		}
		c.held.Store(arn, expires)
	}
	return c.Reconcile(c.ctx, arn)
}

// leased reports whether this server holds the service's lease with more
// than half its TTL to go: a pass then needs no write to the store (the
// renewal loop extends it), which keeps a durable write off every pass.
func (c *Controller) leased(arn string) bool {
	v, ok := c.held.Load(arn)
	return ok && v.(time.Time).Sub(c.Now()) > c.LeaseTTL/2
}

// dropLease gives up the lease of a service that needs no more passes (it
// is deleted and nothing of it runs), so no server renews it for ever.
func (c *Controller) dropLease(ctx context.Context, arn string) {
	c.held.Delete(arn)
	_ = c.Leases.ReleaseLease(ctx, leaseKeyServicePart+arn, c.Holder)
}

// renewLeases extends every lease this server holds; a lease it could not
// renew is another server's now.
func (c *Controller) renewLeases() {
	c.held.Range(func(k, _ any) bool {
		arn := k.(string)
		expires := c.Now().Add(c.LeaseTTL)
		ok, err := c.Leases.AcquireLease(c.ctx, leaseKeyServicePart+arn, c.Holder, c.LeaseTTL)
		switch {
		case err == nil && ok:
			c.held.Store(arn, expires)
		case err == nil:
			c.held.Delete(arn)
		}
		return true
	})
}

// adoptLapsed queues a pass of every service whose lease lapsed (its
// holder died or was cut off without releasing it), so a survivor takes
// it over within about a second of the TTL instead of at the next resync.
func (c *Controller) adoptLapsed() {
	lapsed, err := c.Leases.FindLapsedLeases(c.ctx, leaseKeyServicePart)
	if err != nil {
		return // the resync is the fallback
	}
	for _, l := range lapsed {
		c.Kick(strings.TrimPrefix(l.Key, leaseKeyServicePart))
	}
}

// resync queues every service the store or the runtime knows of: live
// services, those with an unfinished operation, and those that still have
// revisions in the runtime (a deleted service's leftovers).
func (c *Controller) resync(ctx context.Context, first bool) error {
	arns := map[string]bool{}
	live, err := c.Services.FindServicesByStatus(ctx, openrunner.ServiceRunning, openrunner.ServicePaused,
		openrunner.ServiceOperationInProgress, openrunner.ServiceCreateFailed, openrunner.ServiceDeleteFailed)
	if err != nil {
		return err
	}
	for _, svc := range live {
		arns[svc.ARN()] = true
		if first && autoDeployable(svc) {
			// Pushes that arrived while the server was down were never
			// deployed: check every auto-deploying service once.
			c.memo.get(svc.ARN()).pushed.Store(true)
		}
	}
	revs, err := c.Runtime.Revisions(ctx, "")
	if err != nil {
		return err
	}
	for _, r := range revs {
		arns[r.ServiceARN] = true
	}
	for arn := range arns {
		c.Kick(arn)
	}
	return nil
}

// every runs f every d until the controller closes.
func (c *Controller) every(d time.Duration, f func()) {
	defer c.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// spawn runs f in a goroutine Close waits for, unless Close has begun. It
// is for callers outside the controller's goroutines.
func (c *Controller) spawn(f func()) {
	c.spawnMu.Lock()
	defer c.spawnMu.Unlock()
	if c.closing {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
}

// Holding reports how many service leases this server holds.
func (c *Controller) Holding() int {
	n := 0
	c.held.Range(func(any, any) bool { n++; return true })
	return n
}

type panicError struct{}

func (panicError) Error() string { return "the reconcile pass panicked" }

var errPanic error = panicError{}

// queue is a keyed work queue: a key is queued at most once however often
// it is added, is handed to one worker at a time, and a key added while a
// worker has it is queued again once the worker is done. A key whose pass
// failed comes back after a backoff that doubles up to max, and resets
// after a pass that succeeds.
type queue struct {
	mu       sync.Mutex
	cond     *sync.Cond
	order    []string
	queued   map[string]bool
	active   map[string]bool
	again    map[string]bool
	failures map[string]int
	timers   map[string]*time.Timer
	min, max time.Duration
	shutting bool
}

func newQueue(min, max time.Duration) *queue {
	q := &queue{queued: map[string]bool{}, active: map[string]bool{}, again: map[string]bool{},
		failures: map[string]int{}, timers: map[string]*time.Timer{}, min: min, max: max}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *queue) add(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.addLocked(key)
}

func (q *queue) addLocked(key string) {
	switch {
	case q.shutting:
	case q.active[key]:
		q.again[key] = true
	case !q.queued[key]:
		q.queued[key] = true
		q.order = append(q.order, key)
		q.cond.Signal()
	}
}

// get blocks until a key is ready, and marks it active; false once the
// queue shuts down.
func (q *queue) get() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.order) == 0 && !q.shutting {
		q.cond.Wait()
	}
	if q.shutting {
		return "", false
	}
	key := q.order[0]
	q.order = q.order[1:]
	delete(q.queued, key)
	q.active[key] = true
	return key, true
}

// done ends the worker's hold on key; err schedules a retry.
func (q *queue) done(key string, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.active, key)
	if err == nil {
		delete(q.failures, key)
	} else if q.timers[key] == nil {
		n := q.failures[key]
		q.failures[key] = n + 1
		d := q.min << min(n, 20)
		if d > q.max || d <= 0 {
			d = q.max
		}
		q.timers[key] = time.AfterFunc(d, func() {
			q.mu.Lock()
			defer q.mu.Unlock()
			delete(q.timers, key)
			q.addLocked(key)
		})
	}
	if q.again[key] {
		delete(q.again, key)
		q.addLocked(key)
	}
}

func (q *queue) shutDown() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.shutting = true
	for k, t := range q.timers {
		t.Stop()
		delete(q.timers, k)
	}
	q.cond.Broadcast()
}
