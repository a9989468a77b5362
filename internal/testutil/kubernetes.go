package testutil

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/openrunner/openrunner/runtimetest"
)

// The test cluster of scripts/start-kubernetes: its admin kubeconfig and
// its registry, which the cluster's containerd reaches as localhost:5000.
const (
	DefaultKubeconfig  = "/var/tmp/openrunner-kubernetes/pki/admin.kubeconfig"
	KubernetesRegistry = "localhost:5000"
)

// NeedKubernetes returns the kubeconfig of the test cluster
// ($OPENRUNNER_TEST_KUBECONFIG, else scripts/start-kubernetes's), or skips
// the test when there is none or its registry does not answer (fails it
// when CI=true).
func NeedKubernetes(tb testing.TB) string {
	tb.Helper()
	kc := os.Getenv("OPENRUNNER_TEST_KUBECONFIG")
	if kc == "" {
		kc = DefaultKubeconfig
	}
	var why string
	if _, err := os.Stat(kc); err != nil {
		why = fmt.Sprintf("no kubeconfig at %s (run scripts/start-kubernetes): %v", kc, err)
	} else if resp, err := (&http.Client{Timeout: 2 * time.Second}).Get("http://" + KubernetesRegistry + "/v2/"); err != nil {
		why = fmt.Sprintf("the test cluster's registry does not answer (run scripts/start-kubernetes): %v", err)
	} else {
		resp.Body.Close()
	}
	if why != "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal(why)
		}
		tb.Skip(why)
	}
	return kc
}

var (
	kubeImageOnce sync.Once
	kubeImage     string
	kubeImageErr  error
)

// KubernetesTestImage pushes the test app (runtimetest/testapp) once per
// test binary to the test cluster's registry, as a FROM-scratch image
// whose entrypoint is /testapp and that has the app as /bin/sh too (so a
// start command runs "through a shell"), and returns its reference by
// digest.
func KubernetesTestImage(tb testing.TB) string {
	tb.Helper()
	NeedKubernetes(tb)
	kubeImageOnce.Do(func() { kubeImage, kubeImageErr = pushTestImage() })
	if kubeImageErr != nil {
		tb.Fatalf("pushing the test image: %v", kubeImageErr)
	}
	return kubeImage
}

func pushTestImage() (string, error) {
	dir, err := os.MkdirTemp("", "openrunner-kimage-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	bin, err := runtimetest.BuildAppIn(dir, "linux", "amd64")
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []string{"testapp", "bin/sh"} {
		if f == "bin/sh" {
			if err := tw.WriteHeader(&tar.Header{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				return "", err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Name: f, Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(b))}); err != nil {
			return "", err
		}
		if _, err := tw.Write(b); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return "", err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return "", err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = "amd64", "linux"
	cf.Config = v1.Config{Entrypoint: []string{"/testapp"}}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return "", err
	}
	ref, err := name.ParseReference(KubernetesRegistry + "/openrunner-test/testapp:latest")
	if err != nil {
		return "", err
	}
	if err := remote.Write(ref, img); err != nil {
		return "", err
	}
	d, err := img.Digest()
	if err != nil {
		return "", err
	}
	return ref.Context().Name() + "@" + d.String(), nil
}
