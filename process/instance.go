package process

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/openrunner/openrunner"
)

// Files in an instance's directory.
const (
	stateFile   = "state.json" // the instance, written once it has started
	exitFile    = "exit.json"  // how it exited, written by its supervisor
	stdoutFIFO  = "stdout"     // the FIFO the instance writes its stdout to
	stderrFIFO  = "stderr"     // and its stderr
	logFile     = "output.log" // the collected, timestamped output
	oldLogFile  = "output.log.1"
	killTimeout = 10 * time.Second // how long a SIGKILLed process may take to go
	drainWait   = 5 * time.Second  // how long StopInstance waits for the last output
)

// idPattern matches instance IDs, which name directories: anything else is
// not an instance of this runtime.
var idPattern = regexp.MustCompile(`^proc-[0-9a-f]{16}$`)

// state is an instance as its state file records it.
type state struct {
	ID         string            `json:"id"`
	Owner      string            `json:"owner"`
	ServiceARN string            `json:"serviceArn"`
	RevisionID string            `json:"revisionId"`
	Image      string            `json:"image"`
	Port       int               `json:"port"` // the port PORT names: the instance's own
	PID        int               `json:"pid"`  // also the process group ID
	ProcStart  uint64            `json:"procStart"`
	StartedAt  time.Time         `json:"startedAt"`
	CPU        int               `json:"cpu,omitempty"`
	MemoryMB   int               `json:"memoryMb,omitempty"`
	Labels     map[string]string `json:"labels"`
}

func (s *state) instance() *openrunner.Instance {
	labels := make(map[string]string, len(s.Labels))
	for k, v := range s.Labels {
		labels[k] = v
	}
	return &openrunner.Instance{
		ID:         s.ID,
		ServiceARN: s.ServiceARN,
		RevisionID: s.RevisionID,
		Addr:       net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)),
		StartedAt:  s.StartedAt,
		Labels:     labels,
	}
}

// exitRecord is how an instance exited.
type exitRecord struct {
	ExitCode int    `json:"exitCode"`
	Reason   string `json:"reason"`
}

// handle is what this OS process knows of an instance: whether it is the
// child's parent (and so reaps it) and whether it collects its output.
type handle struct {
	exited    chan struct{} // closed once reaped and exit.json written; nil if not our child
	collected chan struct{} // closed once the output has been read to its end; nil if nobody collects
}

// local holds the handles of this OS process by instance directory. It is
// per process, not per Runtime, because a new Runtime value over the same
// Dir (as the conformance suite makes to stand for a restart) must see the
// children and collectors of the others rather than start a second reader.
var local = struct {
	sync.Mutex
	m     map[string]*handle
	ports map[int]bool // ports handed to instances of this process
}{m: map[string]*handle{}, ports: map[int]bool{}}

func localHandle(dir string) *handle {
	local.Lock()
	defer local.Unlock()
	return local.m[dir]
}

// StartInstance starts spec as a child process in its own process group:
// spec.StartCommand through "/bin/sh -c", or else the image itself when it
// is an executable file (a directory image needs a StartCommand). It runs
// in the artifact's directory (a binary's parent) with an environment of
// PATH, HOME, USER, LANG, LC_ALL, TZ and TMPDIR from OpenRunner's own, then
// for an image that Build made, the environment its build installed into
// (the Python virtual environment, npm's global prefix, GOBIN on PATH),
// then spec.Env, then PORT and spec.PortEnv.
//
// PORT (and spec.PortEnv) is a free port of 127.0.0.1 chosen for this
// instance, which Instance.Addr names, not spec.Port: host processes share
// the host's ports, so two instances of one spec cannot both listen on
// spec.Port. spec.CPU and spec.MemoryMB are not enforced.
//
// Returns EINVALID for an invalid spec, one with Networks, an image that
// is not a usable artifact (or an unfinished build) or a command that cannot be started;
// nothing is left behind then. A StartCommand that the shell cannot run
// is only seen when the instance exits (127).
func (r *Runtime) StartInstance(ctx context.Context, spec openrunner.InstanceSpec) (*openrunner.Instance, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	if err := checkNetworks(spec); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if strings.ContainsAny(spec.PortEnv, "=\x00") {
		return nil, openrunner.Errorf(openrunner.EINVALID, "%q is not a valid environment variable for the port", spec.PortEnv)
	}
	a, err := parseRef(spec.Image)
	if err != nil {
		return nil, err
	}
	built, err := r.builtEnv(a.path)
	if err != nil {
		return nil, err
	}
	var args []string
	workDir := a.path
	switch {
	case spec.StartCommand != "":
		args = []string{"/bin/sh", "-c", spec.StartCommand}
	case a.isDir:
		return nil, openrunner.Errorf(openrunner.EINVALID, "image %s is a directory: the service needs a start command", spec.Image)
	default:
		args = []string{a.path}
	}
	if !a.isDir {
		workDir = filepath.Dir(a.path)
	}

	id := newID()
	dir := filepath.Join(r.dir, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("process: create instance directory: %w", err)
	}
	defer r.doneStarting(dir)
	if err := r.markStarting(dir); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("process: record instance start: %w", err)
	}
	port, err := takePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("process: choose a port: %w", err)
	}
	fail := func(err error) (*openrunner.Instance, error) {
		os.RemoveAll(dir)
		releasePort(port)
		return nil, err
	}
	outR, outW, err := openFIFO(filepath.Join(dir, stdoutFIFO))
	if err != nil {
		return fail(err)
	}
	errR, errW, err := openFIFO(filepath.Join(dir, stderrFIFO))
	if err != nil {
		outR.Close()
		outW.Close()
		return fail(err)
	}

	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = workDir
	cmd.Env = r.env(spec, port, built)
	cmd.Stdout, cmd.Stderr = outW, errW
	// Its own process group, so that stopping it stops what it started,
	// and so that a signal to OpenRunner's group does not reach it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	startedAt := r.now()
	err = cmd.Start()
	// The child has its copies; ours would keep the FIFOs open forever.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return fail(openrunner.Errorf(openrunner.EINVALID, "cannot start image %s: %s", spec.Image, startMessage(err)))
	}
	pid := cmd.Process.Pid
	procStart, _ := procStartTime(pid)
	st := &state{
		ID:         id,
		Owner:      r.owner,
		ServiceARN: spec.ServiceARN,
		RevisionID: spec.RevisionID,
		Image:      spec.Image,
		Port:       port,
		PID:        pid,
		ProcStart:  procStart,
		StartedAt:  startedAt,
		CPU:        spec.CPU,
		MemoryMB:   spec.MemoryMB,
		Labels:     r.labels(spec),
	}
	h := &handle{exited: make(chan struct{}), collected: make(chan struct{})}
	local.Lock()
	local.m[dir] = h
	local.Unlock()
	go supervise(cmd, dir, h)
	go r.collect(dir, outR, errR, h)

	if err := writeJSON(filepath.Join(dir, stateFile), st); err != nil {
		// Without its state the instance could never be found again.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-h.exited
		<-h.collected
		forget(dir)
		return fail(fmt.Errorf("process: record instance: %w", err))
	}
	_ = os.Remove(filepath.Join(dir, startingFile)) // recorded: the state file says it all
	r.logger.Info("started instance", "id", id, "pid", pid, "service", spec.ServiceARN, "revision", spec.RevisionID, "addr", st.instance().Addr)
	return st.instance(), nil
}

// startMessage is the part of a start error a user can act on.
func startMessage(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// hostEnv names the variables instances and builds inherit from
// OpenRunner: enough to find the host's toolchains, and nothing of
// OpenRunner's own secrets.
var hostEnv = []string{"PATH", "HOME", "USER", "LANG", "LC_ALL", "TZ", "TMPDIR"}

// defaultPath is PATH when OpenRunner has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

// hostEnviron returns the hostEnv variables OpenRunner has, PATH always.
func (r *Runtime) hostEnviron() []string {
	out := make([]string, 0, len(hostEnv))
	for _, k := range hostEnv {
		if v, ok := r.lookupEnv(k); ok {
			out = append(out, k+"="+v)
		} else if k == "PATH" {
			out = append(out, "PATH="+defaultPath)
		}
	}
	return out
}

// env returns an instance's environment: hostEnv, then what the build
// of the image (if Build made it) adds, then spec.Env in name order, then
// PORT and spec.PortEnv, which spec.Env cannot override.
func (r *Runtime) env(spec openrunner.InstanceSpec, port int, built *toolEnv) []string {
	out := r.hostEnviron()
	if built != nil {
		out = built.apply(out)
	}
	names := make([]string, 0, len(spec.Env))
	for k := range spec.Env {
		if k != "PORT" && k != spec.PortEnv {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		out = append(out, k+"="+spec.Env[k])
	}
	// exec.Cmd keeps the last of duplicate names: spec.Env overrides the
	// host's and the build's, and nothing overrides the port.
	p := strconv.Itoa(port)
	out = append(out, "PORT="+p)
	if spec.PortEnv != "" && spec.PortEnv != "PORT" {
		out = append(out, spec.PortEnv+"="+p)
	}
	return out
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
	l[LabelImage] = spec.Image
	return l
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "proc-" + hex.EncodeToString(b[:])
}

// takePort returns a port of 127.0.0.1 that nothing listens on and that
// no other instance of this process has been given. The instance binds it
// a moment later; another program could take it in between, which the
// instance then reports by exiting.
func takePort() (int, error) {
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		local.Lock()
		taken := local.ports[port]
		local.ports[port] = true
		local.Unlock()
		if !taken {
			return port, nil
		}
	}
	return 0, errors.New("no free port")
}

func releasePort(port int) {
	local.Lock()
	delete(local.ports, port)
	local.Unlock()
}

// forget drops the handle of an instance that is gone.
func forget(dir string) {
	local.Lock()
	delete(local.m, dir)
	local.Unlock()
}

// openFIFO makes a FIFO at path and returns its read end for the collector
// and a read-write end for the child. The child's end being read-write is
// what lets instances outlive OpenRunner: while nobody collects, its
// writes fill the pipe (then block) instead of failing with SIGPIPE, and a
// restarted OpenRunner opens the FIFO again and collects from there.
func openFIFO(path string) (rd, wr *os.File, err error) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		return nil, nil, fmt.Errorf("process: make FIFO: %w", err)
	}
	// Non-blocking: the open must not wait for a writer.
	rd, err = os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("process: open FIFO: %w", err)
	}
	wr, err = os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		rd.Close()
		return nil, nil, fmt.Errorf("process: open FIFO: %w", err)
	}
	growPipe(rd)
	return rd, wr, nil
}

// growPipe raises the pipe's buffer to 1 MiB (the unprivileged maximum) so
// an instance can write that much while OpenRunner restarts. Best effort.
func growPipe(f *os.File) {
	const fSetPipeSz = 1031 // F_SETPIPE_SZ, Linux
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSz, 1<<20)
		})
	}
}

// supervise reaps the child and records how it exited.
func supervise(cmd *exec.Cmd, dir string, h *handle) {
	defer close(h.exited)
	_ = cmd.Wait()
	rec := exitRecord{ExitCode: cmd.ProcessState.ExitCode(), Reason: "exited"}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		rec = exitRecord{ExitCode: 128 + int(ws.Signal()), Reason: "killed by " + signalName(ws.Signal())}
	}
	// Fails only when the instance is being removed; nobody asks then.
	_ = writeJSON(filepath.Join(dir, exitFile), rec)
}

func signalName(s syscall.Signal) string {
	switch s {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

// writeJSON writes v to path atomically: readers see all of it or nothing.
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// load returns the state of instance id of this owner and its directory,
// or ENOTFOUND.
func (r *Runtime) load(id string) (*state, string, error) {
	if !idPattern.MatchString(id) {
		return nil, "", openrunner.Errorf(openrunner.ENOTFOUND, "no instance %s", id)
	}
	dir := filepath.Join(r.dir, id)
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", openrunner.Errorf(openrunner.ENOTFOUND, "no instance %s", id)
	} else if err != nil {
		return nil, "", fmt.Errorf("process: read state of %s: %w", id, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, "", fmt.Errorf("process: read state of %s: %w", id, err)
	}
	if st.Owner != r.owner || st.ID != id {
		return nil, "", openrunner.Errorf(openrunner.ENOTFOUND, "no instance %s", id)
	}
	return &st, dir, nil
}

// running reports whether the instance's process is alive: for a child of
// this OS process, until it is reaped; for one an earlier OpenRunner
// started, while its PID names a live process with the recorded start
// time (so a reused PID is not mistaken for it).
func running(dir string, st *state) bool {
	if h := localHandle(dir); h != nil && h.exited != nil {
		select {
		case <-h.exited:
			return false
		default:
			return true
		}
	}
	return procAlive(st.PID, st.ProcStart)
}

// procStat returns the state letter and start time (in clock ticks since
// boot) of process pid from /proc/<pid>/stat.
func procStat(pid int) (byte, uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name, in parentheses, may hold anything: the fields
	// that follow start after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); starttime is field 22.
	if len(f) < 20 {
		return 0, 0, errors.New("malformed /proc stat")
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil || len(f[0]) == 0 {
		return 0, 0, errors.New("malformed /proc stat")
	}
	return f[0][0], start, nil
}

func procStartTime(pid int) (uint64, error) {
	_, start, err := procStat(pid)
	return start, err
}

func procAlive(pid int, start uint64) bool {
	s, got, err := procStat(pid)
	return err == nil && got == start && s != 'Z' && s != 'X'
}

// InstanceState reports whether the instance runs and, once it has exited,
// its exit code: the status it exited with, or 128 + the signal that
// killed it. An instance an earlier OpenRunner process started was not its
// child and its exit status is lost: ExitCode is -1 then. Returns
// ENOTFOUND if there is no such instance of this owner.
func (r *Runtime) InstanceState(ctx context.Context, id string) (openrunner.InstanceState, error) {
	st, dir, err := r.load(id)
	if err != nil {
		return openrunner.InstanceState{}, err
	}
	if running(dir, st) {
		r.ensureCollector(dir)
		return openrunner.InstanceState{Running: true}, nil
	}
	var rec exitRecord
	if b, err := os.ReadFile(filepath.Join(dir, exitFile)); err == nil && json.Unmarshal(b, &rec) == nil {
		return openrunner.InstanceState{ExitCode: rec.ExitCode, Reason: rec.Reason}, nil
	}
	return openrunner.InstanceState{ExitCode: -1, Reason: "exited (status unknown: started by an earlier OpenRunner process)"}, nil
}

// StopInstance sends SIGTERM to the instance's process group, SIGKILL
// after grace if its process still runs (and to whatever is left of the
// group once it has gone), waits a moment for its last output to be
// collected and removes the instance with its log. Stopping an instance
// that is gone, or not of this owner, is not an error.
func (r *Runtime) StopInstance(ctx context.Context, id string, grace time.Duration) error {
	st, dir, err := r.load(id)
	if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if running(dir, st) {
		// Someone must read its output, or it may block writing its last
		// words instead of exiting.
		r.ensureCollector(dir)
		_ = syscall.Kill(-st.PID, syscall.SIGTERM)
		if !waitExit(ctx, dir, st, grace) {
			r.logger.Info("instance ignored SIGTERM: killing it", "id", id, "grace", grace)
			_ = syscall.Kill(-st.PID, syscall.SIGKILL)
			if !waitExit(context.Background(), dir, st, killTimeout) {
				return fmt.Errorf("process: instance %s (pid %d) survived SIGKILL", id, st.PID)
			}
		}
		// What it started and left behind in its group goes too. Its
		// group ID cannot have been reused while they exist.
		_ = syscall.Kill(-st.PID, syscall.SIGKILL)
	}
	if h := localHandle(dir); h != nil && h.collected != nil {
		// A grandchild that left the group may hold the output open:
		// waiting for it is bounded.
		t := time.NewTimer(drainWait)
		select {
		case <-h.collected:
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("process: remove instance %s: %w", id, err)
	}
	forget(dir)
	releasePort(st.Port)
	r.logger.Info("stopped instance", "id", id, "service", st.ServiceARN, "revision", st.RevisionID)
	return nil
}

// waitExit waits up to d for the instance's process to be gone and
// reports whether it is.
func waitExit(ctx context.Context, dir string, st *state, d time.Duration) bool {
	deadline := time.Now().Add(d)
	if h := localHandle(dir); h != nil && h.exited != nil {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-h.exited:
			return true
		case <-t.C:
		case <-ctx.Done():
		}
		return false
	}
	for {
		if !procAlive(st.PID, st.ProcStart) {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ListInstances returns the instances of this owner, running or exited,
// oldest first. It adopts the running ones an earlier OpenRunner process
// started: their output is collected again from here on.
func (r *Runtime) ListInstances(ctx context.Context) ([]*openrunner.Instance, error) {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return nil, fmt.Errorf("process: list instances: %w", err)
	}
	var out []*openrunner.Instance
	for _, e := range entries {
		if !idPattern.MatchString(e.Name()) {
			continue
		}
		st, dir, err := r.load(e.Name())
		if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
			// Not ours, being started, removed since, or a start an
			// earlier process of ours did not finish (reaped here).
			r.reapAbandoned(filepath.Join(r.dir, e.Name()))
			continue
		} else if err != nil {
			return nil, err
		}
		if running(dir, st) {
			r.ensureCollector(dir)
		}
		out = append(out, st.instance())
	}
	slices.SortFunc(out, func(a, b *openrunner.Instance) int {
		if c := a.StartedAt.Compare(b.StartedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}
