package router_test

import (
	"slices"
	"testing"

	"github.com/openrunner/openrunner/router"
)

// forgettingTracers records the services forgotten.
type forgettingTracers struct {
	*recordingTracers
	forgotten []string
}

func (f *forgettingTracers) Forget(arn string) { f.forgotten = append(f.forgotten, arn) }

func TestDeleteRouteForgetsTracer(t *testing.T) {
	tr := &forgettingTracers{recordingTracers: newRecordingTracers()}
	_, in := MustBackend(t, "i-1", echoHeaders)
	r, rs := MustRouter(t, router.Options{Tracers: tr})
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in},
		Trace: &router.Trace{ServiceName: "web", RevisionID: "rev-1"}})
	get(t, rs.URL, "/")
	// A new revision keeps the service's tracer.
	MustSetRoute(t, r, router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in},
		Trace: &router.Trace{ServiceName: "web", RevisionID: "rev-2"}})
	if len(tr.forgotten) != 0 {
		t.Fatalf("forgotten %v on SetRoute", tr.forgotten)
	}
	r.DeleteRoute(testARN)
	if !slices.Equal(tr.forgotten, []string{testARN}) || len(tr.rec.Ended()) != 1 {
		t.Fatalf("forgotten %v, %d spans", tr.forgotten, len(tr.rec.Ended()))
	}
	r.DeleteRoute(testARN) // unknown by now: nothing to free, harmless
}

func TestUntracedRouteForgetsTracer(t *testing.T) {
	tr := &forgettingTracers{recordingTracers: newRecordingTracers()}
	_, in := MustBackend(t, "i-1", echoHeaders)
	r, _ := MustRouter(t, router.Options{Tracers: tr})
	rt := router.Route{ServiceARN: testARN, Hosts: []string{testHost}, Instances: []router.Instance{in}}
	MustSetRoute(t, r, rt) // untraced from the start: nothing to forget
	rt.Trace = &router.Trace{ServiceName: "web", RevisionID: "rev-1"}
	MustSetRoute(t, r, rt)
	if len(tr.forgotten) != 0 {
		t.Fatalf("forgotten %v", tr.forgotten)
	}
	rt.Trace = nil
	MustSetRoute(t, r, rt)
	if !slices.Equal(tr.forgotten, []string{testARN}) {
		t.Fatalf("forgotten %v after tracing was turned off", tr.forgotten)
	}
}
