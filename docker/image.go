package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"

	"github.com/openrunner/openrunner"
)

// EnsureImage makes ref available in the engine's image store and returns
// its image ID. An image already stored under exactly ref is used as it is
// unless pull is true; otherwise ref is pulled (from its mirror, if
// Options.Mirrors names one), with credentials from Options.Registries, and
// each step of the pull is passed to log. Returns EINVALID, with the
// registry's reason, for a malformed reference, an unknown image, denied
// access or an unreachable registry.
func (r *Runtime) EnsureImage(ctx context.Context, ref string, pull bool, log func(line string)) (openrunner.Image, error) {
	if log == nil {
		log = func(string) {}
	}
	named, err := parseRef(ref)
	if err != nil {
		return openrunner.Image{}, err
	}
	if !pull {
		if ii, ok, err := r.localImage(ctx, named); err != nil {
			return openrunner.Image{}, err
		} else if ok {
			return openrunner.Image{Ref: ref, ID: ii.ID}, nil
		}
	}

	from := r.mirrored(named)
	start := r.now()
	if from.String() != named.String() {
		log(fmt.Sprintf("Pulling %s from mirror %s", ref, reference.Domain(from)))
	} else {
		log(fmt.Sprintf("Pulling %s", ref))
	}
	if err := r.pull(ctx, ref, from, log); err != nil {
		return openrunner.Image{}, err
	}
	if from.String() != named.String() {
		// Tag the mirrored image under the name the service uses, so that
		// StartInstance and the next EnsureImage find it there. A digest
		// cannot be a tag; StartInstance looks such images up through the
		// mirror instead.
		if _, digested := named.(reference.Digested); !digested {
			if err := r.client.ImageTag(ctx, from.String(), named.String()); err != nil {
				return openrunner.Image{}, fmt.Errorf("docker: tag %s as %s: %w", from, named, err)
			}
		}
	}
	ii, err := r.client.ImageInspect(ctx, from.String())
	if err != nil {
		return openrunner.Image{}, fmt.Errorf("docker: inspect pulled image %s: %w", from, err)
	}
	r.logger.Info("pulled image", "ref", ref, "from", from.String(), "id", ii.ID, "took", r.now().Sub(start))
	return openrunner.Image{Ref: ref, ID: ii.ID}, nil
}

// parseRef parses an image reference as `docker pull` does ("nginx" is
// docker.io/library/nginx:latest). Returns EINVALID if it is malformed.
func parseRef(ref string) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, openrunner.Errorf(openrunner.EINVALID, "%q is not a valid image reference (%v): use REGISTRY/REPOSITORY[:TAG|@DIGEST]", ref, err)
	}
	return reference.TagNameOnly(named), nil
}

// localImage returns the stored image that carries exactly named as a tag
// or, for a digest reference, as a repository digest. An image that is
// only a prefix of an ID or another name's match does not count.
func (r *Runtime) localImage(ctx context.Context, named reference.Named) (image.InspectResponse, bool, error) {
	ii, err := r.client.ImageInspect(ctx, named.String())
	switch {
	case cerrdefs.IsNotFound(err):
		return image.InspectResponse{}, false, nil
	case err != nil:
		return image.InspectResponse{}, false, engineError("inspect image "+named.String(), err)
	}
	names := ii.RepoTags
	if _, ok := named.(reference.Digested); ok {
		names = ii.RepoDigests
	}
	for _, n := range names {
		if got, err := reference.ParseNormalizedNamed(n); err == nil && got.String() == named.String() {
			return ii, true, nil
		}
	}
	return image.InspectResponse{}, false, nil
}

// mirrored returns named with its registry host replaced by the mirror
// Options.Mirrors gives for it, or named itself.
func (r *Runtime) mirrored(named reference.Named) reference.Named {
	mirror, ok := r.mirrors[reference.Domain(named)]
	if !ok {
		return named
	}
	s := mirror + "/" + reference.Path(named)
	if d, ok := named.(reference.Digested); ok {
		s += "@" + d.Digest().String()
	} else if t, ok := named.(reference.Tagged); ok {
		s += ":" + t.Tag()
	}
	m, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		// A mirror host that makes no valid reference is a configuration
		// mistake; pulling from the original registry is the safe answer.
		r.logger.Warn("ignoring mirror", "registry", reference.Domain(named), "mirror", mirror, "err", err)
		return named
	}
	return m
}

// pullMessage is one line of the engine's pull progress stream.
type pullMessage struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Progress *struct {
		Current int64 `json:"current"`
		Total   int64 `json:"total"`
	} `json:"progressDetail"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
	Error string `json:"error"`
}

// pull pulls from and passes its progress to log; ref is the reference the
// service names, for messages.
func (r *Runtime) pull(ctx context.Context, ref string, from reference.Named, log func(string)) error {
	auth, err := r.auth(reference.Domain(from))
	if err != nil {
		return err
	}
	rc, err := r.client.ImagePull(ctx, from.String(), image.PullOptions{RegistryAuth: auth})
	if err != nil {
		return pullError(ref, err)
	}
	defer rc.Close()
	return progress(ctx, rc, "pull", ref, log, func(msg string) error { return pullError(ref, errors.New(msg)) })
}

// progress reads the JSON progress stream of a pull or push, passing its
// status lines to log, and returns failed(message) for the error it
// reports, if any.
func progress(ctx context.Context, rc io.Reader, what, ref string, log func(string), failed func(string) error) error {
	dec := json.NewDecoder(rc)
	for {
		var m pullMessage
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("docker: read %s progress of %s: %w", what, ref, err)
		}
		switch {
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return failed(m.ErrorDetail.Message)
		case m.Error != "":
			return failed(m.Error)
		case m.Progress != nil && m.Progress.Current > 0:
			// Byte counts of a layer download or extraction: a line per
			// chunk is noise in a deployment log.
		case m.ID != "":
			log(m.ID + ": " + m.Status)
		case m.Status != "":
			log(m.Status)
		}
	}
}

// auth returns the X-Registry-Auth value for host, or "" when Options has
// no credentials for it.
func (r *Runtime) auth(host string) (string, error) {
	c, ok := r.registries[host]
	if !ok && host == "docker.io" {
		// Docker Hub goes by several names; accept those users write.
		for _, alias := range []string{"index.docker.io", "registry-1.docker.io", "https://index.docker.io/v1/"} {
			if c, ok = r.registries[alias]; ok {
				break
			}
		}
	}
	if !ok {
		return "", nil
	}
	s, err := registry.EncodeAuthConfig(registry.AuthConfig{Username: c.Username, Password: c.Password, ServerAddress: host})
	if err != nil {
		return "", fmt.Errorf("docker: encode credentials for %s: %w", host, err)
	}
	return s, nil
}

// pullError turns a failed pull into an error for the user: EINVALID with
// the registry's reason, unless the engine itself failed.
func pullError(ref string, err error) error {
	if client.IsErrConnectionFailed(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("docker: pull %s: %w", ref, err)
	}
	msg := engineMessage(err)
	lower := strings.ToLower(msg)
	switch {
	case cerrdefs.IsUnauthorized(err) || cerrdefs.IsPermissionDenied(err) ||
		strings.Contains(lower, "denied") || strings.Contains(lower, "unauthorized") || strings.Contains(lower, "authentication required") || strings.Contains(lower, "no basic auth credentials"):
		return openrunner.Errorf(openrunner.EINVALID, "access to image %s was denied: check that it exists and that the registry credentials allow pulling it (%s)", ref, msg)
	case cerrdefs.IsNotFound(err) || strings.Contains(lower, "not found") || strings.Contains(lower, "manifest unknown"):
		return openrunner.Errorf(openrunner.EINVALID, "image %s was not found: check the repository name and tag (%s)", ref, msg)
	default:
		return openrunner.Errorf(openrunner.EINVALID, "cannot pull image %s: check that its registry is reachable (%s)", ref, msg)
	}
}

// engineError wraps an error of the engine itself (not of the user's
// input): it is logged and shown as an internal error.
func engineError(what string, err error) error {
	return fmt.Errorf("docker: %s: %w", what, err)
}
