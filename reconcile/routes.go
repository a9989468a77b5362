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

// hosts are the host names a service answers on: its ServiceUrl host and
// the hosts of its active custom domains (www names and wildcards too).
func (c *Controller) hosts(svc *openrunner.Service) []string {
	hosts := []string{svc.URL(c.BaseDomain)}
	if c.CustomHosts != nil {
		hosts = append(hosts, c.CustomHosts(svc.ARN())...)
	}
	return hosts
}

// servingRoute is the route of a running service: its hosts, sending
// traffic to the ready endpoints of rev. With none, the router answers 503,
// or, for a scale-to-zero service, holds the requests while an instance
// starts. A traced revision's requests are traced.
func (c *Controller) servingRoute(svc *openrunner.Service, ready []openrunner.Endpoint, rev *openrunner.Revision) router.Route {
	rt := router.Route{ServiceARN: svc.ARN(), ServiceName: svc.Name, Hosts: c.hosts(svc),
		MaxConcurrency: maxConcurrency(svc), Activate: svc.Desired.ScaleToZero, Private: private(svc), Trace: routeTrace(svc, rev)}
	for _, ep := range ready {
		rt.Instances = append(rt.Instances, router.Instance{ID: ep.InstanceID, URL: &url.URL{Scheme: "http", Host: ep.Addr}})
	}
	return rt
}

// pausedRoute answers 503 "paused" on the service's hosts.
func (c *Controller) pausedRoute(svc *openrunner.Service) router.Route {
	return router.Route{ServiceARN: svc.ARN(), ServiceName: svc.Name, Hosts: c.hosts(svc), Paused: true, Private: private(svc)}
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
