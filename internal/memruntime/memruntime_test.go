package memruntime_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/memruntime"
	"github.com/openrunner/openrunner/replicas"
	"github.com/openrunner/openrunner/runtimetest"
)

const app = "memory/testapp"

// engines gives every test its own Engine, shared by the runtimes the
// test makes (a restart), so that parallel cases never see each other's
// instances.
type engines struct {
	mu sync.Mutex
	m  map[string]*memruntime.Engine
}

func (e *engines) get(tb testing.TB) *memruntime.Engine {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]*memruntime.Engine{}
	}
	eng := e.m[tb.Name()]
	if eng == nil {
		eng = memruntime.NewEngine()
		eng.AddImage(app)
		e.m[tb.Name()] = eng
		tb.Cleanup(func() {
			for _, in := range eng.Instances() {
				tb.Errorf("instance %s of revision %s left running", in.ID, in.RevisionID)
			}
		})
	}
	return eng
}

var images = runtimetest.Images{App: app, AppCommand: memruntime.AppCommand, Unknown: "memory/no-such-image"}

func TestRuntime(t *testing.T) {
	t.Parallel()
	var e engines
	runtimetest.Run(t, func(tb testing.TB) openrunner.Runtime {
		return memruntime.New(e.get(tb), replicas.Options{})
	}, images)
}

func TestDriver(t *testing.T) {
	t.Parallel()
	var e engines
	runtimetest.RunDriver(t, func(tb testing.TB) runtimetest.DriverRuntime {
		return memruntime.New(e.get(tb), replicas.Options{})
	}, images)
}

// TestHelpers checks the helpers other packages' tests drive instances
// with: Instances, Crash and SetHealthy, through a Runtime.
func TestHelpers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	eng := memruntime.NewEngine()
	eng.AddImage(app)
	rt := memruntime.New(eng, replicas.Options{})
	if err := rt.Open(ctx, openrunner.RuntimeHooks{}); err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if _, err := rt.EnsureImage(ctx, "memory/unknown", false, nil); openrunner.ErrorCode(err) != openrunner.EINVALID {
		t.Errorf("EnsureImage of an unknown image: %v, want EINVALID", err)
	}
	spec := openrunner.RevisionSpec{
		ServiceARN:  "arn:aws:apprunner:us-east-1:123456789012:service/helpers/1",
		RevisionID:  "r1",
		Instance:    openrunner.InstanceSpec{Image: app, Port: 8080},
		HealthCheck: openrunner.HealthCheckConfig{Protocol: "HTTP", Path: "/health", Interval: 1, UnhealthyThreshold: 1},
		Replicas:    1,
	}
	if err := rt.SetRevision(ctx, spec); err != nil {
		t.Fatal(err)
	}
	ready := func(not string) string {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			list, err := rt.Revisions(ctx, spec.ServiceARN)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) == 1 && len(list[0].Ready) == 1 && list[0].Ready[0].InstanceID != not {
				return list[0].Ready[0].InstanceID
			}
			if time.Now().After(deadline) {
				t.Fatalf("no ready instance but %q: %+v", not, list)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	lastFailure := func() openrunner.InstanceFailure {
		list, _ := rt.Revisions(ctx, spec.ServiceARN)
		f := list[0].Failures
		return f[len(f)-1]
	}
	id := ready("")
	if got := rt.Instances(); len(got) != 1 || got[0].ID != id || got[0].ServiceARN != spec.ServiceARN || got[0].RevisionID != "r1" || got[0].Addr == "" {
		t.Errorf("Instances() = %+v, want just %s of r1", got, id)
	}
	if err := rt.Crash(id, 5); err != nil {
		t.Fatal(err)
	}
	id2 := ready(id)
	if f := lastFailure(); f.InstanceID != id || f.Reason != openrunner.FailureExited || f.ExitCode != 5 {
		t.Errorf("failure %+v, want %s exited with 5", f, id)
	}
	if err := rt.SetHealthy(id2, false); err != nil {
		t.Fatal(err)
	}
	ready(id2)
	if f := lastFailure(); f.InstanceID != id2 || f.Reason != openrunner.FailureUnhealthy {
		t.Errorf("failure %+v, want %s unhealthy", f, id2)
	}
	if err := rt.Crash("mem-nope", 1); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
		t.Errorf("Crash of an unknown instance: %v, want ENOTFOUND", err)
	}
	if err := rt.RemoveRevision(ctx, spec.ServiceARN, spec.RevisionID); err != nil {
		t.Fatal(err)
	}
	if got := rt.Instances(); len(got) != 0 {
		t.Errorf("Instances() after RemoveRevision = %+v", got)
	}
}
