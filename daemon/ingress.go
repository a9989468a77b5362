package daemon

import (
	"context"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/ingress"
	"github.com/openrunner/openrunner/logs"
	"github.com/openrunner/openrunner/router"
)

// openIngress starts the controller of VPC ingress connections: their
// endpoints on the runtime's networks (Docker only) and the router's
// private listeners.
func (d *Daemon) openIngress(ctx context.Context, svc *api.Server, rtr *router.Router) {
	d.ingress = &ingress.Controller{
		VPC: svc.VPC, Router: rtr, Network: d.reconciler.VPC.Network, Logger: d.logger,
		Event: func(arn, line string) { _ = d.logs.AppendEvent(arn, logs.StreamEvents, line) },
	}
	if ir, ok := d.runtime.(openrunner.IngressRuntime); ok {
		d.ingress.Endpoints = ir
	} else {
		d.ingress.Unsupported = "VPC ingress connections need the docker runtime: the " + d.runtime.Name() +
			" runtime has no private networks (run openrunner serve --runtime docker)"
	}
	d.ingress.Open(ctx)
	svc.IngressChanged = d.ingress.Poke
}
