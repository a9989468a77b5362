package docker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/go-connections/nat"

	"github.com/openrunner/openrunner"
)

// StartInstance creates a container of spec.Image and starts it. The
// container gets PORT and spec.Env, spec.StartCommand as its whole command
// (through /bin/sh -c when the image has /bin/sh, else split on white
// space), the CPU and memory limits, the instance labels, no restart policy
// (the replicas controller replaces instances that die) and spec.Port published on a
// random port of Options.PublishIP, which Instance.Addr names; it also
// joins each Docker network of spec.Networks. Returns EINVALID for an
// invalid spec, an image that is not in the store, a network the engine
// does not have or a command the engine cannot start; the container is
// removed then.
func (r *Runtime) StartInstance(ctx context.Context, spec openrunner.InstanceSpec) (*openrunner.Instance, error) {
	if err := validSpec(spec); err != nil {
		return nil, err
	}
	img, err := r.imageFor(ctx, spec.Image)
	if err != nil {
		return nil, err
	}
	if err := r.checkNetworks(ctx, spec.Networks); err != nil {
		return nil, err
	}
	port := nat.Port(strconv.Itoa(spec.Port) + "/tcp")
	cfg := &container.Config{
		Image:        img.ID,
		Env:          env(spec),
		Labels:       r.labels(spec),
		ExposedPorts: nat.PortSet{port: struct{}{}},
	}
	init := true
	host := &container.HostConfig{
		// An init process as PID 1 passes SIGTERM on to the application,
		// which the kernel would otherwise not deliver to a PID 1 without
		// a handler: stopping would always wait the whole grace period.
		Init:          &init,
		PortBindings:  nat.PortMap{port: {{HostIP: r.publishIP}}}, // empty HostPort: the engine picks one
		RestartPolicy: container.RestartPolicy{Name: container.RestartPolicyDisabled},
		Resources: container.Resources{
			NanoCPUs: int64(spec.CPU) * 1e9 / 1024,
			Memory:   int64(spec.MemoryMB) << 20,
		},
	}
	if spec.MemoryMB > 0 {
		// Swap equal to memory means none: an App Runner instance has
		// exactly the memory it is sized with.
		host.MemorySwap = host.Memory
	}
	name := r.containerName(spec)

	var id string
	if spec.StartCommand != "" {
		id, err = r.createWithCommand(ctx, cfg, host, name, img.ID, spec.StartCommand)
	} else {
		id, err = r.create(ctx, cfg, host, name)
	}
	if err != nil {
		return nil, err
	}
	for _, n := range spec.Networks {
		if err := r.client.NetworkConnect(ctx, n, id, nil); err != nil {
			r.remove(id)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if cerrdefs.IsNotFound(err) {
				return nil, openrunner.Errorf(openrunner.EINVALID, "Docker network %q does not exist", n)
			}
			return nil, engineError("connect container to network "+n, err)
		}
	}
	if err := r.client.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		r.remove(id)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, openrunner.Errorf(openrunner.EINVALID, "cannot start image %s: %s", spec.Image, engineMessage(err))
	}
	c, err := r.client.ContainerInspect(ctx, id)
	if err != nil {
		// Without its address the instance is of no use to the caller,
		// who would not know to stop it either.
		r.remove(id)
		return nil, engineError("inspect started container "+shortID(id), err)
	}
	inst := r.instance(c)
	r.logger.Info("started instance", "id", shortID(id), "name", name, "service", spec.ServiceARN, "revision", spec.RevisionID, "addr", inst.Addr)
	return inst, nil
}

// checkNetworks returns EINVALID naming the first of networks the engine
// does not have.
func (r *Runtime) checkNetworks(ctx context.Context, networks []string) error {
	for _, n := range networks {
		if n == "" {
			return openrunner.Errorf(openrunner.EINVALID, "an empty Docker network name")
		}
		_, err := r.client.NetworkInspect(ctx, n, network.InspectOptions{})
		switch {
		case cerrdefs.IsNotFound(err):
			return openrunner.Errorf(openrunner.EINVALID, "Docker network %q does not exist", n)
		case err != nil:
			return engineError("inspect network "+n, err)
		}
	}
	return nil
}

// validSpec returns EINVALID for a spec no container can be made of: the
// checks of every runtime, and the engine's own memory floor.
func validSpec(spec openrunner.InstanceSpec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if spec.MemoryMB > 0 && spec.MemoryMB < 6 {
		// The engine refuses less than 6 MB, with a less helpful message.
		return openrunner.Errorf(openrunner.EINVALID, "memory %d MB is below the 6 MB a container needs", spec.MemoryMB)
	}
	return nil
}

// imageFor returns the stored image for ref, looking through the mirror
// for digest references that EnsureImage could not tag.
func (r *Runtime) imageFor(ctx context.Context, ref string) (image.InspectResponse, error) {
	named, err := parseRef(ref)
	if err != nil {
		return image.InspectResponse{}, err
	}
	for _, n := range []string{named.String(), r.mirrored(named).String()} {
		ii, err := r.client.ImageInspect(ctx, n)
		switch {
		case err == nil:
			return ii, nil
		case !cerrdefs.IsNotFound(err):
			return image.InspectResponse{}, engineError("inspect image "+n, err)
		}
	}
	return image.InspectResponse{}, openrunner.Errorf(openrunner.EINVALID, "image %s is not on the Docker engine: pull it first", ref)
}

// env returns the container environment: spec.Env in name order, then
// PORT, which spec.Env cannot override.
func env(spec openrunner.InstanceSpec) []string {
	names := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		if k != "PORT" && k != spec.PortEnv {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	out := make([]string, 0, len(names)+2)
	for _, k := range names {
		out = append(out, k+"="+spec.Env[k])
	}
	port := strconv.Itoa(spec.Port)
	if spec.PortEnv != "" && spec.PortEnv != "PORT" {
		out = append(out, spec.PortEnv+"="+port)
	}
	return append(out, "PORT="+port)
}

// labels returns spec.Labels plus the runtime's own, which win.
func (r *Runtime) labels(spec openrunner.InstanceSpec) map[string]string {
	l := make(map[string]string, len(spec.Labels)+5)
	for k, v := range spec.Labels {
		l[k] = v
	}
	l[openrunner.LabelManagedBy] = "openrunner"
	l[openrunner.LabelServiceARN] = spec.ServiceARN
	l[openrunner.LabelRevision] = spec.RevisionID
	l[LabelOwner] = r.owner
	l[LabelPort] = strconv.Itoa(spec.Port)
	l[LabelImage] = spec.Image
	return l
}

var nameUnsafe = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// containerName returns a unique, readable container name:
// <prefix><service name>-<revision>-<random>.
func (r *Runtime) containerName(spec openrunner.InstanceSpec) string {
	svc := spec.ServiceARN
	// arn:aws:apprunner:REGION:ACCOUNT:service/NAME/ID: the name is what a
	// person recognises.
	if i := strings.Index(svc, ":service/"); i >= 0 {
		svc = svc[i+len(":service/"):]
		if j := strings.IndexByte(svc, '/'); j >= 0 {
			svc = svc[:j]
		}
	}
	parts := []string{}
	for _, p := range []string{svc, spec.RevisionID} {
		if p = strings.Trim(nameUnsafe.ReplaceAllString(p, "-"), "-._"); p != "" {
			parts = append(parts, truncate(p, 40))
		}
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	parts = append(parts, hex.EncodeToString(b[:]))
	return r.namePrefix + strings.Join(parts, "-")
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// create creates a container and maps the engine's refusals to EINVALID.
func (r *Runtime) create(ctx context.Context, cfg *container.Config, host *container.HostConfig, name string) (string, error) {
	ref := cfg.Labels[LabelImage]
	resp, err := r.client.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if cerrdefs.IsInvalidArgument(err) || cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) {
			return "", openrunner.Errorf(openrunner.EINVALID, "cannot create a container of image %s: %s", ref, engineMessage(err))
		}
		return "", engineError("create container", err)
	}
	for _, w := range resp.Warnings {
		r.logger.Warn("container created with warning", "name", name, "warning", w)
	}
	return resp.ID, nil
}

// createWithCommand creates the container with command as its entrypoint:
// "/bin/sh -c command" when the image has /bin/sh, the command's words
// otherwise. Whether an image has a shell is learnt by creating the
// container with the shell and looking for /bin/sh in it (an image's
// config does not say), then remembered by image ID.
func (r *Runtime) createWithCommand(ctx context.Context, cfg *container.Config, host *container.HostConfig, name, imageID, command string) (string, error) {
	shellForm := []string{"/bin/sh", "-c", command}
	execForm := strings.Fields(command)
	r.mu.Lock()
	hasShell, known := r.hasShell[imageID]
	r.mu.Unlock()

	// Setting Entrypoint replaces the image's ENTRYPOINT and CMD both: the
	// StartCommand is the whole start command, as in App Runner.
	if known && !hasShell {
		cfg.Entrypoint, cfg.Cmd = execForm, nil
		return r.create(ctx, cfg, host, name)
	}
	cfg.Entrypoint, cfg.Cmd = shellForm, nil
	id, err := r.create(ctx, cfg, host, name)
	if err != nil || known {
		return id, err
	}
	_, err = r.client.ContainerStatPath(ctx, id, "/bin/sh")
	switch {
	case err == nil:
		hasShell = true
	case cerrdefs.IsNotFound(err):
		hasShell = false
	default:
		r.remove(id)
		return "", engineError("look for /bin/sh in image "+imageID, err)
	}
	r.mu.Lock()
	r.hasShell[imageID] = hasShell
	r.mu.Unlock()
	if hasShell {
		return id, nil
	}
	r.remove(id)
	cfg.Entrypoint, cfg.Cmd = execForm, nil
	return r.create(ctx, cfg, host, name)
}

// remove force-removes a container this runtime created but could not
// use; it runs on its own context so that a cancelled start still cleans
// up.
func (r *Runtime) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := r.client.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !cerrdefs.IsNotFound(err) {
		r.logger.Warn("cannot remove container", "id", shortID(id), "err", err)
	}
}

// InstanceState reports from the container's state whether it runs and,
// if not, its exit code and why it stopped ("OOMKilled", "exited",
// "created", "dead"). Returns ENOTFOUND if there is no such container of
// this owner.
func (r *Runtime) InstanceState(ctx context.Context, id string) (openrunner.InstanceState, error) {
	c, err := r.inspect(ctx, id)
	if err != nil {
		return openrunner.InstanceState{}, err
	}
	st := openrunner.InstanceState{}
	if c.State == nil {
		return st, nil
	}
	st.Running = c.State.Running
	st.ExitCode = c.State.ExitCode
	st.Reason = string(c.State.Status)
	if c.State.OOMKilled {
		st.Reason = "OOMKilled"
	}
	return st, nil
}

// inspect returns the container id if this runtime owns it; ENOTFOUND
// otherwise.
func (r *Runtime) inspect(ctx context.Context, id string) (container.InspectResponse, error) {
	if id == "" {
		return container.InspectResponse{}, openrunner.Errorf(openrunner.ENOTFOUND, "instance %q not found", id)
	}
	c, err := r.client.ContainerInspect(ctx, id)
	switch {
	case cerrdefs.IsNotFound(err):
		return c, openrunner.Errorf(openrunner.ENOTFOUND, "instance %s not found", id)
	case err != nil:
		return c, engineError("inspect container "+id, err)
	case !r.owns(c.Config):
		// Another OpenRunner's container, or one no OpenRunner made:
		// never touch it.
		return c, openrunner.Errorf(openrunner.ENOTFOUND, "instance %s not found", id)
	}
	return c, nil
}

// owns reports whether a container's config carries this runtime's labels.
func (r *Runtime) owns(cfg *container.Config) bool {
	return cfg != nil && cfg.Labels[openrunner.LabelManagedBy] == "openrunner" && cfg.Labels[LabelOwner] == r.owner
}

// StopInstance stops the container (SIGTERM, then SIGKILL once grace has
// passed, rounded up to whole seconds) and removes it with its anonymous
// volumes. A container that is gone, or not this owner's, is left alone.
func (r *Runtime) StopInstance(ctx context.Context, id string, grace time.Duration) error {
	c, err := r.inspect(ctx, id)
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	secs := max(0, int(math.Ceil(grace.Seconds())))
	if c.State != nil && (c.State.Running || c.State.Restarting) {
		err := r.client.ContainerStop(ctx, c.ID, container.StopOptions{Timeout: &secs})
		if err != nil && !cerrdefs.IsNotFound(err) {
			// Removing with force kills it all the same; log why the
			// graceful stop did not happen.
			r.logger.Warn("cannot stop container, removing it", "id", shortID(c.ID), "err", err)
		}
	}
	err = r.client.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	switch {
	case err == nil, cerrdefs.IsNotFound(err):
	case cerrdefs.IsConflict(err) && strings.Contains(err.Error(), "already in progress"):
		// A concurrent StopInstance is removing it.
	default:
		return engineError("remove container "+shortID(c.ID), err)
	}
	r.logger.Info("stopped instance", "id", shortID(c.ID), "name", strings.TrimPrefix(c.Name, "/"))
	return nil
}

// ListInstances returns the containers that carry this runtime's managed-by
// and owner labels, running or not, oldest first.
func (r *Runtime) ListInstances(ctx context.Context) ([]*openrunner.Instance, error) {
	list, err := r.client.ContainerList(ctx, container.ListOptions{
		All: true,
		Filters: filters.NewArgs(
			filters.Arg("label", openrunner.LabelManagedBy+"=openrunner"),
			filters.Arg("label", LabelOwner+"="+r.owner),
		),
	})
	if err != nil {
		return nil, engineError("list containers", err)
	}
	out := make([]*openrunner.Instance, 0, len(list))
	for _, s := range list {
		// Inspect rather than use the summary: it has the exact start time
		// and the published port of a container in any state.
		c, err := r.inspect(ctx, s.ID)
		if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
			continue // removed since the list
		} else if err != nil {
			return nil, err
		}
		out = append(out, r.instance(c))
	}
	slices.SortFunc(out, func(a, b *openrunner.Instance) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// instance returns the Instance a container is.
func (r *Runtime) instance(c container.InspectResponse) *openrunner.Instance {
	labels := map[string]string{}
	if c.Config != nil {
		for k, v := range c.Config.Labels {
			labels[k] = v
		}
	}
	inst := &openrunner.Instance{
		ID:         c.ID,
		ServiceARN: labels[openrunner.LabelServiceARN],
		RevisionID: labels[openrunner.LabelRevision],
		Labels:     labels,
	}
	if c.State != nil {
		if t, err := time.Parse(time.RFC3339Nano, c.State.StartedAt); err == nil && !t.IsZero() && t.Year() > 1 {
			inst.StartedAt = t
		}
	}
	if inst.StartedAt.IsZero() {
		if t, err := time.Parse(time.RFC3339Nano, c.Created); err == nil {
			inst.StartedAt = t
		}
	}
	if c.NetworkSettings != nil {
		port := nat.Port(labels[LabelPort] + "/tcp")
		for _, b := range c.NetworkSettings.Ports[port] {
			ip := b.HostIP
			if ip == "" || ip == "0.0.0.0" || ip == "::" {
				ip = r.publishIP // published on every address
			}
			if b.HostPort != "" {
				inst.Addr = net.JoinHostPort(ip, b.HostPort)
				break
			}
		}
	}
	return inst
}

// InstanceLimits returns the CPU (in App Runner units, 1024 = 1 vCPU) and
// memory (in MB) the container is limited to; 0 means unlimited. Returns
// ENOTFOUND if there is no such container of this owner.
func (r *Runtime) InstanceLimits(ctx context.Context, id string) (cpu, memoryMB int, err error) {
	c, err := r.inspect(ctx, id)
	if err != nil {
		return 0, 0, err
	}
	if c.HostConfig == nil {
		return 0, 0, nil
	}
	return int(c.HostConfig.NanoCPUs * 1024 / 1e9), int(c.HostConfig.Memory >> 20), nil
}

// engineMessage returns the engine's reason for refusing a request, which
// names the user's mistake ("exec: \"/app\": no such file or directory").
func engineMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "Error response from daemon: ")
	// runc's reason comes last, after the layers that passed it on:
	// "failed to create shim task: OCI runtime create failed: runc create
	// failed: unable to start container process: exec: ...: unknown".
	if _, reason, ok := strings.Cut(msg, "unable to start container process: "); ok {
		msg = strings.TrimSuffix(reason, ": unknown")
	}
	return msg
}

// shortID returns the 12-character form of a container ID that docker ps
// shows.
func shortID(id string) string {
	return truncate(id, 12)
}
