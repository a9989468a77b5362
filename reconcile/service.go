package reconcile

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/logs"
)

// Events receives service event lines (package logs' Store).
type Events interface {
	AppendEvent(serviceARN, stream, line string) error
}

// Reconcile runs one pass for the service: it reads the service and its
// unfinished operation, observes the runtime, and takes the next steps
// towards what they ask for. It returns once those steps are taken, not
// once the runtime has converged: the runtime's Changed hook, or the
// resync, brings the next pass. An error means the pass should be retried.
func (c *Controller) Reconcile(ctx context.Context, arn string) error {
	svc, err := c.serviceByARN(ctx, arn)
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return c.forget(ctx, arn)
	}
	if err != nil {
		return err
	}
	m := c.memo.get(arn)
	op, err := c.operation(ctx, arn)
	if err != nil {
		return err
	}
	o, err := c.observe(ctx, arn)
	if err != nil {
		return err
	}
	if op == nil {
		return c.steady(ctx, m, svc, o)
	}
	if err := c.begin(ctx, svc, op); err != nil {
		return err
	}
	switch op.Type {
	case openrunner.OperationCreateService, openrunner.OperationUpdateService, openrunner.OperationStartDeployment:
		return c.deploy(ctx, m, svc, op)
	case openrunner.OperationPauseService:
		return c.pause(ctx, svc, op, o)
	case openrunner.OperationResumeService:
		return c.resume(ctx, m, svc, op)
	case openrunner.OperationDeleteService:
		return c.delete(ctx, svc, op, o)
	}
	op.Message = "OpenRunner cannot run " + op.Type + " operations."
	return c.finish(ctx, svc, op, openrunner.OperationFailed, svc.Status)
}

// begin marks a pending operation as started, with App Runner's lines.
func (c *Controller) begin(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation) error {
	if op.Status != openrunner.OperationPending {
		return nil
	}
	op.Status = openrunner.OperationInProgress
	if err := c.Services.UpdateOperation(ctx, op); err != nil {
		return err
	}
	c.event(svc, op, logs.OperationStarted(op.Type))
	switch op.Type {
	case openrunner.OperationCreateService, openrunner.OperationUpdateService, openrunner.OperationStartDeployment:
		c.event(svc, op, logs.DeploymentStarted(op.ID, logs.Trigger(op.Type)))
	}
	return nil
}

// steady converges a service no operation is changing: a running one runs
// its active revision's instances and routes to the ready ones, a paused
// one runs nothing and answers 503, any other runs nothing.
func (c *Controller) steady(ctx context.Context, m *memo, svc *openrunner.Service, o observed) error {
	arn := svc.ARN()
	switch {
	case svc.Status == openrunner.ServiceRunning && svc.Active != nil:
		seen, err := c.serveActive(ctx, m, svc)
		if err != nil {
			return c.observed(ctx, svc, nil, err)
		}
		if err := c.removeExcept(ctx, arn, o, svc.Active); err != nil {
			return err
		}
		if m.pushed.CompareAndSwap(true, false) {
			c.startCheck(m, svc)
		}
		return c.observed(ctx, svc, observed{svc.Active.ID: seen}, nil)
	case svc.Status == openrunner.ServicePaused:
		if err := c.Router.SetRoute(c.pausedRoute(svc)); err != nil {
			return err
		}
		return c.removeExcept(ctx, arn, o)
	case svc.Status == openrunner.ServiceDeleted:
		c.Router.DeleteRoute(arn)
		if err := c.removeExcept(ctx, arn, o); err != nil {
			return err
		}
		c.dropLease(ctx, arn) // nothing is left to reconcile
		return nil
	}
	return c.removeExcept(ctx, arn, o)
}

// serveActive asks for the active revision's instance count, routes to the
// ready instances, says what failed since the last pass, and returns what
// it saw of the revision.
func (c *Controller) serveActive(ctx context.Context, m *memo, svc *openrunner.Service) (openrunner.RevisionStatus, error) {
	rev := svc.Active
	if err := c.run(ctx, m, svc, rev, svc.Desired.Count()); err != nil {
		return openrunner.RevisionStatus{}, err
	}
	o, err := c.observe(ctx, svc.ARN())
	if err != nil {
		return openrunner.RevisionStatus{}, err
	}
	st := o[rev.ID]
	failures := m.newFailures(rev.ID, st)
	for _, f := range failures {
		c.failureLines(svc, nil, rev, f)
		c.eventf(svc, nil, "Replacing instance %s: %s", f.InstanceID, f.Message)
	}
	rt := c.servingRoute(svc, st.Ready, rev)
	if rt.Activate && len(st.Ready) == 0 && len(failures) > 0 {
		// A cold start failed: the requests waiting for it get 503, and
		// the next ones wait for the next attempt.
		c.eventf(svc, nil, "Starting an instance from zero failed: %s", failures[len(failures)-1].Message)
		rt.Activate = false
		if err := c.Router.SetRoute(rt); err != nil {
			return st, err
		}
		rt.Activate = true
	}
	return st, c.Router.SetRoute(rt)
}

// deploy rolls out a new revision (CreateService, UpdateService,
// StartDeployment): it prepares the revision (pulls the image, or fetches
// and builds the source) in a job of its own, records it as the rollout,
// runs it at the active count beside the active revision, and once every
// instance is ready routes the service to it and removes the old one. A
// failure rolls back: the old revision keeps serving.
func (c *Controller) deploy(ctx context.Context, m *memo, svc *openrunner.Service, op *openrunner.Operation) error {
	cfg := svc.Config
	if op.Desired != nil {
		cfg = *op.Desired
	}
	if svc.Active != nil {
		// The active revision serves until the new one is ready.
		if _, err := c.serveActive(ctx, m, svc); err != nil {
			c.Logger.Warn("serving the active revision", "service", svc.ARN(), "error", err)
		}
	}
	if op.Type == openrunner.OperationUpdateService && svc.Active != nil && reflect.DeepEqual(cfg, svc.Config) {
		// Only the auto scaling configuration changed: its bounds are in
		// the desired state already, and nothing is built or replaced.
		c.event(svc, op, logs.OperationCompleted(op.Type))
		return c.finish(ctx, svc, op, openrunner.OperationSucceeded, openrunner.ServiceRunning)
	}
	rollout := svc.Desired.Rollout
	if rollout != nil && svc.Desired.RolloutOperation != op.ID {
		rollout = nil // left by an operation that ended without clearing it
	}
	if rollout == nil {
		j := m.job(op.ID)
		if j == nil {
			c.startJob(m, svc, op, func(ctx context.Context) jobResult { return c.prepare(ctx, svc, op, cfg) })
			return nil
		}
		if !j.finished() {
			return nil
		}
		m.clearJob()
		switch {
		case j.result.err != nil:
			return c.failDeploy(ctx, svc, op, nil, j.result.err)
		case j.result.unchanged:
			c.eventf(svc, op, "The image did not change; the running revision stays.")
			return c.finish(ctx, svc, op, openrunner.OperationSucceeded, openrunner.ServiceRunning)
		}
		rollout = j.result.rev
		next, err := c.Services.UpdateServiceState(ctx, svc.ARN(), func(s *openrunner.Service) error {
			s.Desired.Rollout, s.Desired.RolloutOperation = rollout, op.ID
			return nil
		})
		if err != nil {
			c.removeBuild(ctx, rollout)
			return err
		}
		svc.Desired = next.Desired
	}
	return c.rollOut(ctx, m, svc, op, cfg, rollout)
}

// rollOut runs the prepared revision and finishes the deployment once it
// is ready, or fails it.
func (c *Controller) rollOut(ctx context.Context, m *memo, svc *openrunner.Service, op *openrunner.Operation, cfg openrunner.ServiceConfig, rollout *openrunner.Revision) error {
	// A scale-to-zero service at zero still rolls out one instance: a
	// revision is deployed only once it has passed its health check.
	arn, n := svc.ARN(), max(svc.Desired.Count(), 1)
	if m.say(op.ID, "health") {
		c.event(svc, op, logs.HealthCheckStarted(rollout.Config.HealthCheck, revisionRun(rollout).port))
		c.sayTracing(svc, op, rollout)
	}
	if err := c.run(ctx, m, svc, rollout, n); err != nil {
		if openrunner.ErrorCode(err) == openrunner.EINVALID {
			return c.failDeploy(ctx, svc, op, rollout, deployError("starting an instance: %s", openrunner.ErrorMessage(err)))
		}
		return err
	}
	o, err := c.observe(ctx, arn)
	if err != nil {
		return err
	}
	st := o[rollout.ID]
	if len(st.Failures) > 0 {
		f := st.Failures[len(st.Failures)-1]
		c.failureLines(svc, op, rollout, f)
		c.eventf(svc, op, "%s", f.Message)
		return c.failDeploy(ctx, svc, op, rollout, deployError("%s", f.Message))
	}
	if len(st.Ready) < n {
		return nil // the runtime's Changed hook brings the next pass
	}
	c.event(svc, op, logs.HealthCheckSucceeded)
	if err := c.Router.SetRoute(c.servingRoute(svc, st.Ready, rollout)); err != nil {
		return err
	}
	c.event(svc, op, logs.TrafficRouted)
	m.newFailures(rollout.ID, st) // failures are told from here on
	// The route lists only the new revision: the old ones drain and stop.
	if err := c.removeExcept(ctx, arn, o, rollout); err != nil {
		c.Logger.Warn("stopping the previous revision", "service", arn, "error", err)
	}
	if old := svc.Active; old != nil && old.Build != nil && rollout.Build != nil && old.Build.Image != rollout.Build.Image {
		c.removeBuild(ctx, old)
	}
	if movedSource(svc.Config.Source, cfg.Source) {
		prev := *svc
		c.unregisterWebhook(ctx, &prev, op)
	}
	svc.Config, svc.Active = cfg, rollout
	svc.Desired.Rollout, svc.Desired.RolloutOperation = nil, ""
	c.forgetCommits(ctx, svc, rollout)
	if op.Type == openrunner.OperationCreateService {
		return c.succeed(ctx, svc, op, openrunner.ServiceRunning)
	}
	c.event(svc, op, logs.OperationCompleted(op.Type))
	return c.finish(ctx, svc, op, openrunner.OperationSucceeded, openrunner.ServiceRunning)
}

// failDeploy ends a failed deployment: a new service is CREATE_FAILED, a
// running one rolls back to its active revision, which kept serving.
func (c *Controller) failDeploy(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, rollout *openrunner.Revision, cause error) error {
	if rollout != nil {
		if err := c.Runtime.RemoveRevision(ctx, svc.ARN(), rollout.ID); err != nil {
			return err
		}
		c.removeBuild(ctx, rollout)
	}
	svc.Desired.Rollout, svc.Desired.RolloutOperation = nil, ""
	msg := openrunner.ErrorMessage(cause)
	if openrunner.ErrorCode(cause) == openrunner.EINTERNAL {
		c.Logger.Error("deployment failed", "service", svc.ARN(), "operation", op.ID, "error", cause)
	}
	op.Message = msg
	c.event(svc, op, logs.DeploymentFailed(op.ID, msg))
	switch {
	case op.Type == openrunner.OperationCreateService:
		c.event(svc, op, logs.OperationFailed(op.Type))
		c.event(svc, op, logs.StatusSet(openrunner.ServiceCreateFailed))
		return c.finish(ctx, svc, op, openrunner.OperationFailed, openrunner.ServiceCreateFailed)
	case svc.Active == nil:
		return c.finish(ctx, svc, op, openrunner.OperationFailed, openrunner.ServiceCreateFailed)
	}
	c.event(svc, op, logs.RollbackStarted)
	c.event(svc, op, logs.RollbackSucceeded)
	return c.finish(ctx, svc, op, openrunner.OperationRollbackSucceeded, openrunner.ServiceRunning)
}

// pause answers 503 on the service's hosts, then stops every instance.
func (c *Controller) pause(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, o observed) error {
	if err := c.Router.SetRoute(c.pausedRoute(svc)); err != nil {
		return err
	}
	if err := c.removeExcept(ctx, svc.ARN(), o); err != nil {
		return err
	}
	svc.Desired.Paused = true
	return c.succeed(ctx, svc, op, openrunner.ServicePaused)
}

// resume runs the active revision again and routes to it once ready. The
// image is already there: nothing is pulled or built, and commits pushed
// while paused are not deployed.
func (c *Controller) resume(ctx context.Context, m *memo, svc *openrunner.Service, op *openrunner.Operation) error {
	rev := svc.Active
	fail := func(msg string) error {
		if rev != nil {
			if err := c.Runtime.RemoveRevision(ctx, svc.ARN(), rev.ID); err != nil {
				return err
			}
		}
		op.Message = msg
		c.event(svc, op, logs.OperationFailed(op.Type))
		svc.Desired.Paused = true
		return c.finish(ctx, svc, op, openrunner.OperationFailed, openrunner.ServicePaused)
	}
	if rev == nil {
		return fail("The service has no deployed revision to resume.")
	}
	n := max(svc.Desired.Count(), 1)
	if err := c.run(ctx, m, svc, rev, n); err != nil {
		if openrunner.ErrorCode(err) == openrunner.EINVALID {
			return fail(openrunner.ErrorMessage(err))
		}
		return err
	}
	o, err := c.observe(ctx, svc.ARN())
	if err != nil {
		return err
	}
	st := o[rev.ID]
	if len(st.Failures) > 0 {
		return fail(st.Failures[len(st.Failures)-1].Message)
	}
	if len(st.Ready) < n {
		return nil
	}
	if err := c.Router.SetRoute(c.servingRoute(svc, st.Ready, rev)); err != nil {
		return err
	}
	m.newFailures(rev.ID, st) // nothing failed; start counting from here
	svc.Desired.Paused = false
	return c.succeed(ctx, svc, op, openrunner.ServiceRunning)
}

// delete removes the service's hosts, instances, builds and source.
func (c *Controller) delete(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, o observed) error {
	c.Router.DeleteRoute(svc.ARN())
	if err := c.removeExcept(ctx, svc.ARN(), o); err != nil {
		return err
	}
	c.removeBuild(ctx, svc.Active)
	c.removeBuild(ctx, svc.Desired.Rollout)
	svc.Desired.Rollout, svc.Desired.RolloutOperation = nil, ""
	c.forgetSource(ctx, svc, op)
	return c.succeed(ctx, svc, op, openrunner.ServiceDeleted)
}

// forget removes what the runtime and the router still hold of a service
// the store does not know.
func (c *Controller) forget(ctx context.Context, arn string) error {
	c.Router.DeleteRoute(arn)
	o, err := c.observe(ctx, arn)
	if err != nil {
		return err
	}
	c.memo.drop(arn)
	return c.removeExcept(ctx, arn, o)
}

// succeed ends the operation successfully with the service in status,
// logging it as App Runner does.
func (c *Controller) succeed(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, status string) error {
	c.event(svc, op, logs.OperationCompleted(op.Type))
	c.event(svc, op, logs.StatusSet(status))
	return c.finish(ctx, svc, op, openrunner.OperationSucceeded, status)
}

// finish stores the operation's final status with the service's new
// state, and queues the next pass (the steady state, or a deployment that
// a push asked for meanwhile).
func (c *Controller) finish(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, opStatus, svcStatus string) error {
	op.Status, svc.Status = opStatus, svcStatus
	if err := c.Services.FinishOperation(context.WithoutCancel(ctx), op, svc); err != nil {
		return err
	}
	c.memo.get(svc.ARN()).endOperation(op.ID)
	c.Kick(svc.ARN())
	return nil
}

// observed records what the pass saw, when it changed.
func (c *Controller) observed(ctx context.Context, svc *openrunner.Service, o observed, cause error) error {
	msg := ""
	if cause != nil {
		msg = openrunner.ErrorMessage(cause)
	}
	ready := svc.Observed.Ready
	if o != nil {
		ready = o.ready()
	}
	if msg == svc.Observed.Error && maps.Equal(ready, svc.Observed.Ready) {
		return cause
	}
	_, err := c.Services.UpdateServiceState(ctx, svc.ARN(), func(s *openrunner.Service) error {
		s.Observed = openrunner.ObservedState{Ready: ready, Error: msg, At: c.Now()}
		return nil
	})
	return errors.Join(cause, err)
}

// operation returns the service's oldest unfinished operation, or nil.
func (c *Controller) operation(ctx context.Context, arn string) (*openrunner.Operation, error) {
	ops, err := c.Services.UnfinishedOperations(ctx)
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

// serviceByARN finds a service of any Scope by ARN.
func (c *Controller) serviceByARN(ctx context.Context, arn string) (*openrunner.Service, error) {
	a, err := openrunner.ParseARN(arn)
	if err != nil {
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "not a service ARN: %s", arn)
	}
	return c.Services.FindServiceByARN(openrunner.NewContextWithScope(ctx, a.Scope()), arn)
}

// failureLines says what App Runner says of a failed instance.
func (c *Controller) failureLines(svc *openrunner.Service, op *openrunner.Operation, rev *openrunner.Revision, f openrunner.InstanceFailure) {
	switch f.Reason {
	case openrunner.FailureExited:
		c.event(svc, op, logs.ApplicationExited(f.ExitCode))
	case openrunner.FailureUnhealthy:
		c.event(svc, op, logs.HealthCheckFailed(rev.Config.HealthCheck, revisionRun(rev).port))
	}
}

// event writes one line of the service log: the operation's stream, or
// the events stream outside any operation (op nil).
func (c *Controller) event(svc *openrunner.Service, op *openrunner.Operation, line string) {
	stream, opID := logs.StreamEvents, ""
	if op != nil && op.ID != "" {
		stream, opID = logs.DeploymentStream(op.ID), op.ID
	}
	if c.Events != nil {
		if err := c.Events.AppendEvent(svc.ARN(), stream, line); err != nil && !errors.Is(err, logs.ErrClosed) {
			c.Logger.Warn("service log", "error", err)
		}
	}
	c.Logger.Info(line, "service", svc.ARN(), "operation", opID)
}

// eventf is event with a line of OpenRunner's own.
func (c *Controller) eventf(svc *openrunner.Service, op *openrunner.Operation, format string, args ...any) {
	c.event(svc, op, logs.Prefix+fmt.Sprintf(format, args...))
}

// memo is what this server remembers of a service between passes. None of
// it is the service's state: a server without it (restarted, or another
// one taking the lease over) at worst says a line again or builds again.
type memo struct {
	mu       sync.Mutex
	current  *job            // the deployment's revision being prepared
	saidOp   string          // the operation whose lines said holds
	said     map[string]bool // lines said once per operation
	failures map[string]int  // revision id → failures already told
	images   map[string]bool // revision ids whose image this server has
	tried    string          // the last commit a deployment fetched
	checking bool            // a push check runs
	pushed   atomic.Bool     // the branch may have new commits
}

// memos holds the memo of every service.
type memos struct {
	mu sync.Mutex
	m  map[string]*memo
}

func (ms *memos) get(arn string) *memo {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	m := ms.m[arn]
	if m == nil {
		m = &memo{failures: map[string]int{}, images: map[string]bool{}}
		ms.m[arn] = m
	}
	return m
}

func (ms *memos) drop(arn string) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	delete(ms.m, arn)
}

// say reports whether the line key was not yet said in the operation, and
// remembers it.
func (m *memo) say(opID, key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.saidOp != opID {
		m.saidOp, m.said = opID, map[string]bool{}
	}
	if m.said[key] {
		return false
	}
	m.said[key] = true
	return true
}

func (m *memo) endOperation(opID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.saidOp == opID {
		m.saidOp, m.said = "", nil
	}
	if m.current != nil && m.current.opID == opID {
		m.current.cancel()
		m.current = nil
	}
}

// newFailures returns the failures of the revision not told yet.
func (m *memo) newFailures(rev string, st openrunner.RevisionStatus) []openrunner.InstanceFailure {
	m.mu.Lock()
	defer m.mu.Unlock()
	seen, ok := m.failures[rev]
	m.failures[rev] = st.FailureCount
	n := st.FailureCount - seen
	if !ok || n <= 0 {
		// A revision first seen by this server: what failed before is old
		// news (or was told by the server before it).
		return nil
	}
	return st.Failures[max(len(st.Failures)-n, 0):]
}

func (m *memo) ensured(rev string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.images[rev]
}

func (m *memo) setEnsured(rev string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.images[rev] = true
}

func (m *memo) setTried(commit string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tried = commit
}

func (m *memo) lastTried() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tried
}
