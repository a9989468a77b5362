// Package cluster makes the servers that share one database act as one.
// Kicks and pushes reach the server that reconciles a service (its lease
// holder) through the database's notifications, and every server's router
// learns the routes the lease holders set, from the store: an instance
// started by one server is routed to by all. The periodic resync backs up
// every notification, so a lost one delays, and never loses, a change.
package cluster

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/router"
)

// The notification channels. Payloads are "<holder> <service ARN>", so a
// server skips its own.
const (
	KickChannel  = "openrunner_kick"
	PushChannel  = "openrunner_push"
	PokeChannel  = "openrunner_poke"
	RouteChannel = "openrunner_routes"
)

// Options configure a Cluster.
type Options struct {
	// Holder names this server, as in leases.
	Holder   string
	Routes   openrunner.RouteService
	Notifier openrunner.Notifier
	// Local is this server's router.
	Local *router.Router
	// Kick, Push and Poke reach this server's reconciler
	// (Controller.Kick, Controller.AutoDeploy, Controller.Poke).
	Kick, Push, Poke func(serviceARN string)
	// Resync is how often the routes are read again without a
	// notification; default 10 s.
	Resync time.Duration
	Logger *slog.Logger
}

// Cluster is this server's part of the cluster. It is the reconciler's
// Router (it routes locally and shares the route) and the API's and
// webhooks' Deployer (it kicks locally and notifies the others).
type Cluster struct {
	o Options

	mu sync.Mutex
	// published holds the routes this server stored as lease holder, and
	// applied the other servers' routes its router serves; both by ARN.
	published map[string]known
	applied   map[string]known
	// unshared holds the routes this server deleted locally but could not
	// delete from the store yet.
	unshared map[string]bool

	syncs  chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type known struct {
	doc     []byte
	version int64
}

// New returns a Cluster; Open starts it.
func New(o Options) *Cluster {
	if o.Resync <= 0 {
		o.Resync = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Cluster{o: o, published: map[string]known{}, applied: map[string]known{}, unshared: map[string]bool{},
		syncs: make(chan struct{}, 1)}
}

// Open reads the routes once and starts listening for notifications.
func (c *Cluster) Open(ctx context.Context) error {
	if err := c.sync(ctx); err != nil {
		return err
	}
	ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.o.Notifier.Listen(ctx, []string{KickChannel, PushChannel, PokeChannel, RouteChannel}, c.receive, c.wantSync)
	}()
	go func() {
		defer c.wg.Done()
		c.syncLoop(ctx)
	}()
	return nil
}

// Close stops listening.
func (c *Cluster) Close() {
	if c.cancel != nil {
		c.cancel()
		c.wg.Wait()
	}
}

// Kick queues a pass of the service here and tells the other servers, one
// of which may hold its lease.
func (c *Cluster) Kick(serviceARN string) {
	c.o.Kick(serviceARN)
	c.notify(KickChannel, serviceARN)
}

// AutoDeploy tells this server's reconciler and the others that the
// service's branch may have new commits.
func (c *Cluster) AutoDeploy(serviceARN string) {
	c.o.Push(serviceARN)
	c.notify(PushChannel, serviceARN)
}

// Poke tells this server's reconciler and the others that requests wait
// for a scaled-to-zero service: its holder starts an instance at once.
func (c *Cluster) Poke(serviceARN string) {
	c.o.Poke(serviceARN)
	c.notify(PokeChannel, serviceARN)
}

func (c *Cluster) notify(channel, arn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.o.Notifier.Notify(ctx, channel, c.o.Holder+" "+arn); err != nil {
		// The others' resync finds the change.
		c.o.Logger.Warn("cluster: notify", "channel", channel, "service", arn, "error", err)
	}
}

// receive handles one notification.
func (c *Cluster) receive(channel, payload string) {
	holder, arn, ok := strings.Cut(payload, " ")
	if !ok || holder == c.o.Holder {
		return
	}
	switch channel {
	case KickChannel:
		c.o.Kick(arn)
	case PushChannel:
		c.o.Push(arn)
	case PokeChannel:
		c.o.Poke(arn)
	case RouteChannel:
		c.wantSync()
	}
}

// wantSync asks the sync loop for a pass; requests coalesce.
func (c *Cluster) wantSync() {
	select {
	case c.syncs <- struct{}{}:
	default:
	}
}

func (c *Cluster) syncLoop(ctx context.Context) {
	t := time.NewTicker(c.o.Resync)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.syncs:
		}
		if err := c.sync(ctx); err != nil && ctx.Err() == nil {
			c.o.Logger.Warn("cluster: reading the shared routes", "error", err)
		}
	}
}

// SetRoute sets the route on this server's router and, as the service's
// lease holder, shares it with the others.
func (c *Cluster) SetRoute(rt router.Route) error {
	if err := c.o.Local.SetRoute(rt); err != nil {
		return err
	}
	doc, err := encode(rt)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.published[rt.ServiceARN]; ok && bytes.Equal(p.doc, doc) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v, err := c.o.Routes.PutRoute(ctx, openrunner.SharedRoute{ServiceARN: rt.ServiceARN, Holder: c.o.Holder, Route: doc})
	if err != nil {
		return err // the reconciler retries the pass
	}
	c.published[rt.ServiceARN] = known{doc: doc, version: v}
	delete(c.applied, rt.ServiceARN)
	delete(c.unshared, rt.ServiceARN)
	c.notify(RouteChannel, rt.ServiceARN)
	return nil
}

// DeleteRoute removes the route here and from the store.
func (c *Cluster) DeleteRoute(serviceARN string) {
	c.o.Local.DeleteRoute(serviceARN)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.published, serviceARN)
	delete(c.applied, serviceARN)
	c.unshare(serviceARN)
}

// unshare deletes the service's stored route, or remembers to retry.
func (c *Cluster) unshare(arn string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.o.Routes.DeleteRoute(ctx, arn); err != nil {
		c.unshared[arn] = true
		return
	}
	delete(c.unshared, arn)
	c.notify(RouteChannel, arn)
}

// sync brings this server's router to the routes the other servers
// stored: newer ones are applied, deleted ones removed.
func (c *Cluster) sync(ctx context.Context) error {
	c.mu.Lock()
	for arn := range c.unshared {
		c.unshare(arn)
	}
	c.mu.Unlock()
	routes, err := c.o.Routes.FindRoutes(ctx)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := map[string]bool{}
	for _, r := range routes {
		seen[r.ServiceARN] = true
		if c.unshared[r.ServiceARN] {
			continue
		}
		p, mine := c.published[r.ServiceARN]
		a := c.applied[r.ServiceARN]
		if r.Holder == c.o.Holder || r.Version <= max(p.version, a.version) {
			continue // this server's own, or not newer than what it has
		}
		// Another server holds the service now.
		if mine {
			delete(c.published, r.ServiceARN)
		}
		rt, err := decode(r.ServiceARN, r.Route)
		if err == nil {
			err = c.o.Local.SetRoute(rt)
		}
		if err != nil {
			c.o.Logger.Warn("cluster: a shared route cannot be served", "service", r.ServiceARN, "holder", r.Holder, "error", err)
			continue
		}
		c.applied[r.ServiceARN] = known{doc: r.Route, version: r.Version}
	}
	for arn := range c.applied {
		if !seen[arn] {
			c.o.Local.DeleteRoute(arn)
			delete(c.applied, arn)
		}
	}
	return nil
}
