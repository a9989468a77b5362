package acme_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/acme"
	"github.com/openrunner/openrunner/internal/pgtest"
	"github.com/openrunner/openrunner/postgres"
	"github.com/openrunner/openrunner/sqlite"
	"github.com/openrunner/openrunner/vault"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStorage(t *testing.T, st openrunner.Stores, holder string) *acme.Storage {
	t.Helper()
	v, err := vault.New(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &acme.Storage{Blobs: st.Blobs, Leases: st.Leases, Vault: v, Holder: holder,
		LockTTL: 3 * time.Second, LockPoll: 10 * time.Millisecond}
}

// openDB opens the stores of one SQLite database.
func openDB(t *testing.T) openrunner.Stores {
	t.Helper()
	db := sqlite.NewDB(filepath.Join(t.TempDir(), "openrunner.db"))
	if err := db.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.Stores()
}

// openPostgres opens the stores of two servers (two pools) on one fresh
// PostgreSQL database.
func openPostgres(t *testing.T) (a, b openrunner.Stores) {
	t.Helper()
	url, err := pgtest.Shared(t).CreateSchema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []*openrunner.Stores{&a, &b} {
		db := postgres.NewDB(url)
		if err := db.Open(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		*st = db.Stores()
	}
	return a, b
}

// eachStore runs test on SQLite (both servers on one database file) and on
// PostgreSQL (two servers, each with its own connections).
func eachStore(t *testing.T, test func(t *testing.T, a, b openrunner.Stores)) {
	t.Run("sqlite", func(t *testing.T) {
		st := openDB(t)
		test(t, st, st)
	})
	t.Run("postgres", func(t *testing.T) {
		a, b := openPostgres(t)
		test(t, a, b)
	})
}

func TestStorage(t *testing.T) { eachStore(t, testStorage) }

func testStorage(t *testing.T, db, db2 openrunner.Stores) {
	ctx := context.Background()
	s := newStorage(t, db, "server-1")
	key := []byte("-----BEGIN EC PRIVATE KEY----- secret")
	if err := s.Store(ctx, "certificates/ca/a.example/a.example.key", key); err != nil {
		t.Fatal(err)
	}
	if err := s.Store(ctx, "certificates/ca/a.example/a.example.crt", []byte("cert")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(ctx, "certificates/ca/a.example/a.example.key")
	if err != nil || !bytes.Equal(got, key) {
		t.Fatalf("Load = %q, %v", got, err)
	}
	// Sealed in the store: the raw value is not the key.
	raw, _, err := db.Blobs.FindBlob(ctx, "certificates/ca/a.example/a.example.key")
	if err != nil || bytes.Contains(raw, []byte("secret")) {
		t.Fatalf("stored in the clear: %q, %v", raw, err)
	}
	if _, err := s.Load(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
	if !s.Exists(ctx, "certificates/ca") || !s.Exists(ctx, "certificates/ca/a.example/a.example.crt") || s.Exists(ctx, "certificates/c") {
		t.Fatal("Exists")
	}
	if keys, err := s.List(ctx, "certificates/ca", false); err != nil || !slices.Equal(keys, []string{"certificates/ca/a.example"}) {
		t.Fatalf("List = %v, %v", keys, err)
	}
	if info, err := s.Stat(ctx, "certificates/ca/a.example"); err != nil || info.IsTerminal {
		t.Fatalf("Stat(dir) = %+v, %v", info, err)
	}
	if info, err := s.Stat(ctx, "certificates/ca/a.example/a.example.crt"); err != nil || !info.IsTerminal || info.Size != 4 || info.Modified.IsZero() {
		t.Fatalf("Stat(file) = %+v, %v", info, err)
	}
	if _, err := s.Stat(ctx, "nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat(missing) = %v", err)
	}
	if err := s.Delete(ctx, "certificates/ca/a.example"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "certificates/ca/a.example"); err != nil {
		t.Fatalf("deleting a missing key: %v", err)
	}
	if s.Exists(ctx, "certificates") {
		t.Fatal("Delete left keys under the prefix")
	}
	// Another master key cannot open what this one sealed.
	if err := s.Store(ctx, "k", []byte("v")); err != nil {
		t.Fatal(err)
	}
	other := newStorage(t, db2, "server-2")
	other.Vault, _ = vault.New(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Load(ctx, "k"); err == nil {
		t.Fatal("another key opened a sealed value")
	}
}

// Locks exclude each other across servers on one store and across
// goroutines of one server.
func TestStorageLocks(t *testing.T) { eachStore(t, testStorageLocks) }

func testStorageLocks(t *testing.T, db, db2 openrunner.Stores) {
	ctx := context.Background()
	servers := []*acme.Storage{newStorage(t, db, "server-1"), newStorage(t, db2, "server-2")}
	var inside, max atomic.Int32
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			s := servers[i%2]
			if err := s.Lock(ctx, "issue_cert_a.example"); err != nil {
				t.Error(err)
				return
			}
			n := inside.Add(1)
			if n > max.Load() {
				max.Store(n)
			}
			time.Sleep(20 * time.Millisecond)
			inside.Add(-1)
			if err := s.Unlock(ctx, "issue_cert_a.example"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if max.Load() != 1 {
		t.Fatalf("%d holders at once", max.Load())
	}
	if ok, err := servers[0].TryLock(ctx, "other"); err != nil || !ok {
		t.Fatalf("TryLock = %v, %v", ok, err)
	}
	if ok, _ := servers[1].TryLock(ctx, "other"); ok {
		t.Fatal("a held lock was taken")
	}
	// A lock whose holder died (and so stopped renewing it) lapses after
	// its TTL.
	if ok, err := db.Leases.AcquireLease(ctx, "acme/lock/lapses", "dead-server", time.Second); err != nil || !ok {
		t.Fatal(ok, err)
	}
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := servers[1].Lock(lctx, "lapses"); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 500*time.Millisecond {
		t.Fatal("took a lock before it lapsed")
	}
	if err := servers[1].Unlock(ctx, "lapses"); err != nil {
		t.Fatal(err)
	}
	if err := servers[0].Unlock(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := servers[0].Unlock(ctx, "other"); err == nil {
		t.Fatal("unlocked a lock not held")
	}
}
