// Package customdomain takes custom domains through their statuses, in the
// reconciler's style: a Controller looks at every domain in the store each
// tick (and at once when kicked) and takes the next step towards what the
// domain's status asks for, so a server killed between any two steps
// finishes them after a restart.
//
//	creating → pending_certificate_dns_validation → binding_certificate → active
//	deleting → (gone)                     create_failed, delete_failed
//
// The certificate comes from Certificates: ACME (package acme) or, without
// it, the local CA (LocalCA). The Controller also says which hosts each
// service answers on (Hosts, for the reconciler's routes) and which
// certificate a TLS handshake gets (GetCertificate, the router's hook).
package customdomain

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
)

// Certificates obtains and serves the certificates of custom-domain hosts.
type Certificates interface {
	// CanIssue says why names can never be issued (a wildcard without
	// DNS-01), or nil.
	CanIssue(names ...string) error
	// Manage makes sure name has a certificate, ordering one if needed,
	// and keeps it renewed.
	Manage(ctx context.Context, name string) error
	// Release forgets name's certificate.
	Release(ctx context.Context, name string) error
	// GetCertificate serves a handshake for a managed name, or an ACME
	// TLS-ALPN-01 challenge.
	GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error)
}

// Events receives service event lines (package logs).
type Events interface {
	AppendEvent(serviceARN, stream, line string) error
}

// Defaults of the Controller's timing.
const (
	DefaultInterval = time.Second
	DefaultRetryMin = 2 * time.Second
	DefaultRetryMax = 5 * time.Minute
)

// Controller converges custom domains; see the package doc.
type Controller struct {
	Domains  openrunner.CustomDomainService
	Services openrunner.ServiceService
	Certs    Certificates
	// Challenge, when set, reports whether a handshake is an ACME
	// TLS-ALPN-01 validation, which Certs answers for any name.
	Challenge func(*tls.ClientHelloInfo) bool
	Events    Events
	// Routes is told the services whose hosts changed (the reconciler's
	// Kick); may be nil.
	Routes func(serviceARN string)
	// Routed, when set, reports whether the router routes a host; a
	// domain turns ACTIVE only once it does, so that an ACTIVE domain
	// answers (the router's Serves).
	Routed func(host string) bool

	Interval           time.Duration // default DefaultInterval
	RetryMin, RetryMax time.Duration // backoff of a certificate not issued
	Logger             *slog.Logger
	Now                func() time.Time

	mu     sync.Mutex
	hosts  map[string][]string // service ARN → hosts of its active domains
	active map[string]bool     // the hosts (and wildcards) of active domains
	served map[string]bool     // hosts (and wildcards) with a certificate in Certs
	busy   map[string]bool     // domains with a step in flight
	retry  map[string]retry
	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type retry struct {
	at    time.Time
	delay time.Duration
}

// Open loads the active domains (so the first routes include them) and
// starts the loop.
func (c *Controller) Open(ctx context.Context) error {
	c.Interval = cmp.Or(c.Interval, DefaultInterval)
	c.RetryMin, c.RetryMax = cmp.Or(c.RetryMin, DefaultRetryMin), cmp.Or(c.RetryMax, DefaultRetryMax)
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	if c.Now == nil {
		c.Now = time.Now
	}
	c.busy, c.retry, c.kick = map[string]bool{}, map[string]retry{}, make(chan struct{}, 1)
	all, err := c.Domains.AllCustomDomains(ctx)
	if err != nil {
		return err
	}
	c.publish(all)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(1)
	go c.loop()
	return nil
}

// Close stops the loop and waits for the steps in flight.
func (c *Controller) Close() error {
	if c.cancel != nil {
		c.cancel()
		c.wg.Wait()
	}
	return nil
}

// Kick makes the loop look at the domains now.
func (c *Controller) Kick(string) {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *Controller) loop() {
	defer c.wg.Done()
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		if err := c.pass(c.ctx); err != nil && c.ctx.Err() == nil {
			c.Logger.Warn("custom domains: pass failed", "error", err)
		}
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		case <-c.kick:
		}
	}
}

// pass takes the next step of every domain that needs one.
func (c *Controller) pass(ctx context.Context) error {
	all, err := c.Domains.AllCustomDomains(ctx)
	if err != nil {
		return err
	}
	c.publish(all)
	for _, d := range all {
		if step := c.stepFor(ctx, d); step != nil {
			c.start(d, step)
		}
	}
	return nil
}

// stepFor returns the step d's status asks for now, or nil.
func (c *Controller) stepFor(ctx context.Context, d *openrunner.CustomDomain) func(context.Context, *openrunner.CustomDomain) error {
	if gone, err := c.serviceGone(ctx, d.ServiceARN); err != nil {
		return nil
	} else if gone {
		return c.remove
	}
	switch d.Status {
	case openrunner.DomainCreating:
		return c.validate
	case openrunner.DomainPendingCertificateDNSValidation, openrunner.DomainBindingCertificate:
		if r, ok := c.retryOf(d); ok && c.Now().Before(r.at) {
			return nil
		}
		return c.issue
	case openrunner.DomainActive:
		if !c.hasCert(d) {
			return c.load
		}
	case openrunner.DomainDeleting:
		return c.remove
	}
	return nil
}

// serviceGone reports whether d's service was deleted: DeleteService takes
// its domains and their certificates.
func (c *Controller) serviceGone(ctx context.Context, arn string) (bool, error) {
	a, err := openrunner.ParseARN(arn)
	if err != nil {
		return true, nil
	}
	svc, err := c.Services.FindServiceByARN(openrunner.NewContextWithScope(ctx, a.Scope()), arn)
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return true, nil
	} else if err != nil {
		return false, err
	}
	return svc.Status == openrunner.ServiceDeleted, nil
}

// start runs step for d in its own goroutine, unless one runs already.
func (c *Controller) start(d *openrunner.CustomDomain, step func(context.Context, *openrunner.CustomDomain) error) {
	key := domainKey(d)
	c.mu.Lock()
	if c.busy[key] {
		c.mu.Unlock()
		return
	}
	c.busy[key] = true
	c.mu.Unlock()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		err := step(c.ctx, d)
		c.mu.Lock()
		delete(c.busy, key)
		c.mu.Unlock()
		if err != nil && c.ctx.Err() == nil {
			c.Logger.Warn("custom domain step failed", "domain", d.Name, "service", d.ServiceARN, "error", err)
		}
	}()
}

func domainKey(d *openrunner.CustomDomain) string { return d.ServiceARN + " " + d.Name }

func (c *Controller) retryOf(d *openrunner.CustomDomain) (retry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.retry[domainKey(d)]
	return r, ok
}

// event writes an [AppRunner] line to the service's event log.
func (c *Controller) event(d *openrunner.CustomDomain, format string, args ...any) {
	line := "[AppRunner] " + fmt.Sprintf(format, args...)
	c.Logger.Info(line, "service", d.ServiceARN)
	if c.Events != nil {
		if err := c.Events.AppendEvent(d.ServiceARN, "events", line); err != nil {
			c.Logger.Warn("custom domains: event log", "error", err)
		}
	}
}

// publish records the hosts to route, those of active domains and of
// domains binding a certificate they hold, and tells the reconciler of
// the services whose hosts changed.
func (c *Controller) publish(all []*openrunner.CustomDomain) {
	hosts, active := map[string][]string{}, map[string]bool{}
	c.mu.Lock()
	for _, d := range all {
		if d.Status == openrunner.DomainActive || d.Status == openrunner.DomainBindingCertificate && c.hasCertLocked(d) {
			hosts[d.ServiceARN] = append(hosts[d.ServiceARN], d.Hosts()...)
			for _, h := range d.Hosts() {
				active[h] = true
			}
		}
	}
	old := c.hosts
	c.hosts, c.active = hosts, active
	c.mu.Unlock()
	if c.Routes == nil {
		return
	}
	for arn := range joinKeys(old, hosts) {
		if !slices.Equal(old[arn], hosts[arn]) {
			c.Routes(arn)
		}
	}
}

func joinKeys(a, b map[string][]string) map[string]bool {
	out := map[string]bool{}
	for k := range maps.Keys(a) {
		out[k] = true
	}
	for k := range maps.Keys(b) {
		out[k] = true
	}
	return out
}

// Hosts returns the hosts of the service's active domains (www names and
// wildcards included), for its route.
func (c *Controller) Hosts(serviceARN string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.hosts[serviceARN])
}

func (c *Controller) hasCert(d *openrunner.CustomDomain) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hasCertLocked(d)
}

func (c *Controller) hasCertLocked(d *openrunner.CustomDomain) bool {
	for _, h := range d.Hosts() {
		if !c.served[h] {
			return false
		}
	}
	return true
}

func (c *Controller) setServed(hosts []string, on bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.served == nil {
		c.served = map[string]bool{}
	}
	for _, h := range hosts {
		if on {
			c.served[h] = true
		} else {
			delete(c.served, h)
		}
	}
}

// GetCertificate is the router's TLS hook: the certificate of a host of an
// active custom domain (or of a name under an active wildcard), the
// answer to an ACME TLS-ALPN-01 challenge, or nil, nil for other names.
func (c *Controller) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c.Challenge != nil && c.Challenge(hello) {
		return c.Certs.GetCertificate(hello)
	}
	name := strings.ToLower(strings.TrimSuffix(hello.ServerName, "."))
	if name == "" {
		return nil, nil
	}
	// Active, not only loaded: after a restart, a handshake may come before
	// the controller has loaded a certificate, which Certs then loads.
	c.mu.Lock()
	ok := c.active[name]
	if i := strings.IndexByte(name, '.'); !ok && i > 0 {
		ok = c.active["*"+name[i:]]
	}
	c.mu.Unlock()
	if !ok {
		return nil, nil
	}
	return c.Certs.GetCertificate(hello)
}
