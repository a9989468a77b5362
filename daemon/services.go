package daemon

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/api"
	"github.com/openrunner/openrunner/autoscale"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/handshake"
	"github.com/openrunner/openrunner/logs"
	"github.com/openrunner/openrunner/metrics"
	"github.com/openrunner/openrunner/process"
	"github.com/openrunner/openrunner/reconcile"
	"github.com/openrunner/openrunner/router"
	"github.com/openrunner/openrunner/source"
)

// openServices chooses and opens the runtime, the router and the
// reconciler, and gives the API the service store and the deployer.
// Without a runtime the service operations explain what is missing.
func (d *Daemon) openServices(ctx context.Context, svc *api.Server, ext *api.Extensions) error {
	owner, err := d.ownerID(ctx)
	if err != nil {
		return err
	}
	d.owner = owner
	if d.cfg.Runtime == "none" {
		svc.RuntimeError = "This OpenRunner runs no services (--runtime none)."
		return nil
	}
	services := d.stores.Services
	if d.logs, err = logs.Open(filepath.Join(d.cfg.DataDir, "logs"), logs.Options{Now: d.cfg.Now, Logger: d.logger}); err != nil {
		return err
	}
	d.reconciler = &reconcile.Controller{
		Services:     services,
		Leases:       d.stores.Leases,
		Events:       d.logs,
		BaseDomain:   d.cfg.BaseDomain,
		Holder:       owner,
		Connections:  d.hooks.Connections,
		PollInterval: d.cfg.PollInterval,
		// Decisions every second rather than Knative's 2 s: a decision
		// costs well under a microsecond per service, and scale-out
		// reacts a second sooner.
		Autoscaler: &autoscale.Autoscaler{Stable: d.cfg.Autoscale.StableWindow, Panic: d.cfg.Autoscale.PanicWindow,
			Tick: time.Second, Now: d.cfg.Now},
		ScaleToZeroAfter: d.cfg.Autoscale.ScaleToZeroAfter,
		LeaseTTL:         d.cfg.LeaseTTL,
		Resync:           d.cfg.ResyncInterval,
		Secrets:          d.secrets,
		Sealer:           d.vault,
		Logger:           d.logger,
		Now:              d.cfg.Now,
	}
	d.reconciler.VPC = reconcile.VPC{Connectors: svc.VPC, Networks: d.cfg.VPCNetworks}
	d.reconciler.OTLPEndpoint = d.cfg.OTLPEndpoint
	tracers, err := d.openTracing()
	if err != nil {
		return err
	}
	rtr := router.New(router.Options{Logger: d.logger, Now: d.cfg.Now, OnDemand: d.onDemand,
		QueueTimeout: d.cfg.Autoscale.QueueTimeout, QueueSize: d.cfg.Autoscale.QueueSize,
		Tracers: tracers})
	d.reconciler.Router = rtr
	d.joinCluster(rtr) // several servers on one database
	d.reconciler.Demand = func(arn string) (float64, bool) {
		st, ok := rtr.Stats(arn)
		return float64(st.InFlight + st.Waiting), ok
	}
	hooks := openrunner.RuntimeHooks{
		Changed: d.reconciler.Kick,
		Drain:   func(ctx context.Context, id string) { _ = rtr.Drain(ctx, id) },
		Output: func(in *openrunner.Instance) func(openrunner.LogLine) {
			return d.logs.ApplicationSink(in.ServiceARN, in.ID)
		},
	}
	if d.runtime, err = d.openRuntime(ctx, owner, hooks); err != nil {
		return err
	}
	d.reconciler.Runtime = d.runtime
	d.reconciler.Source = reconcile.Source{
		Fetcher:           &source.Fetcher{Dir: filepath.Join(d.cfg.DataDir, "sources", "git")},
		Credentials:       d.handshakes,
		Dir:               filepath.Join(d.cfg.DataDir, "sources", "snapshots"),
		AllowEndOfSupport: d.cfg.AllowEndOfSupport,
		ProviderURLs:      d.providerURLs(),
		RegisterWebhook:   d.hooks.Register,
		UnregisterWebhook: d.hooks.Unregister,
	}
	if b, ok := d.runtime.(openrunner.Builder); ok {
		d.reconciler.Source.Builder = b
	}
	d.hooks.Services, d.hooks.AutoDeploy = services, d.reconciler.AutoDeploy
	d.domains = d.newDomains(services, rtr)
	d.reconciler.CustomHosts = d.domains.Hosts
	if err := d.reconciler.Open(ctx); err != nil {
		return err
	}
	if err := d.openCluster(ctx); err != nil {
		return err
	}
	if d.routerLn, err = net.Listen("tcp", d.cfg.RouterListen); err != nil {
		return fmt.Errorf("router: %w", err)
	}
	// The edge (package edge) serves the router over HTTPS and wraps its
	// plain listener; custom domains plug their hooks into d.tls.edge
	// before serveRouterTLS.
	if err := d.openRouterTLS(rtr); err != nil {
		return err
	}
	if err := d.openDomains(ctx, svc); err != nil {
		return err
	}
	if err := d.serveRouterTLS(); err != nil {
		return err
	}
	d.routerServer = d.httpServer(d.tls.edge.HTTPHandler(), slog.NewLogLogger(d.logger.Handler(), slog.LevelWarn))
	d.routerServed = make(chan error, 1)
	go func() { d.routerServed <- d.routerServer.Serve(d.routerLn) }()
	d.openIngress(ctx, svc, rtr)
	d.metrics = d.serviceMetrics(rtr, services)
	svc.Services, svc.Deployer = services, d.reconciler
	if d.cluster != nil {
		svc.Deployer = d.cluster
	}
	ext.Logs, ext.Services = d.logs, services
	return nil
}

// openRuntime opens the runtime --runtime names: Docker (or, when none was
// named and no Docker engine answers, host processes) or host processes.
func (d *Daemon) openRuntime(ctx context.Context, owner string, hooks openrunner.RuntimeHooks) (openrunner.Runtime, error) {
	switch d.cfg.Runtime {
	case "", "docker":
		rt, err := docker.New(docker.Options{Host: d.cfg.DockerHost, Owner: owner, Logger: d.logger, Now: d.cfg.Now, PublishIP: d.publishIP(),
			Mirrors: d.cfg.RegistryMirrors, Registries: d.cfg.RegistryCredentials, RuntimeImages: d.cfg.RuntimeImages,
			IngressProxy: d.cfg.IngressProxy})
		if err == nil {
			err = rt.Open(ctx, hooks)
		}
		if err == nil {
			return rt, nil
		}
		if d.cfg.Runtime == "docker" {
			return nil, err
		}
		d.logger.Info("no Docker engine answers; services run as host processes (--runtime process)", "docker", err)
	case "process":
	case "kubernetes":
		return d.openKubernetes(ctx, owner, hooks)
	default:
		return nil, fmt.Errorf("--runtime must be docker, process, kubernetes or none, got %q", d.cfg.Runtime)
	}
	rt, err := process.New(process.Options{Dir: filepath.Join(d.cfg.DataDir, "process"), BuildDir: filepath.Join(d.cfg.DataDir, "builds"),
		Owner: owner, Logger: d.logger, Now: d.cfg.Now})
	if err != nil {
		return nil, err
	}
	return rt, rt.Open(ctx, hooks)
}

// providerURLs are the providers' web URLs by ProviderType: repositories
// must be there to be fetched with a connection's token.
func (d *Daemon) providerURLs() map[string]string {
	return map[string]string{
		openrunner.ProviderGitHub:    strings.TrimRight(cmp.Or(d.cfg.GitHub.URL, handshake.DefaultGitHubURL), "/"),
		openrunner.ProviderBitbucket: strings.TrimRight(cmp.Or(d.cfg.Bitbucket.URL, handshake.DefaultBitbucketURL), "/"),
	}
}

// AutoscaleConfig configures the autoscaler and the router's overload
// queue. Zero fields take the defaults.
type AutoscaleConfig struct {
	// StableWindow and PanicWindow are the autoscaler's windows (60 s and
	// 6 s by default, Knative's).
	StableWindow, PanicWindow time.Duration
	// ScaleToZeroAfter is how long a scale-to-zero service stays idle
	// before it goes to zero, unless its configuration says.
	ScaleToZeroAfter time.Duration
	// QueueTimeout and QueueSize bound the requests waiting for an
	// instance when every one is at its maximum concurrency.
	QueueTimeout time.Duration
	QueueSize    int
}

// serviceMetrics lists the figures of every running or paused service for
// /_openrunner/metrics: its active and desired instances from the store
// and the runtime, its traffic from the router.
func (d *Daemon) serviceMetrics(rtr *router.Router, services openrunner.ServiceService) metrics.Source {
	return func(ctx context.Context) ([]metrics.Service, error) {
		list, err := services.FindServicesByStatus(ctx, openrunner.ServiceRunning, openrunner.ServicePaused, openrunner.ServiceOperationInProgress)
		if err != nil {
			return nil, err
		}
		out := make([]metrics.Service, 0, len(list))
		for _, svc := range list {
			m := metrics.Service{Name: svc.Name, ARN: svc.ARN(), Desired: svc.Desired.Count()}
			if svc.Status == openrunner.ServicePaused {
				m.Desired = 0
			}
			if svc.Active != nil {
				if revs, err := d.runtime.Revisions(ctx, svc.ARN()); err == nil {
					for _, r := range revs {
						if r.RevisionID == svc.Active.ID {
							m.Active = len(r.Ready)
						}
					}
				}
			}
			if st, ok := rtr.Stats(svc.ARN()); ok {
				m.Concurrency = float64(st.InFlight + st.Waiting)
				m.Throttled = st.Throttled
				m.Responses = map[string]uint64{"2xx": st.Responses2xx, "4xx": st.Responses4xx, "5xx": st.Responses5xx}
				m.Latency = metrics.Histogram{Buckets: map[float64]uint64{}, Count: st.Latency.Count, Sum: st.Latency.Sum.Seconds()}
				for _, b := range st.Latency.Buckets {
					m.Latency.Buckets[b.UpperBound.Seconds()] = b.Count
				}
			}
			out = append(out, m)
		}
		return out, nil
	}
}
