package reconcile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
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
	Fetcher     Fetcher
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

// Fetcher fetches repositories and keeps their commits (package source's
// Fetcher). key names a service's repository.
type Fetcher interface {
	// Fetch fetches the branch's newest commit and returns its id.
	Fetch(ctx context.Context, key, repoURL, branch string, cred openrunner.ProviderCredential) (string, error)
	// RemoteHead returns the id of the branch's newest commit without
	// fetching it.
	RemoteHead(ctx context.Context, repoURL, branch string, cred openrunner.ProviderCredential) (string, error)
	// Changed reports whether anything under dir differs between two
	// fetched commits.
	Changed(ctx context.Context, key, from, to, dir string) (bool, error)
	// Snapshot writes the commit's tree to dst.
	Snapshot(ctx context.Context, key, commit, dst string) (int64, error)
	// Forget lets the repository drop every commit but keep.
	Forget(ctx context.Context, key string, keep ...string) error
	// Remove deletes the repository.
	Remove(key string) error
}

// job prepares a deployment's revision (pulls its image, or fetches and
// builds its source) outside the passes, which only look at whether it is
// done, so that a service's other work (routing, scaling, replacing
// instances) never waits behind a build.
type job struct {
	opID   string
	cancel context.CancelFunc
	done   chan struct{}
	result jobResult
}

type jobResult struct {
	rev       *openrunner.Revision
	unchanged bool // a StartDeployment whose image did not change
	err       error
}

func (j *job) finished() bool {
	select {
	case <-j.done:
		return true
	default:
		return false
	}
}

// job returns the job preparing the operation's revision, nil if none.
func (m *memo) job(opID string) *job {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.current != nil && m.current.opID == opID {
		return m.current
	}
	return nil
}

func (m *memo) clearJob() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.current = nil
}

// startJob runs f for the operation in a goroutine, and queues a pass of
// the service when it is done. A job of another operation is cancelled.
func (c *Controller) startJob(m *memo, svc *openrunner.Service, op *openrunner.Operation, f func(context.Context) jobResult) {
	ctx, cancel := context.WithCancel(c.ctx)
	j := &job{opID: op.ID, cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	if m.current != nil {
		m.current.cancel()
	}
	m.current = j
	m.mu.Unlock()
	arn := svc.ARN()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		defer func() {
			if p := recover(); p != nil {
				c.Logger.Error("preparing a revision panicked", "service", arn, "panic", p)
				j.result = jobResult{err: openrunner.Errorf(openrunner.EINTERNAL, "OpenRunner failed while preparing the deployment.")}
			}
			close(j.done)
			c.Kick(arn)
		}()
		j.result = f(ctx)
	}()
}

// prepare makes the revision a deployment rolls out: the image pulled, or
// the source fetched and built. A StartDeployment of an image re-resolves
// its tag, and changes nothing when the image is the running one.
func (c *Controller) prepare(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, cfg openrunner.ServiceConfig) jobResult {
	if cfg.Source.Code != nil {
		rev, err := c.buildRevision(ctx, svc, op, cfg, svc.Active == nil)
		if err != nil {
			return jobResult{err: err}
		}
		c.event(svc, op, logs.Provisioning(cfg.Network.IsPubliclyAccessible))
		return jobResult{rev: rev}
	}
	img := cfg.Source.Image
	if img == nil {
		return jobResult{err: deployError("the service has no source")}
	}
	if op.Type == openrunner.OperationStartDeployment {
		// Re-resolve the tag: pull it; an image that only exists in the
		// local engine (docker build, no registry) is re-read as it is.
		got, err := c.Runtime.EnsureImage(ctx, img.Identifier, true, func(string) {})
		if err != nil {
			c.eventf(svc, op, "Could not pull %s (%s); using the image in the local engine.", img.Identifier, openrunner.ErrorMessage(err))
			got, err = c.Runtime.EnsureImage(ctx, img.Identifier, false, func(string) {})
		}
		// A service with secrets redeploys even with the same image: the
		// deployment reads the secrets' values anew.
		if err == nil && svc.Active != nil && got.ID == svc.Active.ImageID && len(img.Secrets) == 0 {
			return jobResult{unchanged: true}
		}
	}
	c.event(svc, op, logs.PullingImage(img.Identifier, img.RepositoryType))
	got, err := c.Runtime.EnsureImage(ctx, img.Identifier, false, func(string) {})
	if err != nil {
		c.eventf(svc, op, "Failed to pull your application image %s: %s", img.Identifier, openrunner.ErrorMessage(err))
		return jobResult{err: deployError("image %s: %s", img.Identifier, openrunner.ErrorMessage(err))}
	}
	c.event(svc, op, logs.ImagePulled(img.RepositoryType))
	c.event(svc, op, logs.Provisioning(cfg.Network.IsPubliclyAccessible))
	rev := &openrunner.Revision{ID: openrunner.NewID(), Config: cfg, ImageID: got.ID, DeployedAt: c.Now()}
	if err := c.resolveSecrets(ctx, svc, op, rev, img.Secrets); err != nil {
		return jobResult{err: err}
	}
	c.memo.get(svc.ARN()).setEnsured(rev.ID)
	return jobResult{rev: rev}
}

// deployError is why a deployment failed, in words for its user: it ends
// up in the operation's message and the service log. Errors that are not
// (file system, engine) show there as "An internal error occurred." and
// are logged in full for the operator.
func deployError(format string, args ...any) error {
	return openrunner.Errorf(openrunner.EINVALID, format, args...)
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
func (c *Controller) connectionProvider(ctx context.Context, svc *openrunner.Service, arn string) string {
	if c.Connections != nil {
		if c, err := c.Connections.FindConnectionByARN(openrunner.NewContextWithScope(ctx, svc.Scope), arn); err == nil {
			return c.ProviderType
		}
	}
	return openrunner.ProviderGitHub
}

// credential returns the service's connection credential, or the failure
// App Runner reports when the connection cannot be used.
func (c *Controller) credential(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, cfg openrunner.ServiceConfig, provider string) (openrunner.ProviderCredential, error) {
	ctx = openrunner.NewContextWithScope(ctx, svc.Scope)
	cred, err := c.Source.Credentials.AccessToken(ctx, cfg.Source.ConnectionARN)
	if err == nil {
		return cred, nil
	}
	switch openrunner.ErrorCode(err) {
	case openrunner.EINVALIDSTATE, openrunner.ENOTFOUND:
		msg := "Failed to retrieve the latest commit from your source repository. Be sure you configure your service with a valid connection to your " + providerName(provider) + " repository"
		c.event(svc, op, logs.Prefix+msg)
		c.eventf(svc, op, "The connection %s cannot be used: %s", cfg.Source.ConnectionARN, openrunner.ErrorMessage(err))
		return cred, deployError("%s", msg)
	}
	c.eventf(svc, op, "Could not get a credential for the connection %s: %s", cfg.Source.ConnectionARN, openrunner.ErrorMessage(err))
	return cred, deployError("connection %s: %s", cfg.Source.ConnectionARN, openrunner.ErrorMessage(err))
}

// fetch fetches the branch's newest commit; a credential the provider
// refuses is checked with the provider, which sets the connection to
// ERROR.
func (c *Controller) fetch(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, cfg openrunner.ServiceConfig, cred openrunner.ProviderCredential) (string, error) {
	code := cfg.Source.Code
	if base := c.Source.ProviderURLs[cred.Provider]; base != "" && !openrunner.OnProvider(code.RepositoryURL, base) {
		msg := fmt.Sprintf("The repository %s isn't on %s (%s), the provider of the connection; it is not fetched with the connection's credentials.", code.RepositoryURL, providerName(cred.Provider), base)
		c.eventf(svc, op, "%s", msg)
		return "", deployError("%s", msg)
	}
	commit, err := c.Source.Fetcher.Fetch(ctx, svc.ID, code.RepositoryURL, code.VersionValue, cred)
	if err == nil {
		return commit, nil
	}
	if errors.Is(err, source.ErrRejected) {
		ctx = openrunner.NewContextWithScope(ctx, svc.Scope)
		if verr := c.Source.Credentials.Verify(ctx, cfg.Source.ConnectionARN); openrunner.ErrorCode(verr) == openrunner.EINVALIDSTATE {
			msg := fmt.Sprintf("The provider no longer accepts the credentials of the connection %s; it is now ERROR. Complete its handshake again, then start a deployment.", cfg.Source.ConnectionARN)
			c.eventf(svc, op, "%s", msg)
			return "", deployError("%s", msg)
		}
	}
	c.eventf(svc, op, "%s", openrunner.ErrorMessage(err))
	return "", deployError("%s", openrunner.ErrorMessage(err))
}

// buildRevision fetches the newest commit of the service's branch, reads
// its configuration and builds it, logging each step with App Runner's
// lines. The returned revision is built but not started.
func (c *Controller) buildRevision(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, cfg openrunner.ServiceConfig, first bool) (*openrunner.Revision, error) {
	code := cfg.Source.Code
	dir := sourceDirectory(code)
	c.event(svc, op, logs.DeploymentArtifactSource(code.RepositoryURL, code.VersionValue, "/"+dir))
	if c.Source.Builder == nil || c.Source.Fetcher == nil || c.Source.Credentials == nil {
		c.event(svc, op, logs.SourceDeployFailed)
		return nil, deployError("the %s runtime cannot build services from source code", c.Runtime.Name())
	}
	provider := c.connectionProvider(ctx, svc, cfg.Source.ConnectionARN)
	cred, err := c.credential(ctx, svc, op, cfg, provider)
	if err != nil {
		return nil, err
	}
	if op.Type != openrunner.OperationStartDeployment && cfg.Source.AutoDeploymentsEnabled && c.Source.RegisterWebhook != nil {
		c.event(svc, op, logs.CreatingPipeline)
		if err := c.Source.RegisterWebhook(openrunner.NewContextWithScope(ctx, svc.Scope), svc, cred); err != nil {
			// Never fatal: pushes can still be deployed by polling or
			// StartDeployment.
			c.eventf(svc, op, "Could not register a push webhook with %s: %s. Automatic deployments need a webhook set up by hand (see the README) or polling (--poll-interval).",
				providerName(provider), openrunner.ErrorMessage(err))
		} else {
			c.event(svc, op, logs.PipelineCreated)
		}
	}
	c.event(svc, op, logs.PullingSource(provider, code.RepositoryURL))
	commit, err := c.fetch(ctx, svc, op, cfg, cred)
	if err != nil {
		c.event(svc, op, logs.SourceDeployFailed)
		return nil, err
	}
	c.memo.get(svc.ARN()).setTried(commit)
	op.CommitID = commit
	if err := c.Services.UpdateOperation(ctx, op); err != nil {
		c.Logger.Warn("recording the commit", "operation", op.ID, "error", err)
	}
	c.event(svc, op, logs.SourcePulled)
	c.eventf(svc, op, "Deploying commit %s of branch %s.", commit, code.VersionValue)

	rev := &openrunner.Revision{ID: openrunner.NewID(), Config: cfg, DeployedAt: c.Now()}
	snap := filepath.Join(c.Source.Dir, svc.ID, rev.ID)
	if err := os.MkdirAll(filepath.Dir(snap), 0o700); err != nil {
		return nil, err
	}
	if _, err := c.Source.Fetcher.Snapshot(ctx, svc.ID, commit, snap); err != nil {
		c.event(svc, op, logs.SourceDeployFailed)
		return nil, fmt.Errorf("keeping a snapshot of commit %s: %w", commit, err)
	}
	c.pruneSnapshots(svc, rev.ID)

	conf, err := c.readConfig(svc, op, code, snap, dir)
	if err != nil {
		c.event(svc, op, logs.SourceDeployFailed)
		return nil, err
	}
	if first && !c.Source.AllowEndOfSupport {
		if err := apprunneryaml.CheckNewService(conf, c.Now()); err != nil {
			c.eventf(svc, op, "%s", err)
			c.event(svc, op, logs.SourceDeployFailed)
			return nil, deployError("%s", err)
		}
	}
	env := map[string]string{}
	for _, v := range conf.Run.Env {
		env[v.Name] = v.Value
	}
	// run.secrets exist at run time only: they are read now, before the
	// build, so that a missing one fails fast, and never reach the build.
	refs := map[string]string{}
	for _, s := range conf.Run.Secrets {
		refs[s.Name] = s.ValueFrom
	}
	if err := c.resolveSecrets(ctx, svc, op, rev, refs); err != nil {
		c.event(svc, op, logs.SourceDeployFailed)
		return nil, err
	}
	spec := openrunner.BuildSpec{
		ServiceARN: svc.ARN(), RevisionID: rev.ID, SourceDir: snap, Directory: dir,
		Runtime: conf.Runtime.Name, RuntimeVersion: conf.LockedVersion(), Port: conf.Run.Port,
		Log: func(line string) { c.event(svc, op, line) },
	}
	for _, st := range conf.Steps() {
		bs := openrunner.BuildStep{Phase: string(st.Phase), OnRunImage: st.Image == apprunneryaml.RunImage, Commands: st.Commands}
		for _, v := range st.Env {
			bs.Env = append(bs.Env, openrunner.EnvVar{Name: v.Name, Value: v.Value})
		}
		spec.Steps = append(spec.Steps, bs)
	}
	c.event(svc, op, logs.StartingSourceDeploy)
	c.event(svc, op, logs.StartingBuild)
	img, err := c.Source.Builder.Build(ctx, spec)
	if err != nil {
		c.eventf(svc, op, "Build failed: %s", openrunner.ErrorMessage(err))
		c.event(svc, op, logs.SourceDeployFailed)
		return nil, deployError("build failed: %s", openrunner.ErrorMessage(err))
	}
	c.event(svc, op, logs.BuildSucceeded)
	rev.ImageID = img.ID
	rev.Build = &openrunner.BuiltRevision{
		CommitID: commit, Image: img.Ref, StartCommand: conf.Run.Command,
		Port: conf.Run.Port, PortEnv: conf.Run.PortEnv, Env: env,
	}
	return rev, nil
}

// readConfig reads apprunner.yaml from the snapshot, or turns the API
// values into the same configuration.
func (c *Controller) readConfig(svc *openrunner.Service, op *openrunner.Operation, code *openrunner.CodeSource, snap, dir string) (*apprunneryaml.Config, error) {
	if code.ConfigurationSource == apprunneryaml.SourceAPI {
		if code.Values == nil {
			return nil, deployError("CodeConfigurationValues are required with ConfigurationSource API")
		}
		conf, err := apprunneryaml.FromAPI(apprunneryaml.CodeValues(*code.Values))
		if err != nil {
			c.eventf(svc, op, "Invalid CodeConfigurationValues: %s", err)
			return nil, deployError("invalid CodeConfigurationValues: %s", err)
		}
		return conf, nil
	}
	c.event(svc, op, logs.ReadingConfigFile)
	name := configFile
	if dir != "" {
		name = dir + "/" + configFile
	}
	b, err := readInside(snap, filepath.FromSlash(name))
	if errors.Is(err, os.ErrNotExist) {
		msg := fmt.Sprintf("%s was not found in the source directory /%s. Add one, or configure the service with ConfigurationSource API.", configFile, dir)
		c.eventf(svc, op, "%s", msg)
		return nil, deployError("%s", msg)
	}
	if err != nil {
		msg := fmt.Sprintf("%s in the source directory /%s cannot be read (a link that leaves the repository is not followed).", configFile, dir)
		c.eventf(svc, op, "%s", msg)
		return nil, deployError("%s", msg)
	}
	conf, err := apprunneryaml.Parse(b)
	if err != nil {
		var ve *apprunneryaml.ValidationError
		if errors.As(err, &ve) {
			for _, fe := range ve.Errors {
				c.eventf(svc, op, "Invalid %s: %s", configFile, fe.Error())
			}
		} else {
			c.eventf(svc, op, "Invalid %s: %s", configFile, err)
		}
		return nil, deployError("invalid %s: %s", configFile, err)
	}
	return conf, nil
}

// pruneSnapshots keeps the newest KeepSnapshots source snapshots of the
// service (rev among them).
func (c *Controller) pruneSnapshots(svc *openrunner.Service, rev string) {
	keep := c.Source.KeepSnapshots
	if keep <= 0 {
		keep = 5
	}
	dir := filepath.Join(c.Source.Dir, svc.ID)
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

// removeBuild deletes a revision's built image, if it was built.
func (c *Controller) removeBuild(ctx context.Context, rev *openrunner.Revision) {
	if rev == nil || rev.Build == nil || c.Source.Builder == nil {
		return
	}
	if err := c.Source.Builder.RemoveBuild(context.WithoutCancel(ctx), rev.Build.Image); err != nil {
		c.Logger.Warn("removing a build", "image", rev.Build.Image, "error", err)
	}
}

// forgetSource removes everything kept of a deleted service's source, and
// its push webhook if no other service needs it.
func (c *Controller) forgetSource(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation) {
	c.unregisterWebhook(ctx, svc, op)
	if c.Source.Fetcher != nil {
		_ = c.Source.Fetcher.Remove(svc.ID)
	}
	if c.Source.Dir != "" {
		_ = os.RemoveAll(filepath.Join(c.Source.Dir, svc.ID))
	}
	c.memo.drop(svc.ARN())
}

// unregisterWebhook removes the push webhook of the repository svc's
// configuration names, unless another service needs it.
func (c *Controller) unregisterWebhook(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation) {
	if svc.Config.Source.Code == nil || c.Source.UnregisterWebhook == nil || c.Source.Credentials == nil || c.webhookShared(ctx, svc) {
		return
	}
	ctx = openrunner.NewContextWithScope(ctx, svc.Scope)
	cred, err := c.Source.Credentials.AccessToken(ctx, svc.Config.Source.ConnectionARN)
	if err == nil {
		err = c.Source.UnregisterWebhook(ctx, svc, cred)
	}
	if err != nil {
		c.eventf(svc, op, "Could not remove the push webhook of %s: %s. Remove it in the repository's settings.",
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
func (c *Controller) pruneBuilds(ctx context.Context) {
	if c.Source.Builder == nil {
		return
	}
	builds, err := c.Source.Builder.Builds(ctx)
	if err != nil || len(builds) == 0 {
		if err != nil {
			c.Logger.Warn("listing builds", "error", err)
		}
		return
	}
	services, err := c.Services.FindServicesByStatus(ctx, openrunner.ServiceRunning, openrunner.ServicePaused,
		openrunner.ServiceOperationInProgress, openrunner.ServiceCreateFailed, openrunner.ServiceDeleteFailed)
	if err != nil {
		c.Logger.Warn("listing services", "error", err)
		return
	}
	keep := map[string]bool{}
	for _, svc := range services {
		for _, rev := range []*openrunner.Revision{svc.Active, svc.Desired.Rollout} {
			if rev != nil {
				keep[rev.ID] = true
			}
		}
	}
	for _, b := range builds {
		if keep[b.RevisionID] {
			continue
		}
		if err := c.Source.Builder.RemoveBuild(ctx, b.Ref); err != nil {
			c.Logger.Warn("removing an unused build", "image", b.Ref, "error", err)
		} else {
			c.Logger.Info("removed an unused build", "image", b.Ref, "revision", b.RevisionID)
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
func (c *Controller) webhookShared(ctx context.Context, svc *openrunner.Service) bool {
	services, err := c.Services.FindServicesByStatus(ctx, openrunner.ServiceRunning, openrunner.ServicePaused,
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
func (c *Controller) forgetCommits(ctx context.Context, svc *openrunner.Service, rev *openrunner.Revision) {
	if rev.Build == nil || c.Source.Fetcher == nil {
		return
	}
	if err := c.Source.Fetcher.Forget(ctx, svc.ID, rev.Build.CommitID); err != nil {
		c.Logger.Warn("forgetting old commits", "service", svc.ARN(), "error", err)
	}
}
