// Package ingress makes VPC ingress connections real: for each connection
// it runs an endpoint on the VPC's network (through an
// openrunner.IngressRuntime) that forwards the DomainName's port 80 to a
// private router listener bound on that network's gateway, and it drives
// the connection's status (PENDING_CREATION → AVAILABLE, PENDING_UPDATE →
// AVAILABLE, PENDING_DELETION → DELETED, FAILED_* with the reason).
package ingress

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
)

// Router is what the controller asks of the data plane (package router).
type Router interface {
	SetIngress(domain, serviceARN string) error
	RemoveIngress(domain string)
	// Private is the handler of the private listeners.
	Private() http.Handler
}

// DefaultInterval is how often the controller converges when nothing
// pokes it.
const DefaultInterval = 5 * time.Second

// Controller converges VPC ingress connections on their status. Create it
// with its fields set, then Open; Poke after every API change.
type Controller struct {
	VPC openrunner.VPCService
	// Endpoints runs the endpoints; nil (the process runtime) fails every
	// connection, with Unsupported as the reason.
	Endpoints   openrunner.IngressRuntime
	Unsupported string
	Router      Router
	// Network maps a VpcID to the runtime's network name.
	Network func(vpcID string) string
	// Event, if set, appends a line to a service's event log; it is told
	// when the service's connection fails.
	Event    func(serviceARN, line string)
	Interval time.Duration // default DefaultInterval
	Logger   *slog.Logger

	mu        sync.Mutex
	listeners map[string]*listener // by network
	poke      chan struct{}
	cancel    context.CancelFunc
	done      chan struct{}
}

// listener is a private router listener on one network's gateway.
type listener struct {
	ln  net.Listener
	srv *http.Server
}

// Open starts converging in the background.
func (c *Controller) Open(ctx context.Context) {
	if c.Interval <= 0 {
		c.Interval = DefaultInterval
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Network == nil {
		c.Network = func(id string) string { return id }
	}
	c.listeners = map[string]*listener{}
	c.poke = make(chan struct{}, 1)
	c.done = make(chan struct{})
	ctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	go c.loop(ctx)
}

// Poke asks for a pass soon.
func (c *Controller) Poke() {
	select {
	case c.poke <- struct{}{}:
	default:
	}
}

// Close stops converging and closes the private listeners. Endpoints keep
// running; the next Open points them at its own listeners.
func (c *Controller) Close() error {
	c.cancel()
	<-c.done
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for n, l := range c.listeners {
		errs = append(errs, l.srv.Close())
		delete(c.listeners, n)
	}
	return errors.Join(errs...)
}

func (c *Controller) loop(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		c.Converge(ctx)
		select {
		case <-ctx.Done():
			return
		case <-c.poke:
		case <-t.C:
		}
	}
}

// Converge runs one pass over every connection that is not final.
func (c *Controller) Converge(ctx context.Context) {
	list, err := c.VPC.FindVpcIngressConnectionsByStatus(ctx, openrunner.IngressPendingCreation,
		openrunner.IngressPendingUpdate, openrunner.IngressAvailable, openrunner.IngressPendingDeletion)
	if err != nil {
		c.Logger.Warn("listing VPC ingress connections", "error", err)
		return
	}
	live, nets := map[string]bool{}, map[string]bool{}
	for _, conn := range list {
		if conn.Status == openrunner.IngressPendingDeletion {
			c.remove(ctx, conn)
			continue
		}
		live[conn.ID] = true
		nets[c.Network(conn.VpcID)] = true
		err := c.ensure(ctx, conn)
		switch {
		case err == nil && conn.Status != openrunner.IngressAvailable:
			c.setStatus(ctx, conn, openrunner.IngressAvailable, "")
		case openrunner.ErrorCode(err) == openrunner.EINVALID:
			c.fail(ctx, conn, openrunner.ErrorMessage(err))
		case err != nil:
			c.Logger.Warn("VPC ingress connection not ready yet", "connection", conn.ARN(), "error", err)
		}
	}
	c.prune(ctx, live, nets)
}

// ensure makes conn's endpoint serve through a private listener on its
// network, and checks that it does.
func (c *Controller) ensure(ctx context.Context, conn *openrunner.VpcIngressConnection) error {
	if c.Endpoints == nil {
		return openrunner.Errorf(openrunner.EINVALID, "%s", c.Unsupported)
	}
	network := c.Network(conn.VpcID)
	target, err := c.listen(ctx, network)
	if err != nil {
		return err
	}
	addr, err := c.Endpoints.EnsureIngress(ctx, openrunner.IngressEndpoint{ID: conn.ID, Network: network, DomainName: conn.DomainName, Target: target})
	if err != nil {
		return err
	}
	if err := c.Router.SetIngress(conn.DomainName, conn.ServiceARN); err != nil {
		return err
	}
	return probe(ctx, addr, conn.DomainName)
}

// probe sends requests to the endpoint at addr for domain, for up to 3 s
// (a proxy just started may not listen yet): any HTTP answer (the
// service's, or the router's 503 while it has no instance) means the path
// through the network serves.
func probe(ctx context.Context, addr, domain string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, "http://"+addr+"/", nil)
		if err != nil {
			return err
		}
		req.Host = domain
		res, err := http.DefaultTransport.RoundTrip(req)
		if err == nil {
			return res.Body.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("ingress: probing %s at %s: %w", domain, addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// listen returns the address of the private listener on network's
// gateway, starting it if needed.
func (c *Controller) listen(ctx context.Context, network string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l := c.listeners[network]; l != nil {
		return l.ln.Addr().String(), nil
	}
	gw, err := c.Endpoints.NetworkGateway(ctx, network)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(gw, "0"))
	if err != nil {
		return "", openrunner.Errorf(openrunner.EINVALID, "cannot listen on %s, the gateway of network %q (is the Docker engine on this machine?): %v", gw, network, err)
	}
	l := &listener{ln: ln, srv: &http.Server{Handler: c.Router.Private(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(c.Logger.Handler(), slog.LevelWarn)}}
	go func() { _ = l.srv.Serve(ln) }()
	c.listeners[network] = l
	c.Logger.Info("private router listener", "network", network, "addr", ln.Addr().String())
	return ln.Addr().String(), nil
}

// remove takes a connection being deleted out of routing, removes its
// endpoint, and makes it DELETED.
func (c *Controller) remove(ctx context.Context, conn *openrunner.VpcIngressConnection) {
	c.Router.RemoveIngress(conn.DomainName)
	if c.Endpoints != nil {
		if err := c.Endpoints.RemoveIngress(ctx, conn.ID); err != nil {
			c.Logger.Warn("removing a VPC ingress endpoint", "connection", conn.ARN(), "error", err)
			return
		}
	}
	c.setStatus(ctx, conn, openrunner.IngressDeleted, "")
}

// fail puts a pending connection in FAILED_CREATION or FAILED_UPDATE with
// the reason, and tells the service's event log.
func (c *Controller) fail(ctx context.Context, conn *openrunner.VpcIngressConnection, msg string) {
	status := openrunner.IngressFailedCreation
	switch conn.Status {
	case openrunner.IngressPendingUpdate:
		status = openrunner.IngressFailedUpdate
	case openrunner.IngressAvailable:
		// It served; its network went away. It stays AVAILABLE and is
		// retried on every pass.
		c.Logger.Warn("VPC ingress connection cannot serve", "connection", conn.ARN(), "reason", msg)
		return
	}
	c.Router.RemoveIngress(conn.DomainName)
	if c.setStatus(ctx, conn, status, msg) && c.Event != nil {
		c.Event(conn.ServiceARN, fmt.Sprintf("VPC ingress connection %s failed: %s", conn.Name, msg))
	}
}

// setStatus moves conn from the status it was read in to status, unless
// an API call changed it meanwhile; it reports whether it did.
func (c *Controller) setStatus(ctx context.Context, conn *openrunner.VpcIngressConnection, status, msg string) bool {
	from := conn.Status
	_, err := c.VPC.UpdateVpcIngressConnection(ctx, conn.ARN(), func(cur *openrunner.VpcIngressConnection) error {
		if cur.Status != from {
			return errChanged
		}
		cur.Status, cur.StatusMessage = status, msg
		return nil
	})
	if err != nil && !errors.Is(err, errChanged) {
		c.Logger.Warn("updating a VPC ingress connection", "connection", conn.ARN(), "error", err)
	}
	return err == nil
}

var errChanged = errors.New("ingress: the connection changed meanwhile")

// prune removes endpoints of connections that are gone and listeners of
// networks no connection uses.
func (c *Controller) prune(ctx context.Context, live, nets map[string]bool) {
	if c.Endpoints == nil {
		return
	}
	ids, err := c.Endpoints.Ingresses(ctx)
	if err != nil {
		c.Logger.Warn("listing VPC ingress endpoints", "error", err)
	}
	for _, id := range ids {
		if !live[id] {
			if err := c.Endpoints.RemoveIngress(ctx, id); err != nil {
				c.Logger.Warn("removing a VPC ingress endpoint", "id", id, "error", err)
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for n, l := range c.listeners {
		if !nets[n] {
			_ = l.srv.Close()
			delete(c.listeners, n)
		}
	}
}
