package daemon

import (
	"context"
	"net"

	"github.com/openrunner/openrunner/cluster"
	"github.com/openrunner/openrunner/router"
)

// joinCluster, when several servers may share the store, puts a Cluster
// between the reconciler and the router (routes are shared through the
// store) and between the API, the webhooks and the reconciler (kicks and
// pushes reach the lease holder through notifications).
func (d *Daemon) joinCluster(rtr *router.Router) {
	d.holding = d.reconciler.Holding // read by health and metrics, which outlive the reconciler's Close
	if !d.stores.Shared {
		return
	}
	d.cluster = cluster.New(cluster.Options{
		Holder: d.owner, Routes: d.stores.Routes, Notifier: d.stores.Notifier, Local: rtr,
		Kick: d.reconciler.Kick, Push: d.reconciler.AutoDeploy, Poke: d.reconciler.Poke,
		Resync: d.cfg.ResyncInterval, Logger: d.logger,
	})
	d.reconciler.Router = d.cluster
}

// openCluster starts the Cluster, if there is one, once the reconciler
// runs; webhooks then deploy pushes on whichever server holds the lease.
func (d *Daemon) openCluster(ctx context.Context) error {
	if d.cluster == nil {
		return nil
	}
	d.hooks.AutoDeploy = d.cluster.AutoDeploy
	return d.cluster.Open(ctx)
}

// publishIP is the address the Docker runtime publishes instance ports on:
// the advertised address when it is an IP (other servers' routers and
// health checks reach the instances there), else its default, loopback.
func (d *Daemon) publishIP() string {
	if ip := net.ParseIP(d.cfg.AdvertiseAddress); ip != nil {
		return ip.String()
	}
	return ""
}

// onDemand is the router's call for a scaled-to-zero service with waiting
// requests: this server's reconciler, and with a Cluster the holder's.
func (d *Daemon) onDemand(serviceARN string) {
	if d.cluster != nil {
		d.cluster.Poke(serviceARN)
		return
	}
	d.reconciler.Poke(serviceARN)
}
