package reconcile

import (
	"context"
	"errors"

	"github.com/openrunner/openrunner"
)

// AutoDeploy tells the controller that the service's branch may have new
// commits (a push webhook, or polling). It returns at once. The service's
// next pass then checks the branch (in a goroutine of its own, so passes
// never wait for git) and starts a deployment (START_DEPLOYMENT) if the
// newest commit is neither the deployed one nor the last one tried, and
// changes something under the SourceDirectory. Calls that arrive while an
// operation runs are coalesced into one check after it ends, so a burst of
// pushes makes at most one follow-up deployment, of the newest commit.
func (c *Controller) AutoDeploy(serviceARN string) {
	c.memo.get(serviceARN).pushed.Store(true)
	c.Kick(serviceARN)
}

// autoDeployable reports whether pushes deploy svc: a RUNNING source-code
// service with automatic deployments on. A paused service does not pick
// up commits pushed meanwhile, as in App Runner.
func autoDeployable(svc *openrunner.Service) bool {
	return svc.Status == openrunner.ServiceRunning && svc.Active != nil &&
		svc.Config.Source.Code != nil && svc.Config.Source.AutoDeploymentsEnabled
}

// startCheck runs checkSource for the service unless a check runs; a push
// that arrives meanwhile is checked after it.
func (c *Controller) startCheck(m *memo, svc *openrunner.Service) {
	m.mu.Lock()
	if m.checking {
		m.mu.Unlock()
		m.pushed.Store(true)
		return
	}
	m.checking = true
	m.mu.Unlock()
	arn := svc.ARN()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.checkSource(c.ctx, m, arn)
		m.mu.Lock()
		m.checking = false
		m.mu.Unlock()
		if m.pushed.Load() {
			c.Kick(arn)
		}
	}()
}

// checkSource fetches the branch and starts a deployment when there is
// something new to deploy.
func (c *Controller) checkSource(ctx context.Context, m *memo, arn string) {
	svc, err := c.serviceByARN(ctx, arn)
	if err != nil || !autoDeployable(svc) || c.Source.Fetcher == nil || c.Source.Credentials == nil {
		return
	}
	code := svc.Config.Source.Code
	sctx := openrunner.NewContextWithScope(ctx, svc.Scope)
	cred, err := c.Source.Credentials.AccessToken(sctx, svc.Config.Source.ConnectionARN)
	if err != nil {
		c.eventf(svc, nil, "A push was not deployed: the connection %s cannot be used: %s", svc.Config.Source.ConnectionARN, openrunner.ErrorMessage(err))
		return
	}
	commit, err := c.fetch(ctx, svc, nil, svc.Config, cred)
	if err != nil {
		return
	}
	deployed := ""
	if svc.Active.Build != nil {
		deployed = svc.Active.Build.CommitID
	}
	if commit == deployed || commit == m.lastTried() {
		return
	}
	if deployed != "" {
		changed, err := c.Source.Fetcher.Changed(ctx, svc.ID, deployed, commit, sourceDirectory(code))
		if err != nil {
			c.Logger.Warn("comparing commits", "service", arn, "error", err)
			changed = true
		}
		if !changed {
			m.setTried(commit)
			c.eventf(svc, nil, "Commit %s changes nothing under /%s; no deployment.", commit, sourceDirectory(code))
			return
		}
	}
	op := &openrunner.Operation{Type: openrunner.OperationStartDeployment}
	_, err = c.Services.StartOperation(sctx, arn, op, func(s *openrunner.Service) error {
		if !autoDeployable(s) {
			return openrunner.Errorf(openrunner.EINVALIDSTATE, "the service is %s", s.Status)
		}
		cfg := s.Config
		op.Desired = &cfg
		return nil
	})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			c.Logger.Info("automatic deployment not started", "service", arn, "error", err)
		}
		return
	}
	c.eventf(svc, nil, "Commit %s was pushed to %s; starting an automatic deployment (operation %s).", commit, code.VersionValue, op.ID)
	c.Kick(arn)
}

// poll asks the provider for the head of every auto-deployable service's
// branch, for set-ups the provider cannot deliver webhooks to. It is cheap
// when nothing changed: one ls-remote per service.
func (c *Controller) poll() {
	services, err := c.Services.FindServicesByStatus(c.ctx, openrunner.ServiceRunning)
	if err != nil {
		return
	}
	for _, svc := range services {
		if !autoDeployable(svc) || svc.Active.Build == nil {
			continue
		}
		if _, held := c.held.Load(svc.ARN()); !held {
			continue // another server's
		}
		ctx := openrunner.NewContextWithScope(c.ctx, svc.Scope)
		cred, err := c.Source.Credentials.AccessToken(ctx, svc.Config.Source.ConnectionARN)
		if err != nil {
			continue
		}
		code := svc.Config.Source.Code
		if base := c.Source.ProviderURLs[cred.Provider]; base != "" && !openrunner.OnProvider(code.RepositoryURL, base) {
			continue
		}
		head, err := c.Source.Fetcher.RemoteHead(c.ctx, code.RepositoryURL, code.VersionValue, cred)
		if err != nil {
			c.Logger.Debug("polling", "service", svc.ARN(), "error", err)
			continue
		}
		if head != svc.Active.Build.CommitID && head != c.memo.get(svc.ARN()).lastTried() {
			c.eventf(svc, nil, "Polling found commit %s on %s.", head, code.VersionValue)
			c.AutoDeploy(svc.ARN())
		}
	}
}
