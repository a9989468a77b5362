package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/openrunner/openrunner"
)

func mustCreateObs(tb testing.TB, s Stores, scope openrunner.Scope, name, vendor string, tags ...openrunner.Tag) *openrunner.ObservabilityConfiguration {
	tb.Helper()
	c := &openrunner.ObservabilityConfiguration{Name: name, TraceVendor: vendor}
	if err := s.Observability.CreateObservabilityConfiguration(Ctx(scope), c, tags); err != nil {
		tb.Fatalf("CreateObservabilityConfiguration(%s): %v", name, err)
	}
	return c
}

func mustFindObs(tb testing.TB, s Stores, scope openrunner.Scope, arn string) *openrunner.ObservabilityConfiguration {
	tb.Helper()
	c, err := s.Observability.FindObservabilityConfiguration(Ctx(scope), arn)
	if err != nil {
		tb.Fatalf("FindObservabilityConfiguration(%s): %v", arn, err)
	}
	return c
}

// obsList renders the active revisions of scope as name/revision, with *
// for Latest, reading every page of size limit (0: one page).
func obsList(tb testing.TB, s Stores, scope openrunner.Scope, f openrunner.ObservabilityConfigurationFilter) string {
	tb.Helper()
	var out []string
	for {
		page, err := s.Observability.FindObservabilityConfigurations(Ctx(scope), f)
		if err != nil {
			tb.Fatal(err)
		}
		if f.Limit > 0 && (len(page.Configurations) > f.Limit || (page.Next != 0 && len(page.Configurations) != f.Limit)) {
			tb.Fatalf("page of %d with limit %d, next %d", len(page.Configurations), f.Limit, page.Next)
		}
		for _, c := range page.Configurations {
			e := fmt.Sprintf("%s/%d", c.Name, c.Revision)
			if c.Latest {
				e += "*"
			}
			out = append(out, e)
		}
		if page.Next == 0 {
			return strings.Join(out, " ")
		}
		f.After = page.Next
	}
}

func obsARN(scope openrunner.Scope, path ...string) string {
	return openrunner.NewARN(scope, openrunner.ResourceObservabilityConfig, path...)
}

func testObservability(t *testing.T, open Opener) {
	if open(t, openrunner.DefaultQuotas()).Observability == nil {
		t.Skip("no observability configuration store")
	}
	t.Run("Revisions", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		r1 := mustCreateObs(t, s, ScopeA, "tracing", openrunner.TraceVendorXRay, openrunner.Tag{Key: "team", Value: "web"})
		if !idRE.MatchString(r1.ID) || r1.Revision != 1 || !r1.Latest || r1.Status != openrunner.ObservabilityActive ||
			r1.TraceVendor != openrunner.TraceVendorXRay || r1.CreatedAt.IsZero() || !r1.DeletedAt.IsZero() || r1.Scope != ScopeA {
			t.Fatalf("created %+v", r1)
		}
		r2 := mustCreateObs(t, s, ScopeA, "tracing", "")
		if r2.Revision != 2 || !r2.Latest || r2.TraceVendor != "" {
			t.Fatalf("second revision %+v", r2)
		}
		if got := mustFindObs(t, s, ScopeA, r1.ARN()); got.Latest || got.TraceVendor != openrunner.TraceVendorXRay {
			t.Fatalf("revision 1 reads %+v", got)
		}
		if got := mustFindObs(t, s, ScopeA, obsARN(ScopeA, "tracing")); got.ARN() != r2.ARN() {
			t.Fatalf("name-only ARN found %s", got.ARN())
		}
		if got := mustFindObs(t, s, ScopeA, obsARN(ScopeA, "tracing", "1")); got.ARN() != r1.ARN() {
			t.Fatalf("name/revision ARN found %s", got.ARN())
		}
		for _, arn := range []string{obsARN(ScopeA, "nope"), obsARN(ScopeA, "tracing", "3"), obsARN(ScopeA, "tracing", "1", openrunner.NewID()),
			obsARN(ScopeB, "tracing"), r1.ARN() + "/x", obsARN(ScopeA, "tracing", "one"), nameARN(ScopeA, "tracing")} {
			_, err := s.Observability.FindObservabilityConfiguration(Ctx(ScopeA), arn)
			wantCode(t, err, openrunner.ENOTFOUND)
		}
		_, err := s.Observability.FindObservabilityConfiguration(Ctx(ScopeB), r1.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)
		if tags, err := s.Tags.ListTags(Ctx(ScopeA), r1.ARN()); err != nil || len(tags) != 1 || tags[0].Value != "web" {
			t.Fatalf("tags %v, %v", tags, err)
		}

		// Deleting the latest (by name) makes the previous one Latest; it
		// stays describable as INACTIVE, and its tags go.
		del, err := s.Observability.DeleteObservabilityConfiguration(Ctx(ScopeA), obsARN(ScopeA, "tracing"))
		if err != nil || del.ARN() != r2.ARN() || del.Status != openrunner.ObservabilityInactive || del.DeletedAt.IsZero() || del.Latest {
			t.Fatalf("delete latest = %+v, %v", del, err)
		}
		if got := mustFindObs(t, s, ScopeA, del.ARN()); got.Status != openrunner.ObservabilityInactive || !got.DeletedAt.Equal(del.DeletedAt) || got.Latest {
			t.Fatalf("deleted revision reads %+v", got)
		}
		if !mustFindObs(t, s, ScopeA, r1.ARN()).Latest {
			t.Fatal("revision 1 is not Latest after deleting revision 2")
		}
		_, err = s.Observability.DeleteObservabilityConfiguration(Ctx(ScopeA), del.ARN())
		wantCode(t, err, openrunner.EINVALID)
		if _, err := s.Tags.ListTags(Ctx(ScopeA), r1.ARN()); err != nil {
			t.Fatal(err)
		}
		if r := mustCreateObs(t, s, ScopeA, "tracing", ""); r.Revision != 2 || r.ID == del.ID {
			t.Fatalf("re-created revision %+v", r)
		}
		// name/revision of a deleted number reads the active one first.
		if got := mustFindObs(t, s, ScopeA, obsARN(ScopeA, "tracing", "2")); got.Status != openrunner.ObservabilityActive {
			t.Fatalf("tracing/2 = %+v", got)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		for _, c := range []*openrunner.ObservabilityConfiguration{
			{Name: openrunner.ReservedObservabilityName}, {Name: openrunner.ReservedObservabilityName, TraceVendor: openrunner.TraceVendorXRay},
			{Name: "vendor", TraceVendor: "JAEGER"},
		} {
			wantCode(t, s.Observability.CreateObservabilityConfiguration(Ctx(ScopeA), c, nil), openrunner.EINVALID)
		}
		if got := obsList(t, s, ScopeA, openrunner.ObservabilityConfigurationFilter{}); got != "" {
			t.Fatalf("list after refused creates = %q", got)
		}
	})

	t.Run("Listing", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		for _, n := range []string{"aaaa", "bbbb", "aaaa", "cccc", "bbbb", "aaaa"} {
			mustCreateObs(t, s, ScopeA, n, openrunner.TraceVendorXRay)
		}
		mustCreateObs(t, s, ScopeB, "aaaa", "")
		aaaa := "aaaa"
		for _, tt := range []struct {
			f    openrunner.ObservabilityConfigurationFilter
			want string
		}{
			{openrunner.ObservabilityConfigurationFilter{}, "aaaa/1 bbbb/1 aaaa/2 cccc/1* bbbb/2* aaaa/3*"},
			{openrunner.ObservabilityConfigurationFilter{LatestOnly: true}, "cccc/1* bbbb/2* aaaa/3*"},
			{openrunner.ObservabilityConfigurationFilter{Name: &aaaa}, "aaaa/1 aaaa/2 aaaa/3*"},
			{openrunner.ObservabilityConfigurationFilter{Name: &aaaa, LatestOnly: true}, "aaaa/3*"},
		} {
			for _, limit := range []int{0, 1, 2} {
				f := tt.f
				f.Limit = limit
				if got := obsList(t, s, ScopeA, f); got != tt.want {
					t.Fatalf("%+v: %s, want %s", f, got, tt.want)
				}
			}
		}
		if got := obsList(t, s, ScopeC, openrunner.ObservabilityConfigurationFilter{}); got != "" {
			t.Fatalf("other Region lists %q", got)
		}
	})

	t.Run("Quotas", func(t *testing.T) {
		s := open(t, openrunner.Quotas{ObservabilityNames: 2})
		for i := 0; i < openrunner.DefaultMaxObservabilityRevisions; i++ {
			mustCreateObs(t, s, ScopeA, "first", "")
		}
		err := s.Observability.CreateObservabilityConfiguration(Ctx(ScopeA), &openrunner.ObservabilityConfiguration{Name: "first"}, nil)
		wantCode(t, err, openrunner.EQUOTA)
		mustCreateObs(t, s, ScopeA, "second", "")
		err = s.Observability.CreateObservabilityConfiguration(Ctx(ScopeA), &openrunner.ObservabilityConfiguration{Name: "third"}, nil)
		wantCode(t, err, openrunner.EQUOTA)
		mustCreateObs(t, s, ScopeB, "third", "") // per account
		if _, err := s.Observability.DeleteObservabilityConfiguration(Ctx(ScopeA), obsARN(ScopeA, "second")); err != nil {
			t.Fatal(err)
		}
		mustCreateObs(t, s, ScopeA, "third", "")
	})

	t.Run("Services", func(t *testing.T) { testObservabilityServices(t, open) })
}

// testObservabilityServices: services start to use only active revisions,
// and a revision in use (by a service or an unfinished operation) can't be
// deleted.
func testObservabilityServices(t *testing.T, open Opener) {
	s := open(t, openrunner.DefaultQuotas())
	xray := mustCreateObs(t, s, ScopeA, "xray", openrunner.TraceVendorXRay)
	other := mustCreateObs(t, s, ScopeA, "other", "")
	gone := mustCreateObs(t, s, ScopeA, "gone", "")
	if _, err := s.Observability.DeleteObservabilityConfiguration(Ctx(ScopeA), gone.ARN()); err != nil {
		t.Fatal(err)
	}
	using := func(arn string) openrunner.ServiceConfig {
		cfg := imageConfig()
		cfg.Observability = openrunner.ObservabilityConfig{Enabled: true, ConfigurationARN: arn, TraceVendor: openrunner.TraceVendorXRay}
		return cfg
	}
	cfg := using(xray.ARN())
	svc := &openrunner.Service{Name: "traced", Config: cfg}
	op := &openrunner.Operation{Desired: &cfg}
	if err := s.Services.CreateService(Ctx(ScopeA), svc, op, nil); err != nil {
		t.Fatal(err)
	}
	if got := mustFindService(t, s, ScopeA, svc.ARN()).Config.Observability; got != cfg.Observability {
		t.Fatalf("service observability = %+v, want %+v", got, cfg.Observability)
	}
	_, err := s.Observability.DeleteObservabilityConfiguration(Ctx(ScopeA), xray.ARN())
	wantCode(t, err, openrunner.EINVALID)

	for _, arn := range []string{gone.ARN(), obsARN(ScopeA, "xray", "1", openrunner.NewID()), obsARN(ScopeB, "xray", "1", xray.ID)} {
		cfg := using(arn)
		err := s.Services.CreateService(Ctx(ScopeA), &openrunner.Service{Name: "refused", Config: cfg}, &openrunner.Operation{Desired: &cfg}, nil)
		wantCode(t, err, openrunner.EINVALID)
	}
	mustFinish(t, s, op, svc, openrunner.OperationSucceeded, openrunner.ServiceRunning)

	// An update moving to another revision: both are in use while it runs.
	moved := using(other.ARN())
	update := &openrunner.Operation{Type: openrunner.OperationUpdateService}
	got, err := s.Services.StartOperation(Ctx(ScopeA), svc.ARN(), update, func(*openrunner.Service) error {
		update.Desired = &moved
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*openrunner.ObservabilityConfiguration{xray, other} {
		_, err := s.Observability.DeleteObservabilityConfiguration(Ctx(ScopeA), c.ARN())
		wantCode(t, err, openrunner.EINVALID)
	}
	got.Config = moved
	mustFinish(t, s, update, got, openrunner.OperationSucceeded, openrunner.ServiceRunning)
	if _, err := s.Observability.DeleteObservabilityConfiguration(Ctx(ScopeA), xray.ARN()); err != nil {
		t.Fatalf("delete after the service moved away: %v", err)
	}
	bad := using(gone.ARN())
	_, err = s.Services.StartOperation(Ctx(ScopeA), svc.ARN(), &openrunner.Operation{Type: openrunner.OperationUpdateService, Desired: &bad}, noApply)
	wantCode(t, err, openrunner.EINVALID)

	// A DELETED service frees its revision.
	mustDeleteService(t, s, mustFindService(t, s, ScopeA, svc.ARN()))
	if _, err := s.Observability.DeleteObservabilityConfiguration(Ctx(ScopeA), other.ARN()); err != nil {
		t.Fatalf("delete after the service was deleted: %v", err)
	}
}
