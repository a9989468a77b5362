package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openrunner/openrunner"
)

func mustOpen(tb testing.TB) *DB {
	tb.Helper()
	db := NewDB(filepath.Join(tb.TempDir(), "openrunner.db"))
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func scopeCtx() context.Context {
	return openrunner.NewContextWithScope(context.Background(), openrunner.Scope{AccountID: "111111111111", Region: "us-east-1"})
}

// TestCreateServiceURLPrefixCollision checks that a taken URL prefix is
// redrawn rather than reported as a name conflict, and that a taken name is
// not mistaken for a taken prefix.
func TestCreateServiceURLPrefixCollision(t *testing.T) {
	s := NewServiceService(mustOpen(t))
	var draws []string
	s.urlPrefix = func() string {
		p := "aaaaaaaaaa"
		if len(draws) == 2 {
			p = "bbbbbbbbbb"
		}
		draws = append(draws, p)
		return p
	}
	create := func(name string) (*openrunner.Service, error) {
		svc := &openrunner.Service{Name: name}
		return svc, s.CreateService(scopeCtx(), svc, &openrunner.Operation{}, nil)
	}

	first, err := create("first")
	if err != nil || first.URLPrefix != "aaaaaaaaaa" {
		t.Fatalf("first: %+v, %v", first, err)
	}
	second, err := create("second")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := second.URLPrefix, "bbbbbbbbbb"; got != want || len(draws) != 3 {
		t.Fatalf("second URLPrefix = %q after %d draws, want %q after 3", got, len(draws), want)
	}
	got, err := s.FindServiceByARN(scopeCtx(), second.ARN())
	if err != nil || got.URLPrefix != "bbbbbbbbbb" {
		t.Fatalf("stored: %+v, %v", got, err)
	}

	// Only prefix collisions from now on: CreateService gives up.
	s.urlPrefix = func() string { return "aaaaaaaaaa" }
	if _, err := create("third"); err == nil || openrunner.ErrorCode(err) != openrunner.EINTERNAL {
		t.Fatalf("endless collisions: %v, want an internal error", err)
	}
	// A name conflict is reported as one, even though the prefix collides too.
	s.urlPrefix = newURLPrefix
	if _, err := create("first"); openrunner.ErrorCode(err) != openrunner.ECONFLICT {
		t.Fatalf("duplicate name: %v, want ECONFLICT", err)
	}
}

func TestNewURLPrefix(t *testing.T) {
	seen := map[byte]bool{}
	for range 200 {
		p := newURLPrefix()
		if len(p) != 10 || strings.Trim(p, urlPrefixAlphabet) != "" {
			t.Fatalf("prefix %q is not 10 characters of [a-z0-9]", p)
		}
		for i := range len(p) {
			seen[p[i]] = true
		}
	}
	// 2000 draws miss one of 36 characters with probability ~1e-23.
	if len(seen) != len(urlPrefixAlphabet) {
		t.Fatalf("only %d distinct characters in 2000 draws", len(seen))
	}
}

// TestServiceQueryPlans checks that the hot service queries use the
// indexes meant for them; a partial index is silently skipped when a
// query's predicate stops matching it.
func TestServiceQueryPlans(t *testing.T) {
	db := mustOpen(t)
	for _, tt := range []struct {
		query string
		args  []any
		index string
	}{
		{qListServices, []any{"a", "r", 0, -1}, "services_live"},
		{qUnfinishedOperations, nil, "operations_unfinished"},
		{qUpdateOperation, []any{"s", "", "", "", 0, "id"}, "sqlite_autoindex_operations_1"},
		{qListOperations, []any{1, 10, -1}, "operations_service"},
		{qFindServiceForOperation, []any{"id"}, "sqlite_autoindex_operations_1"},
		{qFindServiceAnyScope, []any{"arn"}, "sqlite_autoindex_services_2"},
		{qFindLeases, []any{"holder", 0}, "leases_holder"},
	} {
		rows, err := db.read.Query("EXPLAIN QUERY PLAN "+tt.query, tt.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "; "); !strings.Contains(got, "INDEX "+tt.index) {
			t.Errorf("plan of %s\n = %s\nwant index %s", tt.query, got, tt.index)
		}
	}
}
