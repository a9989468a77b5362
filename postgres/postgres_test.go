package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/pgtest"
	"github.com/openrunner/openrunner/postgres"
	"github.com/openrunner/openrunner/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// mustOpenDB opens a store in a fresh schema of the shared server.
func mustOpenDB(tb testing.TB, q openrunner.Quotas, now func() time.Time) *postgres.DB {
	tb.Helper()
	url, err := pgtest.Shared(tb).CreateSchema(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	db := postgres.NewDB(url)
	db.Quotas = q
	if now != nil {
		db.Now = now
	}
	db.MaxConns = 4
	if err := db.Open(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(tb testing.TB, q openrunner.Quotas) storetest.Stores {
		db := mustOpenDB(tb, q, nil)
		return storetest.Stores{
			Connections: postgres.NewConnectionService(db),
			Tags:        postgres.NewTagService(db),
			Services:    postgres.NewServiceService(db),
			AutoScaling: postgres.NewAutoScalingConfigurationService(db),
		}
	})
}

func TestLeaseConformance(t *testing.T) {
	storetest.Leases(t, func(tb testing.TB, now func() time.Time) openrunner.LeaseService {
		return postgres.NewLeaseService(mustOpenDB(tb, openrunner.DefaultQuotas(), now))
	})
}
