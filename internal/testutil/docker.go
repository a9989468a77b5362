package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/runtimetest"
)

// DockerTestImage is an ECR-shaped reference to a FROM-scratch image that
// holds the runtime conformance suite's test app (runtimetest/testapp). It
// lives only in the local engine, so services use it without a registry, as
// a user's own docker build does.
const DockerTestImage = "123456789012.dkr.ecr.us-east-1.amazonaws.com/openrunner-e2e:1"

var (
	buildOnce sync.Once
	buildErr  error
	buildID   string // the image this test binary built, whatever the tag now names
	pinnedRef string
)

// PinnedDockerTestImage returns, after NeedDockerTestImage, a reference to
// the same image tagged by the test app's content: unlike DockerTestImage,
// which test binaries of other checkouts sharing the engine may retag with
// their own test app, it names this binary's test app.
func PinnedDockerTestImage() string { return pinnedRef }

// NeedDockerTestImage builds DockerTestImage once per test binary, or skips
// the test when no Docker engine answers (fails it when CI=true).
func NeedDockerTestImage(t testing.TB) {
	t.Helper()
	if err := exec.Command("docker", "info").Run(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Docker engine answers (run scripts/start-docker): %v", err)
		}
		t.Skipf("no Docker engine: %v", err)
	}
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "openrunner-image-")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(dir)
		bin, err := runtimetest.BuildAppIn(dir, "linux", "amd64")
		if err != nil {
			buildErr = err
			return
		}
		if filepath.Base(bin) != "testapp" {
			if err := os.Rename(bin, filepath.Join(dir, "testapp")); err != nil {
				buildErr = err
				return
			}
		}
		dockerfile := "FROM scratch\nCOPY testapp /testapp\nENTRYPOINT [\"/testapp\"]\n"
		if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
			buildErr = err
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, "testapp"))
		if err != nil {
			buildErr = err
			return
		}
		sum := sha256.Sum256(b)
		pinnedRef = strings.TrimSuffix(DockerTestImage, ":1") + ":" + hex.EncodeToString(sum[:6])
		cmd := exec.Command("docker", "build", "-q", "-t", DockerTestImage, "-t", pinnedRef, dir)
		cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("docker build: %v: %s", err, out)
		}
		if f := strings.Fields(string(out)); len(f) > 0 {
			buildID = f[len(f)-1] // -q prints the image's ID last, after any warnings
		}
	})
	if buildErr != nil {
		t.Fatalf("building the test image: %v", buildErr)
	}
}

// PrivateDockerTestImage returns an ECR-shaped reference, unique to this
// call, to the test image this test binary built, and removes the
// reference when the test ends. Tests that need the test app's newest
// routes use it: DockerTestImage is one tag on a shared engine, which a
// test binary built from another checkout may point elsewhere meanwhile.
func PrivateDockerTestImage(t testing.TB) string {
	t.Helper()
	NeedDockerTestImage(t)
	ref := fmt.Sprintf("123456789012.dkr.ecr.us-east-1.amazonaws.com/openrunner-e2e:private-%d-%s", os.Getpid(), openrunner.NewID()[:8])
	if out, err := exec.Command("docker", "tag", buildID, ref).CombinedOutput(); err != nil {
		t.Fatalf("docker tag: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "--no-prune", ref).Run() })
	return ref
}
