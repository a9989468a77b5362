package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/source"
)

// AutoDeploy tells the engine that the service's branch may have new
// commits (a push webhook, or polling). It returns at once. The service's
// worker then fetches the branch and starts a deployment (START_DEPLOYMENT)
// if the newest commit is neither the deployed one nor the last one tried,
// and changes something under the SourceDirectory. Calls that arrive while
// an operation runs are coalesced into one check after it ends, so a burst
// of pushes makes at most one follow-up deployment, of the newest commit.
func (e *Engine) AutoDeploy(serviceARN string) {
	e.mu.Lock()
	e.pushed[serviceARN] = true
	e.mu.Unlock()
	e.Kick(serviceARN)
}

func (e *Engine) takePushed(arn string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pushed[arn]
	delete(e.pushed, arn)
	return p
}

// autoDeployable reports whether pushes deploy svc: a RUNNING source-code
// service with automatic deployments on. A paused service does not pick
// up commits pushed meanwhile, as in App Runner.
func autoDeployable(svc *openrunner.Service) bool {
	return svc.Status == openrunner.ServiceRunning && svc.Active != nil &&
		svc.Config.Source.Code != nil && svc.Config.Source.AutoDeploymentsEnabled
}

// checkSource runs in the service's worker: it fetches the branch and
// starts a deployment when there is something new to deploy.
func (e *Engine) checkSource(arn string) {
	svc, err := e.serviceByARN(e.ctx, arn)
	if err != nil || !autoDeployable(svc) || e.Source.Fetcher == nil || e.Source.Credentials == nil {
		return
	}
	events := &openrunner.Operation{} // lines go to the events stream
	code := svc.Config.Source.Code
	ctx := openrunner.NewContextWithScope(e.ctx, svc.Scope)
	cred, err := e.Source.Credentials.AccessToken(ctx, svc.Config.Source.ConnectionARN)
	if err != nil {
		e.eventf(svc, events, "A push was not deployed: the connection %s cannot be used: %s", svc.Config.Source.ConnectionARN, openrunner.ErrorMessage(err))
		return
	}
	commit, err := e.fetch(svc, events, svc.Config, cred)
	if err != nil {
		return
	}
	deployed := ""
	if svc.Active.Build != nil {
		deployed = svc.Active.Build.CommitID
	}
	e.mu.Lock()
	tried := e.tried[arn]
	e.mu.Unlock()
	if commit == deployed || commit == tried {
		return
	}
	if deployed != "" {
		changed, err := e.Source.Fetcher.Changed(e.ctx, svc.ID, deployed, commit, sourceDirectory(code))
		if err != nil {
			e.Logger.Warn("comparing commits", "service", arn, "error", err)
			changed = true
		}
		if !changed {
			e.mu.Lock()
			e.tried[arn] = commit
			e.mu.Unlock()
			e.eventf(svc, events, "Commit %s changes nothing under /%s; no deployment.", commit, sourceDirectory(code))
			return
		}
	}
	op := &openrunner.Operation{Type: openrunner.OperationStartDeployment}
	_, err = e.Services.StartOperation(ctx, arn, op, func(s *openrunner.Service) error {
		if !autoDeployable(s) {
			return openrunner.Errorf(openrunner.EINVALIDSTATE, "the service is %s", s.Status)
		}
		cfg := s.Config
		op.Desired = &cfg
		return nil
	})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			e.Logger.Info("automatic deployment not started", "service", arn, "error", err)
		}
		return
	}
	e.eventf(svc, events, "Commit %s was pushed to %s; starting an automatic deployment (operation %s).", commit, code.VersionValue, op.ID)
}

// poll asks the provider for the head of every auto-deployable service's
// branch every interval, for set-ups the provider cannot deliver webhooks
// to. It is cheap when nothing changed: one ls-remote per service.
func (e *Engine) poll(interval time.Duration) {
	defer e.wg.Done()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		services, err := e.Services.FindServicesByStatus(e.ctx, openrunner.ServiceRunning)
		if err != nil {
			continue
		}
		for _, svc := range services {
			if !autoDeployable(svc) || svc.Active.Build == nil {
				continue
			}
			ctx := openrunner.NewContextWithScope(e.ctx, svc.Scope)
			cred, err := e.Source.Credentials.AccessToken(ctx, svc.Config.Source.ConnectionARN)
			if err != nil {
				continue
			}
			code := svc.Config.Source.Code
			if base := e.Source.ProviderURLs[cred.Provider]; base != "" && !source.OnProvider(code.RepositoryURL, base) {
				continue
			}
			head, err := e.Source.Fetcher.RemoteHead(e.ctx, code.RepositoryURL, code.VersionValue, cred)
			if err != nil {
				e.Logger.Debug("polling", "service", svc.ARN(), "error", err)
				continue
			}
			e.mu.Lock()
			tried := e.tried[svc.ARN()]
			e.mu.Unlock()
			if head != svc.Active.Build.CommitID && head != tried {
				e.eventf(svc, &openrunner.Operation{}, "Polling found commit %s on %s.", head, code.VersionValue)
				e.AutoDeploy(svc.ARN())
			}
		}
	}
}
