package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/buildtest"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/internal/testutil"
)

// The build tests run on the engine: their runtimes map the managed
// runtimes they use to testutil's base image (python3, node, npm and go
// from Debian and the host), since nothing can be pulled from Docker Hub
// here.

// newBuilder returns a runtime whose python311, nodejs22 and go1 build on
// the test base image.
func newBuilder(tb testing.TB) (*testEnv, *docker.Runtime) {
	tb.Helper()
	e := mustEnv(tb)
	base := testutil.NeedBuildBaseImage(tb)
	return e, e.newRuntime(tb, docker.Options{RuntimeImages: map[string]string{
		"python311": base, "nodejs22": base, "go1": base,
	}})
}

// imageIDs returns the images a build's steps made or reused, from its
// " ---> <id>" lines.
func imageIDs(lines []string) []string {
	re := regexp.MustCompile(`^\[\w+\]  ---> ([0-9a-f]{12})$`)
	var ids []string
	for _, line := range lines {
		if m := re.FindStringSubmatch(line); m != nil {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// serviceARN returns a service ARN of its own for each test.
func serviceARN() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "arn:aws:apprunner:us-east-1:123456789012:service/build-test/" + hex.EncodeToString(b[:])
}

// mustBuild builds spec, logging its lines to the test, and removes the
// build when the test ends.
func mustBuild(t *testing.T, rt *docker.Runtime, spec openrunner.BuildSpec) (openrunner.Image, *buildtest.Log) {
	t.Helper()
	log := &buildtest.Log{}
	spec.Log = log.Add
	start := time.Now()
	img, err := rt.Build(context.Background(), spec)
	for _, l := range log.Lines() {
		t.Log(l)
	}
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	t.Logf("built %s (%s) in %v", img.Ref, img.ID, time.Since(start).Round(10*time.Millisecond))
	t.Cleanup(func() { mustRemoveBuild(t, rt, img) })
	return img, log
}

// mustRemoveBuild removes a build and checks that its images are gone.
func mustRemoveBuild(t *testing.T, rt *docker.Runtime, img openrunner.Image) {
	t.Helper()
	ctx := context.Background()
	listed := func() bool {
		builds, err := rt.Builds(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range builds {
			if b.Ref == img.Ref {
				return true
			}
		}
		return false
	}
	if !listed() {
		t.Errorf("Builds does not list %s", img.Ref)
	}
	if err := rt.RemoveBuild(ctx, img.Ref); err != nil {
		t.Errorf("RemoveBuild(%s): %v", img.Ref, err)
		return
	}
	if listed() {
		t.Errorf("Builds lists %s after RemoveBuild", img.Ref)
	}
	checkImagesGone(t, img)
}

// checkImagesGone checks that a removed build's image and cache image are
// gone.
func checkImagesGone(t testing.TB, img openrunner.Image) {
	t.Helper()
	for _, ref := range []string{img.Ref, strings.Replace(img.Ref, ":", "/cache:", 1)} {
		if _, err := env.client.ImageInspect(context.Background(), ref); !cerrdefs.IsNotFound(err) {
			t.Errorf("after RemoveBuild, %s: %v, want not found", ref, err)
		}
	}
}

// serve starts the built image as the deployer does (buildtest's
// ServeInstance) and returns what GET / answers, decoded.
func serve(t *testing.T, rt *docker.Runtime, img openrunner.Image, spec openrunner.BuildSpec, command string) map[string]any {
	t.Helper()
	addr := buildtest.ServeInstance(t, rt, img, openrunner.InstanceSpec{
		ServiceARN: spec.ServiceARN, RevisionID: spec.RevisionID, Port: 8080, StartCommand: command,
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		body, err := get("http://" + addr + "/")
		if err == nil {
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("GET / = %q: %v", body, err)
			}
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("the instance does not answer: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func get(url string) (string, error) {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(resp.Status)
	}
	return string(body), nil
}

// harness is the Docker runtime under buildtest: its containers run what
// it builds.
type harness struct{ *docker.Runtime }

func (h harness) Serve(tb testing.TB, img openrunner.Image, spec openrunner.InstanceSpec) string {
	return buildtest.ServeInstance(tb, h.Runtime, img, spec)
}

// TestBuilder runs the Builder conformance suite on the engine, with the
// runtimes of newBuilder.
func TestBuilder(t *testing.T) {
	buildtest.Run(t, func(tb testing.TB) buildtest.Harness {
		_, rt := newBuilder(tb)
		return harness{rt}
	}, buildtest.Options{
		Runtime: "python311",
		// WORKDIR /app/<Directory>, in every stage.
		WorkDir: func(_ buildtest.Harness, spec openrunner.BuildSpec, _ openrunner.Image) string {
			return path.Join("/app", spec.Directory)
		},
		CommandError: func(phase, command string, code int) string {
			return fmt.Sprintf("[%s] command %q failed with exit code %d", phase, command, code)
		},
		CheckBuild:   checkBuiltImage,
		CheckRemoved: func(t testing.TB, _ buildtest.Harness, img openrunner.Image) { checkImagesGone(t, img) },
		CheckFailed: func(t testing.TB, _ buildtest.Harness, spec openrunner.BuildSpec, log []string) {
			checkContainersGone(t, spec.RevisionID)
			checkRemoved(t, log)
		},
	})
}

// checkBuiltImage checks the images of a build of the suite: named
// BuildRepository/<service id>:<revision>, which Builds lists, with the
// owner's and the revision's labels but not managed-by, the port exposed,
// none of the build's variables in its environment, and the cache image
// beside it with the owner's label.
func checkBuiltImage(t testing.TB, h buildtest.Harness, spec openrunner.BuildSpec, img openrunner.Image, _ []string) {
	t.Helper()
	ctx := context.Background()
	svcID := spec.ServiceARN[strings.LastIndexByte(spec.ServiceARN, '/')+1:]
	if want := docker.BuildRepository + "/" + svcID + ":" + spec.RevisionID; img.Ref != want {
		t.Errorf("Ref = %q, want %q", img.Ref, want)
	}
	builds, err := h.Builds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(builds, func(b openrunner.BuiltImage) bool { return b.Ref == img.Ref && b.RevisionID == spec.RevisionID }) {
		t.Errorf("Builds does not list %s", img.Ref)
	}
	ii, err := env.client.ImageInspect(ctx, img.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range spec.Steps {
		for _, v := range st.Env {
			for _, e := range ii.Config.Env {
				if strings.HasPrefix(e, v.Name+"=") {
					t.Errorf("the image's environment has %q", e)
				}
			}
		}
	}
	if spec.Port > 0 {
		if _, ok := ii.Config.ExposedPorts[fmt.Sprintf("%d/tcp", spec.Port)]; !ok {
			t.Errorf("exposed ports = %v, want %d/tcp", ii.Config.ExposedPorts, spec.Port)
		}
	}
	for k, want := range map[string]string{
		docker.LabelOwner: env.owner,
		// Not managed-by: the builder's containers would be instances.
		openrunner.LabelManagedBy:  "",
		openrunner.LabelServiceARN: spec.ServiceARN,
		openrunner.LabelRevision:   spec.RevisionID,
	} {
		if got := ii.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	// The build stages' layers are kept under the cache tag, with the
	// same labels.
	ci, err := env.client.ImageInspect(ctx, docker.BuildRepository+"/"+svcID+"/cache:"+spec.RevisionID)
	if err != nil {
		t.Fatalf("cache image: %v", err)
	}
	if got := ci.Config.Labels[docker.LabelOwner]; got != env.owner {
		t.Errorf("cache image's owner label = %q, want %q", got, env.owner)
	}
}

// checkContainersGone waits for the engine to remove the containers of a
// failed or cancelled build's steps: those whose command has marker.
func checkContainersGone(t testing.TB, marker string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := env.client.ContainerList(context.Background(), container.ListOptions{All: true})
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, c := range list {
			if strings.Contains(c.Command, marker) {
				left = append(left, c.ID[:12]+" "+c.State)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed build's step containers are still there: %v", left)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestBuild_Stages checks what the generated Dockerfile's stages make of
// a revised build: the whole repository is in /app without the build
// context's Dockerfile, and what post-build writes, on the build stage,
// is not deployed.
func TestBuild_Stages(t *testing.T) {
	_, rt := newBuilder(t)
	spec := openrunner.BuildSpec{
		ServiceARN: serviceARN(), RevisionID: "stages-1", Directory: "web",
		SourceDir: buildtest.WriteTree(t, map[string]string{"web/a.txt": "a", "b.txt": "b"}),
		Runtime:   "python311", Port: 8080,
		Steps: []openrunner.BuildStep{
			{Phase: "PreBuild", Commands: []string{"test ! -e /app/Dockerfile && test ! -e /app/source && test -f /app/b.txt"}},
			{Phase: "Build", Commands: []string{"echo built > built.txt"}},
			{Phase: "PreRun", OnRunImage: true, Commands: []string{"echo prerun > prerun.txt"}},
			{Phase: "PostBuild", Commands: []string{"echo post > postbuild.txt && test -f /app/web/postbuild.txt"}},
		},
	}
	img, _ := mustBuild(t, rt, spec)
	id := mustCreate(t, img.ID)
	for _, p := range []string{"/app/b.txt", "/app/web/built.txt", "/app/web/prerun.txt"} {
		if _, err := env.client.ContainerStatPath(context.Background(), id, p); err != nil {
			t.Errorf("%s in the built image: %v", p, err)
		}
	}
	for _, p := range []string{"/app/web/postbuild.txt", "/app/Dockerfile", "/app/source"} {
		if _, err := env.client.ContainerStatPath(context.Background(), id, p); !cerrdefs.IsNotFound(err) {
			t.Errorf("%s in the built image: %v, want not found", p, err)
		}
	}
}

const goServer = `package main

import (
	"encoding/json"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"lang": "go", "greeting": greeting})
	})
	http.ListenAndServe(":"+os.Getenv("PORT"), nil)
}
`

// goSource returns the source of a Go app that answers greeting.
func goSource(greeting string) map[string]string {
	return map[string]string{
		"go.mod":      "module example.com/buildtest\n\ngo 1.22\n",
		"main.go":     goServer,
		"greeting.go": "package main\n\nconst greeting = \"" + greeting + "\"\n",
	}
}

// goSpec is an original build of go1: the build commands run on the build
// image, then again on the run image.
func goSpec(src, revision string) openrunner.BuildSpec {
	build := []string{"go build -o server ."}
	return openrunner.BuildSpec{
		ServiceARN: serviceARN(), RevisionID: revision, SourceDir: src,
		Runtime: "go1", RuntimeVersion: "1.18", Port: 8080,
		Steps: []openrunner.BuildStep{
			{Phase: "Build", Commands: build},
			{Phase: "Build", OnRunImage: true, Commands: build},
		},
	}
}

// TestBuild_Cache builds an original build, whose build commands run
// twice, then rebuilds the same source, then with one file changed, and
// measures both.
func TestBuild_Cache(t *testing.T) {
	e, rt := newBuilder(t)
	src := buildtest.WriteTree(t, goSource("cache "+hex.EncodeToString([]byte(t.Name()))+time.Now().Format(time.RFC3339Nano)))
	spec := goSpec(src, "cache-1")
	arn := spec.ServiceARN

	start := time.Now()
	first, log := mustBuild(t, rt, spec)
	cold := time.Since(start)
	// Once in the build stage's build, then in the packaging stage's:
	// there the build stage comes from the cache.
	if n := log.Match(`^\[Build\] Step \d+/\d+ : RUN go build -o server \.$`); n != 3 {
		t.Errorf("%d RUN go build steps in the log, want 3 (build stage, then build stage again and packaging stage)", n)
	}

	spec.RevisionID = "cache-2"
	start = time.Now()
	_, log = mustBuild(t, rt, spec)
	warm := time.Since(start)
	// Every RUN of every stage's build comes from the cache.
	if runs, cached := log.Match(`Step \d+/\d+ : RUN `), log.Match(`^\[\w+\]  ---> Using cache$`); runs == 0 || cached < runs {
		t.Errorf("warm rebuild: %d RUN steps, %d from the cache; want all", runs, cached)
	}

	if err := os.WriteFile(filepath.Join(src, "greeting.go"), []byte("package main\n\nconst greeting = \"changed\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec.RevisionID = "cache-3"
	start = time.Now()
	changed, log := mustBuild(t, rt, spec)
	oneFile := time.Since(start)
	if n := log.Match(`^\[\w+\]  ---> Using cache$`); n == 0 {
		t.Errorf("rebuild after a change uses no cache at all")
	}
	t.Logf("go1 build: cold %v, warm rebuild %v, one file changed %v", cold.Round(10*time.Millisecond), warm.Round(10*time.Millisecond), oneFile.Round(10*time.Millisecond))
	if got := serve(t, rt, changed, spec, "./server"); got["greeting"] != "changed" {
		t.Errorf("after the change, greeting = %v", got["greeting"])
	}

	// Building a revision again replaces its image and removes the old
	// one, which nothing else uses.
	spec.ServiceARN, spec.RevisionID = arn, "cache-1"
	if err := os.WriteFile(filepath.Join(src, "greeting.go"), []byte("package main\n\nconst greeting = \"again\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := rt.Build(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	if again.Ref != first.Ref || again.ID == first.ID {
		t.Errorf("rebuilt revision: %+v, was %+v; want the same ref, another image", again, first)
	}
	if _, err := e.client.ImageInspect(context.Background(), first.ID); !cerrdefs.IsNotFound(err) {
		t.Errorf("the revision's old image %s: %v, want removed", first.ID, err)
	}
}

// checkRemoved checks that the images a failed build's log names are gone,
// but for the runtime's image.
func checkRemoved(t testing.TB, log []string) {
	t.Helper()
	ctx := context.Background()
	bi, err := env.client.ImageInspect(ctx, testutil.NeedBuildBaseImage(t))
	if err != nil {
		t.Fatal(err)
	}
	ids := imageIDs(log)
	if len(ids) < 2 {
		t.Errorf("the log names images %v, want the runtime's and more", ids)
	}
	for _, id := range ids {
		if strings.HasPrefix(strings.TrimPrefix(bi.ID, "sha256:"), id) {
			continue
		}
		if _, err := env.client.ImageInspect(ctx, id); !cerrdefs.IsNotFound(err) {
			t.Errorf("image %s of the failed build: %v, want removed", id, err)
		}
	}
}

// TestBuild_ErrRuntimeImage checks runtimes without a usable image.
func TestBuild_ErrRuntimeImage(t *testing.T) {
	e := mustEnv(t)
	src := buildtest.WriteTree(t, map[string]string{"a": "a"})
	for _, tc := range []struct {
		name, runtime string
		images        map[string]string
		want          []string
	}{
		{"ErrUnknownRuntime", "cobol1", nil, []string{`"cobol1"`, "--runtime-image cobol1=IMAGE"}},
		{"ErrUnreachable", "python311", map[string]string{"python311": "127.0.0.1:1/openrunner/no-such-runtime:1"},
			[]string{"127.0.0.1:1/openrunner/no-such-runtime:1", "runtime python311", "--runtime-image python311=IMAGE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := e.newRuntime(t, docker.Options{RuntimeImages: tc.images})
			_, err := rt.Build(context.Background(), openrunner.BuildSpec{
				ServiceARN: serviceARN(), RevisionID: "r", SourceDir: src, Runtime: tc.runtime,
				Steps: []openrunner.BuildStep{{Phase: "Build"}},
			})
			if openrunner.ErrorCode(err) != openrunner.EINVALID {
				t.Fatalf("Build: %v, want EINVALID", err)
			}
			t.Log(openrunner.ErrorMessage(err))
			for _, w := range tc.want {
				if !strings.Contains(openrunner.ErrorMessage(err), w) {
					t.Errorf("message %q does not contain %q", openrunner.ErrorMessage(err), w)
				}
			}
		})
	}
}

// TestBuild_RuntimeImageThroughMirror builds on a runtime image that is
// pulled as service images are, through a mirror: by tag, and by digest
// (which the engine can keep only under the mirror's name).
func TestBuild_RuntimeImageThroughMirror(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	// A runtime image with nothing in it: a build without commands needs
	// no shell.
	local := "openrunner-test/empty-runtime:" + e.appTag
	if err := e.buildFiles(ctx, local, "FROM scratch\nCOPY marker /marker\n", map[string]string{"marker": "runtime"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.untag(context.Background(), local) })
	regHost := strings.TrimPrefix(e.registry.URL, "http://")
	digest, err := e.pushDigest(ctx, local, regHost+"/openrunner/empty-runtime:"+e.appTag)
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ name, ref string }{
		{"Tag", ecrHost + "/openrunner/empty-runtime:" + e.appTag},
		{"Digest", ecrHost + "/openrunner/empty-runtime@" + digest},
	} {
		ref := tc.ref
		t.Run(tc.name, func(t *testing.T) {
			t.Cleanup(func() {
				_ = e.untag(context.Background(), ref)
				_ = e.untag(context.Background(), strings.Replace(ref, ecrHost, regHost, 1))
			})
			rt := e.newRuntime(t, docker.Options{Mirrors: e.mirrors, RuntimeImages: map[string]string{"python311": ref}})
			spec := openrunner.BuildSpec{
				ServiceARN: serviceARN(), RevisionID: "mirror-1", SourceDir: buildtest.WriteTree(t, map[string]string{"app.py": "print()"}),
				Runtime: "python311", Port: 8080, Steps: []openrunner.BuildStep{{Phase: "Build"}},
			}
			img, log := mustBuild(t, rt, spec)
			if log.Match(`^\[Build\] Pulling .* from mirror `) != 1 {
				t.Errorf("the log does not show the pull through the mirror")
			}
			if _, err := e.client.ContainerStatPath(ctx, mustCreate(t, img.ID), "/app/app.py"); err != nil {
				t.Errorf("/app/app.py in the built image: %v", err)
			}
		})
	}
}

// buildFiles builds an image of dockerfile and files under tag, with
// the classic builder.
func (e *testEnv) buildFiles(ctx context.Context, tag, dockerfile string, files map[string]string) error {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files["Dockerfile"] = dockerfile
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			return err
		}
		if _, err := io.WriteString(tw, body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := e.client.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags: []string{tag}, Dockerfile: "Dockerfile", Remove: true, ForceRemove: true, Version: build.BuilderV1,
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readStream(resp.Body, "build "+tag)
}

// pushDigest pushes src as dst, removes the dst tag, and returns the
// digest the registry stored it under.
func (e *testEnv) pushDigest(ctx context.Context, src, dst string) (string, error) {
	if err := e.client.ImageTag(ctx, src, dst); err != nil {
		return "", err
	}
	defer e.untag(context.Background(), dst)
	anon, _ := registry.EncodeAuthConfig(registry.AuthConfig{})
	rc, err := e.client.ImagePush(ctx, dst, image.PushOptions{RegistryAuth: anon})
	if err != nil {
		return "", err
	}
	defer rc.Close()
	var digest string
	dec := json.NewDecoder(rc)
	for {
		var m struct {
			Error string `json:"error"`
			Aux   *struct {
				Digest string `json:"Digest"`
			} `json:"aux"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return "", err
		}
		if m.Error != "" {
			return "", errors.New(m.Error)
		}
		if m.Aux != nil && m.Aux.Digest != "" {
			digest = m.Aux.Digest
		}
	}
	if digest == "" {
		return "", errors.New("the push did not say the digest")
	}
	return digest, nil
}

// mustCreate creates (and later removes) a container of image, for
// looking at its files.
func mustCreate(t *testing.T, image string) string {
	t.Helper()
	resp, err := env.client.ContainerCreate(context.Background(), &container.Config{Image: image, Entrypoint: []string{"/none"}}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = env.client.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	})
	return resp.ID
}

// TestRemoveBuild checks the removals that are not errors: of a build
// never made, and of another owner's. (Of a removed build, buildtest
// checks.)
func TestRemoveBuild(t *testing.T) {
	e, rt := newBuilder(t)
	ctx := context.Background()
	t.Run("Gone", func(t *testing.T) {
		if err := rt.RemoveBuild(ctx, "openrunner-build/no-such-service:r1"); err != nil {
			t.Errorf("RemoveBuild of nothing: %v", err)
		}
	})
	t.Run("OtherOwner", func(t *testing.T) {
		spec := openrunner.BuildSpec{
			ServiceARN: serviceARN(), RevisionID: "owner-1", SourceDir: buildtest.WriteTree(t, map[string]string{"a": "a"}),
			Runtime: "python311", Steps: []openrunner.BuildStep{{Phase: "Build"}},
		}
		img, _ := mustBuild(t, rt, spec)
		other := e.newRuntime(t, docker.Options{Owner: e.owner + "-other"})
		if err := other.RemoveBuild(ctx, img.Ref); err != nil {
			t.Fatal(err)
		}
		if _, err := e.client.ImageInspect(ctx, img.Ref); err != nil {
			t.Errorf("another owner's RemoveBuild removed %s: %v", img.Ref, err)
		}
	})
}
