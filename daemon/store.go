package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/metrics"
	"github.com/openrunner/openrunner/postgres"
	"github.com/openrunner/openrunner/sqlite"
)

// openDatabase opens the database that holds every store: PostgreSQL when
// a DatabaseURL is given, else SQLite in the data directory.
func (d *Daemon) openDatabase(ctx context.Context) (openrunner.Stores, error) {
	if d.cfg.DatabaseURL == "" {
		db := sqlite.NewDB(filepath.Join(d.cfg.DataDir, "openrunner.db"))
		db.Now = d.cfg.Now
		db.Quotas = d.cfg.Quotas
		if err := db.Open(); err != nil {
			return openrunner.Stores{}, err
		}
		return db.Stores(), nil
	}
	if d.cfg.SecretKey == "" {
		return openrunner.Stores{}, errors.New("OPENRUNNER_SECRET_KEY is required with --database-url: every server on the database must hold the same master key " +
			"to open the secrets the others sealed (generate one with: openssl rand -hex 32)")
	}
	db := postgres.NewDB(d.cfg.DatabaseURL)
	db.Now = d.cfg.Now
	db.Quotas = d.cfg.Quotas
	// The database may still be starting (a whole cluster booting at once):
	// wait for it a little before giving up.
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		err := db.Open(ctx)
		if err == nil {
			return db.Stores(), nil
		}
		if ctx.Err() != nil || !postgres.IsUnavailable(err) {
			return openrunner.Stores{}, fmt.Errorf("--database-url: %w", err)
		}
		d.logger.Warn("waiting for the database", "error", err)
		select {
		case <-ctx.Done():
			return openrunner.Stores{}, fmt.Errorf("--database-url: %w", err)
		case <-time.After(time.Second):
		}
	}
}

// serverID names this server among those sharing a database: in leases,
// and on the instances it starts. It is made once and kept in the data
// directory, which is this server's own.
func serverID(dir string) (string, error) {
	path := filepath.Join(dir, "server-id")
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	id := "openrunner-" + openrunner.NewID()[:12]
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(id+"\n"), 0o600); err != nil {
		return "", err
	}
	return id, os.Rename(tmp, path)
}

// clusterHealth adds the store's state and this server's share of the work
// to a health report: a store that does not answer makes the server
// unhealthy (503), so a load balancer sends the API's requests elsewhere.
func (d *Daemon) clusterHealth(ctx context.Context, body map[string]any) (string, int) {
	body["server"] = d.owner
	if d.holding != nil {
		body["leases"] = d.holding()
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := d.stores.Ping(ctx); err != nil {
		body["store_error"] = "the database does not answer"
		d.logger.Warn("health: the database does not answer", "error", err)
		return "degraded", http.StatusServiceUnavailable
	}
	return "ok", http.StatusOK
}

// dispatcher runs one API operation.
type dispatcher = func(ctx context.Context, op string, body []byte) (any, error)

// storeErrors makes a database that cannot be reached for now (PostgreSQL
// restarting, the network cut) an InternalServiceErrorException (HTTP 500)
// that says so: AWS SDKs and the CLI retry a 500 with backoff, and the
// pool reconnects by itself once the database is back.
func (d *Daemon) storeErrors(next dispatcher) dispatcher {
	if d.cfg.DatabaseURL == "" {
		return next
	}
	return func(ctx context.Context, op string, body []byte) (any, error) {
		out, err := next(ctx, op, body)
		if err != nil && ctx.Err() == nil && openrunner.ErrorCode(err) == openrunner.EINTERNAL && postgres.IsUnavailable(err) {
			d.logger.Warn("the database is unavailable", "operation", op, "error", err)
			return nil, openrunner.Errorf(openrunner.EINTERNAL, "The database is unavailable for now. Retry the request.")
		}
		return out, err
	}
}

// serverFigures are this server's own figures for /_openrunner/metrics.
func (d *Daemon) serverFigures() metrics.Server {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s := metrics.Server{ID: d.owner, Store: d.stores.Kind, StoreUp: d.stores.Ping(ctx) == nil}
	if d.holding != nil {
		s.Leases = d.holding()
	}
	return s
}
