package kubernetes

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/openrunner/openrunner"
)

// Pusher pushes an image a local Builder made to a registry (the Docker
// runtime's Push).
type Pusher interface {
	Push(ctx context.Context, ref, target string, log func(string)) error
}

// Builder builds source-code services for the cluster: a local Builder
// (Docker's) builds the image, which is pushed to Registry, and the
// revision runs it by digest. The nodes pull it from there.
type Builder struct {
	Local    openrunner.Builder
	Pusher   Pusher
	Registry string // e.g. localhost:5000/openrunner
	Runtime  *Runtime
}

var _ openrunner.Builder = (*Builder)(nil)

// Build builds with Local, pushes the image to Registry as
// <registry>/<service id>:<revision> and returns that reference with the
// pushed digest ("repo:tag@sha256:..."): Pods run exactly what was built.
func (b *Builder) Build(ctx context.Context, spec openrunner.BuildSpec) (openrunner.Image, error) {
	local, err := b.Local.Build(ctx, spec)
	if err != nil {
		return openrunner.Image{}, err
	}
	repo, tag := splitTag(local.Ref)
	target := strings.TrimRight(b.Registry, "/") + "/" + repo[strings.LastIndex(repo, "/")+1:] + ":" + tag
	log := spec.Log
	if log == nil {
		log = func(string) {}
	}
	log("[Build] Pushing " + target)
	if err := b.Pusher.Push(ctx, local.Ref, target, log); err != nil {
		return openrunner.Image{}, err
	}
	ref, err := name.ParseReference(target)
	if err != nil {
		return openrunner.Image{}, openrunner.Errorf(openrunner.EINVALID, "--registry %s: %v", b.Registry, err)
	}
	desc, err := remote.Head(ref, remote.WithContext(ctx), remote.WithAuth(b.Runtime.images.keychain(ref.Context().RegistryStr())))
	if err != nil {
		return openrunner.Image{}, imageError(target, err)
	}
	pinned := target + "@" + desc.Digest.String()
	// Built images have a shell: the build ran its commands with it.
	b.Runtime.images.remember(pinned, resolved{pinned: ref.Context().Name() + "@" + desc.Digest.String(), digest: desc.Digest.String(), shell: true})
	log("[Build] Pushed " + pinned)
	return openrunner.Image{Ref: pinned, ID: desc.Digest.String()}, nil
}

// RemoveBuild removes the local build of ref (a reference Build returned,
// or one Builds listed) and the pushed manifest from Registry.
func (b *Builder) RemoveBuild(ctx context.Context, ref string) error {
	base, _, pushed := strings.Cut(ref, "@")
	if !pushed {
		return b.Local.RemoveBuild(ctx, ref)
	}
	if d, err := name.NewDigest(ref); err == nil {
		_ = remote.Delete(d, remote.WithContext(ctx), remote.WithAuth(b.Runtime.images.keychain(d.Context().RegistryStr())))
	}
	repo, tag := splitTag(base)
	for _, l := range b.localRefs(ctx) {
		if lr, lt := splitTag(l); lt == tag && lr[strings.LastIndex(lr, "/")+1:] == repo[strings.LastIndex(repo, "/")+1:] {
			return b.Local.RemoveBuild(ctx, l)
		}
	}
	return nil
}

func (b *Builder) localRefs(ctx context.Context) []string {
	builds, _ := b.Local.Builds(ctx)
	out := make([]string, 0, len(builds))
	for _, x := range builds {
		out = append(out, x.Ref)
	}
	return out
}

// Builds lists the local builds.
func (b *Builder) Builds(ctx context.Context) ([]openrunner.BuiltImage, error) {
	return b.Local.Builds(ctx)
}

// splitTag splits "repo:tag" (a registry's port is not a tag).
func splitTag(ref string) (repo, tag string) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return ref, ""
	}
	return ref[:i], ref[i+1:]
}

// remember records what EnsureImage would have resolved ref to.
func (c *imageCache) remember(ref string, r resolved) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refs[ref], c.shell[r.digest] = r, r.shell
}
