package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/apprunneryaml"
	"github.com/openrunner/openrunner/logs"
	"github.com/openrunner/openrunner/source"
)

// Credentials hands out a connection's provider credential (package
// handshake implements it).
type Credentials interface {
	// AccessToken returns a usable credential; EINVALIDSTATE when the
	// connection is not AVAILABLE.
	AccessToken(ctx context.Context, arn string) (openrunner.ProviderCredential, error)
	// Verify asks the provider whether the credential still works, and
	// sets the connection to ERROR (returning EINVALIDSTATE) if not.
	Verify(ctx context.Context, arn string) error
}

// Source holds what the engine needs to deploy source-code services.
type Source struct {
	Builder     openrunner.Builder
	Fetcher     *source.Fetcher
	Credentials Credentials
	// Dir keeps a snapshot of the source of each deployment:
	// Dir/<service id>/<revision id>.
	Dir string
	// KeepSnapshots is how many snapshots a service keeps; 0 means 5.
	KeepSnapshots int
	// ProviderURLs are the providers' web URLs by ProviderType; a
	// repository elsewhere is not fetched with the connection's token.
	ProviderURLs map[string]string
	// AllowEndOfSupport lets new services use runtimes past App Runner's
	// end of support (App Runner refuses them).
	AllowEndOfSupport bool
	// RegisterWebhook registers a push webhook for the service's
	// repository with the provider (nil: none is registered).
	RegisterWebhook func(ctx context.Context, svc *openrunner.Service, cred openrunner.ProviderCredential) error
	// UnregisterWebhook removes it again, when the last service that
	// deploys the repository through the connection is deleted.
	UnregisterWebhook func(ctx context.Context, svc *openrunner.Service, cred openrunner.ProviderCredential) error
}

// configFile is the name App Runner reads in the source directory.
const configFile = "apprunner.yaml"

// sourceDirectory returns SourceDirectory as a clean relative path, ""
// for the repository root.
func sourceDirectory(code *openrunner.CodeSource) string {
	d := path.Clean("/" + code.SourceDirectory)
	return strings.TrimPrefix(d, "/")
}

// providerName is how the connection's provider appears in the lines.
func providerName(provider string) string {
	if provider == openrunner.ProviderBitbucket {
		return "Bitbucket"
	}
	return "GitHub"
}

// connectionProvider returns the provider of the service's connection,
// GITHUB if it cannot be told.
func (e *Engine) connectionProvider(ctx context.Context, svc *openrunner.Service, arn string) string {
	if e.Connections != nil {
		if c, err := e.Connections.FindConnectionByARN(openrunner.NewContextWithScope(ctx, svc.Scope), arn); err == nil {
			return c.ProviderType
		}
	}
	return openrunner.ProviderGitHub
}

// credential returns the service's connection credential, or the failure
// App Runner reports when the connection cannot be used.
func (e *Engine) credential(svc *openrunner.Service, op *openrunner.Operation, cfg openrunner.ServiceConfig, provider string) (openrunner.ProviderCredential, error) {
	ctx := openrunner.NewContextWithScope(e.ctx, svc.Scope)
	cred, err := e.Source.Credentials.AccessToken(ctx, cfg.Source.ConnectionARN)
	if err == nil {
		return cred, nil
	}
	switch openrunner.ErrorCode(err) {
	case openrunner.EINVALIDSTATE, openrunner.ENOTFOUND:
		msg := "Failed to retrieve the latest commit from your source repository. Be sure you configure your service with a valid connection to your " + providerName(provider) + " repository"
		e.event(svc, op, logs.Prefix+msg)
		e.eventf(svc, op, "The connection %s cannot be used: %s", cfg.Source.ConnectionARN, openrunner.ErrorMessage(err))
		return cred, errors.New(msg)
	}
	e.eventf(svc, op, "Could not get a credential for the connection %s: %s", cfg.Source.ConnectionARN, openrunner.ErrorMessage(err))
	return cred, fmt.Errorf("connection %s: %s", cfg.Source.ConnectionARN, openrunner.ErrorMessage(err))
}

// fetch fetches the branch's newest commit; a credential the provider
// refuses is checked with the provider, which sets the connection to
// ERROR.
func (e *Engine) fetch(svc *openrunner.Service, op *openrunner.Operation, cfg openrunner.ServiceConfig, cred openrunner.ProviderCredential) (string, error) {
	code := cfg.Source.Code
	if base := e.Source.ProviderURLs[cred.Provider]; base != "" && !source.OnProvider(code.RepositoryURL, base) {
		msg := fmt.Sprintf("The repository %s isn't on %s (%s), the provider of the connection; it is not fetched with the connection's credentials.", code.RepositoryURL, providerName(cred.Provider), base)
		e.eventf(svc, op, "%s", msg)
		return "", errors.New(msg)
	}
	commit, err := e.Source.Fetcher.Fetch(e.ctx, svc.ID, code.RepositoryURL, code.VersionValue, cred)
	if err == nil {
		return commit, nil
	}
	if errors.Is(err, source.ErrRejected) {
		ctx := openrunner.NewContextWithScope(e.ctx, svc.Scope)
		if verr := e.Source.Credentials.Verify(ctx, cfg.Source.ConnectionARN); openrunner.ErrorCode(verr) == openrunner.EINVALIDSTATE {
			msg := fmt.Sprintf("The provider no longer accepts the credentials of the connection %s; it is now ERROR. Complete its handshake again, then start a deployment.", cfg.Source.ConnectionARN)
			e.eventf(svc, op, "%s", msg)
			return "", errors.New(msg)
		}
	}
	e.eventf(svc, op, "%s", openrunner.ErrorMessage(err))
	return "", errors.New(openrunner.ErrorMessage(err))
}

// buildRevision fetches the newest commit of the service's branch, reads
// its configuration and builds it, logging each step with App Runner's
// lines. The returned revision is built but not started.
func (e *Engine) buildRevision(svc *openrunner.Service, op *openrunner.Operation, cfg openrunner.ServiceConfig, first bool) (*openrunner.Revision, error) {
	code := cfg.Source.Code
	dir := sourceDirectory(code)
	e.event(svc, op, logs.DeploymentArtifactSource(code.RepositoryURL, code.VersionValue, "/"+dir))
	if e.Source.Builder == nil || e.Source.Fetcher == nil || e.Source.Credentials == nil {
		e.event(svc, op, logs.SourceDeployFailed)
		return nil, fmt.Errorf("the %s runtime cannot build services from source code", e.Runtime.Name())
	}
	provider := e.connectionProvider(e.ctx, svc, cfg.Source.ConnectionARN)
	_ = e.step(op, openrunner.OperationInProgress, "fetch-source")
	cred, err := e.credential(svc, op, cfg, provider)
	if err != nil {
		return nil, err
	}
	if op.Type != openrunner.OperationStartDeployment && cfg.Source.AutoDeploymentsEnabled && e.Source.RegisterWebhook != nil {
		e.event(svc, op, logs.CreatingPipeline)
		if err := e.Source.RegisterWebhook(openrunner.NewContextWithScope(e.ctx, svc.Scope), svc, cred); err != nil {
			// Never fatal: pushes can still be deployed by polling or
			// StartDeployment.
			e.eventf(svc, op, "Could not register a push webhook with %s: %s. Automatic deployments need a webhook set up by hand (see the README) or polling (--poll-interval).",
				providerName(provider), openrunner.ErrorMessage(err))
		} else {
			e.event(svc, op, logs.PipelineCreated)
		}
	}
	e.event(svc, op, logs.PullingSource(provider, code.RepositoryURL))
	commit, err := e.fetch(svc, op, cfg, cred)
	if err != nil {
		e.event(svc, op, logs.SourceDeployFailed)
		return nil, err
	}
	e.mu.Lock()
	e.tried[svc.ARN()] = commit
	e.mu.Unlock()
	op.CommitID = commit
	_ = e.step(op, openrunner.OperationInProgress, "snapshot")
	e.event(svc, op, logs.SourcePulled)
	e.eventf(svc, op, "Deploying commit %s of branch %s.", commit, code.VersionValue)

	rev := &openrunner.Revision{ID: openrunner.NewID(), Config: cfg, DeployedAt: e.Now()}
	snap := filepath.Join(e.Source.Dir, svc.ID, rev.ID)
	if err := os.MkdirAll(filepath.Dir(snap), 0o700); err != nil {
		return nil, err
	}
	if _, err := e.Source.Fetcher.Snapshot(e.ctx, svc.ID, commit, snap); err != nil {
		e.event(svc, op, logs.SourceDeployFailed)
		return nil, fmt.Errorf("keeping a snapshot of commit %s: %w", commit, err)
	}
	e.pruneSnapshots(svc, rev.ID)

	conf, err := e.readConfig(svc, op, code, snap, dir)
	if err != nil {
		e.event(svc, op, logs.SourceDeployFailed)
		return nil, err
	}
	if first && !e.Source.AllowEndOfSupport {
		if err := apprunneryaml.CheckNewService(conf, e.Now()); err != nil {
			e.eventf(svc, op, "%s", err)
			e.event(svc, op, logs.SourceDeployFailed)
			return nil, err
		}
	}
	env := map[string]string{}
	for _, v := range conf.Run.Env {
		env[v.Name] = v.Value
	}
	for _, s := range conf.Run.Secrets {
		e.eventf(svc, op, "The secret %s (%s) is not set: OpenRunner does not read Secrets Manager or SSM Parameter Store.", s.Name, s.ValueFrom)
	}
	spec := openrunner.BuildSpec{
		ServiceARN: svc.ARN(), RevisionID: rev.ID, SourceDir: snap, Directory: dir,
		Runtime: conf.Runtime.Name, RuntimeVersion: conf.LockedVersion(), Port: conf.Run.Port,
		Log: func(line string) { e.event(svc, op, line) },
	}
	for _, st := range conf.Steps() {
		bs := openrunner.BuildStep{Phase: string(st.Phase), OnRunImage: st.Image == apprunneryaml.RunImage, Commands: st.Commands}
		for _, v := range st.Env {
			bs.Env = append(bs.Env, openrunner.EnvVar{Name: v.Name, Value: v.Value})
		}
		spec.Steps = append(spec.Steps, bs)
	}
	_ = e.step(op, openrunner.OperationInProgress, "build")
	e.event(svc, op, logs.StartingSourceDeploy)
	e.event(svc, op, logs.StartingBuild)
	img, err := e.Source.Builder.Build(e.ctx, spec)
	if err != nil {
		e.eventf(svc, op, "Build failed: %s", openrunner.ErrorMessage(err))
		e.event(svc, op, logs.SourceDeployFailed)
		return nil, fmt.Errorf("build failed: %s", openrunner.ErrorMessage(err))
	}
	e.event(svc, op, logs.BuildSucceeded)
	rev.ImageID = img.ID
	rev.Build = &openrunner.BuiltRevision{
		CommitID: commit, Image: img.Ref, StartCommand: conf.Run.Command,
		Port: conf.Run.Port, PortEnv: conf.Run.PortEnv, Env: env,
	}
	return rev, nil
}

// readConfig reads apprunner.yaml from the snapshot, or turns the API
// values into the same configuration.
func (e *Engine) readConfig(svc *openrunner.Service, op *openrunner.Operation, code *openrunner.CodeSource, snap, dir string) (*apprunneryaml.Config, error) {
	if code.ConfigurationSource == apprunneryaml.SourceAPI {
		if code.Values == nil {
			return nil, errors.New("CodeConfigurationValues are required with ConfigurationSource API")
		}
		conf, err := apprunneryaml.FromAPI(apprunneryaml.CodeValues(*code.Values))
		if err != nil {
			e.eventf(svc, op, "Invalid CodeConfigurationValues: %s", err)
			return nil, err
		}
		return conf, nil
	}
	e.event(svc, op, logs.ReadingConfigFile)
	name := configFile
	if dir != "" {
		name = dir + "/" + configFile
	}
	b, err := readInside(snap, filepath.FromSlash(name))
	if errors.Is(err, os.ErrNotExist) {
		msg := fmt.Sprintf("%s was not found in the source directory /%s. Add one, or configure the service with ConfigurationSource API.", configFile, dir)
		e.eventf(svc, op, "%s", msg)
		return nil, errors.New(msg)
	}
	if err != nil {
		msg := fmt.Sprintf("%s in the source directory /%s cannot be read (a link that leaves the repository is not followed).", configFile, dir)
		e.eventf(svc, op, "%s", msg)
		return nil, errors.New(msg)
	}
	conf, err := apprunneryaml.Parse(b)
	if err != nil {
		var ve *apprunneryaml.ValidationError
		if errors.As(err, &ve) {
			for _, fe := range ve.Errors {
				e.eventf(svc, op, "Invalid %s: %s", configFile, fe.Error())
			}
		} else {
			e.eventf(svc, op, "Invalid %s: %s", configFile, err)
		}
		return nil, fmt.Errorf("invalid %s: %s", configFile, err)
	}
	return conf, nil
}

// pruneSnapshots keeps the newest KeepSnapshots source snapshots of the
// service (rev among them).
func (e *Engine) pruneSnapshots(svc *openrunner.Service, rev string) {
	keep := e.Source.KeepSnapshots
	if keep <= 0 {
		keep = 5
	}
	dir := filepath.Join(e.Source.Dir, svc.ID)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	type snap struct {
		name string
		mod  int64
	}
	var snaps []snap
	for _, de := range entries {
		if info, err := de.Info(); err == nil && de.IsDir() && de.Name() != rev {
			snaps = append(snaps, snap{de.Name(), info.ModTime().UnixNano()})
		}
	}
	sort.Slice(snaps, func(i, j int) bool { return snaps[i].mod > snaps[j].mod })
	for i, s := range snaps {
		if i >= keep-1 {
			_ = os.RemoveAll(filepath.Join(dir, s.name))
		}
	}
}

// runSpec is how a revision's instances start.
type runSpec struct {
	image, startCommand, port, portEnv string
	env                                map[string]string
}

func revisionRun(rev *openrunner.Revision) runSpec {
	if b := rev.Build; b != nil {
		return runSpec{image: b.Image, startCommand: b.StartCommand, port: strconv.Itoa(b.Port), portEnv: b.PortEnv, env: b.Env}
	}
	img := rev.Config.Source.Image
	return runSpec{image: img.Identifier, startCommand: img.StartCommand, port: img.Port, env: img.Env}
}

// removeBuild deletes a revision's built image, if it was built.
func (e *Engine) removeBuild(rev *openrunner.Revision) {
	if rev == nil || rev.Build == nil || e.Source.Builder == nil {
		return
	}
	if err := e.Source.Builder.RemoveBuild(context.WithoutCancel(e.ctx), rev.Build.Image); err != nil {
		e.Logger.Warn("removing a build", "image", rev.Build.Image, "error", err)
	}
}

// forgetSource removes everything kept of a deleted service's source, and
// its push webhook if no other service needs it.
func (e *Engine) forgetSource(svc *openrunner.Service, op *openrunner.Operation) {
	e.unregisterWebhook(svc, op)
	if e.Source.Fetcher != nil {
		_ = e.Source.Fetcher.Remove(svc.ID)
	}
	if e.Source.Dir != "" {
		_ = os.RemoveAll(filepath.Join(e.Source.Dir, svc.ID))
	}
	e.mu.Lock()
	delete(e.tried, svc.ARN())
	e.mu.Unlock()
}

// unregisterWebhook removes the push webhook of the repository svc's
// configuration names, unless another service needs it.
func (e *Engine) unregisterWebhook(svc *openrunner.Service, op *openrunner.Operation) {
	if svc.Config.Source.Code == nil || e.Source.UnregisterWebhook == nil || e.Source.Credentials == nil || e.webhookShared(svc) {
		return
	}
	ctx := openrunner.NewContextWithScope(e.ctx, svc.Scope)
	cred, err := e.Source.Credentials.AccessToken(ctx, svc.Config.Source.ConnectionARN)
	if err == nil {
		err = e.Source.UnregisterWebhook(ctx, svc, cred)
	}
	if err != nil {
		e.eventf(svc, op, "Could not remove the push webhook of %s: %s. Remove it in the repository's settings.",
			svc.Config.Source.Code.RepositoryURL, openrunner.ErrorMessage(err))
	}
}

// movedSource reports whether a deployment from prev to next leaves a
// repository or connection behind (whose webhook then goes).
func movedSource(prev, next openrunner.SourceConfig) bool {
	if prev.Code == nil {
		return false
	}
	return next.Code == nil || prev.ConnectionARN != next.ConnectionARN ||
		repositoryKey(prev.Code.RepositoryURL) != repositoryKey(next.Code.RepositoryURL)
}

// pruneBuilds removes the builds no service's active revision runs: those
// of deployments that failed or were replaced while a server was being
// killed, and partial ones of builds it interrupted. It runs before any
// operation starts, so no build is in progress.
func (e *Engine) pruneBuilds(ctx context.Context) {
	if e.Source.Builder == nil {
		return
	}
	builds, err := e.Source.Builder.Builds(ctx)
	if err != nil || len(builds) == 0 {
		if err != nil {
			e.Logger.Warn("listing builds", "error", err)
		}
		return
	}
	services, err := e.Services.FindServicesByStatus(ctx, openrunner.ServiceRunning, openrunner.ServicePaused,
		openrunner.ServiceOperationInProgress, openrunner.ServiceCreateFailed, openrunner.ServiceDeleteFailed)
	if err != nil {
		e.Logger.Warn("listing services", "error", err)
		return
	}
	keep := map[string]bool{}
	for _, svc := range services {
		if svc.Active != nil {
			keep[svc.Active.ID] = true
		}
	}
	for _, b := range builds {
		if keep[b.RevisionID] {
			continue
		}
		if err := e.Source.Builder.RemoveBuild(ctx, b.Ref); err != nil {
			e.Logger.Warn("removing an unused build", "image", b.Ref, "error", err)
		} else {
			e.Logger.Info("removed an unused build", "image", b.Ref, "revision", b.RevisionID)
		}
	}
}

// readInside reads the file at name inside root, following symbolic links
// only as long as they stay inside root: a repository's apprunner.yaml
// that links to a file of the host is not read.
func readInside(root, name string) ([]byte, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.ReadFile(name)
}

// webhookShared reports whether another service that is not deleted
// deploys the same repository through the same connection (and so needs
// the webhook svc's deletion would remove).
func (e *Engine) webhookShared(svc *openrunner.Service) bool {
	services, err := e.Services.FindServicesByStatus(e.ctx, openrunner.ServiceRunning, openrunner.ServicePaused,
		openrunner.ServiceOperationInProgress, openrunner.ServiceCreateFailed, openrunner.ServiceDeleteFailed)
	if err != nil {
		return true // keep it: a stray webhook costs less than a missing one
	}
	repo := repositoryKey(svc.Config.Source.Code.RepositoryURL)
	for _, other := range services {
		if other.ARN() != svc.ARN() && other.Config.Source.Code != nil &&
			other.Config.Source.ConnectionARN == svc.Config.Source.ConnectionARN &&
			repositoryKey(other.Config.Source.Code.RepositoryURL) == repo {
			return true
		}
	}
	return false
}

// repositoryKey is a repository URL without case, trailing slash or ".git".
func repositoryKey(u string) string {
	return strings.TrimSuffix(strings.TrimRight(strings.ToLower(u), "/"), ".git")
}

// forgetCommits lets the service's repository drop every fetched commit
// but the one rev deploys.
func (e *Engine) forgetCommits(svc *openrunner.Service, rev *openrunner.Revision) {
	if rev.Build == nil || e.Source.Fetcher == nil {
		return
	}
	if err := e.Source.Fetcher.Forget(e.ctx, svc.ID, rev.Build.CommitID); err != nil {
		e.Logger.Warn("forgetting old commits", "service", svc.ARN(), "error", err)
	}
}
