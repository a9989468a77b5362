package reconcile

import (
	"context"
	"errors"
	"strconv"

	"github.com/openrunner/openrunner"
)

// runSpec is how a revision's instances start.
type runSpec struct {
	image, startCommand, port, portEnv string
	env                                map[string]string
}

// revisionRun reads how rev's instances start: from its build for a
// source-code revision, from its image configuration otherwise.
func revisionRun(rev *openrunner.Revision) runSpec {
	if b := rev.Build; b != nil {
		return runSpec{image: b.Image, startCommand: b.StartCommand, port: strconv.Itoa(b.Port), portEnv: b.PortEnv, env: b.Env}
	}
	img := rev.Config.Source.Image
	if img == nil {
		return runSpec{}
	}
	return runSpec{image: img.Identifier, startCommand: img.StartCommand, port: img.Port, env: img.Env}
}

// revisionSpec is what the runtime is asked to run of rev: replicas
// instances of its image, port, environment, start command, CPU and memory,
// checked with its health check.
func revisionSpec(svc *openrunner.Service, rev *openrunner.Revision, replicas int) openrunner.RevisionSpec {
	run := revisionRun(rev)
	port, _ := strconv.Atoi(run.port)
	cpu, _ := strconv.Atoi(rev.Config.Instance.CPU)
	mem, _ := strconv.Atoi(rev.Config.Instance.Memory)
	return openrunner.RevisionSpec{
		ServiceARN: svc.ARN(),
		RevisionID: rev.ID,
		Instance: openrunner.InstanceSpec{
			ServiceARN: svc.ARN(), RevisionID: rev.ID, Image: run.image, Port: port, PortEnv: run.portEnv,
			Env: run.env, StartCommand: run.startCommand, CPU: cpu, MemoryMB: mem,
		},
		HealthCheck: rev.Config.HealthCheck,
		Replicas:    replicas,
	}
}

// observed is what the runtime runs of one service, by revision id.
type observed map[string]openrunner.RevisionStatus

func (c *Controller) observe(ctx context.Context, arn string) (observed, error) {
	revs, err := c.Runtime.Revisions(ctx, arn)
	if err != nil {
		return nil, err
	}
	o := observed{}
	for _, r := range revs {
		o[r.RevisionID] = r
	}
	return o, nil
}

// ready counts the ready instances per revision, for the store.
func (o observed) ready() map[string]int {
	m := map[string]int{}
	for id, r := range o {
		if len(r.Ready) > 0 {
			m[id] = len(r.Ready)
		}
	}
	return m
}

// run asks the runtime for replicas instances of rev, making sure first
// that this server has its image (pulled or built before, or by another
// server).
func (c *Controller) run(ctx context.Context, m *memo, svc *openrunner.Service, rev *openrunner.Revision, replicas int) error {
	if replicas > 0 && !m.ensured(rev.ID) {
		if _, err := c.Runtime.EnsureImage(ctx, revisionRun(rev).image, false, func(string) {}); err != nil {
			return err
		}
		m.setEnsured(rev.ID)
	}
	spec := revisionSpec(svc, rev, replicas)
	var err error
	if spec.Instance.Networks, err = c.networks(ctx, svc, rev); err != nil {
		return err
	}
	c.tracingEnv(&spec.Instance, svc, rev)
	if err := c.addSecretEnv(rev, &spec.Instance); err != nil {
		return err
	}
	return c.Runtime.SetRevision(ctx, spec)
}

// removeExcept drains and removes every revision of o but those in keep.
func (c *Controller) removeExcept(ctx context.Context, svc string, o observed, keep ...*openrunner.Revision) error {
	var errs []error
	for id := range o {
		kept := false
		for _, k := range keep {
			kept = kept || (k != nil && k.ID == id)
		}
		if !kept {
			errs = append(errs, c.Runtime.RemoveRevision(ctx, svc, id))
			delete(o, id)
		}
	}
	return errors.Join(errs...)
}

// release stops this server's instances of a service another server holds
// the lease on: it took the service over (this server was cut off, or
// killed and restarted) and runs instances of its own. The route is left
// alone: it is the holder's.
func (c *Controller) release(arn string) error {
	o, err := c.observe(c.ctx, arn)
	if err != nil || len(o) == 0 {
		return err
	}
	c.Logger.Info("another server reconciles this service; stopping this server's instances of it", "service", arn)
	c.memo.drop(arn)
	return c.removeExcept(c.ctx, arn, o)
}
