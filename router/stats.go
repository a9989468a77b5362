package router

import (
	"slices"
	"sync/atomic"
	"time"
)

// serviceStats are the counters of one service. They survive SetRoute for
// the same service, whatever its hosts, so a redeploy or a new custom domain
// does not reset them.
type serviceStats struct {
	inFlight    atomic.Int64
	requests    atomic.Uint64
	throttled   atomic.Uint64
	unavailable atomic.Uint64
	failed      atomic.Uint64
}

// Stats is a snapshot of one service's traffic, on all its hosts. Counters
// are cumulative since the service's route was first set (DeleteRoute
// resets them); an autoscaler samples InFlight, or differences Requests
// between two snapshots.
type Stats struct {
	ServiceARN string
	// Hosts are the route's current hosts, normalized (lowercase, no port,
	// no trailing dot), in route order.
	Hosts []string
	// At is when the snapshot was taken, from Options.Now.
	At time.Time
	// InFlight counts requests being served now, including those on
	// instances that a redeploy removed and that are draining. Upgraded
	// connections (WebSocket) count until they close.
	InFlight int64
	// Requests counts every request received for the service's hosts,
	// whatever its outcome.
	Requests uint64
	// Throttled counts 429 answers: every instance was at MaxConcurrency.
	Throttled uint64
	// Unavailable counts 503 answers: paused, or no healthy instance.
	Unavailable uint64
	// Failed counts 502 and 504 answers the router wrote because an
	// instance could not be reached, failed, or did not answer in time.
	Failed uint64
	// Instances lists the route's current instances, in route order.
	Instances []InstanceStats
}

// InstanceStats is a snapshot of one instance's traffic.
type InstanceStats struct {
	ID string
	// InFlight counts requests the instance is serving now.
	InFlight int64
	// Requests counts requests sent to the instance, including attempts that
	// failed.
	Requests uint64
	// Failures counts attempts that got no response from the instance
	// (refused connection, reset, timeout).
	Failures uint64
}

// Stats returns a snapshot of the counters of the service's route, and
// whether there is such a route. It takes no lock.
func (r *Router) Stats(serviceARN string) (Stats, bool) {
	rt := r.table.Load().services[serviceARN]
	if rt == nil {
		return Stats{}, false
	}
	s := Stats{
		ServiceARN:  rt.serviceARN,
		Hosts:       slices.Clone(rt.hosts),
		At:          r.now(),
		InFlight:    rt.stats.inFlight.Load(),
		Requests:    rt.stats.requests.Load(),
		Throttled:   rt.stats.throttled.Load(),
		Unavailable: rt.stats.unavailable.Load(),
		Failed:      rt.stats.failed.Load(),
		Instances:   make([]InstanceStats, len(rt.backends)),
	}
	for i, b := range rt.backends {
		s.Instances[i] = InstanceStats{
			ID:       b.id,
			InFlight: b.inFlight.Load(),
			Requests: b.requests.Load(),
			Failures: b.failures.Load(),
		}
	}
	return s, true
}
