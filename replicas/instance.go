package replicas

import (
	"context"
	"fmt"
	"time"

	"github.com/openrunner/openrunner"
)

// instance is one instance of a revision, from before it is started until
// it is stopped. Its fields are guarded by Controller.mu.
type instance struct {
	id         string               // "" until StartInstance returns
	inst       *openrunner.Instance // nil until StartInstance returns
	created    time.Time
	ready      bool
	readySince time.Time
	adopted    bool // found at Open
	stopping   bool // failed or asked to stop: no longer counts
	stopReq    bool // asked to stop (scale down, RemoveRevision)
	cancel     context.CancelFunc
}

func (in *instance) startedAt() time.Time {
	if in.inst != nil {
		return in.inst.StartedAt
	}
	return in.created
}

// requestStop asks the instance's goroutine to stop it. Controller.mu is
// held.
func (in *instance) requestStop() {
	in.stopReq, in.stopping = true, true
	if in.cancel != nil {
		in.cancel()
	}
}

// runInstance starts the goroutine that starts (unless adopted), checks
// and eventually stops in. Controller.mu is held.
func (c *Controller) runInstance(r *revision, in *instance) {
	ctx, cancel := context.WithCancel(c.ctx)
	in.cancel = cancel
	spec := r.spec.Instance
	if in.adopted {
		c.follow(in.inst, c.opts.Now())
	}
	c.wg.Add(1)
	r.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer r.wg.Done()
		defer cancel()
		if !in.adopted && !c.start(ctx, r, in, spec) {
			return
		}
		if in.adopted && !c.await(ctx, r, in) {
			return
		}
		c.monitor(ctx, r, in)
	}()
}

// start starts the instance and waits for it to be ready. It reports
// whether it is; when not, it has dealt with the instance.
func (c *Controller) start(ctx context.Context, r *revision, in *instance, spec openrunner.InstanceSpec) bool {
	inst, err := c.driver.StartInstance(c.ctx, spec)
	if err != nil {
		c.mu.Lock()
		r.drop(in)
		quiet := c.ctx.Err() != nil || in.stopReq
		if !quiet {
			c.fail(r, openrunner.InstanceFailure{
				At: c.opts.Now(), Reason: openrunner.FailureStart, ExitCode: -1,
				Message: openrunner.ErrorMessage(err), BeforeReady: true,
			})
		}
		c.mu.Unlock()
		if !quiet {
			c.changed(r.key.service)
		}
		r.wakeUp()
		return false
	}
	c.mu.Lock()
	in.id, in.inst = inst.ID, inst
	c.follow(inst, time.Time{})
	hc := r.healthCheck()
	c.mu.Unlock()
	if c.ctx.Err() != nil {
		return false // closed: the next Open adopts it
	}
	if ctx.Err() == nil {
		err = c.opts.Prober.Wait(ctx, hc, inst.Addr, c.exited(ctx, inst.ID))
	}
	if ctx.Err() != nil {
		c.stopped(r, in)
		return false
	}
	if err != nil {
		c.failAndStop(r, in, c.failure(inst.ID, err))
		return false
	}
	c.mu.Lock()
	in.ready, in.readySince = true, c.opts.Now()
	c.mu.Unlock()
	c.log.Info("instance ready", "service", r.key.service, "revision", r.key.revision, "id", inst.ID, "addr", inst.Addr)
	c.changed(r.key.service)
	return true
}

// await waits for an adopted instance that did not listen at Open to pass
// its revision's health check, as a started one does. It reports whether
// it is ready; when not, it has dealt with the instance.
func (c *Controller) await(ctx context.Context, r *revision, in *instance) bool {
	c.mu.Lock()
	ready, id, addr, hc := in.ready, in.id, in.inst.Addr, r.healthCheck()
	c.mu.Unlock()
	if ready {
		return true
	}
	err := c.opts.Prober.Wait(ctx, hc, addr, c.exited(ctx, id))
	if ctx.Err() != nil {
		c.stopped(r, in)
		return false
	}
	if err != nil {
		c.failAndStop(r, in, c.failure(id, err))
		return false
	}
	c.mu.Lock()
	in.ready, in.readySince = true, c.opts.Now()
	c.mu.Unlock()
	c.log.Info("adopted instance ready", "service", r.key.service, "revision", r.key.revision, "id", id, "addr", addr)
	c.changed(r.key.service)
	return true
}

// exited is the exited func of health.Prober.Wait for instance id.
func (c *Controller) exited(ctx context.Context, id string) func() (bool, string) {
	return func() (bool, string) {
		st, err := c.driver.InstanceState(ctx, id)
		switch {
		case openrunner.ErrorCode(err) == openrunner.ENOTFOUND:
			return true, "the instance is gone"
		case err != nil || st.Running:
			return false, ""
		}
		return true, exitMessage(st)
	}
}

func exitMessage(st openrunner.InstanceState) string {
	if st.Reason != "" && st.Reason != "exited" {
		return fmt.Sprintf("the application exited with code %d (%s)", st.ExitCode, st.Reason)
	}
	return fmt.Sprintf("the application exited with code %d", st.ExitCode)
}

// failure describes why instance id failed: it exited, or else its health
// check failed with err.
func (c *Controller) failure(id string, err error) openrunner.InstanceFailure {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := openrunner.InstanceFailure{InstanceID: id, At: c.opts.Now(), ExitCode: -1}
	st, serr := c.driver.InstanceState(ctx, id)
	switch {
	case openrunner.ErrorCode(serr) == openrunner.ENOTFOUND:
		f.Reason, f.Message = openrunner.FailureExited, "the instance is gone"
	case serr == nil && !st.Running:
		f.Reason, f.ExitCode, f.Message = openrunner.FailureExited, st.ExitCode, exitMessage(st)
	case err == nil:
		f.Reason, f.Message = openrunner.FailureExited, "the instance stopped"
	default:
		f.Reason, f.Message = openrunner.FailureUnhealthy, err.Error()
	}
	return f
}

// monitor checks a ready instance every Interval until it fails, is asked
// to stop, or the controller closes.
func (c *Controller) monitor(ctx context.Context, r *revision, in *instance) {
	c.mu.Lock()
	id, addr := in.id, in.inst.Addr
	c.mu.Unlock()
	fails, reset := 0, false
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		c.mu.Lock()
		hc := r.healthCheck()
		if !reset && c.opts.Now().Sub(in.readySince) >= c.opts.BackoffReset {
			r.streak, reset = 0, true
		}
		c.mu.Unlock()
		t.Reset(time.Duration(hc.Interval) * time.Second)
		select {
		case <-ctx.Done():
			c.stopped(r, in)
			return
		case <-t.C:
		}
		st, err := c.driver.InstanceState(ctx, id)
		if ctx.Err() != nil {
			c.stopped(r, in)
			return
		}
		if openrunner.ErrorCode(err) == openrunner.ENOTFOUND || (err == nil && !st.Running) {
			c.failAndStop(r, in, c.failure(id, nil))
			return
		}
		if err != nil {
			c.log.Warn("cannot read instance state", "id", id, "err", err)
			continue
		}
		perr := c.opts.Prober.Probe(ctx, hc, addr)
		if ctx.Err() != nil {
			c.stopped(r, in)
			return
		}
		if perr == nil {
			fails = 0
			continue
		}
		fails++
		c.log.Info("health check failed", "id", id, "failures", fails, "err", perr)
		if fails >= hc.UnhealthyThreshold {
			c.failAndStop(r, in, c.failure(id, fmt.Errorf("%d health checks failed in a row: %w", fails, perr)))
			return
		}
	}
}

// stopped handles the end of an instance's context: a stop request (the
// instance is drained if ready, and stopped) or the controller closing
// (nothing happens: the instance keeps running).
func (c *Controller) stopped(r *revision, in *instance) {
	c.mu.Lock()
	req := in.stopReq
	c.mu.Unlock()
	if req {
		c.stop(r, in, nil)
	}
}

// failAndStop records f, then drains (if ready) and stops the instance.
func (c *Controller) failAndStop(r *revision, in *instance, f openrunner.InstanceFailure) {
	c.stop(r, in, &f)
}

// stop takes the instance out of the ready set, records f if not nil,
// drains the instance if it was ready, stops it and forgets it.
func (c *Controller) stop(r *revision, in *instance, f *openrunner.InstanceFailure) {
	c.mu.Lock()
	wasReady, id := in.ready, in.id
	in.ready, in.stopping = false, true
	if f != nil {
		f.BeforeReady = in.readySince.IsZero()
		c.fail(r, *f)
	}
	c.mu.Unlock()
	if wasReady || f != nil {
		c.changed(r.key.service)
	}
	if wasReady {
		c.drain(id)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.StopGrace+time.Minute)
	defer cancel()
	if err := c.driver.StopInstance(ctx, id, c.opts.StopGrace); err != nil {
		c.log.Warn("cannot stop instance", "id", id, "err", err)
	}
	c.mu.Lock()
	r.drop(in)
	c.mu.Unlock()
	r.wakeUp()
}
