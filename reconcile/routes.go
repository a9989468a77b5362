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
// traffic to the ready endpoints. With none, the router answers 503, or,
// for a scale-to-zero service, holds the requests while an instance starts.
func servingRoute(svc *openrunner.Service, baseDomain string, ready []openrunner.Endpoint) router.Route {
	rt := router.Route{ServiceARN: svc.ARN(), ServiceName: svc.Name, Hosts: hosts(svc, baseDomain),
		MaxConcurrency: maxConcurrency(svc), Activate: svc.Desired.ScaleToZero, Private: private(svc)}
	for _, ep := range ready {
		rt.Instances = append(rt.Instances, router.Instance{ID: ep.InstanceID, URL: &url.URL{Scheme: "http", Host: ep.Addr}})
	}
	return rt
}

// pausedRoute answers 503 "paused" on the service's hosts.
func pausedRoute(svc *openrunner.Service, baseDomain string) router.Route {
	return router.Route{ServiceARN: svc.ARN(), ServiceName: svc.Name, Hosts: hosts(svc, baseDomain), Paused: true, Private: private(svc)}
}

// DefaultMaxConcurrency is App Runner's default requests per instance.
const DefaultMaxConcurrency = 100

func maxConcurrency(svc *openrunner.Service) int {
	if n := svc.Desired.MaxConcurrency; n > 0 {
		return n
	}
	return DefaultMaxConcurrency
}

// private reports whether the service is reachable only through its VPC
// ingress connection (IsPubliclyAccessible false).
func private(svc *openrunner.Service) bool {
	n := svc.Config.Network
	return n.EgressType != "" && !n.IsPubliclyAccessible
}
