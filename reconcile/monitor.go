package reconcile

import (
	"context"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/logs"
)

// serving is what the router sends a service's traffic to, as the health
// monitor sees it.
type serving struct {
	svc       *openrunner.Service
	rev       *openrunner.Revision
	instances []*openrunner.Instance
	fails     map[string]int // instance ID → consecutive failed checks
	next      time.Time      // when to check again
}

// MonitorTick is how often the monitor looks for services due a check;
// each service is checked every HealthCheck.Interval seconds.
const MonitorTick = 500 * time.Millisecond

// monitor health-checks every routed instance, as App Runner does for the
// life of a service: an instance that fails UnhealthyThreshold checks in a
// row, or exits, is replaced by the service's worker.
func (e *Engine) monitor() {
	defer e.wg.Done()
	t := time.NewTicker(MonitorTick)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
			e.CheckHealth(e.ctx)
		}
	}
}

// CheckHealth runs one round of the monitor: it probes the instances of
// every service that is due and kicks the repair of those that have an
// unhealthy instance.
func (e *Engine) CheckHealth(ctx context.Context) {
	now := e.Now()
	e.mu.Lock()
	var due []*serving
	for _, s := range e.serving {
		if !now.Before(s.next) {
			s.next = now.Add(time.Duration(max(s.rev.Config.HealthCheck.Interval, 1)) * time.Second)
			due = append(due, s)
		}
	}
	e.mu.Unlock()

	for _, s := range due {
		hc := s.rev.Config.HealthCheck
		bad := false
		for _, in := range s.instances {
			err := e.Prober.Probe(ctx, hc, in.Addr)
			if st, serr := e.Runtime.InstanceState(ctx, in.ID); serr != nil || !st.Running {
				err = errExited // a gone instance is unhealthy at once
			}
			e.mu.Lock()
			if err == nil {
				s.fails[in.ID] = 0
			} else {
				s.fails[in.ID]++
				if s.fails[in.ID] >= max(hc.UnhealthyThreshold, 1) || err == errExited {
					s.fails[in.ID] = max(hc.UnhealthyThreshold, 1)
					bad = true
				}
			}
			e.mu.Unlock()
		}
		if bad {
			e.mu.Lock()
			e.repair[s.svc.ARN()] = true
			e.mu.Unlock()
			e.Kick(s.svc.ARN())
		}
	}
}

type exitedError struct{}

func (exitedError) Error() string { return "the instance stopped" }

var errExited error = exitedError{}

// takeRepair reports (and clears) whether the service needs a repair.
func (e *Engine) takeRepair(arn string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.repair[arn]
	delete(e.repair, arn)
	return r
}

// repairService replaces the service's unhealthy instances with new ones of
// the same revision, each routed once healthy, then stops the bad ones.
// It runs in the service's worker, so it never races an operation.
func (e *Engine) repairService(arn string) {
	e.mu.Lock()
	s := e.serving[arn]
	var good, bad []*openrunner.Instance
	if s != nil {
		for _, in := range s.instances {
			if s.fails[in.ID] >= max(s.rev.Config.HealthCheck.UnhealthyThreshold, 1) {
				bad = append(bad, in)
			} else {
				good = append(good, in)
			}
		}
	}
	e.mu.Unlock()
	if s == nil || len(bad) == 0 {
		return
	}
	svc, rev := s.svc, s.rev
	op := &openrunner.Operation{} // not an API operation: events go to the events stream
	hc := rev.Config.HealthCheck
	for _, in := range bad {
		e.event(svc, op, logs.HealthCheckFailed(hc, rev.Config.Source.Image.Port))
		e.eventf(svc, op, "Replacing instance %s, which failed its health checks.", in.ID)
		repl, err := e.startHealthy(svc, op, rev)
		if err != nil {
			e.eventf(svc, op, "Replacing instance %s failed: %s", in.ID, err)
			continue
		}
		good = append(good, repl)
	}
	if len(good) == 0 {
		return
	}
	if err := e.route(svc, rev, good); err != nil {
		e.Logger.Error("routing replacement instances", "service", arn, "error", err)
		return
	}
	for _, in := range bad {
		_ = e.Runtime.StopInstance(context.WithoutCancel(e.ctx), in.ID, e.StopGrace)
	}
}
