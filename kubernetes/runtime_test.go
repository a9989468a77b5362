package kubernetes_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/testutil"
	"github.com/openrunner/openrunner/kubernetes"
	"github.com/openrunner/openrunner/runtimetest"
)

// namespace is this test binary's own namespace, deleted by TestMain.
var namespace = "openrunner-test-" + randHex(6)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

func TestMain(m *testing.M) {
	code := m.Run()
	kc := os.Getenv("OPENRUNNER_TEST_KUBECONFIG")
	if kc == "" {
		kc = testutil.DefaultKubeconfig
	}
	if cfg, err := clientcmd.BuildConfigFromFlags("", kc); err == nil {
		if c, err := k8s.NewForConfig(cfg); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_ = c.CoreV1().Namespaces().Delete(ctx, namespace, metav1.DeleteOptions{})
			cancel()
		}
	}
	os.Exit(code)
}

// newRuntime returns a runtime of the test cluster with an owner of tb's
// own, in this binary's namespace.
func newRuntime(tb testing.TB) *kubernetes.Runtime {
	tb.Helper()
	kc := testutil.NeedKubernetes(tb)
	rt, err := kubernetes.New(kubernetes.Options{Kubeconfig: kc, Namespace: namespace, Owner: tb.Name(), StopGrace: 2 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	return rt
}

func TestRuntime(t *testing.T) {
	img := testutil.KubernetesTestImage(t)
	runtimetest.Run(t, func(tb testing.TB) openrunner.Runtime { return newRuntime(tb) }, runtimetest.Images{
		App:        img,
		AppCommand: "/testapp",
	})
}
