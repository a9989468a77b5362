package daemon

import (
	"context"
	"errors"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/docker"
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
	if err := rt.Open(ctx, hooks); err != nil {
		return nil, err
	}
	if k.Registry == "" {
		return rt, nil
	}
	// Source-code services are built by the Docker engine (builds only: no
	// instance runs there) and pushed to the registry.
	local, err := docker.New(docker.Options{Host: d.cfg.DockerHost, Owner: owner, Logger: d.logger, Now: d.cfg.Now,
		Mirrors: d.cfg.RegistryMirrors, Registries: d.cfg.RegistryCredentials, RuntimeImages: d.cfg.RuntimeImages})
	if err != nil {
		return nil, errors.Join(err, rt.Close())
	}
	return &kubernetesBuilding{Runtime: rt, Builder: &kubernetes.Builder{Local: local, Pusher: local, Registry: k.Registry, Runtime: rt}}, nil
}

// kubernetesBuilding is the Kubernetes runtime with the builder of
// --registry: the reconciler finds the Builder on the runtime.
type kubernetesBuilding struct {
	*kubernetes.Runtime
	*kubernetes.Builder
}
