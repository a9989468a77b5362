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
}
