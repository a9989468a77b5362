package router

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync/atomic"
)

// Instance is one healthy instance of a service's active revision.
type Instance struct {
	// ID names the instance. It must be unique across every route of the
	// router; WaitIdle and Stats refer to instances by it.
	ID string
	// URL is where the instance listens, e.g. http://127.0.0.1:8080. Only
	// its scheme (http or https) and host are used: the request's path and
	// query are sent unchanged.
	URL *url.URL
}

// Route tells the router how to serve one ServiceUrl host.
type Route struct {
	// Host is the service's ServiceUrl host, e.g.
	// "abc123defg.us-east-1.localhost". Requests match it ignoring case, a
	// trailing dot and any port.
	Host string
	// ServiceARN identifies the service in Stats and logs.
	ServiceARN string
	// ServiceName names the service in error responses. If empty, the name
	// is taken from ServiceARN, or else Host is used.
	ServiceName string
	// Paused makes the router answer 503 "Service is paused" without
	// contacting any instance.
	Paused bool
	// MaxConcurrency is the most requests one instance serves at once; an
	// instance at its limit takes no more, and when every instance is at its
	// limit the router answers 429. Zero means no limit.
	MaxConcurrency int
	// Instances are the healthy instances that receive traffic. Empty means
	// the router answers 503 "no healthy instance".
	Instances []Instance
}

// route is the immutable, resolved form of a Route that the request path
// reads. Only the round-robin cursor and the counters behind pointers change.
type route struct {
	host           string // normalized
	serviceARN     string
	name           string // for error messages
	paused         bool
	maxConcurrency int64 // 0: no limit
	backends       []*backend
	stats          *hostStats // shared by successive routes of the same host
	next           atomic.Uint32
}

// SetRoute adds the route for rt.Host, or replaces it atomically. Requests
// already being served by instances that rt no longer lists complete
// normally; new requests go to rt's instances only. Counters in Stats carry
// over from the route being replaced, and so does each instance's in-flight
// count when the same ID and URL appear in both.
//
// SetRoute returns an error, and changes nothing, if rt.Host is empty, an
// instance has no ID or no http(s) URL, an ID appears twice, an ID is already
// used with another URL (by another route, or by an instance still
// draining), or MaxConcurrency is negative.
func (r *Router) SetRoute(rt Route) error {
	host := normalizeHost(rt.Host)
	if host == "" {
		return errors.New("router: route has no host")
	}
	if rt.MaxConcurrency < 0 {
		return fmt.Errorf("router: route %s: MaxConcurrency %d is negative", host, rt.MaxConcurrency)
	}
	seen := make(map[string]bool, len(rt.Instances))
	for _, in := range rt.Instances {
		if in.ID == "" {
			return fmt.Errorf("router: route %s: instance without an ID", host)
		}
		if seen[in.ID] {
			return fmt.Errorf("router: route %s: instance %s listed twice", host, in.ID)
		}
		seen[in.ID] = true
		if in.URL == nil || (in.URL.Scheme != "http" && in.URL.Scheme != "https") || in.URL.Host == "" {
			return fmt.Errorf("router: route %s: instance %s needs an http or https URL with a host", host, in.ID)
		}
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.routes.Load()
	prev := old[host]
	for _, in := range rt.Instances {
		if b := r.backends[in.ID]; b != nil && (b.url.Scheme != in.URL.Scheme || b.url.Host != in.URL.Host) {
			return fmt.Errorf("router: route %s: instance %s is already routed at %s", host, in.ID, b.url)
		}
	}

	next := &route{
		host:           host,
		serviceARN:     rt.ServiceARN,
		name:           serviceName(rt),
		paused:         rt.Paused,
		maxConcurrency: int64(rt.MaxConcurrency),
		backends:       make([]*backend, 0, len(rt.Instances)),
		stats:          &hostStats{},
	}
	if prev != nil {
		next.stats = prev.stats
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
	m := maps.Clone(old)
	m[host] = next
	r.routes.Store(&m)
	if prev != nil {
		r.unref(prev.backends)
	}
	return nil
}

// DeleteRoute removes the route for host (matched like request hosts), so
// its requests get 404. Requests in flight complete. Deleting an unknown
// host does nothing.
func (r *Router) DeleteRoute(host string) {
	host = normalizeHost(host)
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.routes.Load()
	prev := old[host]
	if prev == nil {
		return
	}
	m := maps.Clone(old)
	delete(m, host)
	r.routes.Store(&m)
	r.unref(prev.backends)
}

// unref drops one reference to each backend. A backend that no route
// references any more is retired: it takes no new request, and is forgotten
// once idle. The caller holds r.mu and has already published the routes that
// no longer reference the backends.
func (r *Router) unref(bs []*backend) {
	for _, b := range bs {
		b.refs--
		if b.refs > 0 {
			continue
		}
		// The store must come after the new routes were published: a request
		// that acquires b and then sees retired goes back to the route map
		// and must find the new route there (see acquire).
		b.retired.Store(true)
		if b.inFlight.Load() == 0 {
			delete(r.backends, b.id)
		}
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
	m := *r.routes.Load()
	h = trimHost(h)
	if rt, ok := m[h]; ok {
		return rt
	}
	if l := lower(h); l != h {
		return m[l]
	}
	return nil
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
	return normalizeHost(rt.Host)
}
