package reconcile

import (
	"net/url"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/router"
)

// Router is what the reconciler asks of the data plane (package router).
type Router interface {
	// SetRoute replaces the service's route.
	SetRoute(router.Route) error
	// DeleteRoute removes the service's route: its hosts answer 404.
	DeleteRoute(serviceARN string)
}

// hosts are the host names a service answers on.
func hosts(svc *openrunner.Service, baseDomain string) []string {
	return []string{svc.URL(baseDomain)}
}

// servingRoute is the route of a running service: its hosts, sending
// traffic to the ready endpoints of rev. With none, the router answers 503,
// or, for a scale-to-zero service, holds the requests while an instance
// starts. A traced revision's requests are traced.
func servingRoute(svc *openrunner.Service, baseDomain string, ready []openrunner.Endpoint, rev *openrunner.Revision) router.Route {
	rt := router.Route{ServiceARN: svc.ARN(), ServiceName: svc.Name, Hosts: hosts(svc, baseDomain),
		MaxConcurrency: maxConcurrency(svc), Activate: svc.Desired.ScaleToZero, Trace: routeTrace(svc, rev)}
	for _, ep := range ready {
		rt.Instances = append(rt.Instances, router.Instance{ID: ep.InstanceID, URL: &url.URL{Scheme: "http", Host: ep.Addr}})
	}
	return rt
}

// pausedRoute answers 503 "paused" on the service's hosts.
func pausedRoute(svc *openrunner.Service, baseDomain string) router.Route {
	return router.Route{ServiceARN: svc.ARN(), ServiceName: svc.Name, Hosts: hosts(svc, baseDomain), Paused: true}
}

// DefaultMaxConcurrency is App Runner's default requests per instance.
const DefaultMaxConcurrency = 100

func maxConcurrency(svc *openrunner.Service) int {
	if n := svc.Desired.MaxConcurrency; n > 0 {
		return n
	}
	return DefaultMaxConcurrency
}
