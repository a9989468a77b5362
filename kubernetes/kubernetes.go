package kubernetes

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openrunner/openrunner"
)

var _ openrunner.Runtime = (*Runtime)(nil)

// Defaults for the Options fields left empty.
const (
	DefaultNamespace = "openrunner"
	DefaultOwner     = "default"
	DefaultStopGrace = 10 * time.Second
)

// Credentials are a registry user name and password.
type Credentials struct {
	Username string
	Password string
}

// Options configure a Runtime.
type Options struct {
	// Kubeconfig is the path of a kubeconfig file. Empty means the
	// in-cluster configuration when running in a Pod, else $KUBECONFIG or
	// ~/.kube/config.
	Kubeconfig string
	// Config, when set, is used instead of Kubeconfig (tests).
	Config *rest.Config
	// Namespace holds every object the runtime makes; created if missing.
	// Empty means "openrunner".
	Namespace string
	// Owner names this OpenRunner among those sharing a namespace: it
	// labels every object, and the runtime sees only its own. Empty means
	// "default".
	Owner string
	// Registries holds pull credentials by registry host; they become the
	// Deployments' imagePullSecrets.
	Registries map[string]Credentials
	// StopGrace is the Pods' termination grace period and bounds the
	// Drain hook. Zero means 10 s.
	StopGrace time.Duration
	// Logger receives the runtime's own log lines. Nil discards them.
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Runtime runs revisions as Deployments. Create it with New, call Open
// before use and Close when done. It is safe for concurrent use.
type Runtime struct {
	opts   Options
	client k8s.Interface
	ns     string
	owner  string // the owner label's value
	logger *slog.Logger
	now    func() time.Time

	images *imageCache

	factory   informers.SharedInformerFactory
	pods      cache.SharedIndexInformer
	deploys   cache.SharedIndexInformer
	stop      chan struct{}
	wg        sync.WaitGroup
	hooks     openrunner.RuntimeHooks
	wake      chan struct{}   // pending has keys
	pending   map[string]bool // revision keys to examine (under mu)
	atOpen    map[string]bool // UIDs of the Pods listed at Open (under mu)
	followed  sync.Map        // container ID → struct{}: log followers started
	adopting  atomic.Bool     // Open is listing what runs
	isClosed  atomic.Bool
	closeOnce sync.Once

	mu   sync.Mutex
	revs map[string]*revision // by key(service, revision)
}

// New returns a Runtime for the cluster opts names. It does not contact
// the cluster; Open does.
func New(opts Options) (*Runtime, error) {
	cfg := opts.Config
	if cfg == nil {
		var err error
		if cfg, err = restConfig(opts.Kubeconfig); err != nil {
			return nil, fmt.Errorf("kubernetes: %w", err)
		}
	}
	cfg = rest.CopyConfig(cfg)
	// client-go's default of 5 requests a second queues a service's
	// rollout behind another's; the informers do most reading anyway.
	cfg.QPS, cfg.Burst = 50, 100
	c, err := k8s.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes: %w", err)
	}
	r := &Runtime{opts: opts, client: c, ns: opts.Namespace, logger: opts.Logger, now: opts.Now,
		revs: map[string]*revision{}, wake: make(chan struct{}, 1), pending: map[string]bool{}, atOpen: map[string]bool{}}
	if r.ns == "" {
		r.ns = DefaultNamespace
	}
	if r.opts.Owner == "" {
		r.opts.Owner = DefaultOwner
	}
	r.owner = labelValue(r.opts.Owner)
	if r.opts.StopGrace <= 0 {
		r.opts.StopGrace = DefaultStopGrace
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	if r.now == nil {
		r.now = time.Now
	}
	r.images = newImageCache(opts.Registries)
	return r, nil
}

// restConfig is the client configuration of a kubeconfig path: in-cluster
// when path is empty and this process runs in a Pod, else the kubeconfig
// loading rules ($KUBECONFIG, ~/.kube/config).
func restConfig(path string) (*rest.Config, error) {
	if path == "" && os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return rest.InClusterConfig()
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}

// Name returns "kubernetes".
func (r *Runtime) Name() string { return "kubernetes" }

// Namespace returns the namespace the runtime's objects live in.
func (r *Runtime) Namespace() string { return r.ns }

// Owner returns the owner label value of the runtime's objects.
func (r *Runtime) Owner() string { return r.owner }

// Open checks that the cluster answers, creates the namespace if missing,
// starts watching this runtime's Deployments and Pods, and adopts the
// revisions a previous run left (see openrunner.Runtime).
func (r *Runtime) Open(ctx context.Context, hooks openrunner.RuntimeHooks) error {
	octx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := r.client.Discovery().ServerVersion(); err != nil {
		return fmt.Errorf("no Kubernetes API server answers: check --kubeconfig (%v)", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns, Labels: map[string]string{openrunner.LabelManagedBy: "openrunner"}}}
	if _, err := r.client.CoreV1().Namespaces().Create(octx, ns, metav1.CreateOptions{}); err != nil &&
		!apierrors.IsAlreadyExists(err) && !apierrors.IsForbidden(err) {
		return fmt.Errorf("kubernetes: namespace %s: %w", r.ns, err)
	}
	r.hooks = hooks
	r.stop = make(chan struct{})
	r.factory = informers.NewSharedInformerFactoryWithOptions(r.client, 0, informers.WithNamespace(r.ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = r.selector() }))
	r.pods = r.factory.Core().V1().Pods().Informer()
	r.deploys = r.factory.Apps().V1().Deployments().Informer()
	r.adopting.Store(true) // Pods listed at Open are adopted: followed from now on
	onPod := func(obj any) {
		if p, ok := podOf(obj); ok {
			r.podEvent(p)
		}
	}
	if _, err := r.pods.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    onPod,
		UpdateFunc: func(_, obj any) { onPod(obj) },
		DeleteFunc: func(obj any) {
			if p, ok := podOf(obj); ok {
				r.forget(p)
				r.podEvent(p)
			}
		},
	}); err != nil {
		return err
	}
	r.factory.Start(r.stop)
	if !cache.WaitForCacheSync(octx.Done(), r.pods.HasSynced, r.deploys.HasSynced) {
		close(r.stop)
		r.factory.Shutdown()
		return fmt.Errorf("kubernetes: listing the Deployments and Pods of namespace %s did not finish: %w", r.ns, octx.Err())
	}
	r.adopting.Store(false)
	r.wg.Add(1)
	go r.loop()
	r.logger.Info("kubernetes cluster", "host", r.restHost(), "namespace", r.ns, "owner", r.owner)
	return nil
}

func (r *Runtime) restHost() string {
	if c, ok := r.client.(*k8s.Clientset); ok && c.RESTClient() != nil {
		return c.RESTClient().Get().URL().Host
	}
	return ""
}

// Close stops watching and waits for the runtime's goroutines. The
// Deployments keep running; the next Open adopts them.
func (r *Runtime) Close() error {
	r.closeOnce.Do(func() {
		r.isClosed.Store(true)
		if r.stop == nil {
			return // never opened
		}
		close(r.stop)
		r.factory.Shutdown()
		r.wg.Wait()
	})
	return nil
}

// closed reports whether the runtime is not open: never opened, or
// closed.
func (r *Runtime) closed() bool { return r.stop == nil || r.isClosed.Load() }

// errClosed is returned by calls on a closed runtime.
var errClosed = openrunner.Errorf(openrunner.EINVALIDSTATE, "the Kubernetes runtime is closed")
