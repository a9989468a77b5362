package daemon

import (
	"context"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/kubernetes"
)

// KubernetesConfig configures the Kubernetes runtime (--runtime
// kubernetes).
type KubernetesConfig struct {
	// Kubeconfig is the kubeconfig file's path; "" means the in-cluster
	// configuration in a Pod, else $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Namespace holds the runtime's objects; "" means "openrunner".
	Namespace string
	// Registry is where source-code services' builds are pushed, e.g.
	// localhost:5000/openrunner; "" builds nothing.
	Registry string
}

// openKubernetes opens the Kubernetes runtime.
func (d *Daemon) openKubernetes(ctx context.Context, owner string, hooks openrunner.RuntimeHooks) (openrunner.Runtime, error) {
	regs := map[string]kubernetes.Credentials{}
	for host, c := range d.cfg.RegistryCredentials {
		regs[host] = kubernetes.Credentials{Username: c.Username, Password: c.Password}
	}
	k := d.cfg.Kubernetes
	rt, err := kubernetes.New(kubernetes.Options{Kubeconfig: k.Kubeconfig, Namespace: k.Namespace, Owner: owner,
		Registries: regs, Logger: d.logger, Now: d.cfg.Now})
	if err != nil {
		return nil, err
	}
	return rt, rt.Open(ctx, hooks)
}
