package kubernetes

import (
	"archive/tar"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openrunner/openrunner"
)

// resolved is what EnsureImage learned of an image.
type resolved struct {
	pinned string // repository@digest: what the Pods run
	digest string
	shell  bool // the image has /bin/sh
}

// imageCache resolves image references against their registry. The
// cluster's nodes pull the images; OpenRunner only reads manifests (and,
// once per digest, the layers' file lists to find a shell).
type imageCache struct {
	registries map[string]Credentials

	mu    sync.Mutex
	refs  map[string]resolved // by reference as given
	shell map[string]bool     // by digest
}

func newImageCache(regs map[string]Credentials) *imageCache {
	return &imageCache{registries: regs, refs: map[string]resolved{}, shell: map[string]bool{}}
}

func (c *imageCache) keychain(reg string) authn.Authenticator {
	if cr, ok := c.registries[reg]; ok {
		return &authn.Basic{Username: cr.Username, Password: cr.Password}
	}
	return authn.Anonymous
}

// lookup returns what EnsureImage resolved ref to, if it did.
func (c *imageCache) lookup(ref string) (resolved, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.refs[ref]
	return r, ok
}

// EnsureImage resolves ref to a digest in its registry (every time when
// pull is true or ref names a tag not seen yet) and checks whether the
// image has a shell for start commands. The nodes pull it when a Pod
// needs it. Returns EINVALID when the registry does not have it, denies
// it, or cannot be reached.
func (r *Runtime) EnsureImage(ctx context.Context, ref string, pull bool, log func(string)) (openrunner.Image, error) {
	if log == nil {
		log = func(string) {}
	}
	c := r.images
	if res, ok := c.lookup(ref); ok && !pull {
		return openrunner.Image{Ref: ref, ID: res.digest}, nil
	}
	parsed, err := name.ParseReference(ref)
	if err != nil {
		return openrunner.Image{}, openrunner.Errorf(openrunner.EINVALID, "%q is not an image reference: %v", ref, err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(c.keychain(parsed.Context().RegistryStr()))}
	img, err := remote.Image(parsed, opts...)
	if err != nil {
		return openrunner.Image{}, imageError(ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return openrunner.Image{}, imageError(ref, err)
	}
	res := resolved{pinned: parsed.Context().Name() + "@" + digest.String(), digest: digest.String()}
	c.mu.Lock()
	shell, known := c.shell[res.digest]
	c.mu.Unlock()
	if !known {
		log("Resolving " + ref + " to " + res.digest)
		if shell, err = hasShell(img); err != nil {
			return openrunner.Image{}, imageError(ref, err)
		}
	}
	res.shell = shell
	c.mu.Lock()
	c.refs[ref], c.shell[res.digest] = res, shell
	c.mu.Unlock()
	return openrunner.Image{Ref: ref, ID: res.digest}, nil
}

// hasShell reports whether a layer holds /bin/sh (or /usr/bin/sh, where
// /bin is a link). Layers are read base first, stopping at the first hit.
func hasShell(img v1.Image) (bool, error) {
	ls, err := img.Layers()
	if err != nil {
		return false, err
	}
	for _, l := range ls {
		rc, err := l.Uncompressed()
		if err != nil {
			return false, err
		}
		found, err := tarHas(rc, "bin/sh", "usr/bin/sh")
		rc.Close()
		if err != nil || found {
			return found, err
		}
	}
	return false, nil
}

func tarHas(rd io.Reader, names ...string) (bool, error) {
	tr := tar.NewReader(rd)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		p := strings.TrimPrefix(path.Clean("/"+h.Name), "/")
		for _, n := range names {
			if p == n && (h.Typeflag == tar.TypeReg || h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink) {
				return true, nil
			}
		}
	}
}

// imageError is EINVALID with what a user can act on.
func imageError(ref string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.StatusCode {
		case http.StatusNotFound:
			return openrunner.Errorf(openrunner.EINVALID, "image %s was not found in its registry", ref)
		case http.StatusUnauthorized, http.StatusForbidden:
			return openrunner.Errorf(openrunner.EINVALID, "the registry denied access to image %s", ref)
		}
	}
	return openrunner.Errorf(openrunner.EINVALID, "image %s could not be resolved: %v", ref, err)
}

// pullSecretName is the dockerconfigjson Secret of Options.Registries that
// every Deployment lists in imagePullSecrets; "" when there are none.
func (r *Runtime) pullSecretName() string {
	if len(r.opts.Registries) == 0 {
		return ""
	}
	return "openrunner-registries-" + strings.ToLower(labelValue(r.owner))
}

// ensurePullSecret creates or updates the pull Secret.
func (r *Runtime) ensurePullSecret(ctx context.Context) error {
	n := r.pullSecretName()
	if n == "" {
		return nil
	}
	auths := map[string]map[string]string{}
	for host, cr := range r.opts.Registries {
		auths[host] = map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(cr.Username + ":" + cr.Password))}
	}
	b, err := json.Marshal(map[string]any{"auths": auths})
	if err != nil {
		return err
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{openrunner.LabelManagedBy: "openrunner", LabelOwner: r.owner}},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: b},
	}
	secrets := r.client.CoreV1().Secrets(r.ns)
	if _, err = secrets.Create(ctx, s, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = secrets.Update(ctx, s, metav1.UpdateOptions{})
	}
	return err
}
