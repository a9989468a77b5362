package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
)

// east is a zone other than UTC, for times that must read back in UTC.
var east = time.FixedZone("UTC+2", 2*60*60)

// rollout returns a DesiredState with every field set, whose times are
// not in UTC.
func rollout() openrunner.DesiredState {
	return openrunner.DesiredState{
		Paused: true,
		Rollout: &openrunner.Revision{
			ID:         openrunner.NewID(),
			Config:     imageConfig(),
			ImageID:    "sha256:1e0ac4c1e8b2c3a2a26e5c1b0f0d9f1c2e3d4a5b6c7d8e9f0a1b2c3d4e5f6a7b",
			DeployedAt: time.Date(2025, 3, 1, 14, 30, 45, 123456789, east),
		},
		MinSize:        1,
		MaxSize:        25,
		Instances:      3,
		MaxConcurrency: 100,
	}
}

// inUTC returns d with its times in UTC, as a store returns them.
func inUTC(d openrunner.DesiredState) openrunner.DesiredState {
	if d.Rollout != nil {
		r := *d.Rollout
		r.DeployedAt = r.DeployedAt.UTC()
		d.Rollout = &r
	}
	return d
}

func testServiceState(t *testing.T, open Opener) {
	bg := context.Background() // the reconciler has no Scope

	t.Run("CreateRoundTrip", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		cfg := imageConfig()
		svc := &openrunner.Service{Name: "web", Config: cfg, Desired: rollout()}
		if err := s.Services.CreateService(Ctx(ScopeA), svc, &openrunner.Operation{Desired: &cfg}, nil); err != nil {
			t.Fatal(err)
		}
		got := mustFindService(t, s, ScopeA, svc.ARN())
		want := *svc
		want.Desired = inUTC(svc.Desired)
		wantEqual(t, "stored service", got, &want)
		if loc := got.Desired.Rollout.DeployedAt.Location(); loc != time.UTC {
			t.Fatalf("Rollout.DeployedAt in %v, want UTC", loc)
		}
		if !got.Desired.Rollout.DeployedAt.Equal(svc.Desired.Rollout.DeployedAt) {
			t.Fatalf("Rollout.DeployedAt = %v, want %v", got.Desired.Rollout.DeployedAt, svc.Desired.Rollout.DeployedAt)
		}
		if got.Desired.Count() != 3 {
			t.Fatalf("Count() = %d, want 3", got.Desired.Count())
		}
		p, err := s.Services.FindServices(Ctx(ScopeA), openrunner.ServiceFilter{})
		if err != nil || len(p.Services) != 1 {
			t.Fatalf("FindServices = %+v, %v", p, err)
		}
		wantEqual(t, "listed service", p.Services[0], &want)

		// A service created without states has empty ones.
		plain, _ := mustCreateService(t, s, ScopeA, "plain")
		got = mustFindService(t, s, ScopeA, plain.ARN())
		wantEqual(t, "empty desired state", got.Desired, openrunner.DesiredState{})
		wantEqual(t, "empty observed state", got.Observed, openrunner.ObservedState{})
	})

	t.Run("UpdateServiceState", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		svc, op := mustCreateService(t, s, ScopeA, "web")
		mustFinish(t, s, op, svc, openrunner.OperationSucceeded, openrunner.ServiceRunning)
		before := mustFindService(t, s, ScopeA, svc.ARN())

		desired := rollout()
		observed := openrunner.ObservedState{
			Ready: map[string]int{desired.Rollout.ID: 2, openrunner.NewID(): 1},
			Error: "instance 2 failed its health check",
			At:    time.Date(2025, 3, 1, 14, 31, 0, 5, east),
		}
		calls := 0
		got, err := s.Services.UpdateServiceState(bg, svc.ARN(), func(cur *openrunner.Service) error {
			calls++
			wantEqual(t, "service seen by apply", cur, before)
			cur.Desired, cur.Observed = desired, observed
			// Nothing but the states is stored.
			cur.Status = openrunner.ServicePaused
			cur.Config.Instance.CPU = "4096"
			cur.UpdatedAt = cur.UpdatedAt.Add(time.Hour)
			cur.AutoScalingConfigurationARN = "changed"
			return nil
		})
		if err != nil || calls != 1 {
			t.Fatalf("UpdateServiceState: %v after %d calls", err, calls)
		}
		want := *before
		want.Desired = inUTC(desired)
		want.Observed = observed
		want.Observed.At = observed.At.UTC()
		wantEqual(t, "returned service", got, &want)
		wantEqual(t, "stored service", mustFindService(t, s, ScopeA, svc.ARN()), &want)
		if loc := got.Observed.At.Location(); loc != time.UTC {
			t.Fatalf("Observed.At in %v, want UTC", loc)
		}

		// A later update sees the stored states and replaces them.
		got, err = s.Services.UpdateServiceState(bg, svc.ARN(), func(cur *openrunner.Service) error {
			wantEqual(t, "states seen by apply", cur, &want)
			cur.Desired.Rollout = nil
			cur.Desired.Paused = false
			cur.Observed = openrunner.ObservedState{}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want.Desired.Rollout, want.Desired.Paused, want.Observed = nil, false, openrunner.ObservedState{}
		wantEqual(t, "after a second update", got, &want)
		wantEqual(t, "stored after a second update", mustFindService(t, s, ScopeA, svc.ARN()), &want)
		// What a caller does with the result does not reach the store.
		got.Desired.Instances = 99
		wantEqual(t, "after changing a result", mustFindService(t, s, ScopeA, svc.ARN()), &want)
	})

	t.Run("UpdateServiceStateApplyError", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		svc, _ := mustCreateService(t, s, ScopeA, "web")
		before := mustFindService(t, s, ScopeA, svc.ARN())
		stop := errors.New("stop")
		got, err := s.Services.UpdateServiceState(bg, svc.ARN(), func(cur *openrunner.Service) error {
			cur.Desired = rollout()
			cur.Observed.Error = "changed"
			return stop
		})
		if !errors.Is(err, stop) || got != nil {
			t.Fatalf("UpdateServiceState = %+v, %v; want nil, %v", got, err, stop)
		}
		wantEqual(t, "after a refused update", mustFindService(t, s, ScopeA, svc.ARN()), before)
	})

	t.Run("UpdateServiceStateNotFound", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		mustCreateService(t, s, ScopeA, "web")
		unknown := openrunner.NewARN(ScopeA, openrunner.ResourceService, "web", openrunner.NewID())
		for _, ctx := range []context.Context{bg, Ctx(ScopeA)} {
			_, err := s.Services.UpdateServiceState(ctx, unknown, func(*openrunner.Service) error {
				t.Fatal("apply called for an unknown service")
				return nil
			})
			wantCode(t, err, openrunner.ENOTFOUND)
		}
	})

	t.Run("UpdateServiceStateAnyScope", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		a, _ := mustCreateService(t, s, ScopeA, "web")
		b, _ := mustCreateService(t, s, ScopeB, "web")
		// Another Scope in ctx does not matter either: the ARN decides.
		for _, tt := range []struct {
			ctx context.Context
			svc *openrunner.Service
		}{{bg, a}, {Ctx(ScopeC), b}} {
			got, err := s.Services.UpdateServiceState(tt.ctx, tt.svc.ARN(), func(cur *openrunner.Service) error {
				if cur.ID != tt.svc.ID || cur.Scope != tt.svc.Scope {
					t.Fatalf("apply got service %s in %v, want %s in %v", cur.ID, cur.Scope, tt.svc.ID, tt.svc.Scope)
				}
				cur.Desired.Instances = 2
				return nil
			})
			if err != nil || got.Desired.Instances != 2 || got.ID != tt.svc.ID {
				t.Fatalf("UpdateServiceState = %+v, %v", got, err)
			}
			if n := mustFindService(t, s, tt.svc.Scope, tt.svc.ARN()).Desired.Instances; n != 2 {
				t.Fatalf("stored Instances = %d, want 2", n)
			}
		}

		// DELETED services are found too, and stay DELETED.
		deleted := mustDeleteService(t, s, a)
		got, err := s.Services.UpdateServiceState(bg, a.ARN(), func(cur *openrunner.Service) error {
			cur.Observed = openrunner.ObservedState{Ready: map[string]int{}}
			cur.Desired.Instances = 0
			return nil
		})
		if err != nil || got.Status != openrunner.ServiceDeleted || !got.DeletedAt.Equal(deleted.DeletedAt) {
			t.Fatalf("UpdateServiceState of a DELETED service = %+v, %v", got, err)
		}
		wantEqual(t, "deleted service", mustFindService(t, s, ScopeA, a.ARN()), got)
	})

	t.Run("OperationsStoreStates", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		svc, op := mustCreateService(t, s, ScopeA, "web")
		cur, err := s.Services.FindServiceForOperation(bg, op)
		if err != nil {
			t.Fatal(err)
		}
		desired := rollout()
		desired.Paused = false
		observed := openrunner.ObservedState{Ready: map[string]int{desired.Rollout.ID: 3}, At: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
		cur.Desired, cur.Observed = desired, observed
		mustFinish(t, s, op, cur, openrunner.OperationSucceeded, openrunner.ServiceRunning)
		stored := mustFindService(t, s, ScopeA, svc.ARN())
		wantEqual(t, "desired state after FinishOperation", stored.Desired, inUTC(desired))
		wantEqual(t, "observed state after FinishOperation", stored.Observed, observed)

		// What StartOperation's apply sets is stored too.
		pause := &openrunner.Operation{Type: openrunner.OperationPauseService}
		got, err := s.Services.StartOperation(Ctx(ScopeA), svc.ARN(), pause, func(cur *openrunner.Service) error {
			wantEqual(t, "desired state seen by apply", cur.Desired, inUTC(desired))
			cur.Desired.Paused = true
			return nil
		})
		if err != nil || !got.Desired.Paused {
			t.Fatalf("StartOperation = %+v, %v", got, err)
		}
		if !mustFindService(t, s, ScopeA, svc.ARN()).Desired.Paused {
			t.Fatal("StartOperation did not store Desired.Paused")
		}
		got.Desired.Paused = false
		got.Desired.Rollout = nil
		mustFinish(t, s, pause, got, openrunner.OperationSucceeded, openrunner.ServicePaused)
		stored = mustFindService(t, s, ScopeA, svc.ARN())
		if stored.Desired.Paused || stored.Desired.Rollout != nil || stored.Status != openrunner.ServicePaused {
			t.Fatalf("after FinishOperation: %+v", stored)
		}
	})
}
