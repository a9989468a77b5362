// Package storetest is the conformance suite every implementation of
// OpenRunner's store interfaces runs (sqlite always, postgres when a server
// is configured), so all of them behave alike.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/openrunner/openrunner"
)

// Stores is one implementation's set of store interfaces, opened on a fresh
// empty database.
type Stores struct {
	Connections openrunner.ConnectionService
	Tags        openrunner.TagService
	Services    openrunner.ServiceService
	AutoScaling openrunner.AutoScalingConfigurationService
	VPC         openrunner.VPCService
	// Observability stores observability configurations; its suite is
	// skipped when nil.
	Observability openrunner.ObservabilityConfigurationService
}

// Opener opens a fresh, empty store with the given quotas. It registers its
// own cleanup with tb.
type Opener func(tb testing.TB, q openrunner.Quotas) Stores

// Scopes used by the suite.
var (
	ScopeA = openrunner.Scope{AccountID: "111111111111", Region: "us-east-1"}
	ScopeB = openrunner.Scope{AccountID: "222222222222", Region: "us-east-1"}
	ScopeC = openrunner.Scope{AccountID: "111111111111", Region: "eu-west-1"}
)

// Ctx returns a context in scope s.
func Ctx(s openrunner.Scope) context.Context {
	return openrunner.NewContextWithScope(context.Background(), s)
}

// Run runs the whole conformance suite.
func Run(t *testing.T, open Opener) {
	t.Run("Connections", func(t *testing.T) { testConnections(t, open) })
	t.Run("Tags", func(t *testing.T) { testTags(t, open) })
	t.Run("Services", func(t *testing.T) { testServices(t, open) })
	t.Run("AutoScaling", func(t *testing.T) { testAutoScaling(t, open) })
	t.Run("VPC", func(t *testing.T) { VPC(t, open) })
	t.Run("Observability", func(t *testing.T) { testObservability(t, open) })
	t.Run("Races", func(t *testing.T) { testRaces(t, open) })
}

func mustCreate(tb testing.TB, s Stores, scope openrunner.Scope, name string, tags ...openrunner.Tag) *openrunner.Connection {
	tb.Helper()
	c := &openrunner.Connection{Name: name, ProviderType: openrunner.ProviderGitHub}
	if err := s.Connections.CreateConnection(Ctx(scope), c, tags); err != nil {
		tb.Fatalf("CreateConnection(%s): %v", name, err)
	}
	return c
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := openrunner.ErrorCode(err); got != code {
		tb.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testConnections(t *testing.T, open Opener) {
	t.Run("CreateAndFind", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		c := mustCreate(t, s, ScopeA, "my-conn")
		if len(c.ID) != 32 || c.Status != openrunner.ConnectionPendingHandshake || c.CreatedAt.IsZero() || c.Seq == 0 {
			t.Fatalf("created connection = %+v", c)
		}
		got, err := s.Connections.FindConnectionByARN(Ctx(ScopeA), c.ARN())
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != c.ID || got.Name != "my-conn" || got.ProviderType != openrunner.ProviderGitHub ||
			got.Status != c.Status || !got.CreatedAt.Equal(c.CreatedAt) || got.Scope != ScopeA {
			t.Fatalf("got %+v, want %+v", got, c)
		}
	})

	t.Run("ErrConflictOnDuplicateName", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		mustCreate(t, s, ScopeA, "dup-name")
		err := s.Connections.CreateConnection(Ctx(ScopeA), &openrunner.Connection{Name: "dup-name", ProviderType: openrunner.ProviderBitbucket}, nil)
		wantCode(t, err, openrunner.ECONFLICT)
		// Other scopes are independent.
		mustCreate(t, s, ScopeB, "dup-name")
		mustCreate(t, s, ScopeC, "dup-name")
	})

	t.Run("ConcurrentCreateOneName", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		var wg sync.WaitGroup
		errs := make([]error, 16)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Connections.CreateConnection(Ctx(ScopeA), &openrunner.Connection{Name: "race", ProviderType: openrunner.ProviderGitHub}, nil)
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch openrunner.ErrorCode(err) {
			case "":
				ok++
			case openrunner.ECONFLICT:
			default:
				t.Fatalf("unexpected error: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d creates succeeded, want 1", ok)
		}
	})

	t.Run("ErrQuota", func(t *testing.T) {
		s := open(t, openrunner.Quotas{Connections: 3})
		var last *openrunner.Connection
		for i := range 3 {
			last = mustCreate(t, s, ScopeA, fmt.Sprintf("conn-%d", i))
		}
		err := s.Connections.CreateConnection(Ctx(ScopeA), &openrunner.Connection{Name: "conn-x", ProviderType: openrunner.ProviderGitHub}, nil)
		wantCode(t, err, openrunner.EQUOTA)
		mustCreate(t, s, ScopeB, "conn-x") // quotas are per scope
		if _, err := s.Connections.DeleteConnection(Ctx(ScopeA), last.ARN()); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, ScopeA, "conn-x") // a deleted connection frees its place
	})

	t.Run("ListPagesAndFilter", func(t *testing.T) {
		s := open(t, openrunner.Quotas{Connections: 100})
		var want []string
		for i := range 7 {
			want = append(want, mustCreate(t, s, ScopeA, fmt.Sprintf("conn-%02d", i)).ID)
		}
		mustCreate(t, s, ScopeB, "other")

		all, err := s.Connections.FindConnections(Ctx(ScopeA), openrunner.ConnectionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(all.Connections) != 7 || all.Next != 0 {
			t.Fatalf("got %d connections, next %d; want 7, 0", len(all.Connections), all.Next)
		}
		var got []string
		f := openrunner.ConnectionFilter{Limit: 3}
		for pages := 0; ; pages++ {
			if pages > 5 {
				t.Fatal("too many pages")
			}
			p, err := s.Connections.FindConnections(Ctx(ScopeA), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Connections {
				got = append(got, c.ID)
			}
			if p.Next == 0 {
				break
			}
			f.After = p.Next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("paged ids = %v, want %v", got, want)
		}
		// An exact page: no further page is announced.
		p, err := s.Connections.FindConnections(Ctx(ScopeA), openrunner.ConnectionFilter{Limit: 7})
		if err != nil || len(p.Connections) != 7 || p.Next != 0 {
			t.Fatalf("Limit 7: %d connections, next %d, err %v", len(p.Connections), p.Next, err)
		}

		name := "conn-03"
		p, err = s.Connections.FindConnections(Ctx(ScopeA), openrunner.ConnectionFilter{Name: &name})
		if err != nil || len(p.Connections) != 1 || p.Connections[0].Name != name {
			t.Fatalf("name filter: %+v, %v", p, err)
		}
		missing := "conn-3"
		p, err = s.Connections.FindConnections(Ctx(ScopeA), openrunner.ConnectionFilter{Name: &missing})
		if err != nil || len(p.Connections) != 0 {
			t.Fatalf("missing name: %+v, %v", p, err)
		}
	})

	t.Run("UpdateAndSecret", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		c := mustCreate(t, s, ScopeA, "handshake")
		ctx := Ctx(ScopeA)
		_, err := s.Connections.FindConnectionSecret(ctx, c.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)

		avail, account := openrunner.ConnectionAvailable, "octocat"
		got, err := s.Connections.UpdateConnection(ctx, c.ARN(), openrunner.ConnectionUpdate{
			Status: &avail, ProviderAccount: &account, Secret: []byte("sealed-1"),
		})
		if err != nil || got.Status != avail || got.ProviderAccount != account {
			t.Fatalf("UpdateConnection = %+v, %v", got, err)
		}
		if sec, err := s.Connections.FindConnectionSecret(ctx, c.ARN()); err != nil || string(sec) != "sealed-1" {
			t.Fatalf("secret = %q, %v", sec, err)
		}
		if _, err := s.Connections.FindConnectionSecret(Ctx(ScopeB), c.ARN()); openrunner.ErrorCode(err) != openrunner.ENOTFOUND {
			t.Fatalf("another account read the secret: %v", err)
		}

		errStatus, msg := openrunner.ConnectionError, "Bad credentials"
		if _, err := s.Connections.UpdateConnection(ctx, c.ARN(), openrunner.ConnectionUpdate{
			Status: &errStatus, StatusMessage: &msg, ClearSecret: true,
		}); err != nil {
			t.Fatal(err)
		}
		found, err := s.Connections.FindConnectionByARN(ctx, c.ARN())
		if err != nil || found.Status != errStatus || found.StatusMessage != msg || found.ProviderAccount != account {
			t.Fatalf("after ERROR: %+v, %v", found, err)
		}
		_, err = s.Connections.FindConnectionSecret(ctx, c.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)

		if _, err := s.Connections.UpdateConnection(ctx, c.ARN(), openrunner.ConnectionUpdate{Secret: []byte("sealed-2")}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Connections.DeleteConnection(ctx, c.ARN()); err != nil {
			t.Fatal(err)
		}
		_, err = s.Connections.FindConnectionSecret(ctx, c.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)
		_, err = s.Connections.UpdateConnection(ctx, c.ARN(), openrunner.ConnectionUpdate{Status: &avail})
		wantCode(t, err, openrunner.ENOTFOUND)
	})

	t.Run("ListSeesEveryWrite", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		ctx := Ctx(ScopeA)
		list := func() string {
			t.Helper()
			p, err := s.Connections.FindConnections(ctx, openrunner.ConnectionFilter{})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, c := range p.Connections {
				out = append(out, c.Name+":"+c.Status)
			}
			return fmt.Sprint(out)
		}
		if got := list(); got != "[]" {
			t.Fatalf("empty scope lists %s", got)
		}
		a := mustCreate(t, s, ScopeA, "first")
		if got := list(); got != "[first:PENDING_HANDSHAKE]" {
			t.Fatalf("after create: %s", got)
		}
		avail := openrunner.ConnectionAvailable
		if _, err := s.Connections.UpdateConnection(ctx, a.ARN(), openrunner.ConnectionUpdate{Status: &avail}); err != nil {
			t.Fatal(err)
		}
		mustCreate(t, s, ScopeA, "second")
		if got := list(); got != "[first:AVAILABLE second:PENDING_HANDSHAKE]" {
			t.Fatalf("after update and create: %s", got)
		}
		// A listing must not be changed by what the caller does with it.
		p, _ := s.Connections.FindConnections(ctx, openrunner.ConnectionFilter{})
		p.Connections[0].Name = "mutated"
		if got := list(); got != "[first:AVAILABLE second:PENDING_HANDSHAKE]" {
			t.Fatalf("a caller's change leaked into the store: %s", got)
		}
		if _, err := s.Connections.DeleteConnection(ctx, a.ARN()); err != nil {
			t.Fatal(err)
		}
		if got := list(); got != "[second:PENDING_HANDSHAKE]" {
			t.Fatalf("after delete: %s", got)
		}
	})

	t.Run("DeleteAndReuseName", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		c := mustCreate(t, s, ScopeA, "reuse", openrunner.Tag{Key: "k", Value: "v"})
		_, err := s.Connections.DeleteConnection(Ctx(ScopeB), c.ARN())
		wantCode(t, err, openrunner.ENOTFOUND) // another account cannot touch it
		d, err := s.Connections.DeleteConnection(Ctx(ScopeA), c.ARN())
		if err != nil {
			t.Fatal(err)
		}
		if d.Status != openrunner.ConnectionDeleted || d.ID != c.ID {
			t.Fatalf("deleted = %+v", d)
		}
		_, err = s.Connections.DeleteConnection(Ctx(ScopeA), c.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)
		_, err = s.Connections.FindConnectionByARN(Ctx(ScopeA), c.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)
		_, err = s.Tags.ListTags(Ctx(ScopeA), c.ARN())
		wantCode(t, err, openrunner.ENOTFOUND)

		c2 := mustCreate(t, s, ScopeA, "reuse")
		if c2.ID == c.ID {
			t.Fatal("a re-created connection must get a new id")
		}
		tags, err := s.Tags.ListTags(Ctx(ScopeA), c2.ARN())
		if err != nil || len(tags) != 0 {
			t.Fatalf("tags of the new connection = %v, %v; want none", tags, err)
		}
	})
}

func testTags(t *testing.T, open Opener) {
	t.Run("TagUntagList", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		c := mustCreate(t, s, ScopeA, "tagged", openrunner.Tag{Key: "b", Value: "1"}, openrunner.Tag{Key: "a", Value: ""})
		ctx := Ctx(ScopeA)
		if err := s.Tags.TagResource(ctx, c.ARN(), []openrunner.Tag{{Key: "b", Value: "2"}, {Key: "c", Value: "3"}}); err != nil {
			t.Fatal(err)
		}
		if err := s.Tags.UntagResource(ctx, c.ARN(), []string{"c", "never-there"}); err != nil {
			t.Fatal(err)
		}
		tags, err := s.Tags.ListTags(ctx, c.ARN())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(tags), "[{a } {b 2}]"; got != want {
			t.Fatalf("tags = %s, want %s", got, want)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		c := mustCreate(t, s, ScopeA, "tagged")
		unknown := openrunner.NewARN(ScopeA, openrunner.ResourceConnection, "nope", openrunner.NewID())
		for _, arn := range []string{unknown, c.ARN()} {
			ctx := Ctx(ScopeA)
			if arn == c.ARN() {
				ctx = Ctx(ScopeC) // same account, other Region
			}
			wantCode(t, s.Tags.TagResource(ctx, arn, []openrunner.Tag{{Key: "k", Value: "v"}}), openrunner.ENOTFOUND)
			wantCode(t, s.Tags.UntagResource(ctx, arn, []string{"k"}), openrunner.ENOTFOUND)
			_, err := s.Tags.ListTags(ctx, arn)
			wantCode(t, err, openrunner.ENOTFOUND)
		}
	})

	t.Run("ErrTooManyTags", func(t *testing.T) {
		s := open(t, openrunner.DefaultQuotas())
		var tags []openrunner.Tag
		for i := range openrunner.MaxTagsPerResource {
			tags = append(tags, openrunner.Tag{Key: fmt.Sprintf("k%02d", i), Value: "v"})
		}
		c := mustCreate(t, s, ScopeA, "full", tags...)
		ctx := Ctx(ScopeA)
		// Overwriting an existing key is fine at the limit; a new key is not,
		// and the failed call changes nothing.
		if err := s.Tags.TagResource(ctx, c.ARN(), []openrunner.Tag{{Key: "k00", Value: "new"}}); err != nil {
			t.Fatal(err)
		}
		err := s.Tags.TagResource(ctx, c.ARN(), []openrunner.Tag{{Key: "k01", Value: "changed"}, {Key: "extra", Value: "v"}})
		wantCode(t, err, openrunner.EINVALID)
		got, err := s.Tags.ListTags(ctx, c.ARN())
		if err != nil || len(got) != openrunner.MaxTagsPerResource || got[0].Value != "new" || got[1].Value != "v" {
			t.Fatalf("after failed TagResource: %d tags %v, %v", len(got), got[:2], err)
		}
		err = s.Connections.CreateConnection(ctx, &openrunner.Connection{Name: "too-many", ProviderType: openrunner.ProviderGitHub},
			append(tags, openrunner.Tag{Key: "extra", Value: "v"}))
		wantCode(t, err, openrunner.EINVALID)
		name := "too-many"
		p, err := s.Connections.FindConnections(ctx, openrunner.ConnectionFilter{Name: &name})
		if err != nil || len(p.Connections) != 0 {
			t.Fatalf("a failed create left %d connections (%v)", len(p.Connections), err)
		}
	})
}
