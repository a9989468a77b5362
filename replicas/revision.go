package replicas

import (
	"slices"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
)

// revision is one revision the controller holds. Its fields are guarded by
// Controller.mu.
type revision struct {
	key       revKey
	spec      openrunner.RevisionSpec
	hasSpec   bool // false for a revision found at Open and not set since
	replicas  int  // -1 until SetRevision
	instances []*instance
	failures  []openrunner.InstanceFailure
	failCount int
	streak    int       // failures in a row, for the backoff
	nextStart time.Time // no instance starts before this
	removed   bool

	wake chan struct{} // buffered: the loop has something to do
	gone chan struct{} // closed by RemoveRevision
	wg   sync.WaitGroup
}

func (c *Controller) newRevision(k revKey) *revision {
	return &revision{key: k, replicas: -1, wake: make(chan struct{}, 1), gone: make(chan struct{})}
}

func (r *revision) wakeUp() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *revision) find(id string) *instance {
	for _, in := range r.instances {
		if in.id == id {
			return in
		}
	}
	return nil
}

func (r *revision) drop(in *instance) {
	r.instances = slices.DeleteFunc(r.instances, func(x *instance) bool { return x == in })
}

// healthCheck is the revision's check, with defaults for what is unset.
func (r *revision) healthCheck() openrunner.HealthCheckConfig {
	hc := DefaultHealthCheck
	if r.hasSpec {
		hc = r.spec.HealthCheck
	}
	if hc.Interval <= 0 {
		hc.Interval = DefaultHealthCheck.Interval
	}
	if hc.Timeout <= 0 {
		hc.Timeout = DefaultHealthCheck.Timeout
	}
	if hc.HealthyThreshold <= 0 {
		hc.HealthyThreshold = 1
	}
	if hc.UnhealthyThreshold <= 0 {
		hc.UnhealthyThreshold = 1
	}
	return hc
}

// status is what Revisions reports of r.
func (r *revision) status() openrunner.RevisionStatus {
	st := openrunner.RevisionStatus{
		ServiceARN:   r.key.service,
		RevisionID:   r.key.revision,
		Replicas:     r.replicas,
		Failures:     slices.Clone(r.failures),
		FailureCount: r.failCount,
	}
	for _, in := range r.instances {
		switch {
		case in.ready:
			st.Ready = append(st.Ready, openrunner.Endpoint{InstanceID: in.id, Addr: in.inst.Addr, StartedAt: in.inst.StartedAt})
		case !in.stopping:
			st.Starting++
		}
	}
	slices.SortStableFunc(st.Ready, func(a, b openrunner.Endpoint) int { return a.StartedAt.Compare(b.StartedAt) })
	return st
}

// fail records a failure and pushes the next start back. Controller.mu is
// held.
func (c *Controller) fail(r *revision, f openrunner.InstanceFailure) {
	if f.At.IsZero() {
		f.At = c.opts.Now()
	}
	r.failures = append(r.failures, f)
	if n := len(r.failures) - openrunner.MaxRevisionFailures; n > 0 {
		r.failures = slices.Delete(r.failures, 0, n)
	}
	r.failCount++
	r.streak++
	d := c.opts.RestartBackoffMin
	for i := 1; i < r.streak && d < c.opts.RestartBackoffMax; i++ {
		d *= 2
	}
	d = min(d, c.opts.RestartBackoffMax)
	r.nextStart = time.Now().Add(d)
	c.log.Info("instance failed", "service", r.key.service, "revision", r.key.revision,
		"id", f.InstanceID, "reason", f.Reason, "exitCode", f.ExitCode, "message", f.Message, "restartIn", d)
}

// startLoop starts the goroutine that converges r. Controller.mu is held.
func (c *Controller) startLoop(r *revision) {
	c.wg.Add(1)
	r.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer r.wg.Done()
		c.loop(r)
	}()
}

// loop converges r whenever something changed or a backoff ended, until
// the revision is removed or the controller closed.
func (c *Controller) loop(r *revision) {
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		if wait := c.converge(r); wait > 0 {
			t.Reset(wait)
		}
		select {
		case <-r.wake:
		case <-t.C:
		case <-r.gone:
			return
		case <-c.ctx.Done():
			return
		}
	}
}

// converge starts the missing instances of r and stops the extra ones. It
// returns how long until a start held back by the backoff may happen, or 0.
func (c *Controller) converge(r *revision) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r.removed || c.ctx.Err() != nil || !r.hasSpec || r.replicas < 0 {
		return 0
	}
	var live []*instance
	for _, in := range r.instances {
		if !in.stopping {
			live = append(live, in)
		}
	}
	switch {
	case len(live) < r.replicas:
		if wait := time.Until(r.nextStart); wait > 0 {
			return wait
		}
		for range r.replicas - len(live) {
			in := &instance{created: time.Now()}
			r.instances = append(r.instances, in)
			c.runInstance(r, in)
		}
	case len(live) > r.replicas:
		// Not-ready ones go first, then the newest.
		slices.SortStableFunc(live, func(a, b *instance) int {
			if a.ready != b.ready {
				if a.ready {
					return 1
				}
				return -1
			}
			return b.startedAt().Compare(a.startedAt())
		})
		for _, in := range live[:len(live)-r.replicas] {
			in.requestStop()
		}
	}
	return 0
}
