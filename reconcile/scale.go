package reconcile

import (
	"context"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/autoscale"
)

// DefaultScaleToZeroAfter is how long a scale-to-zero service stays idle
// before its last instance goes, when its configuration does not say.
const DefaultScaleToZeroAfter = 5 * time.Minute

// sampleInterval is how often the demand of every service is sampled.
const sampleInterval = 250 * time.Millisecond

// Demand reports a service's demand as the router sees it: requests in
// flight plus requests waiting for an instance. ok is false when the router
// has no route for the service.
type Demand func(serviceARN string) (concurrency float64, ok bool)

// autoscaling runs the sampler and the decisions until the controller
// closes; it is started by Open when the controller has an Autoscaler.
func (c *Controller) autoscaling() {
	c.wg.Add(2)
	go c.every(sampleInterval, c.sample)
	go c.every(c.Autoscaler.TickInterval(), func() {
		c.held.Range(func(k, _ any) bool {
			c.scale(c.ctx, k.(string), false)
			return true
		})
	})
}

// sample records the demand of every service this server reconciles.
func (c *Controller) sample() {
	now := c.Now()
	c.held.Range(func(k, _ any) bool {
		if conc, ok := c.Demand(k.(string)); ok {
			c.Autoscaler.Record(k.(string), conc, now)
		}
		return true
	})
}

// Poke tells the autoscaler that a request arrived for a service that has
// no instance (it scaled to zero): the service gets one at once, without
// waiting for the next tick. The router calls it; it returns at once.
func (c *Controller) Poke(serviceARN string) {
	if c.Autoscaler == nil || c.ctx == nil || c.ctx.Err() != nil {
		return
	}
	c.Autoscaler.Poke(serviceARN, c.Now())
	c.spawn(func() { c.scale(c.ctx, serviceARN, true) })
}

// scale decides the instance count of one running service and, when it
// changes, stores it and queues a pass that converges on it.
func (c *Controller) scale(ctx context.Context, arn string, poked bool) {
	svc, err := c.serviceByARN(ctx, arn)
	if err != nil || svc.Status != openrunner.ServiceRunning || svc.Active == nil {
		if err == nil && svc.Status == openrunner.ServiceDeleted {
			c.Autoscaler.Forget(arn)
		}
		return
	}
	o, err := c.observe(ctx, arn)
	if err != nil {
		return
	}
	d := svc.Desired
	current := d.Count()
	after := d.ScaleToZeroAfter
	if after <= 0 {
		after = c.ScaleToZeroAfter
	}
	dec := c.Autoscaler.Decide(arn, autoscale.ServiceState{
		Ready: len(o[svc.Active.ID].Ready), Current: current,
		MinSize: d.MinSize, MaxSize: d.MaxSize, MaxConcurrency: maxConcurrency(svc),
		ScaleToZero: d.ScaleToZero, ScaleToZeroAfter: after,
	}, c.Now())
	if dec.Desired == current || (poked && dec.Desired < current) {
		return
	}
	if _, err := c.Services.UpdateServiceState(ctx, arn, func(s *openrunner.Service) error {
		if s.Status != openrunner.ServiceRunning {
			return errNotRunning
		}
		s.Desired.Instances = dec.Desired
		return nil
	}); err != nil {
		return
	}
	c.eventf(svc, nil, "Scaling service from %d to %d instances (concurrency %.1f, target %.1f).",
		current, dec.Desired, dec.Concurrency, dec.Target)
	c.Kick(arn)
}

type notRunningError struct{}

func (notRunningError) Error() string { return "the service is not running" }

var errNotRunning error = notRunningError{}
