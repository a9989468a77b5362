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
	// responses counts responses by class: [1] 1xx … [5] 5xx; [0] counts
	// 499 (the client left).
	responses [6]atomic.Uint64
	latency   latencyHistogram
}

// record counts one finished request that got code (499: the client left)
// and took d, upgraded connections excepted.
func (s *serviceStats) record(code int, d time.Duration) {
	if code == StatusClientClosedRequest {
		s.responses[0].Add(1)
		return
	}
	c := code / 100
	if c < 1 || c > 5 {
		c = 5 // no status, or a nonsensical one: a broken response
	}
	s.responses[c].Add(1)
	s.latency.observe(d)
}

// latencyBounds are the upper bounds of the latency histogram's buckets,
// Prometheus' default buckets stretched to App Runner's 120 s timeout.
var latencyBounds = [...]time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second, 10 * time.Second,
	30 * time.Second, 60 * time.Second, 120 * time.Second,
}

// latencyHistogram is a lock-free histogram: one counter per bucket, not
// cumulative (an observation adds to one counter), and the last one for
// observations above every bound.
type latencyHistogram struct {
	counts [len(latencyBounds) + 1]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

func (h *latencyHistogram) observe(d time.Duration) {
	i := 0
	for i < len(latencyBounds) && d > latencyBounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// snapshot returns h in Prometheus' form: cumulative counts.
func (h *latencyHistogram) snapshot() Histogram {
	out := Histogram{Buckets: make([]Bucket, len(latencyBounds))}
	var n uint64
	for i, ub := range latencyBounds {
		n += h.counts[i].Load()
		out.Buckets[i] = Bucket{UpperBound: ub, Count: n}
	}
	out.Count = n + h.counts[len(latencyBounds)].Load()
	out.Sum = time.Duration(h.sum.Load())
	return out
}

// LatencyBuckets returns the upper bounds of the buckets of Stats.Latency,
// ascending: 5 ms, 10 ms, 25 ms, 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2.5 s,
// 5 s, 10 s, 30 s, 60 s and 120 s (and implicitly +Inf).
func LatencyBuckets() []time.Duration {
	return slices.Clone(latencyBounds[:])
}

// Histogram is a snapshot of a latency histogram in Prometheus' form.
type Histogram struct {
	// Buckets are cumulative: Buckets[i].Count counts the observations of
	// at most Buckets[i].UpperBound. Their bounds are LatencyBuckets.
	Buckets []Bucket
	// Count counts every observation: the +Inf bucket.
	Count uint64
	// Sum is the total of the observed durations.
	Sum time.Duration
}

// Bucket is one cumulative bucket of a Histogram.
type Bucket struct {
	UpperBound time.Duration
	Count      uint64
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
	// Waiting counts requests waiting now in the service's queue, for a
	// free slot or for a cold start. They are not in InFlight.
	Waiting int64
	// Requests counts every request received for the service's hosts,
	// whatever its outcome.
	Requests uint64
	// Throttled counts the 429 answers for overload: every instance was at
	// MaxConcurrency and the queue was full, or the request waited
	// QueueTimeout. They also count in Responses4xx.
	Throttled uint64
	// Unavailable counts 503 answers: paused, no healthy instance, or a
	// cold start that failed or did not finish in time. They also count in
	// Responses5xx.
	Unavailable uint64
	// Failed counts 502 and 504 answers the router wrote because an
	// instance could not be reached, failed, or did not answer in time.
	// They also count in Responses5xx.
	Failed uint64

	// Responses1xx … Responses5xx count the finished requests by the class
	// of the status the client got, whoever wrote it: the instance, or the
	// router (429, 502, 503, 504…), like App Runner's 2xxStatusResponses,
	// 4xxStatusResponses and 5xxStatusResponses. Responses1xx counts
	// upgraded connections (WebSocket), once they close. A request is
	// counted when it ends, so a streamed response counts once relayed.
	Responses1xx, Responses2xx, Responses3xx, Responses4xx, Responses5xx uint64
	// ClientClosed counts the requests whose client left before the
	// response (the 499 of the access log, seen by no client), queued ones
	// included. They are in no ResponsesNxx.
	ClientClosed uint64
	// Latency observes, for every response counted in Responses2xx to
	// Responses5xx, the time from the router receiving the request to the
	// end of the response (queueing included). The snapshot is read without
	// a lock: under load Sum may not yet include an observation that the
	// counts do, or the other way around.
	Latency Histogram
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
	st := rt.stats
	s := Stats{
		ServiceARN:   rt.serviceARN,
		Hosts:        slices.Clone(rt.hosts),
		At:           r.now(),
		InFlight:     st.inFlight.Load(),
		Waiting:      rt.queue.waiting.Load(),
		Requests:     st.requests.Load(),
		Throttled:    st.throttled.Load(),
		Unavailable:  st.unavailable.Load(),
		Failed:       st.failed.Load(),
		Responses1xx: st.responses[1].Load(),
		Responses2xx: st.responses[2].Load(),
		Responses3xx: st.responses[3].Load(),
		Responses4xx: st.responses[4].Load(),
		Responses5xx: st.responses[5].Load(),
		ClientClosed: st.responses[0].Load(),
		Latency:      st.latency.snapshot(),
		Instances:    make([]InstanceStats, len(rt.backends)),
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

// Services returns the ARNs of the services that have a route, sorted. It
// takes no lock.
func (r *Router) Services() []string {
	svcs := r.table.Load().services
	out := make([]string, 0, len(svcs))
	for arn := range svcs {
		out = append(out, arn)
	}
	slices.Sort(out)
	return out
}
