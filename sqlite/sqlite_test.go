package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/sqlite"
	"github.com/openrunner/openrunner/storetest"
)

// MustOpenDB opens a fresh database in a temporary directory.
func MustOpenDB(tb testing.TB, q openrunner.Quotas) *sqlite.DB {
	tb.Helper()
	db := sqlite.NewDB(filepath.Join(tb.TempDir(), "openrunner.db"))
	db.Quotas = q
	if err := db.Open(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB, q openrunner.Quotas) storetest.Stores {
		db := MustOpenDB(tb, q)
		return storetest.Stores{
			Connections: sqlite.NewConnectionService(db),
			Tags:        sqlite.NewTagService(db),
			Services:    sqlite.NewServiceService(db),
			AutoScaling: sqlite.NewAutoScalingConfigurationService(db),
			VPC:         sqlite.NewVPCService(db),

			Observability: sqlite.NewObservabilityConfigurationService(db),
		}
	})
}

func TestLeaseConformance(t *testing.T) {
	storetest.Leases(t, func(tb testing.TB, now func() time.Time) openrunner.LeaseService {
		db := sqlite.NewDB(filepath.Join(tb.TempDir(), "openrunner.db"))
		db.Now = now
		if err := db.Open(); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		return sqlite.NewLeaseService(db)
	})
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "openrunner.db")
	db := sqlite.NewDB(path)
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	c := &openrunner.Connection{Name: "persisted", ProviderType: openrunner.ProviderBitbucket}
	if err := sqlite.NewConnectionService(db).CreateConnection(storetest.Ctx(storetest.ScopeA), c, []openrunner.Tag{{Key: "k", Value: "v"}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = sqlite.NewDB(path) // migrations must not run twice
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := sqlite.NewConnectionService(db).FindConnectionByARN(storetest.Ctx(storetest.ScopeA), c.ARN())
	if err != nil || got.ID != c.ID || got.ProviderType != openrunner.ProviderBitbucket {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	tags, err := sqlite.NewTagService(db).ListTags(storetest.Ctx(storetest.ScopeA), c.ARN())
	if err != nil || len(tags) != 1 {
		t.Fatalf("tags after reopen: %v, %v", tags, err)
	}
}
