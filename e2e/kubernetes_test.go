package e2e_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apprunner"
	"github.com/aws/aws-sdk-go-v2/service/apprunner/types"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/daemon"
	"github.com/openrunner/openrunner/internal/sampleapp"
	"github.com/openrunner/openrunner/internal/testutil"
)

// kubeEnv is a test's namespace on the test cluster, deleted when the test
// ends, and a client to look into it.
type kubeEnv struct {
	cfg    daemon.Config
	client k8s.Interface
	ns     string
	image  string // the test app, by digest in the cluster's registry
}

func newKubeEnv(t testing.TB) *kubeEnv {
	t.Helper()
	kc := testutil.NeedKubernetes(t)
	img := testutil.KubernetesTestImage(t)
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatal(err)
	}
	c, err := k8s.NewForConfig(rc)
	if err != nil {
		t.Fatal(err)
	}
	ns := "openrunner-e2e-" + strings.ToLower(openrunner.NewID()[:8])
	// The namespace is gone before the next test: its Pods' CPU requests
	// would leave the one test node short.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_ = c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{})
		for ctx.Err() == nil {
			if _, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	})
	return &kubeEnv{client: c, ns: ns, image: img,
		cfg: daemon.Config{Runtime: "kubernetes", Kubernetes: daemon.KubernetesConfig{Kubeconfig: kc, Namespace: ns}}}
}

// objects lists what is left in the namespace: Deployments, ReplicaSets,
// Pods and Secrets, by name.
func (k *kubeEnv) objects(t *testing.T) []string {
	t.Helper()
	var out []string
	ds, err := k.client.AppsV1().Deployments(k.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds.Items {
		out = append(out, "deployment/"+d.Name)
	}
	rs, _ := k.client.AppsV1().ReplicaSets(k.ns).List(ctx, metav1.ListOptions{})
	for _, r := range rs.Items {
		out = append(out, "replicaset/"+r.Name)
	}
	ps, _ := k.client.CoreV1().Pods(k.ns).List(ctx, metav1.ListOptions{})
	for _, p := range ps.Items {
		out = append(out, "pod/"+p.Name)
	}
	ss, _ := k.client.CoreV1().Secrets(k.ns).List(ctx, metav1.ListOptions{})
	for _, s := range ss.Items {
		out = append(out, "secret/"+s.Name)
	}
	return out
}

// pods returns the names of the namespace's running Pods.
func (k *kubeEnv) pods(t *testing.T) []string {
	t.Helper()
	ps, err := k.client.CoreV1().Pods(k.ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p.Name)
		}
	}
	return out
}

// steadyLoad sends GET / to host through the router from 4 clients until the
// returned func is called, which returns the requests sent and failed.
func steadyLoad(routerURL, host string) func() (total, failed int64) {
	stop := make(chan struct{})
	var failures, sent atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, routerURL+"/", nil)
				req.Host = host
				resp, err := http.DefaultClient.Do(req)
				sent.Add(1)
				if err != nil {
					failures.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
				}
			}
		})
	}
	return func() (int64, int64) { close(stop); wg.Wait(); return sent.Load(), failures.Load() }
}

// TestKubernetesImageService: an image service on the real cluster goes
// RUNNING and answers through the router, its environment reaches the Pod
// through a Secret, an update rolls out without a failed request and a
// broken one rolls back, pause scales to zero (503) and resume back (200),
// a restarted OpenRunner adopts the Pods, and delete leaves nothing in the
// namespace.
func TestKubernetesImageService(t *testing.T) {
	k := newKubeEnv(t)
	dir := t.TempDir()
	cfg := k.cfg
	cfg.DataDir = dir
	d := daemon.New(withListen(cfg))
	if err := d.Open(ctx); err != nil {
		t.Fatal(err)
	}
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	created, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
		ServiceName:           aws.String("on-kubernetes"),
		SourceConfiguration:   imageSource(k.image, map[string]string{"VERSION": "one", "DB_PASSWORD": "s3cret-value"}, "/testapp --greeting hi-from-kubernetes"),
		InstanceConfiguration: &types.InstanceConfiguration{Cpu: aws.String("0.25 vCPU"), Memory: aws.String("0.5 GB")},
		HealthCheckConfiguration: &types.HealthCheckConfiguration{
			Protocol: types.HealthCheckProtocolHttp, Path: aws.String("/health"), Interval: aws.Int32(1), Timeout: aws.Int32(1),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn, host := created.Service.ServiceArn, aws.ToString(created.Service.ServiceUrl)
	if s := waitStatus(t, c, arn); s.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s; log:\n%s", s.Status, serviceLogs(t, d, *arn))
	}
	if code, body := get(t, d.RouterURL(), host, "/"); code != 200 || !strings.Contains(body, "hi-from-kubernetes") {
		t.Fatalf("GET /: %d %q", code, body)
	}
	if code, body := get(t, d.RouterURL(), host, "/env?name=DB_PASSWORD"); code != 200 || body != "s3cret-value" {
		t.Fatalf("GET /env: %d %q", code, body)
	}
	checkDeployment(t, k)

	// An update under load: not one request fails; a broken update rolls
	// back and the old revision keeps serving.
	done := steadyLoad(d.RouterURL(), host)
	if _, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: arn, SourceConfiguration: imageSource(k.image, map[string]string{"VERSION": "two"}, "")}); err != nil {
		t.Fatal(err)
	}
	if s := waitStatus(t, c, arn); s.Status != types.ServiceStatusRunning {
		t.Fatalf("after update: %s", s.Status)
	}
	if _, body := get(t, d.RouterURL(), host, "/env?name=VERSION"); body != "two" {
		t.Fatalf("after update VERSION %q, want two", body)
	}
	if _, err := c.UpdateService(ctx, &apprunner.UpdateServiceInput{ServiceArn: arn, SourceConfiguration: imageSource(k.image, map[string]string{"TESTAPP_EXIT_CODE": "1"}, "")}); err != nil {
		t.Fatal(err)
	}
	if s := waitStatus(t, c, arn); s.Status != types.ServiceStatusRunning {
		t.Fatalf("after a broken update: %s, want RUNNING (rolled back)", s.Status)
	}
	total, failed := done()
	if failed != 0 || total < 10 {
		t.Fatalf("%d of %d requests failed during the update and the rollback", failed, total)
	}
	if _, body := get(t, d.RouterURL(), host, "/env?name=VERSION"); body != "two" {
		t.Fatalf("after the rollback VERSION %q, want two", body)
	}
	if log := serviceLogs(t, d, *arn); !strings.Contains(log, "exited with code 1") {
		t.Errorf("the rollback's log does not give the reason:\n%s", log)
	}

	// Pause: replicas 0, 503; resume: 200.
	if _, err := c.PauseService(ctx, &apprunner.PauseServiceInput{ServiceArn: arn}); err != nil {
		t.Fatal(err)
	}
	if s := waitStatus(t, c, arn); s.Status != types.ServiceStatusPaused {
		t.Fatalf("status %s, want PAUSED", s.Status)
	}
	if code, _ := get(t, d.RouterURL(), host, "/"); code != 503 {
		t.Fatalf("paused: %d, want 503", code)
	}
	waitFor(t, "no Pod is left while paused", func() bool { return len(k.pods(t)) == 0 })
	if _, err := c.ResumeService(ctx, &apprunner.ResumeServiceInput{ServiceArn: arn}); err != nil {
		t.Fatal(err)
	}
	if s := waitStatus(t, c, arn); s.Status != types.ServiceStatusRunning {
		t.Fatalf("status %s, want RUNNING", s.Status)
	}
	if code, _ := get(t, d.RouterURL(), host, "/"); code != 200 {
		t.Fatalf("resumed: %d", code)
	}

	// A restart adopts the running Pod.
	before := k.pods(t)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	cfg.DataDir = dir
	d2 := testutil.MustRunDaemon(t, cfg)
	c2 := testutil.Client(d2.URL(), testutil.ClientOptions{})
	waitFor(t, "the service answers 200 after the restart", func() bool { code, _ := get(t, d2.RouterURL(), host, "/"); return code == 200 })
	if after := k.pods(t); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Errorf("Pods after the restart %v, want the adopted %v", after, before)
	}

	// Delete: nothing is left in the namespace.
	if _, err := c2.DeleteService(ctx, &apprunner.DeleteServiceInput{ServiceArn: arn}); err != nil {
		t.Fatal(err)
	}
	if s := waitStatus(t, c2, arn); s.Status != types.ServiceStatusDeleted {
		t.Fatalf("after delete: %s", s.Status)
	}
	waitFor(t, "the namespace is empty", func() bool { return len(k.objects(t)) == 0 })
}

// checkDeployment checks the one Deployment's shape: replicas 1, limits,
// a readiness probe, and every variable but PORT from a Secret.
func checkDeployment(t *testing.T, k *kubeEnv) {
	t.Helper()
	ds, err := k.client.AppsV1().Deployments(k.ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(ds.Items) != 1 {
		t.Fatalf("Deployments: %d, %v", len(ds.Items), err)
	}
	dep := ds.Items[0]
	ctr := dep.Spec.Template.Spec.Containers[0]
	if *dep.Spec.Replicas != 1 || ctr.Resources.Limits.Cpu().MilliValue() != 250 || ctr.Resources.Limits.Memory().Value() != 512<<20 ||
		ctr.ReadinessProbe == nil || ctr.ReadinessProbe.HTTPGet == nil || ctr.ReadinessProbe.HTTPGet.Path != "/health" {
		t.Errorf("Deployment %s: replicas %d, container %+v", dep.Name, *dep.Spec.Replicas, ctr)
	}
	for _, e := range ctr.Env {
		if e.Name != "PORT" && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil) {
			t.Errorf("variable %s is not a secretKeyRef: %+v", e.Name, e)
		}
	}
}

// TestKubernetesCreateFailed: an app that exits, an image that does not
// exist and one the node cannot pull end CREATE_FAILED, with the reason in the service log, and leave
// no Pod behind.
func TestKubernetesCreateFailed(t *testing.T) {
	k := newKubeEnv(t)
	d := testutil.MustRunDaemon(t, k.cfg)
	c := testutil.Client(d.URL(), testutil.ClientOptions{})
	for _, tc := range []struct {
		name, image, reason string
		env                 map[string]string
	}{
		{"crashes", k.image, "exited with code 3", map[string]string{"TESTAPP_EXIT_CODE": "3"}},
		{"unpullable", testutil.KubernetesRegistry + "/openrunner-test/missing:1", "was not found in its registry", nil},
		// OpenRunner reads the image, the node may not: the Pod goes
		// ErrImagePull / ImagePullBackOff.
		{"pull-backoff", nodeCannotPull(t, k.image), "Failed to pull image", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := c.CreateService(ctx, &apprunner.CreateServiceInput{
				ServiceName:         aws.String("fails-" + tc.name),
				SourceConfiguration: imageSource(tc.image, tc.env, ""),
			})
			if err != nil {
				t.Fatal(err)
			}
			if s := waitStatus(t, c, out.Service.ServiceArn); s.Status != types.ServiceStatusCreateFailed {
				t.Fatalf("status %s, want CREATE_FAILED", s.Status)
			}
			if log := serviceLogs(t, d, *out.Service.ServiceArn); !strings.Contains(log, tc.reason) {
				t.Errorf("the log does not say %q:\n%s", tc.reason, log)
			}
		})
	}
	waitFor(t, "no Pod is left", func() bool { return len(k.pods(t)) == 0 })
}

func withListen(cfg daemon.Config) daemon.Config {
	cfg.Listen, cfg.RouterListen = "127.0.0.1:0", "127.0.0.1:0"
	return cfg
}

// TestKubernetesSourceService: a source-code service is built by the
// Docker builder, pushed to the cluster's registry and served from it by
// digest; a push deploys the next revision.
func TestKubernetesSourceService(t *testing.T) {
	k := newKubeEnv(t)
	cfg := k.cfg
	cfg.Kubernetes.Registry = testutil.KubernetesRegistry + "/openrunner-e2e"
	e := newSourceEnv(t, "kubernetes", cfg)
	app := sampleapp.Python("py on kubernetes")
	repo := e.repoFor(t, "github", "k8s-python", app.Files)
	svc := e.create(t, "k8s-python", codeSource(repo.CloneURL(), "main", "", e.conns["github"], nil))
	if svc.Status != types.ServiceStatusRunning {
		t.Fatalf("%s\n%s", svc.Status, e.serviceLog(t, *svc.ServiceArn, false))
	}
	e.waitBody(t, svc, app.Message)
	ds, err := k.client.AppsV1().Deployments(k.ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(ds.Items) != 1 {
		t.Fatalf("Deployments: %d, %v", len(ds.Items), err)
	}
	if img := ds.Items[0].Spec.Template.Spec.Containers[0].Image; !strings.HasPrefix(img, cfg.Kubernetes.Registry+"/") || !strings.Contains(img, "@sha256:") {
		t.Errorf("the Deployment runs %s, want the pushed image by digest", img)
	}
	next := sampleapp.Python("py on kubernetes v2")
	if _, err := repo.Commit("main", next.Files, "v2"); err != nil {
		t.Fatal(err)
	}
	e.waitBody(t, svc, next.Message)
}

// nodeCannotPull copies image to a registry of this test that refuses the
// node's containerd (403) and serves everyone else, as a registry the
// cluster has no route or credentials to would, and returns its reference
// there.
func nodeCannotPull(t *testing.T, image string) string {
	t.Helper()
	reg := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.UserAgent(), "containerd") {
			http.Error(w, "denied", http.StatusForbidden)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	src, err := name.ParseReference(image)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(src)
	if err != nil {
		t.Fatal(err)
	}
	dst, err := name.ParseReference(strings.TrimPrefix(srv.URL, "http://") + "/denied/testapp:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(dst, img); err != nil {
		t.Fatal(err)
	}
	return dst.String()
}
