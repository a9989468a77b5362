package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/openrunner/openrunner"
)

// resolveSecrets reads the value of every secret reference of a deployment
// (variable name → reference) and seals them into rev.Secrets. A reference
// that cannot be read fails the deployment with a line naming the variable
// and the reason, never a value.
func (c *Controller) resolveSecrets(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, rev *openrunner.Revision, refs map[string]string) error {
	if len(refs) == 0 {
		return nil
	}
	if c.Secrets == nil || c.Sealer == nil {
		return deployError("this server does not read secrets, and the service has %d", len(refs))
	}
	c.eventf(svc, op, "Reading %d secret(s) for the environment of the instances.", len(refs))
	values := make(map[string]string, len(refs))
	for _, name := range slices.Sorted(maps.Keys(refs)) {
		v, err := c.Secrets.ResolveSecret(ctx, svc.Scope, refs[name])
		if err != nil {
			if openrunner.ErrorCode(err) == openrunner.EINTERNAL {
				c.Logger.Error("reading a secret", "service", svc.ARN(), "variable", name, "error", err)
			}
			msg := fmt.Sprintf("The secret %s could not be read from %s: %s", name, refs[name], openrunner.ErrorMessage(err))
			c.eventf(svc, op, "%s", msg)
			return deployError("%s", msg)
		}
		values[name] = v
	}
	b, err := json.Marshal(values)
	if err != nil {
		return err
	}
	rev.Secrets = c.Sealer.Seal(b, secretsContext(rev))
	clear(b)
	return nil
}

// addSecretEnv adds the values of rev's secrets to the environment of its
// instances: in a copy, since the spec's map is the revision's own.
func (c *Controller) addSecretEnv(rev *openrunner.Revision, spec *openrunner.InstanceSpec) error {
	if len(rev.Secrets) == 0 {
		return nil
	}
	if c.Sealer == nil {
		return deployError("this server does not read secrets")
	}
	b, err := c.Sealer.Open(rev.Secrets, secretsContext(rev))
	if err != nil {
		return fmt.Errorf("opening the secrets of revision %s: %w", rev.ID, err)
	}
	var values map[string]string
	err = json.Unmarshal(b, &values)
	clear(b)
	if err != nil {
		return fmt.Errorf("reading the secrets of revision %s: %w", rev.ID, err)
	}
	env := maps.Clone(spec.Env)
	if env == nil {
		env = map[string]string{}
	}
	maps.Copy(env, values)
	spec.Env = env
	return nil
}

// secretsContext binds a revision's sealed secrets to it.
func secretsContext(rev *openrunner.Revision) string { return "revision-secrets:" + rev.ID }
