package memruntime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
)

// AppCommand is the executable a StartCommand names to run the emulated
// test app, as runtimetest.Images.AppCommand.
const AppCommand = "testapp"

// Engine holds in-memory instances and the images they may start from. It
// implements openrunner.InstanceDriver. Several Runtimes can share one
// Engine: a new Runtime on the same Engine stands for a restarted
// OpenRunner and adopts its instances. It is safe for concurrent use.
type Engine struct {
	mu        sync.Mutex
	images    map[string]bool
	instances map[string]*instance
	startExit int // ≥ 0: new instances exit at once with this code
}

var _ openrunner.InstanceDriver = (*Engine)(nil)

// NewEngine returns an Engine without images or instances.
func NewEngine() *Engine {
	return &Engine{images: map[string]bool{}, instances: map[string]*instance{}, startExit: -1}
}

// SetStartExit makes the instances started from now on exit at once with
// code, as an application that fails to start does; a negative code turns
// it off.
func (e *Engine) SetStartExit(code int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.startExit = code
}

// InstanceInfo is a running instance, as Instances lists it.
type InstanceInfo struct {
	ID         string
	ServiceARN string
	RevisionID string
	Addr       string
}

// AddImage makes ref known to EnsureImage and StartInstance.
func (e *Engine) AddImage(ref string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.images[ref] = true
}

// image returns the image ref names, or EINVALID.
func (e *Engine) image(ref string) (openrunner.Image, error) {
	e.mu.Lock()
	known := e.images[ref]
	e.mu.Unlock()
	if !known {
		return openrunner.Image{}, openrunner.Errorf(openrunner.EINVALID, "image %s does not exist in the memory runtime", ref)
	}
	sum := sha256.Sum256([]byte(ref))
	return openrunner.Image{Ref: ref, ID: "sha256:" + hex.EncodeToString(sum[:])}, nil
}

// Instances lists the running instances, oldest first.
func (e *Engine) Instances() []InstanceInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	var list []*instance
	for _, in := range e.instances {
		in.mu.Lock()
		running := in.running
		in.mu.Unlock()
		if running {
			list = append(list, in)
		}
	}
	sortInstances(list)
	out := make([]InstanceInfo, 0, len(list))
	for _, in := range list {
		out = append(out, InstanceInfo{ID: in.info.ID, ServiceARN: in.info.ServiceARN, RevisionID: in.info.RevisionID, Addr: in.info.Addr})
	}
	return out
}

// Crash makes the instance exit with code, as if the application did.
// Returns ENOTFOUND for an unknown instance.
func (e *Engine) Crash(id string, code int) error {
	in, err := e.get(id)
	if err != nil {
		return err
	}
	in.exit(code, "exited")
	return nil
}

// SetHealthy makes the instance's /health answer 200 (true) or 500
// (false). Returns ENOTFOUND for an unknown instance.
func (e *Engine) SetHealthy(id string, healthy bool) error {
	in, err := e.get(id)
	if err != nil {
		return err
	}
	in.mu.Lock()
	in.sick = !healthy
	in.mu.Unlock()
	return nil
}

func (e *Engine) get(id string) (*instance, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.instances[id]
	if in == nil {
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "instance %s not found", id)
	}
	return in, nil
}

// app is how an instance's emulated test app runs.
type app struct {
	greeting string
	exitCode int // -1: serve
}

// parseApp reads the test app's flags from spec, as testapp does.
func parseApp(spec openrunner.InstanceSpec) (app, error) {
	a := app{greeting: "hello", exitCode: -1}
	if spec.StartCommand != "" {
		words := strings.Fields(spec.StartCommand)
		if len(words) == 0 || words[0] != AppCommand {
			return a, openrunner.Errorf(openrunner.EINVALID, "cannot start image %s: %s: no such file or directory", spec.Image, firstWord(words))
		}
		for i := 1; i < len(words); i++ {
			switch {
			case words[i] == "--greeting" && i+1 < len(words):
				i++
				a.greeting = words[i]
			case words[i] == "--exit-code" && i+1 < len(words):
				i++
				n, err := strconv.Atoi(words[i])
				if err != nil {
					return a, openrunner.Errorf(openrunner.EINVALID, "bad --exit-code %q", words[i])
				}
				a.exitCode = n
			}
		}
	}
	if s, ok := spec.Env["TESTAPP_EXIT_CODE"]; ok && s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			n = 2
		}
		a.exitCode = n
	}
	return a, nil
}

func firstWord(w []string) string {
	if len(w) == 0 {
		return ""
	}
	return w[0]
}

// StartInstance starts an in-process HTTP server on a free port of
// 127.0.0.1 that emulates the test app (runtimetest/testapp): its
// endpoints, TESTAPP_EXIT_CODE, TESTAPP_IGNORE_SIGTERM and its output.
// PORT (and spec.PortEnv) is the server's port. A StartCommand must name
// AppCommand; anything else is EINVALID, as is an image not added.
func (e *Engine) StartInstance(ctx context.Context, spec openrunner.InstanceSpec) (*openrunner.Instance, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if _, err := e.image(spec.Image); err != nil {
		return nil, err
	}
	a, err := parseApp(spec)
	e.mu.Lock()
	if e.startExit >= 0 {
		a.exitCode = e.startExit
	}
	e.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("memruntime: %w", err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	env := map[string]string{}
	for k, v := range spec.Env {
		env[k] = v
	}
	env["PORT"] = port
	if spec.PortEnv != "" {
		env[spec.PortEnv] = port
	}
	in := &instance{
		info: openrunner.Instance{
			ID:         newID(),
			ServiceARN: spec.ServiceARN,
			RevisionID: spec.RevisionID,
			Addr:       ln.Addr().String(),
			StartedAt:  time.Now(),
			Labels:     labels(spec),
		},
		env:        env,
		ignoreTerm: env["TESTAPP_IGNORE_SIGTERM"] == "1",
		running:    true,
		wake:       make(chan struct{}),
		done:       make(chan struct{}),
	}
	in.srv = &http.Server{Handler: in.handler(a.greeting), ReadHeaderTimeout: 10 * time.Second}
	e.mu.Lock()
	e.instances[in.info.ID] = in
	e.mu.Unlock()
	if a.exitCode >= 0 {
		ln.Close()
		in.log("stdout", fmt.Sprintf("testapp: exiting with code %d", a.exitCode))
		in.exit(a.exitCode, "exited")
	} else {
		in.log("stdout", "testapp: stdout ready on port "+port)
		in.log("stderr", "testapp: stderr ready")
		go func() { _ = in.srv.Serve(ln) }()
	}
	info := in.info
	return &info, nil
}

func labels(spec openrunner.InstanceSpec) map[string]string {
	l := make(map[string]string, len(spec.Labels)+3)
	for k, v := range spec.Labels {
		l[k] = v
	}
	l[openrunner.LabelManagedBy] = "openrunner"
	l[openrunner.LabelServiceARN] = spec.ServiceARN
	l[openrunner.LabelRevision] = spec.RevisionID
	return l
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "mem-" + hex.EncodeToString(b[:])
}

// InstanceState reports whether the instance runs and how it exited.
// Returns ENOTFOUND for an unknown (or stopped) instance.
func (e *Engine) InstanceState(ctx context.Context, id string) (openrunner.InstanceState, error) {
	in, err := e.get(id)
	if err != nil {
		return openrunner.InstanceState{}, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return openrunner.InstanceState{Running: in.running, ExitCode: in.exitCode, Reason: in.reason}, nil
}

// StopInstance "sends SIGTERM": the app says so and exits 0, unless it
// ignores SIGTERM, when it is killed (137) after grace. Then the instance
// is removed. An unknown instance is not an error.
func (e *Engine) StopInstance(ctx context.Context, id string, grace time.Duration) error {
	in, err := e.get(id)
	if err != nil {
		return nil
	}
	in.mu.Lock()
	running, ignore := in.running, in.ignoreTerm
	in.mu.Unlock()
	if running {
		if ignore {
			t := time.NewTimer(grace)
			select {
			case <-t.C:
			case <-ctx.Done():
			case <-in.done:
			}
			t.Stop()
			in.exit(137, "killed by SIGKILL")
		} else {
			in.log("stdout", "testapp: SIGTERM, shutting down")
			in.exit(0, "exited")
		}
	}
	e.mu.Lock()
	delete(e.instances, id)
	e.mu.Unlock()
	return nil
}

// ListInstances returns every instance, running or exited, oldest first.
func (e *Engine) ListInstances(ctx context.Context) ([]*openrunner.Instance, error) {
	e.mu.Lock()
	list := make([]*instance, 0, len(e.instances))
	for _, in := range e.instances {
		list = append(list, in)
	}
	e.mu.Unlock()
	sortInstances(list)
	out := make([]*openrunner.Instance, 0, len(list))
	for _, in := range list {
		info := in.info
		info.Labels = make(map[string]string, len(in.info.Labels))
		for k, v := range in.info.Labels {
			info.Labels[k] = v
		}
		out = append(out, &info)
	}
	return out, nil
}

func sortInstances(list []*instance) {
	slices.SortFunc(list, func(a, b *instance) int {
		if c := a.info.StartedAt.Compare(b.info.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.info.ID, b.info.ID)
	})
}

// FollowLogs sends the instance's output from since on to sink until ctx
// ends or the instance has exited and all its output was sent. Returns
// ENOTFOUND for an unknown instance.
func (e *Engine) FollowLogs(ctx context.Context, id string, since time.Time, sink func(openrunner.LogLine)) error {
	in, err := e.get(id)
	if err != nil {
		return err
	}
	next := 0
	for {
		in.mu.Lock()
		lines := slices.Clone(in.logs[next:])
		next = len(in.logs)
		wake, running := in.wake, in.running
		in.mu.Unlock()
		for _, l := range lines {
			if !l.Time.Before(since) {
				sink(l)
			}
		}
		if !running && len(lines) == 0 {
			return nil
		}
		if !running {
			continue // one more pass: nothing more can come
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
