package router

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
)

// Instance is one healthy instance of a service's active revision.
type Instance struct {
	// ID names the instance. WaitIdle, Drain and Stats refer to instances by
	// it. An ID means one instance throughout the router: every route that
	// lists it must give the same URL.
	ID string
	// URL is where the instance listens, e.g. http://127.0.0.1:8080. Only
	// its scheme (http or https) and host are used: the request's path and
	// query are sent unchanged.
	URL *url.URL
}

// Route tells the router how to serve one service.
type Route struct {
	// ServiceARN identifies the service: it is the route's key in SetRoute,
	// DeleteRoute and Stats, and names the service in logs. Required.
	ServiceARN string
	// ServiceName names the service in error responses. If empty, the name
	// is taken from ServiceARN (arn:aws:apprunner:…:service/<name>/<id>),
	// or else ServiceARN itself is used.
	ServiceName string
	// Hosts are the hosts the service answers on: its ServiceUrl host, e.g.
	// "abc123defg.us-east-1.localhost", and its custom domains. At least
	// one is required. Requests match them ignoring case, a trailing dot and
	// any port; hosts equal under that rule count once. A host belongs to
	// one service at a time.
	Hosts []string
	// Paused makes the router answer 503 "Service is paused" without
	// contacting any instance.
	Paused bool
	// MaxConcurrency is the most requests one instance serves at once; an
	// instance at its limit takes no more, and when every instance is at its
	// limit requests wait in the service's queue for a slot (see
	// Options.QueueSize and Options.QueueTimeout), and get 429 if none
	// frees up in time. Zero means no limit.
	MaxConcurrency int
	// Instances are the healthy instances that receive traffic. Empty means
	// the router answers 503 "no healthy instance", unless Activate is set.
	Instances []Instance
	// Activate says that the service scaled to zero and starts an instance
	// on demand: while Instances is empty, requests wait in the service's
	// queue (up to Options.ColdStartTimeout, then 503) and the router calls
	// Options.OnDemand; the SetRoute that lists the new instance serves them
	// in order. A SetRoute with Activate false and no instances answers the
	// waiting requests 503 (the cold start failed). Activate does nothing
	// while the route has instances.
	Activate bool
	// Private makes the service unreachable through the router's own
	// handler (every public listener): its hosts answer 404 as unknown
	// hosts do. It is served only by the Private handler, at the domain
	// names SetIngress gives it.
	Private bool
	// Trace, when set, traces the route's requests (see Trace and
	// Options.Tracers).
	Trace *Trace
}

// route is the immutable, resolved form of a Route that the request path
// reads. Only the round-robin cursor and the counters behind pointers change.
type route struct {
	serviceARN     string
	hosts          []string // normalized, deduplicated, in Route order
	name           string   // for error messages
	paused         bool
	activate       bool
	private        bool
	maxConcurrency int64 // 0: no limit
	backends       []*backend
	stats          *serviceStats // shared by successive routes of the same service
	queue          *waitQueue    // likewise
	next           atomic.Uint32
	trace          *traceRoute // nil: not traced
}

// without returns a copy of rt that lacks its i-th backend. The copy shares
// rt's counters; the caller adjusts the backend's references.
func (rt *route) without(i int) *route {
	return &route{
		serviceARN:     rt.serviceARN,
		hosts:          rt.hosts,
		name:           rt.name,
		paused:         rt.paused,
		activate:       rt.activate,
		private:        rt.private,
		maxConcurrency: rt.maxConcurrency,
		backends:       slices.Delete(slices.Clone(rt.backends), i, i+1),
		stats:          rt.stats,
		queue:          rt.queue,
		trace:          rt.trace,
	}
}

// table is the set of routes, indexed both ways. A table is never modified
// once published: writers build a new one under Router.mu and store it, so
// the request path and Stats read it without a lock.
//
// Invariant: hosts[h] == rt exactly when rt == services[rt.serviceARN] and
// rt.hosts contains h.
type table struct {
	hosts    map[string]*route // normalized host → route
	services map[string]*route // ServiceARN → route
}

// clone returns a copy of t for a writer to modify before publishing it.
func (t *table) clone() *table {
	return &table{hosts: maps.Clone(t.hosts), services: maps.Clone(t.services)}
}

// SetRoute adds the route of rt.ServiceARN, or replaces it atomically.
// Requests already being served by instances that rt no longer lists
// complete normally; new requests go to rt's instances only. Hosts that the
// previous route listed and rt does not stop routing to the service at once
// (their requests get 404). Counters in Stats carry over from the route
// being replaced, and so does each instance's in-flight count when the same
// ID and URL appear in both, and so does the service's queue: requests
// waiting in it get the slots of rt's instances, or 503 if rt is paused or
// has no instances and does not activate.
//
// SetRoute returns an error, and changes nothing, if rt.ServiceARN is
// empty, rt.Hosts is empty or holds an empty host, one of rt's hosts is
// routed to another service (that service must drop it first), an instance
// has no ID or no http(s) URL, an ID appears twice, an ID is already used
// with another URL (by another route, or by an instance still draining), or
// MaxConcurrency is negative.
func (r *Router) SetRoute(rt Route) error {
	svc := rt.ServiceARN
	if svc == "" {
		return errors.New("router: route has no ServiceARN")
	}
	if len(rt.Hosts) == 0 {
		return fmt.Errorf("router: route %s: no host", svc)
	}
	hosts := make([]string, 0, len(rt.Hosts))
	for _, h := range rt.Hosts {
		n := normalizeHost(h)
		if n == "" {
			return fmt.Errorf("router: route %s: empty host %q", svc, h)
		}
		if !slices.Contains(hosts, n) {
			hosts = append(hosts, n)
		}
	}
	if rt.MaxConcurrency < 0 {
		return fmt.Errorf("router: route %s: MaxConcurrency %d is negative", svc, rt.MaxConcurrency)
	}
	seen := make(map[string]bool, len(rt.Instances))
	for _, in := range rt.Instances {
		if in.ID == "" {
			return fmt.Errorf("router: route %s: instance without an ID", svc)
		}
		if seen[in.ID] {
			return fmt.Errorf("router: route %s: instance %s listed twice", svc, in.ID)
		}
		seen[in.ID] = true
		if in.URL == nil || (in.URL.Scheme != "http" && in.URL.Scheme != "https") || in.URL.Host == "" {
			return fmt.Errorf("router: route %s: instance %s needs an http or https URL with a host", svc, in.ID)
		}
	}

	q, err := r.setRoute(rt, hosts)
	if err != nil {
		return err
	}
	// After publishing, without Router.mu (see dispatch).
	r.kick(q)
	return nil
}

// setRoute is SetRoute once rt is validated; it returns the service's
// queue.
func (r *Router) setRoute(rt Route, hosts []string) (*waitQueue, error) {
	svc := rt.ServiceARN
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.table.Load()
	prev := old.services[svc]
	for _, h := range hosts {
		if o := old.hosts[h]; o != nil && o.serviceARN != svc {
			return nil, fmt.Errorf("router: route %s: host %s is already routed to service %s", svc, h, o.serviceARN)
		}
	}
	for _, in := range rt.Instances {
		if b := r.backends[in.ID]; b != nil && (b.url.Scheme != in.URL.Scheme || b.url.Host != in.URL.Host) {
			return nil, fmt.Errorf("router: route %s: instance %s is already routed at %s", svc, in.ID, b.url)
		}
	}

	next := &route{
		serviceARN:     svc,
		hosts:          hosts,
		name:           serviceName(rt),
		paused:         rt.Paused,
		activate:       rt.Activate,
		private:        rt.Private,
		maxConcurrency: int64(rt.MaxConcurrency),
		backends:       make([]*backend, 0, len(rt.Instances)),
		stats:          &serviceStats{},
		queue:          newWaitQueue(svc),
		trace:          r.newTraceRoute(rt),
	}
	if prev != nil {
		next.stats = prev.stats
		next.queue = prev.queue
	}
	// Reference the new instances before publishing, and release the old
	// ones after, so an instance in both routes is never retired.
	for _, in := range rt.Instances {
		b := r.backends[in.ID]
		if b == nil {
			b = newBackend(in.ID, in.URL)
			r.backends[in.ID] = b
		}
		b.refs++
		b.retired.Store(false)
		next.backends = append(next.backends, b)
	}
	t := old.clone()
	if prev != nil {
		for _, h := range prev.hosts {
			delete(t.hosts, h)
		}
	}
	for _, h := range hosts {
		t.hosts[h] = next
	}
	t.services[svc] = next
	r.table.Store(t)
	if prev != nil {
		for _, b := range prev.backends {
			r.unref(b)
		}
	}
	if prev != nil && prev.trace != nil && next.trace == nil {
		r.forgetTracer(svc) // no longer traced
	}
	return next.queue, nil
}

// DeleteRoute removes the route of the service, so requests to its hosts
// get 404, and resets its Stats. Requests in flight complete; requests
// waiting in the service's queue get 404. Deleting an unknown service does
// nothing.
func (r *Router) DeleteRoute(serviceARN string) {
	if q := r.deleteRoute(serviceARN); q != nil {
		r.kick(q)
	}
	r.forgetTracer(serviceARN)
}

// deleteRoute is DeleteRoute under Router.mu; it returns the deleted
// route's queue.
func (r *Router) deleteRoute(serviceARN string) *waitQueue {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.table.Load()
	prev := old.services[serviceARN]
	if prev == nil {
		return nil
	}
	t := old.clone()
	for _, h := range prev.hosts {
		delete(t.hosts, h)
	}
	delete(t.services, serviceARN)
	r.table.Store(t)
	for _, b := range prev.backends {
		r.unref(b)
	}
	return prev.queue
}

// unroute takes the instance out of every route that lists it, as SetRoute
// would without it, and returns its backend, or nil if the router does not
// know the ID, and the queues of the routes it changed.
func (r *Router) unroute(instanceID string) (*backend, []*waitQueue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.backends[instanceID]
	if b == nil || b.refs == 0 {
		return b, nil // unknown, or already out of every route and draining
	}
	var queues []*waitQueue
	old := r.table.Load()
	t := old.clone()
	n := 0
	for svc, rt := range old.services {
		i := slices.Index(rt.backends, b)
		if i < 0 {
			continue
		}
		next := rt.without(i)
		queues = append(queues, next.queue)
		t.services[svc] = next
		for _, h := range rt.hosts {
			t.hosts[h] = next
		}
		n++
	}
	r.table.Store(t)
	for range n {
		r.unref(b)
	}
	return b, queues
}

// unref drops one reference to b. A backend that no route references any
// more is retired: it takes no new request, and is forgotten once idle. The
// caller holds r.mu and has already published the routes that no longer
// reference b.
func (r *Router) unref(b *backend) {
	b.refs--
	if b.refs > 0 {
		return
	}
	// The store must come after the new routes were published: a request
	// that acquires b and then sees retired goes back to the route table
	// and must find the new route there (see acquire).
	b.retired.Store(true)
	if b.inFlight.Load() == 0 {
		delete(r.backends, b.id)
	}
}

// forget removes b from the backend registry if it is retired and idle. It
// is called, rarely, from the request path when a retired backend's last
// request ends.
func (r *Router) forget(b *backend) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.backends[b.id] == b && b.retired.Load() && b.inFlight.Load() == 0 {
		delete(r.backends, b.id)
	}
}

// lookup returns the route for the request host h, or nil. It allocates
// only when h needs lowercasing.
func (r *Router) lookup(h string) *route {
	m := r.table.Load().hosts
	h = trimHost(h)
	if rt, ok := m[h]; ok {
		return rt
	}
	if l := lower(h); l != h {
		if rt, ok := m[l]; ok {
			return rt
		}
		h = l
	}
	return lookupWildcard(m, h)
}

// lookupWildcard returns the route of the wildcard host "*.<parent>" that
// covers the lowercase host h (one label under parent, as a wildcard
// certificate covers), or nil.
func lookupWildcard(m map[string]*route, h string) *route {
	i := strings.IndexByte(h, '.')
	if i <= 0 || len(m) == 0 {
		return nil
	}
	return m["*"+h[i:]]
}

// Serves reports whether a route lists host (matched as request hosts are:
// ignoring case, a trailing dot and any port). The TLS listener asks it
// before issuing a certificate for a name.
func (r *Router) Serves(host string) bool {
	return r.lookup(host) != nil
}

// current returns the service's route as it is now, or nil if it was
// deleted.
func (r *Router) current(rt *route) *route {
	return r.table.Load().services[rt.serviceARN]
}

// normalizeHost returns the routing key of a host: lowercase, without port
// or trailing dot.
func normalizeHost(h string) string {
	return lower(trimHost(h))
}

// trimHost strips the port and a trailing dot from a Host header value.
func trimHost(h string) string {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return strings.TrimSuffix(h, ".")
}

// lower is strings.ToLower for the ASCII host names routes use; it returns h
// itself, without allocating, when h has no upper-case letter.
func lower(h string) string {
	for i := 0; i < len(h); i++ {
		if c := h[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// serviceName picks the name that error responses show for rt.
func serviceName(rt Route) string {
	if rt.ServiceName != "" {
		return rt.ServiceName
	}
	// arn:aws:apprunner:<region>:<account>:service/<name>/<id>
	if _, rest, ok := strings.Cut(rt.ServiceARN, ":service/"); ok {
		if name, _, _ := strings.Cut(rest, "/"); name != "" {
			return name
		}
	}
	return rt.ServiceARN
}
