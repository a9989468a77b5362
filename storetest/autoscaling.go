package storetest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/openrunner/openrunner"
)

func mustCreateASC(tb testing.TB, s Stores, scope openrunner.Scope, name string, maxConcurrency, minSize, maxSize int, tags ...openrunner.Tag) *openrunner.AutoScalingConfiguration {
	tb.Helper()
	c := &openrunner.AutoScalingConfiguration{Name: name, MaxConcurrency: maxConcurrency, MinSize: minSize, MaxSize: maxSize}
	if err := s.AutoScaling.CreateAutoScalingConfiguration(Ctx(scope), c, tags); err != nil {
		tb.Fatalf("CreateAutoScalingConfiguration(%s): %v", name, err)
	}
	return c
}

func mustFindASC(tb testing.TB, s Stores, scope openrunner.Scope, arn string) *openrunner.AutoScalingConfiguration {
	tb.Helper()
	c, err := s.AutoScaling.FindAutoScalingConfiguration(Ctx(scope), arn)
	if err != nil {
		tb.Fatalf("FindAutoScalingConfiguration(%s): %v", arn, err)
	}
	return c
}

// ascList renders the active revisions of scope as name/revision, with *
// for Latest and ! for IsDefault.
func ascList(tb testing.TB, s Stores, scope openrunner.Scope, f openrunner.AutoScalingConfigurationFilter) string {
	tb.Helper()
	page, err := s.AutoScaling.FindAutoScalingConfigurations(Ctx(scope), f)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, c := range page.Configurations {
		e := fmt.Sprintf("%s/%d", c.Name, c.Revision)
		if c.Latest {
			e += "*"
		}
		if c.IsDefault {
			e += "!"
		}
		out = append(out, e)
	}
	return strings.Join(out, " ")
}

func nameARN(scope openrunner.Scope, path ...string) string {
	return openrunner.NewARN(scope, openrunner.ResourceAutoScalingConfiguration, path...)
}

func testAutoScaling(t *testing.T, open Opener) {
	t.Run("Default", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		for _, scope := range []openrunner.Scope{ScopeA, ScopeB} {
			d, err := s.AutoScaling.DefaultAutoScalingConfiguration(Ctx(scope))
			if err != nil {
				t.Fatal(err)
			}
			want := "arn:aws:apprunner:us-east-1:" + scope.AccountID + ":autoscalingconfiguration/DefaultConfiguration/1/00000000000000000000000000000001"
			if d.ARN() != want || !d.IsDefault || !d.Latest || d.Status != openrunner.AutoScalingActive ||
				d.MaxConcurrency != 100 || d.MinSize != 1 || d.MaxSize != 25 || d.HasAssociatedService || d.CreatedAt.IsZero() {
				t.Fatalf("default = %+v", d)
			}
		}
		if got := ascList(t, s, ScopeC, openrunner.AutoScalingConfigurationFilter{}); got != "DefaultConfiguration/1*!" {
			t.Fatalf("list = %s", got)
		}
	})

	t.Run("Revisions", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		r1 := mustCreateASC(t, s, ScopeA, "high", 0, 0, 0, openrunner.Tag{Key: "team", Value: "web"})
		if !idRE.MatchString(r1.ID) || r1.Revision != 1 || !r1.Latest || r1.IsDefault || r1.Status != openrunner.AutoScalingActive ||
			r1.MaxConcurrency != 100 || r1.MinSize != 1 || r1.MaxSize != 25 || r1.CreatedAt.IsZero() || !r1.DeletedAt.IsZero() || r1.Scope != ScopeA {
			t.Fatalf("created %+v", r1)
		}
		r2 := mustCreateASC(t, s, ScopeA, "high", 50, 2, 10)
		if r2.Revision != 2 || !r2.Latest || r2.MaxConcurrency != 50 || r2.MinSize != 2 || r2.MaxSize != 10 {
			t.Fatalf("second revision %+v", r2)
		}
		if mustFindASC(t, s, ScopeA, r1.ARN()).Latest {
			t.Fatal("revision 1 is still Latest")
		}
		if got := mustFindASC(t, s, ScopeA, nameARN(ScopeA, "high")); got.ARN() != r2.ARN() {
			t.Fatalf("name-only ARN found %s", got.ARN())
		}
		if got := mustFindASC(t, s, ScopeA, nameARN(ScopeA, "high", "1")); got.ARN() != r1.ARN() {
			t.Fatalf("name/revision ARN found %s", got.ARN())
		}
		for _, arn := range []string{nameARN(ScopeA, "nope"), nameARN(ScopeA, "high", "3"), nameARN(ScopeA, "high", "1", openrunner.NewID()),
			nameARN(ScopeB, "high"), r1.ARN() + "/x", nameARN(ScopeA, "high", "one")} {
			_, err := s.AutoScaling.FindAutoScalingConfiguration(Ctx(ScopeA), arn)
			wantCode(t, err, openrunner.ENOTFOUND)
		}
		_, err := s.AutoScaling.FindAutoScalingConfiguration(Ctx(ScopeB), r1.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)
		if tags, err := s.Tags.ListTags(Ctx(ScopeA), r1.ARN()); err != nil || len(tags) != 1 || tags[0].Value != "web" {
			t.Fatalf("tags %v, %v", tags, err)
		}

		// Deleting the latest makes the previous one Latest; the next
		// revision is the highest active plus 1.
		mustCreateASC(t, s, ScopeA, "high", 0, 0, 0)
		del, err := s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "high"), false)
		if err != nil || del.Revision != 3 || del.Status != openrunner.AutoScalingInactive || del.DeletedAt.IsZero() || del.Latest {
			t.Fatalf("delete latest = %+v, %v", del, err)
		}
		if got := ascList(t, s, ScopeA, openrunner.AutoScalingConfigurationFilter{}); got != "DefaultConfiguration/1*! high/1 high/2*" {
			t.Fatalf("list = %s", got)
		}
		gone := mustFindASC(t, s, ScopeA, del.ARN())
		if gone.Status != openrunner.AutoScalingInactive || !gone.DeletedAt.Equal(del.DeletedAt) || gone.Latest {
			t.Fatalf("deleted revision reads %+v", gone)
		}
		_, err = s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), del.ARN(), false)
		wantCode(t, err, openrunner.EINVALID)
		_, err = s.Tags.ListTags(Ctx(ScopeA), del.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)
		if r := mustCreateASC(t, s, ScopeA, "high", 0, 0, 0); r.Revision != 3 || r.ID == del.ID {
			t.Fatalf("re-created revision %+v", r)
		}
		// A deleted middle revision is not reused.
		if _, err := s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), r2.ARN(), false); err != nil {
			t.Fatal(err)
		}
		if r := mustCreateASC(t, s, ScopeA, "high", 0, 0, 0); r.Revision != 4 {
			t.Fatalf("after deleting revision 2: revision %d, want 4", r.Revision)
		}
		if got := ascList(t, s, ScopeA, openrunner.AutoScalingConfigurationFilter{}); got != "DefaultConfiguration/1*! high/1 high/3 high/4*" {
			t.Fatalf("list = %s", got)
		}
		// name/revision of a deleted number reads the last deleted one.
		if got := mustFindASC(t, s, ScopeA, nameARN(ScopeA, "high", "2")); got.ARN() != r2.ARN() || got.Status != openrunner.AutoScalingInactive {
			t.Fatalf("high/2 = %+v", got)
		}

		// All revisions, with a name-only ARN only.
		_, err = s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), r1.ARN(), true)
		wantCode(t, err, openrunner.EINVALID)
		if _, err := s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "high"), true); err != nil {
			t.Fatal(err)
		}
		if got := ascList(t, s, ScopeA, openrunner.AutoScalingConfigurationFilter{}); got != "DefaultConfiguration/1*!" {
			t.Fatalf("after deleting all: %s", got)
		}
		_, err = s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "high"), false)
		wantCode(t, err, openrunner.ENOTFOUND)
		if r := mustCreateASC(t, s, ScopeA, "high", 0, 0, 0); r.Revision != 1 {
			t.Fatalf("re-created name: revision %d, want 1", r.Revision)
		}
	})

	t.Run("Sizes", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		for _, c := range [][3]int{{201, 1, 1}, {-1, 1, 1}, {1, 26, 26}, {1, -1, 1}, {1, 1, 26}, {1, 1, -1}, {1, 5, 4}} {
			err := s.AutoScaling.CreateAutoScalingConfiguration(Ctx(ScopeA),
				&openrunner.AutoScalingConfiguration{Name: "bad", MaxConcurrency: c[0], MinSize: c[1], MaxSize: c[2]}, nil)
			wantCode(t, err, openrunner.EINVALID)
		}
		mustCreateASC(t, s, ScopeA, "edges", 200, 25, 25)
		mustCreateASC(t, s, ScopeA, "edges", 1, 1, 1)
		s = open(t, openrunner.Quotas{AutoScalingMaxSize: 40})
		mustCreateASC(t, s, ScopeA, "large", 0, 0, 40)
	})

	t.Run("Listing", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		for _, n := range []string{"aaaa", "bbbb", "aaaa", "cccc", "bbbb", "aaaa"} {
			mustCreateASC(t, s, ScopeA, n, 0, 0, 0)
		}
		mustCreateASC(t, s, ScopeB, "aaaa", 0, 0, 0)
		aaaa := "aaaa"
		for _, tt := range []struct {
			f    openrunner.AutoScalingConfigurationFilter
			want string
		}{
			{openrunner.AutoScalingConfigurationFilter{}, "DefaultConfiguration/1*! aaaa/1 bbbb/1 aaaa/2 cccc/1* bbbb/2* aaaa/3*"},
			{openrunner.AutoScalingConfigurationFilter{LatestOnly: true}, "DefaultConfiguration/1*! cccc/1* bbbb/2* aaaa/3*"},
			{openrunner.AutoScalingConfigurationFilter{Name: &aaaa}, "aaaa/1 aaaa/2 aaaa/3*"},
			{openrunner.AutoScalingConfigurationFilter{Name: &aaaa, LatestOnly: true}, "aaaa/3*"},
		} {
			if got := ascList(t, s, ScopeA, tt.f); got != tt.want {
				t.Fatalf("%+v: %s, want %s", tt.f, got, tt.want)
			}
			// Pages of 2 give the same list.
			f := tt.f
			f.Limit = 2
			var all []string
			for {
				page, err := s.AutoScaling.FindAutoScalingConfigurations(Ctx(ScopeA), f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page.Configurations) > 2 || (page.Next != 0 && len(page.Configurations) != 2) {
					t.Fatalf("page %+v", page)
				}
				for _, c := range page.Configurations {
					all = append(all, fmt.Sprintf("%s/%d", c.Name, c.Revision))
				}
				if page.Next == 0 {
					break
				}
				f.After = page.Next
			}
			if got, want := strings.Join(all, " "), strings.NewReplacer("*", "", "!", "").Replace(tt.want); got != want {
				t.Fatalf("paged %+v: %s, want %s", tt.f, got, want)
			}
		}
	})

	t.Run("DefaultMoves", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		mustCreateASC(t, s, ScopeA, "high", 0, 0, 0)
		h2 := mustCreateASC(t, s, ScopeA, "high", 0, 0, 0)
		d, err := s.AutoScaling.SetDefaultAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "high"))
		if err != nil || d.ARN() != h2.ARN() || !d.IsDefault {
			t.Fatalf("SetDefault = %+v, %v", d, err)
		}
		if got := ascList(t, s, ScopeA, openrunner.AutoScalingConfigurationFilter{}); got != "DefaultConfiguration/1* high/1 high/2*!" {
			t.Fatalf("list = %s", got)
		}
		if got, err := s.AutoScaling.DefaultAutoScalingConfiguration(Ctx(ScopeA)); err != nil || got.ARN() != h2.ARN() {
			t.Fatalf("default = %+v, %v", got, err)
		}
		if got := ascList(t, s, ScopeB, openrunner.AutoScalingConfigurationFilter{}); got != "DefaultConfiguration/1*!" {
			t.Fatalf("other account: %s", got)
		}
		_, err = s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), h2.ARN(), false)
		wantCode(t, err, openrunner.EINVALID)
		_, err = s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "high"), true)
		wantCode(t, err, openrunner.EINVALID)
		// The AWS-provided revision may be deleted once it is not the
		// default, and is not provided again.
		provided := nameARN(ScopeA, "DefaultConfiguration", "1", openrunner.DefaultAutoScalingID)
		if _, err := s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), provided, false); err != nil {
			t.Fatal(err)
		}
		_, err = s.AutoScaling.SetDefaultAutoScalingConfiguration(Ctx(ScopeA), provided)
		wantCode(t, err, openrunner.EINVALID)
		if got := ascList(t, s, ScopeA, openrunner.AutoScalingConfigurationFilter{}); got != "high/1 high/2*!" {
			t.Fatalf("list = %s", got)
		}
		_, err = s.AutoScaling.SetDefaultAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "nope"))
		wantCode(t, err, openrunner.ENOTFOUND)
	})

	t.Run("Services", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		high := mustCreateASC(t, s, ScopeA, "high", 0, 0, 0)
		var arns []string
		for i := 0; i < 3; i++ {
			cfg := imageConfig()
			svc := &openrunner.Service{Name: fmt.Sprintf("svc-%d", i), Config: cfg, AutoScalingConfigurationARN: high.ARN()}
			if err := s.Services.CreateService(Ctx(ScopeA), svc, &openrunner.Operation{Desired: &cfg}, nil); err != nil {
				t.Fatal(err)
			}
			arns = append(arns, svc.ARN())
		}
		if !mustFindASC(t, s, ScopeA, high.ARN()).HasAssociatedService {
			t.Fatal("HasAssociatedService false while services use it")
		}
		page, err := s.AutoScaling.FindServicesForAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "high"), openrunner.ServiceFilter{Limit: 2})
		if err != nil || len(page.Services) != 2 || page.Next == 0 || page.Services[0].ARN() != arns[0] {
			t.Fatalf("page 1 = %+v, %v", page, err)
		}
		page, err = s.AutoScaling.FindServicesForAutoScalingConfiguration(Ctx(ScopeA), high.ARN(), openrunner.ServiceFilter{After: page.Next, Limit: 2})
		if err != nil || len(page.Services) != 1 || page.Next != 0 || page.Services[0].ARN() != arns[2] {
			t.Fatalf("page 2 = %+v, %v", page, err)
		}
		_, err = s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), high.ARN(), false)
		wantCode(t, err, openrunner.EINVALID)
		_, err = s.AutoScaling.FindServicesForAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "nope"), openrunner.ServiceFilter{})
		wantCode(t, err, openrunner.ENOTFOUND)

		// A deleted or unknown configuration can't be used.
		other := mustCreateASC(t, s, ScopeA, "other", 0, 0, 0)
		if _, err := s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), other.ARN(), false); err != nil {
			t.Fatal(err)
		}
		for _, arn := range []string{other.ARN(), nameARN(ScopeA, "high", "1", openrunner.NewID()), nameARN(ScopeB, "high", "1", high.ID)} {
			cfg := imageConfig()
			err := s.Services.CreateService(Ctx(ScopeA), &openrunner.Service{Name: "refused", Config: cfg, AutoScalingConfigurationARN: arn},
				&openrunner.Operation{Desired: &cfg}, nil)
			wantCode(t, err, openrunner.EINVALID)
			_, err = s.Services.StartOperation(Ctx(ScopeA), arns[0], &openrunner.Operation{Type: openrunner.OperationUpdateService},
				func(svc *openrunner.Service) error { svc.AutoScalingConfigurationARN = arn; return nil })
			wantCode(t, err, openrunner.EINVALID)
		}
		// Moving every service away frees the revision.
		def, err := s.AutoScaling.DefaultAutoScalingConfiguration(Ctx(ScopeA))
		if err != nil {
			t.Fatal(err)
		}
		for _, arn := range arns {
			if _, err := s.Services.StartOperation(Ctx(ScopeA), arn, &openrunner.Operation{Type: openrunner.OperationUpdateService},
				func(svc *openrunner.Service) error { svc.AutoScalingConfigurationARN = def.ARN(); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if mustFindASC(t, s, ScopeA, high.ARN()).HasAssociatedService || !mustFindASC(t, s, ScopeA, def.ARN()).HasAssociatedService {
			t.Fatal("HasAssociatedService did not follow the services")
		}
		if _, err := s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), high.ARN(), false); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("Quotas", func(t *testing.T) {
		s := open(t, openrunner.Quotas{AutoScalingNames: 2})
		for i := 0; i < openrunner.DefaultMaxAutoScalingRevisions; i++ {
			mustCreateASC(t, s, ScopeA, "first", 0, 0, 0)
		}
		err := s.AutoScaling.CreateAutoScalingConfiguration(Ctx(ScopeA), &openrunner.AutoScalingConfiguration{Name: "first"}, nil)
		wantCode(t, err, openrunner.EQUOTA)
		mustCreateASC(t, s, ScopeA, "second", 0, 0, 0)
		// The AWS-provided default does not count as a name; a revision of
		// one's own under its name does.
		err = s.AutoScaling.CreateAutoScalingConfiguration(Ctx(ScopeA), &openrunner.AutoScalingConfiguration{Name: "third"}, nil)
		wantCode(t, err, openrunner.EQUOTA)
		err = s.AutoScaling.CreateAutoScalingConfiguration(Ctx(ScopeA), &openrunner.AutoScalingConfiguration{Name: openrunner.DefaultAutoScalingName}, nil)
		wantCode(t, err, openrunner.EQUOTA)
		mustCreateASC(t, s, ScopeB, "third", 0, 0, 0) // per account
		if _, err := s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "first"), false); err != nil {
			t.Fatal(err)
		}
		if r := mustCreateASC(t, s, ScopeA, "first", 0, 0, 0); r.Revision != 5 {
			t.Fatalf("revision %d, want 5", r.Revision)
		}
		if _, err := s.AutoScaling.DeleteAutoScalingConfiguration(Ctx(ScopeA), nameARN(ScopeA, "second"), true); err != nil {
			t.Fatal(err)
		}
		if r := mustCreateASC(t, s, ScopeA, openrunner.DefaultAutoScalingName, 0, 0, 0); r.Revision != 2 {
			t.Fatalf("DefaultConfiguration revision %d, want 2", r.Revision)
		}
	})

	t.Run("ConcurrentCreates", func(t *testing.T) {
		for _, revisions := range []int{10, 5} {
			s := open(t, openrunner.Quotas{AutoScalingRevisions: revisions})
			var mu sync.Mutex
			var got []int
			quotaErrs := 0
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := &openrunner.AutoScalingConfiguration{Name: "busy"}
					err := s.AutoScaling.CreateAutoScalingConfiguration(Ctx(ScopeA), c, nil)
					mu.Lock()
					defer mu.Unlock()
					switch openrunner.ErrorCode(err) {
					case "":
						got = append(got, c.Revision)
					case openrunner.EQUOTA:
						quotaErrs++
					default:
						t.Errorf("create: %v", err)
					}
				}()
			}
			wg.Wait()
			sort.Ints(got)
			want := min(8, revisions)
			for i, r := range got {
				if r != i+1 {
					t.Fatalf("revisions %v, want 1..%d", got, want)
				}
			}
			if len(got) != want || quotaErrs != 8-want {
				t.Fatalf("quota %d: revisions %v and %d quota errors", revisions, got, quotaErrs)
			}
			page, err := s.AutoScaling.FindAutoScalingConfigurations(Ctx(ScopeA), openrunner.AutoScalingConfigurationFilter{LatestOnly: true})
			if err != nil || len(page.Configurations) != 2 {
				t.Fatalf("latest only: %+v, %v", page, err)
			}
		}
	})
}
