package customdomain

import (
	"context"
	"errors"
	"time"

	"github.com/openrunner/openrunner"
)

// attemptTimeout bounds one attempt at a domain's certificates.
const attemptTimeout = 3 * time.Minute

// validate moves a new domain to pending_certificate_dns_validation, or to
// create_failed when its certificate can never be issued.
func (c *Controller) validate(ctx context.Context, d *openrunner.CustomDomain) error {
	if err := c.Certs.CanIssue(d.Hosts()...); err != nil {
		if _, uerr := c.update(ctx, d, func(d *openrunner.CustomDomain) {
			d.Status, d.Reason = openrunner.DomainCreateFailed, err.Error()
			setRecords(d, openrunner.RecordFailed)
		}); uerr != nil {
			return uerr
		}
		c.event(d, "Failed to associate custom domain %s: %s", d.Name, err)
		return nil
	}
	_, err := c.update(ctx, d, func(d *openrunner.CustomDomain) {
		d.Status = openrunner.DomainPendingCertificateDNSValidation
	})
	if err == nil {
		c.event(d, "Associating custom domain %s: waiting for its DNS records and its certificate.", d.Name)
		c.Kick(d.ServiceARN)
	}
	return err
}

// issue obtains the certificates of d's hosts; once every one is issued,
// the domain is bound and active and its hosts are routed. A failure keeps
// the domain pending, with the reason in the service log, and is retried
// with backoff.
func (c *Controller) issue(ctx context.Context, d *openrunner.CustomDomain) error {
	if err := c.manage(ctx, d); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil
		}
		delay := c.backoff(d)
		if d.Reason != err.Error() {
			if _, uerr := c.update(ctx, d, func(d *openrunner.CustomDomain) { d.Reason = err.Error() }); uerr != nil {
				return uerr
			}
		}
		c.event(d, "The certificate for custom domain %s is not issued yet: %s; its DNS records must point at %s; trying again in %s.",
			d.Name, err, recordTarget(d), delay)
		return nil
	}
	if d.Status != openrunner.DomainBindingCertificate {
		if _, err := c.update(ctx, d, func(d *openrunner.CustomDomain) {
			d.Status, d.Reason = openrunner.DomainBindingCertificate, ""
			setRecords(d, openrunner.RecordSuccess)
		}); err != nil {
			return err
		}
	}
	if ok, err := c.bind(ctx, d); err != nil || !ok {
		return err
	}
	if _, err := c.update(ctx, d, func(d *openrunner.CustomDomain) {
		d.Status, d.Reason = openrunner.DomainActive, ""
		setRecords(d, openrunner.RecordSuccess)
	}); err != nil {
		return err
	}
	c.clearRetry(d)
	c.event(d, "Custom domain %s is active.", d.Name)
	c.Kick(d.ServiceARN)
	return nil
}

// routeWait bounds how long bind waits for the router to route a domain's
// hosts before trying again on a later pass.
const routeWait = 10 * time.Second

// bind routes the hosts of d, which binds its certificates, and reports
// whether the router serves them all, so that ACTIVE means the domain
// answers. Not yet (the service has no route yet): d stays binding and is
// tried again with backoff.
func (c *Controller) bind(ctx context.Context, d *openrunner.CustomDomain) (bool, error) {
	all, err := c.Domains.AllCustomDomains(ctx)
	if err != nil {
		return false, err
	}
	c.publish(all)
	if c.Routed == nil {
		return true, nil
	}
	giveUp := time.NewTimer(routeWait)
	defer giveUp.Stop()
	poll := time.NewTicker(20 * time.Millisecond)
	defer poll.Stop()
	for !c.routed(d) {
		select {
		case <-ctx.Done():
			return false, nil
		case <-giveUp.C:
			delay := c.backoff(d)
			c.Logger.Info("custom domain: its hosts are not routed yet", "domain", d.Name, "service", d.ServiceARN, "retry", delay)
			return false, nil
		case <-poll.C:
		}
	}
	return true, nil
}

func (c *Controller) routed(d *openrunner.CustomDomain) bool {
	for _, h := range d.Hosts() {
		if !c.Routed(h) {
			return false
		}
	}
	return true
}

// load takes an active domain's certificates from the store (after a
// restart), or orders them if they were lost.
func (c *Controller) load(ctx context.Context, d *openrunner.CustomDomain) error {
	if r, ok := c.retryOf(d); ok && c.Now().Before(r.at) {
		return nil
	}
	if err := c.manage(ctx, d); err != nil {
		c.backoff(d)
		return err
	}
	c.clearRetry(d)
	return nil
}

// manage makes sure each of d's hosts has its certificate.
func (c *Controller) manage(ctx context.Context, d *openrunner.CustomDomain) error {
	ctx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	for _, h := range d.Hosts() {
		if err := c.Certs.Manage(ctx, h); err != nil {
			return err
		}
	}
	c.setServed(d.Hosts(), true)
	return nil
}

// remove releases d's certificates and deletes it, so its hosts are routed
// no more.
func (c *Controller) remove(ctx context.Context, d *openrunner.CustomDomain) error {
	c.setServed(d.Hosts(), false)
	var errs []error
	for _, h := range d.Hosts() {
		errs = append(errs, c.Certs.Release(ctx, h))
	}
	if err := errors.Join(errs...); err != nil {
		if _, uerr := c.update(ctx, d, func(d *openrunner.CustomDomain) {
			d.Status, d.Reason = openrunner.DomainDeleteFailed, err.Error()
		}); uerr != nil {
			return uerr
		}
		c.event(d, "Failed to disassociate custom domain %s: %s", d.Name, err)
		return nil
	}
	if err := c.Domains.DeleteCustomDomain(ctx, d.ServiceARN, d.Name); err != nil && openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		return err
	}
	c.clearRetry(d)
	c.event(d, "Custom domain %s was disassociated.", d.Name)
	c.Kick(d.ServiceARN)
	return nil
}

// update applies apply to the stored domain, unless its status changed
// since d was read (a disassociation meanwhile wins).
func (c *Controller) update(ctx context.Context, d *openrunner.CustomDomain, apply func(*openrunner.CustomDomain)) (*openrunner.CustomDomain, error) {
	status := d.Status
	got, err := c.Domains.UpdateCustomDomain(ctx, d.ServiceARN, d.Name, func(cur *openrunner.CustomDomain) error {
		if cur.Status != status {
			return errMoved
		}
		apply(cur)
		return nil
	})
	if err == nil {
		*d = *got
	}
	return got, err
}

var errMoved = errors.New("custom domain: its status changed meanwhile")

func setRecords(d *openrunner.CustomDomain, status string) {
	for i := range d.Records {
		d.Records[i].Status = status
	}
}

func recordTarget(d *openrunner.CustomDomain) string {
	for _, r := range d.Records {
		return r.Value
	}
	return "the service's DNS target"
}

// backoff schedules d's next attempt and returns its delay: RetryMin,
// doubling to RetryMax.
func (c *Controller) backoff(d *openrunner.CustomDomain) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.retry[domainKey(d)]
	r.delay = min(max(r.delay*2, c.RetryMin), c.RetryMax)
	r.at = c.Now().Add(r.delay)
	c.retry[domainKey(d)] = r
	return r.delay
}

func (c *Controller) clearRetry(d *openrunner.CustomDomain) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.retry, domainKey(d))
}
