package docker_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/docker"
	"github.com/openrunner/openrunner/replicas"
	"github.com/openrunner/openrunner/runtimetest"
)

// ecrHost is an ECR-shaped registry host the tests mirror to the
// in-process registry.
const ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com"

// Credentials of the in-process registry that requires them.
const regUser, regPassword = "openrunner", "s3cret"

// testEnv is what the Docker tests share: the engine, the test images and
// the in-process registries. It is set up once, by the first test that
// needs it, and torn down by TestMain.
type testEnv struct {
	client   *client.Client
	owner    string             // the owner label of every runtime the tests make
	images   runtimetest.Images // App, ShellApp and Unknown; Pull is set per run
	registry *httptest.Server   // anonymous
	authReg  *httptest.Server   // requires regUser/regPassword
	appTag   string             // tag of App's image in both registries' repository
	pushed   string             // App's reference in registry
	mirrors  map[string]string  // ecrHost → registry
	creds    map[string]docker.Credentials
}

var (
	envOnce sync.Once
	env     *testEnv
	envErr  error  // setup failed: the test fails
	envSkip string // no engine: the test is skipped, or fails in CI
)

func TestMain(m *testing.M) {
	code := m.Run()
	if env != nil {
		env.teardown()
	}
	os.Exit(code)
}

// mustEnv returns the shared test environment, skipping the test when no
// Docker engine answers, unless CI=true, when that is a failure.
func mustEnv(tb testing.TB) *testEnv {
	tb.Helper()
	envOnce.Do(func() { env, envSkip, envErr = setup() })
	switch {
	case envSkip != "" && os.Getenv("CI") == "true":
		tb.Fatalf("%s (CI=true: the Docker runtime must be tested; run scripts/start-docker)", envSkip)
	case envSkip != "":
		tb.Skip(envSkip + " (run scripts/start-docker to test the Docker runtime)")
	case envErr != nil:
		tb.Fatalf("docker test setup: %v", envErr)
	}
	return env
}

func setup() (e *testEnv, skip string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, "", err
	}
	pingCtx, pingCancel := context.WithTimeout(ctx, 5*time.Second)
	defer pingCancel()
	if _, err := c.Ping(pingCtx); err != nil {
		c.Close()
		return nil, fmt.Sprintf("no Docker engine answers at %s: %v", c.DaemonHost(), err), nil
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	e = &testEnv{client: c, owner: "test-" + hex.EncodeToString(b[:])}

	// The test app, alone in FROM-scratch images: as /app, and as /app and
	// /bin/sh (its shell stand-in), built from a tar context so that
	// nothing is pulled.
	bin, err := buildApp()
	if err != nil {
		return e, "", err
	}
	sum := sha256.Sum256(bin)
	tag := hex.EncodeToString(sum[:6])
	e.appTag = tag
	e.images.App = "openrunner-testapp:" + tag
	e.images.ShellApp = "openrunner-testapp-shell:" + tag
	e.images.AppCommand = "/app"
	if err := e.buildImage(ctx, e.images.App, bin, false); err != nil {
		return e, "", err
	}
	if err := e.buildImage(ctx, e.images.ShellApp, bin, true); err != nil {
		return e, "", err
	}

	// In-process registries on 127.0.0.1, which the engine reaches over
	// plain HTTP: 127.0.0.0/8 is an insecure registry by default. Both
	// serve one store; one demands credentials.
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	e.registry = httptest.NewServer(reg)
	e.authReg = httptest.NewServer(basicAuth(reg))
	regHost := strings.TrimPrefix(e.registry.URL, "http://")
	// By name, to check that the engine treats localhost as insecure too.
	authHost := e.authHost()
	e.pushed = regHost + "/openrunner/testapp:" + tag
	e.images.Unknown = regHost + "/openrunner/no-such-image:v1"
	e.mirrors = map[string]string{ecrHost: regHost}
	e.creds = map[string]docker.Credentials{authHost: {Username: regUser, Password: regPassword}}
	if err := e.push(ctx, e.images.App, e.pushed); err != nil {
		return e, "", err
	}
	return e, "", nil
}

// buildApp builds the test app for Linux and returns the binary.
func buildApp() ([]byte, error) {
	dir, err := os.MkdirTemp("", "openrunner-testapp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path, err := runtimetest.BuildAppIn(dir, "linux", "")
	if err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

// buildImage builds a FROM-scratch image of the app under tag, unless the
// engine has it already (the tag is the binary's hash).
func (e *testEnv) buildImage(ctx context.Context, tag string, bin []byte, shell bool) error {
	if _, err := e.client.ImageInspect(ctx, tag); err == nil {
		return nil
	}
	dockerfile := "FROM scratch\nCOPY app /app\n"
	if shell {
		dockerfile += "COPY app /bin/sh\n"
	}
	dockerfile += "ENTRYPOINT [\"/app\"]\n"
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range []struct {
		name string
		mode int64
		body []byte
	}{{"Dockerfile", 0o644, []byte(dockerfile)}, {"app", 0o755, bin}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body))}); err != nil {
			return err
		}
		if _, err := tw.Write(f.body); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	resp, err := e.client.ImageBuild(ctx, &buf, build.ImageBuildOptions{
		Tags: []string{tag}, Dockerfile: "Dockerfile", Remove: true, ForceRemove: true,
		Labels: map[string]string{"dev.openrunner.test": "testapp"},
	})
	if err != nil {
		return fmt.Errorf("build %s: %w", tag, err)
	}
	defer resp.Body.Close()
	return readStream(resp.Body, "build "+tag)
}

// push tags src as dst and pushes dst, then removes the dst tag so that
// only the registry has the image under that name.
func (e *testEnv) push(ctx context.Context, src, dst string) error {
	if err := e.client.ImageTag(ctx, src, dst); err != nil {
		return err
	}
	// The engine wants an X-Registry-Auth header even for anonymous pushes.
	anon, _ := registry.EncodeAuthConfig(registry.AuthConfig{})
	rc, err := e.client.ImagePush(ctx, dst, image.PushOptions{RegistryAuth: anon})
	if err != nil {
		return fmt.Errorf("push %s: %w", dst, err)
	}
	defer rc.Close()
	if err := readStream(rc, "push "+dst); err != nil {
		return err
	}
	return e.untag(ctx, dst)
}

// untag removes the tag ref from the engine, leaving the image if other
// tags name it.
func (e *testEnv) untag(ctx context.Context, ref string) error {
	_, err := e.client.ImageRemove(ctx, ref, image.RemoveOptions{})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("untag %s: %w", ref, err)
	}
	return nil
}

// readStream reads an engine progress stream to its end and returns the
// first error it reports.
func readStream(r io.Reader, what string) error {
	dec := json.NewDecoder(r)
	for {
		var m struct {
			Error       string `json:"error"`
			ErrorDetail *struct {
				Message string `json:"message"`
			} `json:"errorDetail"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if m.Error != "" {
			return fmt.Errorf("%s: %s", what, m.Error)
		}
	}
}

// authHost returns the host of the registry that requires credentials,
// named localhost.
func (e *testEnv) authHost() string {
	return strings.Replace(strings.TrimPrefix(e.authReg.URL, "http://"), "127.0.0.1", "localhost", 1)
}

// teardown removes every container of the tests' owner and closes the
// registries. The app images stay: they are tagged by content and make the
// next run faster.
func (e *testEnv) teardown() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The owner, and the owners derived from it (ownerOf).
	list, err := e.client.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", openrunner.LabelManagedBy+"=openrunner")),
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "docker teardown: list containers: %v\n", err)
	}
	for _, c := range list {
		if !strings.HasPrefix(c.Labels[docker.LabelOwner], e.owner) {
			continue
		}
		fmt.Fprintf(os.Stderr, "docker teardown: removing leftover container %s %v\n", c.ID[:12], c.Names)
		_ = e.client.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	}
	for _, ref := range []string{e.pushed, ecrHost + "/openrunner/testapp:" + e.appTag, e.authHost() + "/openrunner/testapp:" + e.appTag} {
		_ = e.untag(ctx, ref)
	}
	e.registry.Close()
	e.authReg.Close()
	e.client.Close()
}

// newRuntime returns an opened Runtime with the tests' owner, closed when
// tb ends.
func (e *testEnv) newRuntime(tb testing.TB, opts docker.Options) *docker.Runtime {
	tb.Helper()
	if opts.Owner == "" {
		opts.Owner = e.owner
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	rt, err := docker.New(opts)
	if err != nil {
		tb.Fatalf("docker.New: %v", err)
	}
	tb.Cleanup(func() { rt.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Open(ctx, openrunner.RuntimeHooks{}); err != nil {
		tb.Fatalf("Open: %v", err)
	}
	return rt
}

// newDriver returns a Runtime with the tests' owner that is not opened:
// its InstanceDriver methods work without Open, and an opened runtime
// would adopt (and remove the exited) instances of the driver cases
// running beside it. It is closed when tb ends.
func (e *testEnv) newDriver(tb testing.TB) *docker.Runtime {
	tb.Helper()
	rt, err := docker.New(docker.Options{
		Owner:  e.owner,
		Logger: slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		tb.Fatalf("docker.New: %v", err)
	}
	tb.Cleanup(func() { rt.Close() })
	return rt
}

// ownerOf returns an owner for tb's runtimes, derived from the tests' own:
// every test of the revision suite gets its own, shared by the runtimes it
// makes (a restart), so that no test adopts the instances of another.
func (e *testEnv) ownerOf(tb testing.TB) string {
	sum := sha256.Sum256([]byte(tb.Name()))
	return e.owner + "-" + hex.EncodeToString(sum[:6])
}

func TestRuntime(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	img := e.images
	// Pulled by the suite: not in the store under this name before.
	img.Pull = e.pushed
	if err := e.untag(ctx, img.Pull); err != nil {
		t.Fatal(err)
	}
	runtimetest.RunDriver(t, func(tb testing.TB) runtimetest.DriverRuntime {
		return e.newDriver(tb)
	}, img)
}

func TestRevisions(t *testing.T) {
	e := mustEnv(t)
	runtimetest.Run(t, func(tb testing.TB) openrunner.Runtime {
		rt, err := docker.New(docker.Options{
			Owner:    e.ownerOf(tb),
			Logger:   slog.New(slog.NewTextHandler(tb.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			Replicas: replicas.Options{StopGrace: 2 * time.Second, RestartBackoffMin: 100 * time.Millisecond, RestartBackoffMax: time.Second},
		})
		if err != nil {
			tb.Fatalf("docker.New: %v", err)
		}
		return rt
	}, e.images)
}

// TestNetworks checks that an instance joins the Docker networks its spec
// names, and that a missing one is EINVALID naming it.
func TestNetworks(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	rt := e.newRuntime(t, docker.Options{})
	name := "openrunner-test-" + e.ownerOf(t)
	if _, err := e.client.NetworkCreate(ctx, name, network.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.client.NetworkRemove(context.Background(), name) })
	spec := openrunner.InstanceSpec{ServiceARN: "arn:aws:apprunner:us-east-1:123456789012:service/net/1", RevisionID: "r", Image: e.images.App, Port: 8080, Networks: []string{name}}
	inst, err := rt.StartInstance(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.StopInstance(context.Background(), inst.ID, 0) })
	c, err := e.client.ContainerInspect(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.NetworkSettings.Networks[name]; !ok {
		t.Errorf("container networks = %v, want %s among them", c.NetworkSettings.Networks, name)
	}
	if len(c.NetworkSettings.Networks) < 2 {
		t.Errorf("container networks = %v, want the default one too", c.NetworkSettings.Networks)
	}

	spec.Networks = []string{"openrunner-no-such-network"}
	if _, err := rt.StartInstance(ctx, spec); openrunner.ErrorCode(err) != openrunner.EINVALID || !strings.Contains(openrunner.ErrorMessage(err), spec.Networks[0]) {
		t.Errorf("StartInstance with a missing network: %v, want EINVALID naming it", err)
	}
	err = rt.SetRevision(ctx, openrunner.RevisionSpec{ServiceARN: spec.ServiceARN, RevisionID: "r", Instance: spec, Replicas: 1})
	if openrunner.ErrorCode(err) != openrunner.EINVALID || !strings.Contains(openrunner.ErrorMessage(err), spec.Networks[0]) {
		t.Errorf("SetRevision with a missing network: %v, want EINVALID naming it", err)
	}
}

func BenchmarkStartInstance(b *testing.B) {
	e := mustEnv(b)
	runtimetest.Benchmark(b, func(tb testing.TB) runtimetest.DriverRuntime {
		return e.newDriver(tb)
	}, e.images)
}

func TestOpen(t *testing.T) {
	t.Run("ErrNoEngine", func(t *testing.T) {
		rt, err := docker.New(docker.Options{Host: "unix:///nonexistent/docker.sock"})
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		err = rt.Open(context.Background(), openrunner.RuntimeHooks{})
		want := "no Docker engine answers at unix:///nonexistent/docker.sock: start dockerd or use --runtime process"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Open: %v, want an error containing %q", err, want)
		}
	})
}

func TestEnsureImage(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	authRef := e.authHost() + "/openrunner/testapp:" + e.appTag

	for _, tc := range []struct {
		name     string
		ref      string
		creds    bool
		wantCode string
		wantText string
	}{
		{"ErrInvalidReference", "Not A/Valid:Reference!", false, openrunner.EINVALID, "not a valid image reference"},
		{"ErrUnreachable", "127.0.0.1:1/openrunner/testapp:v1", false, openrunner.EINVALID, "127.0.0.1:1/openrunner/testapp:v1"},
		{"ErrDenied", authRef, false, openrunner.EINVALID, "denied"},
		{"OKWithCredentials", authRef, true, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.untag(ctx, tc.ref); err != nil && !strings.Contains(tc.name, "Invalid") {
				t.Fatal(err)
			}
			opts := docker.Options{}
			if tc.creds {
				opts.Registries = e.creds
			}
			rt := e.newRuntime(t, opts)
			im, err := rt.EnsureImage(ctx, tc.ref, false, func(l string) { t.Log(l) })
			if got := openrunner.ErrorCode(err); got != tc.wantCode {
				t.Fatalf("EnsureImage(%q): code %q (%v), want %q", tc.ref, got, err, tc.wantCode)
			}
			if err != nil {
				t.Logf("message: %s", openrunner.ErrorMessage(err))
				if !strings.Contains(openrunner.ErrorMessage(err), tc.wantText) {
					t.Errorf("message %q does not contain %q", openrunner.ErrorMessage(err), tc.wantText)
				}
				return
			}
			if im.ID == "" || im.Ref != tc.ref {
				t.Errorf("EnsureImage(%q) = %+v", tc.ref, im)
			}
		})
	}

	t.Run("Mirror", func(t *testing.T) {
		// An App Runner service names its image in ECR; the mirror serves it.
		ref := ecrHost + "/openrunner/testapp:" + e.appTag
		if err := e.untag(ctx, ref); err != nil {
			t.Fatal(err)
		}
		rt := e.newRuntime(t, docker.Options{Mirrors: e.mirrors})
		var lines []string
		im, err := rt.EnsureImage(ctx, ref, false, func(l string) { lines = append(lines, l) })
		if err != nil {
			t.Fatalf("EnsureImage(%s): %v", ref, err)
		}
		if len(lines) == 0 || !strings.Contains(lines[0], "mirror") {
			t.Errorf("pull log %q does not mention the mirror", lines)
		}
		ii, err := e.client.ImageInspect(ctx, ref)
		if err != nil {
			t.Fatalf("the pulled image is not in the store as %s: %v", ref, err)
		}
		if ii.ID != im.ID {
			t.Errorf("Image.ID = %s, store has %s", im.ID, ii.ID)
		}
		inst, err := rt.StartInstance(ctx, openrunner.InstanceSpec{ServiceARN: "arn:aws:apprunner:us-east-1:123456789012:service/mirror/1", RevisionID: "r1", Image: ref, Port: 8080})
		if err != nil {
			t.Fatalf("StartInstance(%s): %v", ref, err)
		}
		if err := rt.StopInstance(ctx, inst.ID, time.Second); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("LocalOnlyUnderExactRef", func(t *testing.T) {
		// Under another tag the image is not "already present".
		rt := e.newRuntime(t, docker.Options{})
		ref := "openrunner-testapp:no-such-tag"
		if _, err := rt.EnsureImage(ctx, ref, false, nil); openrunner.ErrorCode(err) != openrunner.EINVALID {
			t.Errorf("EnsureImage(%q): %v, want EINVALID", ref, err)
		}
	})
}

// TestContainer checks what the runtime asks of the engine, which the
// conformance suite cannot see: names, labels, restart policy, published
// address, limits, and the exec form of a StartCommand in an image without
// a shell.
func TestContainer(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	rt := e.newRuntime(t, docker.Options{NamePrefix: "ortest-"})
	spec := openrunner.InstanceSpec{
		ServiceARN:   "arn:aws:apprunner:us-east-1:123456789012:service/my-svc/0123456789abcdef",
		RevisionID:   "rev-1",
		Image:        e.images.App,
		Port:         9000,
		StartCommand: "/app --greeting  spaced",
		CPU:          1024,
		MemoryMB:     2048,
		Labels:       map[string]string{openrunner.LabelManagedBy: "spoofed", "x": "y"},
	}
	inst, err := rt.StartInstance(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.StopInstance(context.Background(), inst.ID, 0) })
	c, err := e.client.ContainerInspect(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Name; !strings.HasPrefix(got, "/ortest-my-svc-rev-1-") {
		t.Errorf("name = %q, want /ortest-my-svc-rev-1-<random>", got)
	}
	for k, want := range map[string]string{
		openrunner.LabelManagedBy:  "openrunner",
		openrunner.LabelServiceARN: spec.ServiceARN,
		openrunner.LabelRevision:   "rev-1",
		docker.LabelOwner:          e.owner,
		docker.LabelPort:           "9000",
		docker.LabelImage:          e.images.App,
		"x":                        "y",
	} {
		if got := c.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if got := c.HostConfig.RestartPolicy.Name; got != container.RestartPolicyDisabled {
		t.Errorf("restart policy = %q, want %q", got, container.RestartPolicyDisabled)
	}
	if got, want := c.HostConfig.NanoCPUs, int64(1e9); got != want {
		t.Errorf("NanoCPUs = %d, want %d", got, want)
	}
	if got, want := c.HostConfig.Memory, int64(2048<<20); got != want {
		t.Errorf("Memory = %d, want %d", got, want)
	}
	if got, want := strings.Join(c.Config.Entrypoint, "|"), "/app|--greeting|spaced"; got != want {
		t.Errorf("entrypoint = %q, want %q (exec form: the image has no shell)", got, want)
	}
	if !strings.HasPrefix(inst.Addr, "127.0.0.1:") {
		t.Errorf("Addr = %q, want 127.0.0.1:<port>", inst.Addr)
	}
	b := c.NetworkSettings.Ports["9000/tcp"]
	if len(b) == 0 || b[0].HostIP != "127.0.0.1" || "127.0.0.1:"+b[0].HostPort != inst.Addr {
		t.Errorf("port bindings of 9000/tcp = %+v, want 127.0.0.1 at %s", b, inst.Addr)
	}
}

// TestOwner checks that a runtime of another owner neither sees nor
// touches the instances of this one.
func TestOwner(t *testing.T) {
	e := mustEnv(t)
	ctx := context.Background()
	rt := e.newRuntime(t, docker.Options{})
	other := e.newRuntime(t, docker.Options{Owner: e.owner + "-other"})
	inst, err := rt.StartInstance(ctx, openrunner.InstanceSpec{ServiceARN: "arn:aws:apprunner:us-east-1:123456789012:service/owner/1", RevisionID: "r", Image: e.images.App, Port: 8080})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.StopInstance(context.Background(), inst.ID, 0) })

	list, err := other.ListInstances(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range list {
		if i.ID == inst.ID {
			t.Errorf("another owner's ListInstances lists %s", inst.ID)
		}
	}
	if _, err := other.InstanceState(ctx, inst.ID); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		t.Errorf("another owner's InstanceState: %v, want ENOTFOUND", err)
	}
	if err := other.StopInstance(ctx, inst.ID, 0); err != nil {
		t.Errorf("another owner's StopInstance: %v, want nil", err)
	}
	if st, err := rt.InstanceState(ctx, inst.ID); err != nil || !st.Running {
		t.Errorf("after another owner's StopInstance: %+v, %v; want still running", st, err)
	}
}

// basicAuth wraps a registry so that it answers only requests with
// regUser's credentials, challenging the others as registries do.
func basicAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != regUser || p != regPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="openrunner-test"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}
