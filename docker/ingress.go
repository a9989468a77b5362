package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"

	"github.com/openrunner/openrunner"
)

// Labels of the proxy containers of VPC ingress connections. They carry a
// managed-by value of their own, so ListInstances never takes one for an
// instance.
const (
	ingressManagedBy = "openrunner-ingress"
	LabelIngress     = "dev.openrunner.ingress"         // the connection's id
	labelIngressNet  = "dev.openrunner.ingress.network" // the network it is on
	labelIngressHash = "dev.openrunner.ingress.spec"    // hash of domain, target and image
)

var _ openrunner.IngressRuntime = (*Runtime)(nil)

// NetworkGateway returns the gateway address of a Docker network: the host
// side of its bridge, where a listener reaches only that network's
// containers (and the host). Returns EINVALID if the network does not
// exist.
func (r *Runtime) NetworkGateway(ctx context.Context, name string) (string, error) {
	n, err := r.client.NetworkInspect(ctx, name, network.InspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
		return "", openrunner.Errorf(openrunner.EINVALID, "Docker network %q does not exist", name)
	case err != nil:
		return "", engineError("inspect network "+name, err)
	}
	for _, c := range n.IPAM.Config {
		if ip := net.ParseIP(c.Gateway); ip != nil && ip.To4() != nil {
			return c.Gateway, nil
		}
	}
	return "", openrunner.Errorf(openrunner.EINVALID, "Docker network %q has no IPv4 gateway (driver %s)", name, n.Driver)
}

// EnsureIngress makes e's proxy container run, replacing one made for
// another network, domain or target, and returns its address on the
// network (ip:80).
func (r *Runtime) EnsureIngress(ctx context.Context, e openrunner.IngressEndpoint) (string, error) {
	img, err := r.ingressImage(ctx)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256([]byte(e.Network + "\x00" + e.DomainName + "\x00" + e.Target + "\x00" + img))
	hash := hex.EncodeToString(sum[:8])
	name := r.namePrefix + "ingress-" + e.ID
	if c, err := r.client.ContainerInspect(ctx, name); err == nil {
		if c.Config.Labels[labelIngressHash] == hash && c.State.Running {
			return ingressAddr(c, e.Network)
		}
		r.remove(c.ID)
	} else if !cerrdefs.IsNotFound(err) {
		return "", engineError("inspect "+name, err)
	}
	cfg := &container.Config{
		Image: img,
		Cmd:   []string{"--listen", ":80", "--target", e.Target},
		Labels: map[string]string{
			openrunner.LabelManagedBy: ingressManagedBy, LabelOwner: r.owner,
			LabelIngress: e.ID, labelIngressNet: e.Network, labelIngressHash: hash,
		},
	}
	host := &container.HostConfig{RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyUnlessStopped}}
	nets := &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
		e.Network: {Aliases: []string{e.DomainName}},
	}}
	res, err := r.client.ContainerCreate(ctx, cfg, host, nets, nil, name)
	switch {
	case cerrdefs.IsNotFound(err):
		return "", openrunner.Errorf(openrunner.EINVALID, "Docker network %q does not exist", e.Network)
	case err != nil:
		return "", engineError("create "+name, err)
	}
	if err := r.client.ContainerStart(ctx, res.ID, container.StartOptions{}); err != nil {
		r.remove(res.ID)
		return "", engineError("start "+name, err)
	}
	c, err := r.client.ContainerInspect(ctx, res.ID)
	if err != nil {
		return "", engineError("inspect "+name, err)
	}
	r.logger.Info("started ingress proxy", "name", name, "network", e.Network, "domain", e.DomainName, "target", e.Target)
	return ingressAddr(c, e.Network)
}

func ingressAddr(c container.InspectResponse, netName string) (string, error) {
	if c.NetworkSettings != nil {
		if ep := c.NetworkSettings.Networks[netName]; ep != nil && ep.IPAddress != "" {
			return net.JoinHostPort(ep.IPAddress, "80"), nil
		}
	}
	return "", fmt.Errorf("docker: ingress proxy %s has no address on network %s", c.Name, netName)
}

// RemoveIngress removes the proxy container of the connection with that
// id. Removing one that is gone is not an error.
func (r *Runtime) RemoveIngress(ctx context.Context, id string) error {
	err := r.client.ContainerRemove(ctx, r.namePrefix+"ingress-"+id, container.RemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return engineError("remove ingress proxy "+id, err)
	}
	return nil
}

// Ingresses returns the connection ids of this OpenRunner's proxy
// containers.
func (r *Runtime) Ingresses(ctx context.Context) ([]string, error) {
	list, err := r.client.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", openrunner.LabelManagedBy+"="+ingressManagedBy),
		filters.Arg("label", LabelOwner+"="+r.owner),
	)})
	if err != nil {
		return nil, engineError("list ingress proxies", err)
	}
	ids := make([]string, 0, len(list))
	for _, c := range list {
		ids = append(ids, c.Labels[LabelIngress])
	}
	return ids, nil
}

// ingressImage builds, once per engine and executable, the proxy image:
// FROM scratch with the proxy executable (Options.IngressProxy, by default
// this OpenRunner's own) and, if it is dynamically linked, the libraries
// ldd lists. Its entry point is "<executable> ingress-proxy". Nothing is
// pulled.
func (r *Runtime) ingressImage(ctx context.Context) (string, error) {
	r.ingressMu.Lock()
	defer r.ingressMu.Unlock()
	if r.ingressRef != "" {
		return r.ingressRef, nil
	}
	exe := r.ingressProxy
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return "", fmt.Errorf("docker: ingress proxy: %w", err)
		}
	}
	bin, err := os.ReadFile(exe)
	if err != nil {
		return "", fmt.Errorf("docker: ingress proxy: %w", err)
	}
	sum := sha256.Sum256(bin)
	ref := "openrunner-ingress-proxy:" + hex.EncodeToString(sum[:6])
	if _, err := r.client.ImageInspect(ctx, ref); err == nil {
		r.ingressRef = ref
		return ref, nil
	}
	libs, err := sharedLibraries(exe)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := ingressContext(&buf, bin, libs); err != nil {
		return "", err
	}
	resp, err := r.client.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{ref}, Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		return "", engineError("build the ingress proxy image", err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if bytes.Contains(out, []byte(`"error"`)) {
		return "", fmt.Errorf("docker: build the ingress proxy image: %s", openrunner.Truncate(string(out), 500))
	}
	r.ingressRef = ref
	return ref, nil
}

var lddPath = regexp.MustCompile(`(?:=>\s*)?(/\S+)\s+\(0x`)

// sharedLibraries returns the files a dynamically linked executable needs
// (its interpreter included), as ldd lists them; none for a static one.
func sharedLibraries(exe string) ([]string, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("docker: ingress proxy: %w", err)
	}
	defer f.Close()
	dynamic := false
	for _, p := range f.Progs {
		dynamic = dynamic || p.Type == elf.PT_INTERP
	}
	if !dynamic {
		return nil, nil
	}
	out, err := exec.Command("ldd", exe).Output()
	if err != nil {
		return nil, fmt.Errorf("docker: ingress proxy: ldd %s: %w", exe, err)
	}
	var libs []string
	for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
		libs = append(libs, m[1])
	}
	return libs, nil
}

// ingressContext writes the proxy image's build context: its Dockerfile,
// the executable as /openrunner and each library at its own path.
func ingressContext(w io.Writer, bin []byte, libs []string) error {
	tw := tar.NewWriter(w)
	add := func(name string, mode int64, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	dockerfile := "FROM scratch\nCOPY rootfs/ /\nENTRYPOINT [\"/openrunner\", \"ingress-proxy\"]\n"
	if err := add("Dockerfile", 0o644, []byte(dockerfile)); err != nil {
		return err
	}
	if err := add("rootfs/openrunner", 0o755, bin); err != nil {
		return err
	}
	for _, l := range libs {
		data, err := os.ReadFile(l)
		if err != nil {
			return fmt.Errorf("docker: ingress proxy: %w", err)
		}
		if err := add("rootfs/"+strings.TrimPrefix(l, "/"), 0o755, data); err != nil {
			return err
		}
	}
	return tw.Close()
}
