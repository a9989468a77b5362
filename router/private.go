package router

import (
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
)

// ingress maps the domain names of VPC ingress connections to their
// services. Like the route table, a map is never modified once stored.
type ingress struct {
	mu sync.Mutex // serializes writers
	m  atomic.Pointer[map[string]string]
}

// SetIngress makes the Private handler serve the service at domain (a VPC
// ingress connection's DomainName), whether or not its route is Private.
// Matching ignores case, a trailing dot and any port.
func (r *Router) SetIngress(domain, serviceARN string) error {
	h := normalizeHost(domain)
	if h == "" || serviceARN == "" {
		return fmt.Errorf("router: ingress %q for %q: a domain and a service are required", domain, serviceARN)
	}
	r.ingress.mu.Lock()
	defer r.ingress.mu.Unlock()
	next := map[string]string{}
	if cur := r.ingress.m.Load(); cur != nil {
		next = maps.Clone(*cur)
	}
	next[h] = serviceARN
	r.ingress.m.Store(&next)
	return nil
}

// RemoveIngress stops serving domain on the Private handler. Removing an
// unknown domain does nothing.
func (r *Router) RemoveIngress(domain string) {
	h := normalizeHost(domain)
	r.ingress.mu.Lock()
	defer r.ingress.mu.Unlock()
	cur := r.ingress.m.Load()
	if cur == nil {
		return
	}
	if _, ok := (*cur)[h]; !ok {
		return
	}
	next := maps.Clone(*cur)
	delete(next, h)
	r.ingress.m.Store(&next)
}

// Private returns the handler of the router's private listeners (those a
// VPC reaches its ingress connections through): it serves the domains
// SetIngress registered, each as its service's route, and answers 404 for
// every other host, public services' included.
func (r *Router) Private() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var rt *route
		if m := r.ingress.m.Load(); m != nil {
			if arn, ok := (*m)[normalizeHost(req.Host)]; ok {
				rt = r.table.Load().services[arn]
			}
		}
		if rt == nil {
			r.reply(w, req, http.StatusNotFound, fmt.Sprintf("No service has the host %q.", trimHost(req.Host)))
			return
		}
		r.serve(w, req, rt)
	})
}
