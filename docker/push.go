package docker

import (
	"context"

	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"

	"github.com/openrunner/openrunner"
)

// Push pushes the engine's image ref to the registry as target (a tagged
// reference), with Options.Registries' credentials for target's registry,
// passing progress lines to log. The engine keeps ref; the target tag is
// removed again. Returns EINVALID when the registry refuses the push.
func (r *Runtime) Push(ctx context.Context, ref, target string, log func(string)) error {
	if log == nil {
		log = func(string) {}
	}
	named, err := parseRef(target)
	if err != nil {
		return err
	}
	if err := r.client.ImageTag(ctx, ref, target); err != nil {
		return engineError("tag "+ref+" as "+target, err)
	}
	defer func() {
		_, _ = r.client.ImageRemove(context.WithoutCancel(ctx), target, image.RemoveOptions{})
	}()
	auth, err := r.auth(reference.Domain(named))
	if err != nil {
		return err
	}
	rc, err := r.client.ImagePush(ctx, target, image.PushOptions{RegistryAuth: auth})
	if err != nil {
		return openrunner.Errorf(openrunner.EINVALID, "pushing %s: %v", target, err)
	}
	defer rc.Close()
	return progress(ctx, rc, "push", target, log, func(msg string) error {
		return openrunner.Errorf(openrunner.EINVALID, "pushing %s: %s", target, msg)
	})
}
