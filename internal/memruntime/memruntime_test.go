package memruntime_test

import (
	"sync"
	"testing"

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
	var e engines
	runtimetest.Run(t, func(tb testing.TB) openrunner.Runtime {
		return memruntime.New(e.get(tb), replicas.Options{})
	}, images)
}

func TestDriver(t *testing.T) {
	var e engines
	runtimetest.RunDriver(t, func(tb testing.TB) runtimetest.DriverRuntime {
		return memruntime.New(e.get(tb), replicas.Options{})
	}, images)
}
