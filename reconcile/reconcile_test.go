package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/autoscale"
	"github.com/openrunner/openrunner/internal/memruntime"
	"github.com/openrunner/openrunner/reconcile"
	"github.com/openrunner/openrunner/replicas"
	"github.com/openrunner/openrunner/router"
	"github.com/openrunner/openrunner/sqlite"
)

// The reconciler's table tests run on the real SQLite store and the real
// router, with the in-memory runtime (which passes runtimetest): each
// transition takes milliseconds.

const testImage = "memory/app:1"

var scope = openrunner.Scope{AccountID: "123456789012", Region: "us-east-1"}

// env is one OpenRunner's reconciler and what it works on. Several envs
// can share a store and an engine, as servers share a database and a
// restarted server its instances.
type env struct {
	t        *testing.T
	db       *sqlite.DB
	services *sqlite.ServiceService
	engine   *memruntime.Engine
	rt       *memruntime.Runtime
	router   *router.Router
	events   *recorder
	demand   *demand
	c        *reconcile.Controller
	front    *httptest.Server
}

type shared struct {
	db     *sqlite.DB
	engine *memruntime.Engine
}

func newShared(t *testing.T) *shared {
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "openrunner.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	engine := memruntime.NewEngine()
	engine.AddImage(testImage)
	engine.AddImage("memory/app:2")
	return &shared{db: db, engine: engine}
}

// start opens a controller named holder on sh (nil: a new store and
// engine); the services store may be wrapped.
func start(t *testing.T, sh *shared, holder string, wrap ...func(openrunner.ServiceService) openrunner.ServiceService) *env {
	t.Helper()
	if sh == nil {
		sh = newShared(t)
	}
	e := &env{t: t, db: sh.db, services: sqlite.NewServiceService(sh.db), engine: sh.engine, events: &recorder{}}
	var poke func(string)
	e.router = router.New(router.Options{OnDemand: func(arn string) {
		if poke != nil {
			poke(arn)
		}
	}})
	e.front = httptest.NewServer(e.router)
	t.Cleanup(e.front.Close)
	e.demand = &demand{}
	var services openrunner.ServiceService = e.services
	for _, w := range wrap {
		services = w(services)
	}
	e.c = &reconcile.Controller{
		Services:   services,
		Leases:     sqlite.NewLeaseService(sh.db),
		Router:     e.router,
		Events:     e.events,
		BaseDomain: "apprunner.test",
		Holder:     holder,
		Resync:     200 * time.Millisecond,
		LeaseTTL:   time.Second,
		StopGrace:  time.Second,
		RetryMin:   10 * time.Millisecond,
		RetryMax:   100 * time.Millisecond,
		Autoscaler: &autoscale.Autoscaler{Stable: 2 * time.Second, Panic: 400 * time.Millisecond, Tick: 100 * time.Millisecond},
		Demand:     e.demand.get,
	}
	poke = e.c.Poke
	e.rt = memruntime.New(sh.engine, replicas.Options{StopGrace: time.Second, RestartBackoffMin: 10 * time.Millisecond, RestartBackoffMax: 100 * time.Millisecond})
	hooks := openrunner.RuntimeHooks{
		Changed: e.c.Kick,
		Drain:   func(ctx context.Context, id string) { _ = e.router.Drain(ctx, id) },
	}
	if err := e.rt.Open(context.Background(), hooks); err != nil {
		t.Fatal(err)
	}
	e.c.Runtime = e.rt
	if err := e.c.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.stop() })
	return e
}

// stop closes the controller and the runtime (instances keep running).
func (e *env) stop() {
	e.c.Close()
	e.rt.Close()
}

func ctx() context.Context { return openrunner.NewContextWithScope(context.Background(), scope) }

func imageConfig(image string, env map[string]string) openrunner.ServiceConfig {
	return openrunner.ServiceConfig{
		Source:   openrunner.SourceConfig{Image: &openrunner.ImageSource{Identifier: image, RepositoryType: "ECR_PUBLIC", Port: "8080", Env: env}},
		Instance: openrunner.InstanceConfig{CPU: "1024", Memory: "2048"},
		HealthCheck: openrunner.HealthCheckConfig{Protocol: "TCP", Path: "/", Interval: 1, Timeout: 1,
			HealthyThreshold: 1, UnhealthyThreshold: 2},
		Network: openrunner.NetworkConfig{EgressType: "DEFAULT", IsPubliclyAccessible: true, IPAddressType: "IPV4"},
	}
}

// create stores a new service with its CREATE_SERVICE operation, as the
// API does, and kicks the controller. Its MinSize is instances, so that the
// autoscaler (which sees no demand) keeps that many.
func (e *env) create(name string, cfg openrunner.ServiceConfig, instances int) *openrunner.Service {
	e.t.Helper()
	svc := &openrunner.Service{Name: name, Config: cfg,
		Desired: openrunner.DesiredState{MinSize: instances, MaxSize: 25, Instances: instances, MaxConcurrency: 100}}
	op := &openrunner.Operation{Type: openrunner.OperationCreateService, Desired: &cfg}
	if err := e.services.CreateService(ctx(), svc, op, nil); err != nil {
		e.t.Fatal(err)
	}
	e.c.Kick(svc.ARN())
	return svc
}

// operate starts an operation as the API does.
func (e *env) operate(svc *openrunner.Service, typ string, apply func(*openrunner.Service, *openrunner.Operation)) *openrunner.Operation {
	e.t.Helper()
	op := &openrunner.Operation{Type: typ}
	if _, err := e.services.StartOperation(ctx(), svc.ARN(), op, func(s *openrunner.Service) error {
		if apply != nil {
			apply(s, op)
		}
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	e.c.Kick(svc.ARN())
	return op
}

// settle waits until the service has no unfinished operation and is in
// status, and returns it.
func (e *env) settle(svc *openrunner.Service, status string) *openrunner.Service {
	e.t.Helper()
	var got *openrunner.Service
	e.eventually(func() error {
		var err error
		if got, err = e.services.FindServiceByARN(ctx(), svc.ARN()); err != nil {
			return err
		}
		if got.Status != status {
			return fmt.Errorf("status %s, want %s (events: %s)", got.Status, status, e.events.of(svc.ARN()))
		}
		return nil
	})
	return got
}

// lastOp returns the service's newest operation.
func (e *env) lastOp(svc *openrunner.Service) *openrunner.Operation {
	e.t.Helper()
	page, err := e.services.FindOperations(ctx(), svc.ARN(), openrunner.OperationFilter{Limit: 1})
	if err != nil || len(page.Operations) == 0 {
		e.t.Fatalf("operations: %v", err)
	}
	return page.Operations[0]
}

// eventually retries f until it succeeds or 10 s pass.
func (e *env) eventually(f func() error) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// get sends GET path to the service through the router.
func (e *env) get(svc *openrunner.Service, path string) (int, string) {
	req, _ := http.NewRequest("GET", e.front.URL+path, nil)
	req.Host = svc.URL("apprunner.test")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, strings.TrimSpace(string(b))
}

// serving waits until the service's URL answers code.
func (e *env) serving(svc *openrunner.Service, code int) {
	e.t.Helper()
	e.eventually(func() error {
		if got, body := e.get(svc, "/"); got != code {
			return fmt.Errorf("GET / = %d %q, want %d", got, body, code)
		}
		return nil
	})
}

// running returns the engine's running instances of the service, by
// revision.
func (e *env) running(svc *openrunner.Service) map[string][]string {
	out := map[string][]string{}
	for _, in := range e.engine.Instances() {
		if in.ServiceARN == svc.ARN() {
			out[in.RevisionID] = append(out[in.RevisionID], in.ID)
		}
	}
	return out
}

// converged waits until the service's active revision runs exactly n
// ready instances, all routed, and no other revision runs.
func (e *env) converged(svc *openrunner.Service, n int) *openrunner.Service {
	e.t.Helper()
	var got *openrunner.Service
	e.eventually(func() error {
		var err error
		if got, err = e.services.FindServiceByARN(ctx(), svc.ARN()); err != nil || got.Active == nil {
			return fmt.Errorf("service %v, %v", got, err)
		}
		run := e.running(svc)
		if len(run) != 1 || len(run[got.Active.ID]) != n {
			return fmt.Errorf("running %v, want %d of %s", run, n, got.Active.ID)
		}
		st, ok := e.router.Stats(svc.ARN())
		if !ok || len(st.Instances) != n {
			return fmt.Errorf("routed %+v, want %d instances", st.Instances, n)
		}
		return nil
	})
	return got
}

func TestCreate(t *testing.T) {
	e := start(t, nil, "a")
	svc := e.create("web", imageConfig(testImage, map[string]string{"GREETING": "hi"}), 2)
	got := e.settle(svc, openrunner.ServiceRunning)
	e.converged(svc, 2)
	e.serving(svc, 200)
	if code, body := e.get(svc, "/env?name=GREETING"); code != 200 || body != "hi" {
		t.Errorf("env: %d %q", code, body)
	}
	if op := e.lastOp(svc); op.Status != openrunner.OperationSucceeded {
		t.Errorf("operation %s", op.Status)
	}
	if got.Desired.Rollout != nil {
		t.Errorf("rollout left: %+v", got.Desired.Rollout)
	}
	e.events.want(t, svc.ARN(), "Service creation started", "Health check is successful", "Successfully routed incoming traffic", "Service status is set to RUNNING")
}

func TestCreateFails(t *testing.T) {
	for name, cfg := range map[string]openrunner.ServiceConfig{
		"exits":        imageConfig(testImage, map[string]string{"TESTAPP_EXIT_CODE": "3"}),
		"unknownImage": imageConfig("memory/nope:1", nil),
	} {
		t.Run(name, func(t *testing.T) {
			e := start(t, nil, "a")
			svc := e.create("web", cfg, 1)
			e.settle(svc, openrunner.ServiceCreateFailed)
			if op := e.lastOp(svc); op.Status != openrunner.OperationFailed || op.Message == "" {
				t.Errorf("operation %s %q", op.Status, op.Message)
			}
			if run := e.running(svc); len(run) != 0 {
				t.Errorf("instances left: %v", run)
			}
			e.serving(svc, 404)
			e.events.want(t, svc.ARN(), "Service status is set to CREATE_FAILED")
		})
	}
}

func TestUpdateAndRollback(t *testing.T) {
	e := start(t, nil, "a")
	svc := e.create("web", imageConfig(testImage, map[string]string{"V": "1"}), 2)
	e.settle(svc, openrunner.ServiceRunning)
	first := e.converged(svc, 2).Active

	// A good update: the new revision replaces the old one.
	next := imageConfig("memory/app:2", map[string]string{"V": "2"})
	e.operate(svc, openrunner.OperationUpdateService, func(_ *openrunner.Service, op *openrunner.Operation) { op.Desired = &next })
	got := e.settle(svc, openrunner.ServiceRunning)
	if got.Active.ID == first.ID || e.lastOp(svc).Status != openrunner.OperationSucceeded {
		t.Fatalf("active %s (was %s), op %s", got.Active.ID, first.ID, e.lastOp(svc).Status)
	}
	e.converged(svc, 2)
	if code, body := e.get(svc, "/env?name=V"); code != 200 || body != "2" {
		t.Errorf("after update: %d %q", code, body)
	}

	// A broken update rolls back: the running revision keeps serving.
	broken := imageConfig("memory/app:2", map[string]string{"TESTAPP_EXIT_CODE": "4"})
	e.operate(svc, openrunner.OperationUpdateService, func(_ *openrunner.Service, op *openrunner.Operation) { op.Desired = &broken })
	got2 := e.settle(svc, openrunner.ServiceRunning)
	if op := e.lastOp(svc); op.Status != openrunner.OperationRollbackSucceeded {
		t.Fatalf("operation %s", op.Status)
	}
	if got2.Active.ID != got.Active.ID {
		t.Errorf("active changed to %s", got2.Active.ID)
	}
	e.converged(svc, 2)
	if code, body := e.get(svc, "/env?name=V"); code != 200 || body != "2" {
		t.Errorf("after rollback: %d %q", code, body)
	}
	e.events.want(t, svc.ARN(), "Rollback completed successfully", "Container exit code: 4")
}

func TestPauseResumeDelete(t *testing.T) {
	e := start(t, nil, "a")
	svc := e.create("web", imageConfig(testImage, nil), 2)
	e.settle(svc, openrunner.ServiceRunning)
	e.converged(svc, 2)

	e.operate(svc, openrunner.OperationPauseService, func(s *openrunner.Service, _ *openrunner.Operation) { s.Desired.Paused = true })
	e.settle(svc, openrunner.ServicePaused)
	e.serving(svc, 503)
	if run := e.running(svc); len(run) != 0 {
		t.Errorf("paused service runs %v", run)
	}

	e.operate(svc, openrunner.OperationResumeService, func(s *openrunner.Service, _ *openrunner.Operation) { s.Desired.Paused = false })
	e.settle(svc, openrunner.ServiceRunning)
	e.converged(svc, 2)
	e.serving(svc, 200)

	e.operate(svc, openrunner.OperationDeleteService, nil)
	e.settle(svc, openrunner.ServiceDeleted)
	e.serving(svc, 404)
	if run := e.running(svc); len(run) != 0 {
		t.Errorf("deleted service runs %v", run)
	}
}

// TestReplaceCrashed: an instance that exits or fails its health checks is
// replaced, for image and source-code revisions alike (a source revision's
// port is in its build, not its image configuration).
func TestReplaceCrashed(t *testing.T) {
	for _, source := range []bool{false, true} {
		for _, how := range []string{"exits", "unhealthy"} {
			t.Run(fmt.Sprintf("source=%v/%s", source, how), func(t *testing.T) {
				e := start(t, nil, "a")
				svc := e.running2(source, how == "unhealthy")
				run := e.running(svc)
				var victim string
				for _, ids := range run {
					victim = ids[0]
				}
				if how == "exits" {
					e.engine.Crash(victim, 7)
				} else {
					e.engine.SetHealthy(victim, false)
				}
				e.eventually(func() error {
					for _, ids := range e.running(svc) {
						for _, id := range ids {
							if id == victim {
								return fmt.Errorf("%s still runs", victim)
							}
						}
					}
					return nil
				})
				e.converged(svc, 2)
				e.serving(svc, 200)
				e.events.want(t, svc.ARN(), "Replacing instance "+victim)
			})
		}
	}
}

// running2 stores a RUNNING service whose active revision (an image one,
// or one built from source; checked over TCP or on HTTP /health) should
// run 2 instances, and waits for them.
func (e *env) running2(source, httpCheck bool) *openrunner.Service {
	e.t.Helper()
	cfg := imageConfig(testImage, nil)
	if httpCheck {
		cfg.HealthCheck.Protocol, cfg.HealthCheck.Path = "HTTP", "/health"
	}
	rev := &openrunner.Revision{ID: openrunner.NewID(), Config: cfg, DeployedAt: time.Now()}
	if source {
		cfg.Source = openrunner.SourceConfig{Code: &openrunner.CodeSource{RepositoryURL: "https://github.com/o/r",
			VersionType: "BRANCH", VersionValue: "main", ConfigurationSource: "REPOSITORY"}}
		rev.Config = cfg
		rev.Build = &openrunner.BuiltRevision{CommitID: "c0ffee", Image: testImage, Port: 8080}
	}
	svc := &openrunner.Service{Name: "web", Config: cfg,
		Desired: openrunner.DesiredState{MinSize: 2, MaxSize: 25, Instances: 2}}
	op := &openrunner.Operation{Type: openrunner.OperationCreateService, Desired: &cfg}
	if err := e.services.CreateService(ctx(), svc, op, nil); err != nil {
		e.t.Fatal(err)
	}
	op.Status = openrunner.OperationSucceeded
	svc.Status, svc.Active = openrunner.ServiceRunning, rev
	if err := e.services.FinishOperation(ctx(), op, svc); err != nil {
		e.t.Fatal(err)
	}
	e.c.Kick(svc.ARN())
	e.converged(svc, 2)
	return svc
}

// TestRestartConverges: a restart that finds fewer instances than desired
// starts the missing ones; one that finds more stops the extra ones; and
// instances of services the store does not know are stopped.
func TestRestartConverges(t *testing.T) {
	sh := newShared(t)
	e := start(t, sh, "a")
	svc := e.create("web", imageConfig(testImage, nil), 3)
	e.settle(svc, openrunner.ServiceRunning)
	e.converged(svc, 3)
	e.stop()

	// Fewer survivors than desired.
	run := e.running(svc)
	for _, ids := range run {
		for _, id := range ids[1:] {
			e.engine.Crash(id, 137)
		}
	}
	e2 := start(t, sh, "a")
	e2.converged(svc, 3)
	e2.serving(svc, 200)
	e2.stop()

	// More than desired, and a foreign service's instance.
	if _, err := e.services.UpdateServiceState(context.Background(), svc.ARN(), func(s *openrunner.Service) error {
		s.Desired.MinSize, s.Desired.Instances = 1, 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	ghost := openrunner.NewARN(scope, openrunner.ResourceService, "ghost", openrunner.NewID())
	if _, err := e.engine.StartInstance(context.Background(), openrunner.InstanceSpec{ServiceARN: ghost, RevisionID: openrunner.NewID(), Image: testImage, Port: 8080}); err != nil {
		t.Fatal(err)
	}
	e3 := start(t, sh, "a")
	e3.converged(svc, 1)
	e3.eventually(func() error {
		for _, in := range e3.engine.Instances() {
			if in.ServiceARN == ghost {
				return errors.New("the unknown service's instance still runs")
			}
		}
		return nil
	})
}

// TestRestartDuringOperation: a server killed in the middle of a deployment
// leaves an operation in progress and the old revision running; the next
// one finishes the deployment, and the route ends on the new revision.
func TestRestartDuringOperation(t *testing.T) {
	sh := newShared(t)
	e := start(t, sh, "a")
	svc := e.create("web", imageConfig(testImage, map[string]string{"V": "1"}), 1)
	e.settle(svc, openrunner.ServiceRunning)
	e.converged(svc, 1)
	e.stop()
	next := imageConfig("memory/app:2", map[string]string{"V": "2"})
	e.operate(svc, openrunner.OperationUpdateService, func(_ *openrunner.Service, op *openrunner.Operation) { op.Desired = &next })

	e2 := start(t, sh, "a")
	e2.settle(svc, openrunner.ServiceRunning)
	e2.converged(svc, 1)
	if code, body := e2.get(svc, "/env?name=V"); code != 200 || body != "2" {
		t.Errorf("after the deployment: %d %q", code, body)
	}
}

// TestCrashBetweenSteps: a server killed after any one of its store writes
// (kill -9 between two steps) leaves nothing a fresh server cannot finish:
// the operation ends, exactly the desired instances run, all routed.
func TestCrashBetweenSteps(t *testing.T) {
	// Crash after the first write, then the second, … until a server gets
	// through a whole creation without crashing: every gap is covered.
	for after := 1; ; after++ {
		crashed := false
		t.Run(fmt.Sprintf("after%dWrites", after), func(t *testing.T) {
			sh := newShared(t)
			store := &crashingStore{left: int32(after), crashed: make(chan struct{})}
			e := start(t, sh, "a", func(s openrunner.ServiceService) openrunner.ServiceService {
				store.ServiceService = s
				return store
			})
			svc := e.create("web", imageConfig(testImage, nil), 2)
			settled := make(chan struct{})
			go func() {
				defer close(settled)
				for {
					if got, err := e.services.FindServiceByARN(ctx(), svc.ARN()); err == nil && got.Status == openrunner.ServiceRunning {
						return
					}
					select {
					case <-store.crashed:
						return
					case <-time.After(5 * time.Millisecond):
					}
				}
			}()
			<-settled
			select {
			case <-store.crashed:
				crashed = true
			default:
			}
			e.stop()
			e2 := start(t, sh, "a")
			e2.settle(svc, openrunner.ServiceRunning)
			e2.converged(svc, 2)
			e2.serving(svc, 200)
		})
		if !crashed || after > 20 {
			return
		}
	}
}

// crashingStore stands for a server that dies after its left-th write: the
// write is stored, every later one fails.
type crashingStore struct {
	openrunner.ServiceService
	left    int32
	once    sync.Once
	crashed chan struct{}
}

var errCrashed = errors.New("the server is dead")

func (s *crashingStore) write() error {
	if atomic.AddInt32(&s.left, -1) < 0 {
		s.once.Do(func() { close(s.crashed) })
		return errCrashed
	}
	return nil
}

func (s *crashingStore) UpdateOperation(ctx context.Context, op *openrunner.Operation) error {
	if err := s.write(); err != nil {
		return err
	}
	return s.ServiceService.UpdateOperation(ctx, op)
}

func (s *crashingStore) FinishOperation(ctx context.Context, op *openrunner.Operation, svc *openrunner.Service) error {
	if err := s.write(); err != nil {
		return err
	}
	return s.ServiceService.FinishOperation(ctx, op, svc)
}

func (s *crashingStore) UpdateServiceState(ctx context.Context, arn string, apply func(*openrunner.Service) error) (*openrunner.Service, error) {
	if err := s.write(); err != nil {
		return nil, err
	}
	return s.ServiceService.UpdateServiceState(ctx, arn, apply)
}

// TestLeaseContention: of two servers, only the lease holder reconciles a
// service; when it stops, the other takes the service over.
func TestLeaseContention(t *testing.T) {
	sh := newShared(t)
	a := start(t, sh, "a")
	b := start(t, sh, "b")
	svc := a.create("web", imageConfig(testImage, nil), 1)
	b.c.Kick(svc.ARN())
	a.settle(svc, openrunner.ServiceRunning)
	holders := a.c.Holding() + b.c.Holding()
	if holders != 1 {
		t.Fatalf("%d servers hold the lease, want 1", holders)
	}
	// Only the holder routes it (until routers share routes through the
	// store, several servers' issue).
	owner, other := a, b
	if b.c.Holding() == 1 {
		owner, other = b, a
	}
	owner.converged(svc, 1)
	if _, ok := other.router.Stats(svc.ARN()); ok {
		t.Error("the server without the lease routes the service")
	}
	owner.stop() // releases its lease
	other.operate(svc, openrunner.OperationPauseService, func(s *openrunner.Service, _ *openrunner.Operation) { s.Desired.Paused = true })
	other.settle(svc, openrunner.ServicePaused)
	if other.c.Holding() != 1 {
		t.Errorf("the other server holds %d leases", other.c.Holding())
	}
}

// recorder is an in-memory reconcile.Events.
type recorder struct {
	mu    sync.Mutex
	lines map[string][]string
}

func (r *recorder) AppendEvent(arn, stream, line string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lines == nil {
		r.lines = map[string][]string{}
	}
	r.lines[arn] = append(r.lines[arn], line)
	return nil
}

func (r *recorder) of(arn string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines[arn], " | ")
}

// want checks that each text appears in the service's lines, eventually.
func (r *recorder) want(t *testing.T, arn string, texts ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, text := range texts {
		for !strings.Contains(r.of(arn), text) {
			if time.Now().After(deadline) {
				t.Errorf("no line with %q in: %s", text, r.of(arn))
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// demand is the router's demand as a test sets it: the same concurrency
// for every service.
type demand struct{ v atomic.Value }

func (d *demand) set(c float64) { d.v.Store(c) }

func (d *demand) get(string) (float64, bool) {
	c, _ := d.v.Load().(float64)
	return c, true
}

// TestAutoscale: demand above the target scales the active revision out at
// once (panic) up to MaxSize; when it stops, the count comes back to MinSize
// after the stable window, halving at most each decision; a scale-to-zero
// service goes to zero once idle, and one poke brings an instance back.
func TestAutoscale(t *testing.T) {
	e := start(t, nil, "a")
	cfg := imageConfig(testImage, nil)
	svc := &openrunner.Service{Name: "web", Config: cfg,
		Desired: openrunner.DesiredState{MinSize: 1, MaxSize: 5, Instances: 1, MaxConcurrency: 4}}
	op := &openrunner.Operation{Type: openrunner.OperationCreateService, Desired: &cfg}
	if err := e.services.CreateService(ctx(), svc, op, nil); err != nil {
		t.Fatal(err)
	}
	e.c.Kick(svc.ARN())
	e.settle(svc, openrunner.ServiceRunning)
	e.converged(svc, 1)

	e.demand.set(16) // target 2.8 per instance: 6, held to MaxSize 5
	e.converged(svc, 5)
	e.events.want(t, svc.ARN(), "Scaling service from 1 to 5 instances (concurrency 16.0, target 2.8).")
	e.demand.set(0)
	e.converged(svc, 1)
	e.events.want(t, svc.ARN(), "to 1 instances")

	if _, err := e.services.UpdateServiceState(context.Background(), svc.ARN(), func(s *openrunner.Service) error {
		s.Desired.ScaleToZero, s.Desired.ScaleToZeroAfter = true, 500*time.Millisecond
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.eventually(func() error {
		if run := e.running(svc); len(run) != 0 {
			return fmt.Errorf("an idle scale-to-zero service runs %v", run)
		}
		return nil
	})
	if got := e.settle(svc, openrunner.ServiceRunning); got.Desired.Instances != 0 {
		t.Errorf("desired %d instances at zero", got.Desired.Instances)
	}
	e.c.Poke(svc.ARN())
	e.converged(svc, 1)
}

// TestColdStart: a request to a scale-to-zero service at zero is held
// while an instance starts and is then served; when that instance fails to
// start, the held request gets 503 and the service log says why, and the
// next request starts one again.
func TestColdStart(t *testing.T) {
	e := start(t, nil, "a")
	cfg := imageConfig(testImage, nil)
	svc := &openrunner.Service{Name: "web", Config: cfg, Desired: openrunner.DesiredState{MinSize: 1, MaxSize: 5, Instances: 1,
		MaxConcurrency: 4, ScaleToZero: true, ScaleToZeroAfter: 300 * time.Millisecond}}
	op := &openrunner.Operation{Type: openrunner.OperationCreateService, Desired: &cfg}
	if err := e.services.CreateService(ctx(), svc, op, nil); err != nil {
		t.Fatal(err)
	}
	e.c.Kick(svc.ARN())
	e.settle(svc, openrunner.ServiceRunning)
	atZero := func() {
		e.eventually(func() error {
			if run := e.running(svc); len(run) != 0 {
				return fmt.Errorf("an idle scale-to-zero service runs %v", run)
			}
			return nil
		})
	}
	atZero()
	if code, body := e.get(svc, "/"); code != 200 {
		t.Fatalf("first request at zero: %d %q", code, body)
	}
	atZero()

	e.engine.SetStartExit(3)
	if code, body := e.get(svc, "/"); code != 503 {
		t.Fatalf("a cold start that fails: %d %q, want 503", code, body)
	}
	e.events.want(t, svc.ARN(), "Starting an instance from zero failed", "Container exit code: 3")
	e.engine.SetStartExit(-1)
	e.eventually(func() error {
		if code, body := e.get(svc, "/"); code != 200 {
			return fmt.Errorf("after the failed cold start: %d %q", code, body)
		}
		return nil
	})
}
