package postgres_test

import (
	"context"
	"database/sql"
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
			VPC:         postgres.NewVPCService(db),
			// Observability is set, so its suite runs here too.
			Observability: postgres.NewObservabilityConfigurationService(db),
		}
	})
}

func TestCustomDomainConformance(t *testing.T) {
	storetest.CustomDomains(t, func(tb testing.TB) storetest.DomainStores {
		db := mustOpenDB(tb, openrunner.DefaultQuotas(), nil)
		return storetest.DomainStores{Domains: postgres.NewCustomDomainService(db), Blobs: postgres.NewBlobService(db)}
	})
}

func TestSecretConformance(t *testing.T) {
	storetest.Secrets(t, func(tb testing.TB) storetest.SecretStores {
		db := mustOpenDB(tb, openrunner.DefaultQuotas(), nil)
		return storetest.SecretStores{Secrets: postgres.NewSecretService(db), Parameters: postgres.NewParameterService(db)}
	})
}

func TestLeaseConformance(t *testing.T) {
	storetest.Leases(t, func(tb testing.TB, now func() time.Time) openrunner.LeaseService {
		return postgres.NewLeaseService(mustOpenDB(tb, openrunner.DefaultQuotas(), now))
	})
}

func TestSharedConformance(t *testing.T) {
	storetest.Shared(t, func(tb testing.TB, now func() time.Time) (storetest.SharedStores, storetest.SharedStores) {
		a := mustOpenDB(tb, openrunner.DefaultQuotas(), now)
		b := postgres.NewDB(a.URL)
		b.Now = now
		if err := b.Open(context.Background()); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { b.Close() })
		shared := func(db *postgres.DB) storetest.SharedStores {
			st := db.Stores()
			return storetest.SharedStores{Routes: st.Routes, Notifier: st.Notifier, Ephemeral: st.Ephemeral}
		}
		return shared(a), shared(b)
	})
}

// TestConcurrentMigrations: servers starting together on an empty
// database migrate it once; every one of them opens.
func TestConcurrentMigrations(t *testing.T) {
	url, err := pgtest.Shared(t).CreateSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			db := postgres.NewDB(url)
			err := db.Open(context.Background())
			if err == nil {
				err = db.Close()
			}
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	db := mustOpenDBAt(t, url)
	var n, distinct int
	if err := db.QueryRow(`SELECT COUNT(*), COUNT(DISTINCT name) FROM migrations`).Scan(&n, &distinct); err != nil || n != distinct || n < 3 {
		t.Fatalf("migrations recorded %d times for %d names, %v", n, distinct, err)
	}
}

func mustOpenDBAt(tb testing.TB, url string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestIsUnavailable: a database that does not answer is unavailable; a
// caller that gave up, or a refused statement, is not.
func TestIsUnavailable(t *testing.T) {
	db := postgres.NewDB("postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err := db.Open(context.Background()); !postgres.IsUnavailable(err) {
		t.Fatalf("connection refused: %v is not unavailable", err)
	}
	live := mustOpenDB(t, openrunner.DefaultQuotas(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := postgres.NewConnectionService(live).FindConnections(storetest.Ctx(storetest.ScopeA), openrunner.ConnectionFilter{}); err != nil {
		t.Fatal(err)
	}
	err := live.Ping(ctx)
	if err == nil || postgres.IsUnavailable(err) {
		t.Fatalf("a cancelled call: %v counts as unavailable", err)
	}
	_, err = live.Meta(ctx, "x")
	if postgres.IsUnavailable(err) {
		t.Fatalf("a cancelled call: %v counts as unavailable", err)
	}
}
