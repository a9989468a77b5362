// Package reconcile runs App Runner's asynchronous service operations for
// real: it drives each durable operation record (create, pause, resume,
// delete) through the runtime, the health checker and the router, writes
// every step down, and after a restart resumes or fails whatever was left
// unfinished and re-adopts the instances that still run.
package reconcile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/health"
	"github.com/openrunner/openrunner/logs"
	"github.com/openrunner/openrunner/router"
)

// Engine runs operations, one at a time per service.
type Engine struct {
	Services openrunner.ServiceService
	Runtime  openrunner.Runtime
	Router   *router.Router
	Prober   *health.Prober
	// BaseDomain is the ServiceUrl suffix after the Region.
	BaseDomain string
	// Instances is how many instances a revision runs (the auto scaling
	// configuration's MinSize until autoscaling lands).
	Instances int
	// MaxConcurrency per instance, as the auto scaling configuration says.
	MaxConcurrency int
	// Logs keeps the service event lines ("[AppRunner] ...", one stream per
	// operation) and the instances' output; nil keeps only the Logger.
	Logs *logs.Store
	// StopGrace is how long an instance may take to stop (SIGTERM to
	// SIGKILL); 0 means 10 s.
	StopGrace time.Duration
	// Connections finds the connections of source-code services (for the
	// provider's name in their lines); nil names every provider GitHub.
	Connections openrunner.ConnectionService
	// Source builds source-code services; without a Builder they fail.
	Source Source
	// PollInterval, if positive, has the engine ask providers for new
	// commits of auto-deploying services that often (for set-ups a
	// provider cannot deliver webhooks to).
	PollInterval time.Duration
	Logger       *slog.Logger
	Now          func() time.Time

	mu      sync.Mutex
	running map[string]bool     // service ARN → a worker goroutine runs its operations
	again   map[string]bool     // service ARN → kicked while its worker ran
	serving map[string]*serving // service ARN → what the router sends traffic to
	repair  map[string]bool     // service ARN → an instance failed its health checks
	pushed  map[string]bool     // service ARN → its branch may have new commits
	tried   map[string]string   // service ARN → the last commit a deployment fetched
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// Open recovers from the last run and starts serving kicks: services that
// were RUNNING get their active revision's instances adopted (or started
// again) and routed, PAUSED ones a paused route, and every unfinished
// operation is run again from its start.
func (e *Engine) Open(ctx context.Context) error {
	if e.Now == nil {
		e.Now = time.Now
	}
	if e.Logger == nil {
		e.Logger = slog.New(slog.DiscardHandler)
	}
	if e.Prober == nil {
		e.Prober = &health.Prober{}
	}
	if e.Instances <= 0 {
		e.Instances = 1
	}
	if e.StopGrace <= 0 {
		e.StopGrace = 10 * time.Second
	}
	e.running, e.again = map[string]bool{}, map[string]bool{}
	e.serving, e.repair = map[string]*serving{}, map[string]bool{}
	e.pushed, e.tried = map[string]bool{}, map[string]string{}
	e.ctx, e.cancel = context.WithCancel(context.Background())

	ops, err := e.Services.UnfinishedOperations(ctx)
	if err != nil {
		return err
	}
	pending := map[string]bool{}
	for _, op := range ops {
		pending[op.ServiceARN] = true
	}
	if err := e.restoreRoutes(ctx, pending); err != nil {
		return err
	}
	e.pruneBuilds(ctx)
	// Pushes that arrived while the server was down, or during an
	// operation it did not finish, were never deployed: check every
	// auto-deploying service once.
	if running, err := e.Services.FindServicesByStatus(ctx, openrunner.ServiceRunning); err == nil {
		for _, svc := range running {
			if autoDeployable(svc) && !pending[svc.ARN()] {
				e.pushed[svc.ARN()] = true
				pending[svc.ARN()] = true
			}
		}
	}
	for arn := range pending {
		e.Kick(arn)
	}
	e.wg.Add(1)
	go e.monitor()
	if e.PollInterval > 0 && e.Source.Fetcher != nil && e.Source.Credentials != nil {
		e.wg.Add(1)
		go e.poll(e.PollInterval)
	}
	return nil
}

// Close stops the workers after their current step and waits for them.
// Instances keep running; the next Open adopts them.
func (e *Engine) Close() error {
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
	return nil
}

// Kick tells the engine the service has an operation to run. It returns at
// once; the operation runs in the service's worker.
func (e *Engine) Kick(serviceARN string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.running[serviceARN] {
		e.again[serviceARN] = true
		return
	}
	e.running[serviceARN] = true
	e.wg.Add(1)
	go e.work(serviceARN)
}

// Host returns the ServiceUrl of svc: <prefix>.<region>.<base domain>.
func (e *Engine) Host(svc *openrunner.Service) string {
	return svc.URLPrefix + "." + svc.Scope.Region + "." + e.BaseDomain
}

// work runs the service's unfinished operations, oldest first, until none
// is left.
func (e *Engine) work(arn string) {
	defer e.wg.Done()
	defer func() {
		if p := recover(); p != nil {
			e.Logger.Error("operation worker panicked", "service", arn, "panic", p, "stack", string(debug.Stack()))
			e.mu.Lock()
			delete(e.running, arn)
			e.mu.Unlock()
		}
	}()
	for {
		op, err := e.nextOperation(arn)
		if err != nil {
			e.Logger.Error("reading operations", "service", arn, "error", err)
		}
		if op == nil && err == nil && e.ctx.Err() == nil && e.takeRepair(arn) {
			e.repairService(arn)
			continue
		}
		if op == nil && err == nil && e.ctx.Err() == nil && e.takePushed(arn) {
			e.checkSource(arn)
			continue
		}
		if op == nil || err != nil || e.ctx.Err() != nil {
			e.mu.Lock()
			if e.again[arn] && e.ctx.Err() == nil && err == nil {
				delete(e.again, arn)
				e.mu.Unlock()
				continue
			}
			delete(e.running, arn)
			delete(e.again, arn)
			e.mu.Unlock()
			return
		}
		e.run(op)
	}
}

func (e *Engine) nextOperation(arn string) (*openrunner.Operation, error) {
	ops, err := e.Services.UnfinishedOperations(e.ctx)
	if err != nil {
		return nil, err
	}
	for _, op := range ops {
		if op.ServiceARN == arn {
			return op, nil
		}
	}
	return nil, nil
}

// event writes one line of the operation's service log (texts from package
// logs, which follow App Runner's wording).
func (e *Engine) event(svc *openrunner.Service, op *openrunner.Operation, line string) {
	if e.Logs != nil {
		stream := logs.StreamEvents
		if op.ID != "" {
			stream = logs.DeploymentStream(op.ID)
		}
		if err := e.Logs.AppendEvent(svc.ARN(), stream, line); err != nil && !errors.Is(err, logs.ErrClosed) {
			e.Logger.Warn("service log", "error", err)
		}
	}
	e.Logger.Info(line, "service", svc.ARN(), "operation", op.ID)
}

// eventf is event with a line of OpenRunner's own.
func (e *Engine) eventf(svc *openrunner.Service, op *openrunner.Operation, format string, args ...any) {
	e.event(svc, op, logs.Prefix+fmt.Sprintf(format, args...))
}

// followLogs copies an instance's output into the application log until
// the instance stops or the engine closes.
func (e *Engine) followLogs(svc *openrunner.Service, in *openrunner.Instance, since time.Time) {
	if e.Logs == nil {
		return
	}
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		err := e.Runtime.FollowLogs(e.ctx, in.ID, since, e.Logs.ApplicationSink(svc.ARN(), in.ID))
		if err != nil && e.ctx.Err() == nil && openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
			e.Logger.Warn("following instance logs", "instance", in.ID, "error", err)
		}
	}()
}

// step records the operation's progress (a restart outside any operation
// has nothing to record).
func (e *Engine) step(op *openrunner.Operation, status, step string) error {
	op.Status, op.Step = status, step
	if op.ID == "" {
		return nil
	}
	return e.Services.UpdateOperation(e.ctx, op)
}

// run drives one operation to its end and stores the outcome.
func (e *Engine) run(op *openrunner.Operation) {
	svc, err := e.Services.FindServiceForOperation(e.ctx, op)
	if err != nil {
		e.Logger.Error("operation without service", "operation", op.ID, "error", err)
		return
	}
	if err := e.step(op, openrunner.OperationInProgress, "start"); err != nil {
		e.Logger.Error("recording operation", "operation", op.ID, "error", err)
		return
	}
	switch op.Type {
	case openrunner.OperationCreateService:
		e.create(svc, op)
	case openrunner.OperationPauseService:
		e.pause(svc, op)
	case openrunner.OperationResumeService:
		e.resume(svc, op)
	case openrunner.OperationDeleteService:
		e.delete(svc, op)
	case openrunner.OperationUpdateService, openrunner.OperationStartDeployment:
		e.deploy(svc, op)
	default:
		op.Message = "OpenRunner cannot run " + op.Type + " operations yet."
		e.finish(svc, op, openrunner.OperationFailed, svc.Status)
	}
}

// succeed ends the operation successfully with the service in status,
// logging it as App Runner does.
func (e *Engine) succeed(svc *openrunner.Service, op *openrunner.Operation, status string) {
	e.event(svc, op, logs.OperationCompleted(op.Type))
	e.event(svc, op, logs.StatusSet(status))
	e.finish(svc, op, openrunner.OperationSucceeded, status)
}

// finish stores the operation's final status with the service's new state.
func (e *Engine) finish(svc *openrunner.Service, op *openrunner.Operation, opStatus, svcStatus string) {
	op.Status = opStatus
	svc.Status = svcStatus
	if svcStatus == openrunner.ServiceDeleted {
		svc.DeletedAt = e.Now()
	}
	if err := e.Services.FinishOperation(context.WithoutCancel(e.ctx), op, svc); err != nil {
		e.Logger.Error("finishing operation", "operation", op.ID, "error", err)
	}
}

func (e *Engine) create(svc *openrunner.Service, op *openrunner.Operation) {
	e.event(svc, op, logs.OperationStarted(op.Type))
	e.event(svc, op, logs.DeploymentStarted(op.ID, logs.Trigger(op.Type)))
	// A server killed during an earlier attempt may have left instances.
	if err := e.stopInstances(svc, ""); err != nil {
		e.Logger.Warn("stopping leftover instances", "service", svc.ARN(), "error", err)
	}
	cfg := svc.Config
	if op.Desired != nil {
		cfg = *op.Desired
	}
	rev, err := e.rollout(svc, op, cfg, true)
	if err != nil {
		op.Message = err.Error()
		e.event(svc, op, logs.DeploymentFailed(op.ID, err.Error()))
		e.event(svc, op, logs.OperationFailed(op.Type))
		e.event(svc, op, logs.StatusSet(openrunner.ServiceCreateFailed))
		e.finish(svc, op, openrunner.OperationFailed, openrunner.ServiceCreateFailed)
		return
	}
	svc.Config, svc.Active = cfg, rev
	e.forgetCommits(svc, rev)
	e.succeed(svc, op, openrunner.ServiceRunning)
}

func (e *Engine) pause(svc *openrunner.Service, op *openrunner.Operation) {
	e.event(svc, op, logs.OperationStarted(op.Type))
	e.unroute(svc.ARN())
	if err := e.Router.SetRoute(router.Route{Host: e.Host(svc), ServiceARN: svc.ARN(), ServiceName: svc.Name, Paused: true}); err != nil {
		e.Logger.Error("pausing route", "error", err)
	}
	if err := e.stopInstances(svc, ""); err != nil {
		op.Message = err.Error()
		e.finish(svc, op, openrunner.OperationFailed, openrunner.ServiceRunning)
		return
	}
	e.succeed(svc, op, openrunner.ServicePaused)
}

func (e *Engine) resume(svc *openrunner.Service, op *openrunner.Operation) {
	e.event(svc, op, logs.OperationStarted(op.Type))
	if svc.Active == nil {
		op.Message = "The service has no deployed revision to resume."
		e.finish(svc, op, openrunner.OperationFailed, openrunner.ServicePaused)
		return
	}
	if err := e.stopInstances(svc, ""); err != nil {
		e.Logger.Warn("stopping leftover instances", "service", svc.ARN(), "error", err)
	}
	// The image is already local; nothing new is pulled or built, and
	// commits pushed while paused are not deployed.
	ref := revisionRun(svc.Active).image
	_, err := e.Runtime.EnsureImage(e.ctx, ref, false, func(string) {})
	if err == nil {
		err = e.startRevision(svc, op, svc.Active)
	}
	if err != nil {
		op.Message = openrunner.ErrorMessage(err)
		e.event(svc, op, logs.OperationFailed(op.Type))
		e.finish(svc, op, openrunner.OperationFailed, openrunner.ServicePaused)
		return
	}
	e.succeed(svc, op, openrunner.ServiceRunning)
}

func (e *Engine) delete(svc *openrunner.Service, op *openrunner.Operation) {
	e.event(svc, op, logs.OperationStarted(op.Type))
	e.unroute(svc.ARN())
	e.Router.DeleteRoute(e.Host(svc))
	if err := e.stopInstances(svc, ""); err != nil {
		op.Message = err.Error()
		e.finish(svc, op, openrunner.OperationFailed, openrunner.ServiceDeleteFailed)
		return
	}
	e.removeBuild(svc.Active)
	e.forgetSource(svc, op)
	e.succeed(svc, op, openrunner.ServiceDeleted)
}

// deploy rolls out a new revision (UpdateService, StartDeployment). The
// new instances get traffic only once healthy; then the old ones drain and
// stop. On failure the new ones stop and the old revision keeps serving
// (ROLLBACK_SUCCEEDED). A StartDeployment whose image did not change is a
// success without a new revision.
func (e *Engine) deploy(svc *openrunner.Service, op *openrunner.Operation) {
	e.event(svc, op, logs.OperationStarted(op.Type))
	e.event(svc, op, logs.DeploymentStarted(op.ID, logs.Trigger(op.Type)))
	cfg := svc.Config
	if op.Desired != nil {
		cfg = *op.Desired
	}
	prevStatus := svc.Status
	if prevStatus == openrunner.ServiceOperationInProgress {
		prevStatus = openrunner.ServiceRunning
		if svc.Active == nil {
			prevStatus = openrunner.ServiceCreateFailed
		}
	}
	if op.Type == openrunner.OperationStartDeployment && cfg.Source.Image != nil {
		// Re-resolve the tag: pull it; an image that only exists in the
		// local engine (docker build, no registry) is re-read as it is.
		ref := cfg.Source.Image.Identifier
		img, err := e.Runtime.EnsureImage(e.ctx, ref, true, func(string) {})
		if err != nil {
			e.eventf(svc, op, "Could not pull %s (%s); using the image in the local engine.", ref, openrunner.ErrorMessage(err))
			img, err = e.Runtime.EnsureImage(e.ctx, ref, false, func(string) {})
		}
		if err == nil && svc.Active != nil && img.ID == svc.Active.ImageID {
			e.eventf(svc, op, "The image did not change; the running revision stays.")
			e.finish(svc, op, openrunner.OperationSucceeded, openrunner.ServiceRunning)
			return
		}
	}
	rev, err := e.rollout(svc, op, cfg, svc.Active == nil)
	if err != nil {
		op.Message = err.Error()
		e.event(svc, op, logs.DeploymentFailed(op.ID, err.Error()))
		if svc.Active == nil {
			e.finish(svc, op, openrunner.OperationFailed, openrunner.ServiceCreateFailed)
			return
		}
		e.event(svc, op, logs.RollbackStarted)
		e.event(svc, op, logs.RollbackSucceeded)
		e.finish(svc, op, openrunner.OperationRollbackSucceeded, prevStatus)
		return
	}
	// The route now points at the new revision: drain and stop the rest.
	if err := e.stopInstances(svc, rev.ID); err != nil {
		e.Logger.Warn("stopping the previous revision", "service", svc.ARN(), "error", err)
	}
	if old := svc.Active; old != nil && old.Build != nil && rev.Build != nil && old.Build.Image != rev.Build.Image {
		e.removeBuild(old)
	}
	if movedSource(svc.Config.Source, cfg.Source) {
		prev := *svc
		e.unregisterWebhook(&prev, op)
	}
	svc.Config, svc.Active = cfg, rev
	e.forgetCommits(svc, rev)
	e.event(svc, op, logs.OperationCompleted(op.Type))
	e.finish(svc, op, openrunner.OperationSucceeded, openrunner.ServiceRunning)
}

// rollout resolves cfg's image, or builds its source code, and runs a new
// revision of it until healthy, then routes traffic to it. first is true
// for a service that never ran (new services may not use runtimes past
// their end of support).
func (e *Engine) rollout(svc *openrunner.Service, op *openrunner.Operation, cfg openrunner.ServiceConfig, first bool) (*openrunner.Revision, error) {
	if cfg.Source.Code != nil {
		rev, err := e.buildRevision(svc, op, cfg, first)
		if err != nil {
			return nil, err
		}
		e.event(svc, op, logs.Provisioning(cfg.Network.IsPubliclyAccessible))
		if err := e.startRevision(svc, op, rev); err != nil {
			e.removeBuild(rev)
			return nil, err
		}
		return rev, nil
	}
	img := cfg.Source.Image
	if img == nil {
		return nil, errors.New("the service has no source")
	}
	pull := false
	_ = e.step(op, openrunner.OperationInProgress, "resolve-image")
	e.event(svc, op, logs.PullingImage(img.Identifier, img.RepositoryType))
	resolved, err := e.Runtime.EnsureImage(e.ctx, img.Identifier, pull, func(line string) {})
	if err != nil {
		e.eventf(svc, op, "Failed to pull your application image %s: %s", img.Identifier, openrunner.ErrorMessage(err))
		return nil, fmt.Errorf("image %s: %s", img.Identifier, openrunner.ErrorMessage(err))
	}
	e.event(svc, op, logs.ImagePulled(img.RepositoryType))
	e.event(svc, op, logs.Provisioning(cfg.Network.IsPubliclyAccessible))
	rev := &openrunner.Revision{ID: openrunner.NewID(), Config: cfg, ImageID: resolved.ID, DeployedAt: e.Now()}
	if err := e.startRevision(svc, op, rev); err != nil {
		return nil, err
	}
	return rev, nil
}

// startRevision starts the revision's instances, waits until every one is
// healthy, and routes the service to them. On failure it stops what it
// started and returns the reason.
func (e *Engine) startRevision(svc *openrunner.Service, op *openrunner.Operation, rev *openrunner.Revision) error {
	_ = e.step(op, openrunner.OperationInProgress, "start-instances")
	var started []*openrunner.Instance
	fail := func(err error) error {
		for _, in := range started {
			_ = e.Runtime.StopInstance(context.WithoutCancel(e.ctx), in.ID, e.StopGrace)
		}
		return err
	}
	e.event(svc, op, logs.HealthCheckStarted(rev.Config.HealthCheck, revisionRun(rev).port))
	for range e.Instances {
		in, err := e.startHealthy(svc, op, rev)
		if err != nil {
			return fail(err)
		}
		started = append(started, in)
	}
	e.event(svc, op, logs.HealthCheckSucceeded)
	_ = e.step(op, openrunner.OperationInProgress, "route")
	if err := e.route(svc, rev, started); err != nil {
		return fail(err)
	}
	e.event(svc, op, logs.TrafficRouted)
	return nil
}

// startHealthy starts one instance of rev and waits until it is healthy;
// on failure it stops it and returns why.
func (e *Engine) startHealthy(svc *openrunner.Service, op *openrunner.Operation, rev *openrunner.Revision) (*openrunner.Instance, error) {
	run := revisionRun(rev)
	port, _ := strconv.Atoi(run.port)
	cpu, _ := strconv.Atoi(rev.Config.Instance.CPU)
	mem, _ := strconv.Atoi(rev.Config.Instance.Memory)
	hc := rev.Config.HealthCheck
	in, err := e.Runtime.StartInstance(e.ctx, openrunner.InstanceSpec{
		ServiceARN: svc.ARN(), RevisionID: rev.ID, Image: run.image, Port: port, PortEnv: run.portEnv,
		Env: run.env, StartCommand: run.startCommand, CPU: cpu, MemoryMB: mem,
	})
	if err != nil {
		return nil, fmt.Errorf("starting an instance: %s", openrunner.ErrorMessage(err))
	}
	e.followLogs(svc, in, time.Time{})
	exitCode := -1
	exited := func() (bool, string) {
		st, err := e.Runtime.InstanceState(e.ctx, in.ID)
		if err != nil {
			return true, "the instance is gone"
		}
		if !st.Running {
			exitCode = st.ExitCode
			return true, fmt.Sprintf("the application exited with code %d (%s)", st.ExitCode, st.Reason)
		}
		return false, ""
	}
	if err := e.Prober.Wait(e.ctx, hc, in.Addr, exited); err != nil {
		if exitCode >= 0 {
			e.event(svc, op, logs.ApplicationExited(exitCode))
		} else {
			e.event(svc, op, logs.HealthCheckFailed(hc, run.port))
		}
		e.eventf(svc, op, "%s", err)
		_ = e.Runtime.StopInstance(context.WithoutCancel(e.ctx), in.ID, e.StopGrace)
		return nil, err
	}
	return in, nil
}

// route points the service's host at instances of rev, and has the
// monitor watch them.
func (e *Engine) route(svc *openrunner.Service, rev *openrunner.Revision, instances []*openrunner.Instance) error {
	rt := router.Route{Host: e.Host(svc), ServiceARN: svc.ARN(), ServiceName: svc.Name, MaxConcurrency: e.MaxConcurrency}
	for _, in := range instances {
		rt.Instances = append(rt.Instances, router.Instance{ID: in.ID, URL: &url.URL{Scheme: "http", Host: in.Addr}})
	}
	if err := e.Router.SetRoute(rt); err != nil {
		return err
	}
	cp := *svc
	e.mu.Lock()
	e.serving[svc.ARN()] = &serving{svc: &cp, rev: rev, instances: instances, fails: map[string]int{}}
	e.mu.Unlock()
	return nil
}

// unroute stops the monitor watching the service (paused, deleted).
func (e *Engine) unroute(arn string) {
	e.mu.Lock()
	delete(e.serving, arn)
	e.mu.Unlock()
}

// stopInstances stops the service's instances, except those of the
// revision keep (if not empty), once they have no request in flight.
func (e *Engine) stopInstances(svc *openrunner.Service, keep string) error {
	all, err := e.Runtime.ListInstances(e.ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, in := range all {
		if in.ServiceARN != svc.ARN() || (keep != "" && in.RevisionID == keep) {
			continue
		}
		ctx, cancel := context.WithTimeout(e.ctx, e.StopGrace)
		_ = e.Router.WaitIdle(ctx, in.ID)
		cancel()
		errs = append(errs, e.Runtime.StopInstance(context.WithoutCancel(e.ctx), in.ID, e.StopGrace))
	}
	return errors.Join(errs...)
}

// restoreRoutes re-creates routes after a restart. Services with a pending
// operation are left to it.
func (e *Engine) restoreRoutes(ctx context.Context, pending map[string]bool) error {
	all, err := e.Runtime.ListInstances(ctx)
	if err != nil {
		return err
	}
	byService := map[string][]*openrunner.Instance{}
	for _, in := range all {
		byService[in.ServiceARN] = append(byService[in.ServiceARN], in)
	}
	seen := map[string]bool{}
	for arn, instances := range byService {
		seen[arn] = true
		if pending[arn] {
			continue
		}
		svc, err := e.serviceByARN(ctx, arn)
		if err != nil || svc.Status != openrunner.ServiceRunning || svc.Active == nil {
			// Orphans: the service is gone, paused or failed.
			for _, in := range instances {
				_ = e.Runtime.StopInstance(ctx, in.ID, e.StopGrace)
			}
			continue
		}
		var keep []*openrunner.Instance
		for _, in := range instances {
			st, err := e.Runtime.InstanceState(ctx, in.ID)
			if in.RevisionID == svc.Active.ID && err == nil && st.Running {
				keep = append(keep, in)
			} else {
				_ = e.Runtime.StopInstance(ctx, in.ID, e.StopGrace)
			}
		}
		for _, in := range keep {
			e.followLogs(svc, in, e.Now()) // earlier output was copied by the last run
		}
		if len(keep) > 0 {
			if err := e.route(svc, svc.Active, keep); err != nil {
				e.Logger.Error("restoring route", "service", arn, "error", err)
			}
		} else {
			seen[arn] = false // restarted below
		}
	}

	// Services that should run but have no instance left (the engine or
	// the host restarted) start their active revision again; paused ones
	// answer 503 again.
	services, err := e.Services.FindServicesByStatus(ctx, openrunner.ServiceRunning, openrunner.ServicePaused)
	if err != nil {
		return err
	}
	for _, svc := range services {
		arn := svc.ARN()
		switch {
		case pending[arn]:
		case svc.Status == openrunner.ServicePaused:
			if err := e.Router.SetRoute(router.Route{Host: e.Host(svc), ServiceARN: arn, ServiceName: svc.Name, Paused: true}); err != nil {
				e.Logger.Error("restoring paused route", "service", arn, "error", err)
			}
		case !seen[arn] && svc.Active != nil:
			e.wg.Add(1)
			go func() {
				defer e.wg.Done()
				e.restart(svc)
			}()
		}
	}
	return nil
}

// restart starts a RUNNING service's active revision again outside any
// operation, as App Runner replaces instances it lost. Events go to the
// service's events stream.
func (e *Engine) restart(svc *openrunner.Service) {
	op := &openrunner.Operation{} // not stored: no ID
	e.eventf(svc, op, "Replacing the instances of the running revision after a restart.")
	_, err := e.Runtime.EnsureImage(e.ctx, revisionRun(svc.Active).image, false, func(string) {})
	if err == nil {
		err = e.startRevision(svc, op, svc.Active)
	}
	if err != nil && e.ctx.Err() == nil {
		e.eventf(svc, op, "Starting the running revision again failed: %s", err)
	}
}

// serviceByARN finds a service of any Scope by ARN.
func (e *Engine) serviceByARN(ctx context.Context, arn string) (*openrunner.Service, error) {
	a, err := openrunner.ParseARN(arn)
	if err != nil {
		return nil, err
	}
	return e.Services.FindServiceByARN(openrunner.NewContextWithScope(ctx, a.Scope()), arn)
}

// ServiceURL is the ServiceUrl App Runner reports: the host, no scheme.
func (e *Engine) ServiceURL(svc *openrunner.Service) string {
	return strings.ToLower(e.Host(svc))
}
