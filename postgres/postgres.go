// Package postgres stores OpenRunner's state in PostgreSQL, so that several
// servers can share it. It implements the same store interfaces as package
// sqlite and passes the same conformance suite (storetest).
//
// Every write transaction first takes one transaction-level advisory lock,
// so writes are serialized across all servers exactly as SQLite serializes
// them within one: each decision (quotas, unique names, one default, lease
// ownership) is made by the database, in a transaction that sees every
// write committed before it. Reads take no lock.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/openrunner/openrunner"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// Advisory lock keys: one for migrations, one every write transaction
// takes. Both are arbitrary constants ("OR" and a kind).
const (
	migrateLockKey int64 = 0x4f52_0001
	writeLockKey   int64 = 0x4f52_0002
)

// DB is an open OpenRunner database on a PostgreSQL server.
type DB struct {
	// URL is the database's connection string (postgres://...).
	URL string

	// Now returns the current time; transactions read it once.
	Now func() time.Time

	// Quotas limits resources per account and Region.
	Quotas openrunner.Quotas

	// MaxConns bounds the connection pool; default 16.
	MaxConns int

	// Logger receives the notification listener's reconnections.
	Logger *slog.Logger

	pool *sql.DB

	// rebound caches the PostgreSQL form of each query (see rebind).
	rebound sync.Map // string -> string

	// ascScopes holds the Scopes whose AWS-provided default auto scaling
	// configuration is known to be stored.
	ascScopes sync.Map // openrunner.Scope -> bool

	// connListings shares the reads of identical connection listings.
	connListings coalescer[connListing, openrunner.ConnectionPage]
}

// NewDB returns a DB for the database at url; call Open before use.
func NewDB(url string) *DB {
	return &DB{URL: url, Now: time.Now, Quotas: openrunner.DefaultQuotas()}
}

// Open connects and applies the embedded migrations, under an advisory
// lock so that servers starting together migrate once.
func (db *DB) Open(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(db.URL)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	db.pool = stdlib.OpenDB(*cfg)
	n := db.MaxConns
	if n <= 0 {
		n = 16
	}
	db.pool.SetMaxOpenConns(n)
	db.pool.SetMaxIdleConns(n)
	db.pool.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.migrate(ctx); err != nil {
		db.pool.Close()
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Close closes the pool.
func (db *DB) Close() error {
	if db.pool == nil {
		return nil
	}
	return db.pool.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.pool.PingContext(ctx) }

// migrate applies, in name order, every embedded migration the migrations
// table does not record, all in one transaction under migrateLockKey.
func (db *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLockKey); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY)`); err != nil {
		return err
	}
	for _, name := range names {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM migrations WHERE name = $1`, name).Scan(&n); err != nil {
			return err
		} else if n != 0 {
			continue
		}
		buf, err := fs.ReadFile(migrationFS, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(buf)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO migrations (name) VALUES ($1)`, name); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Stores returns every store on db. Closing them closes db.
func (db *DB) Stores() openrunner.Stores {
	return openrunner.Stores{
		Connections: NewConnectionService(db),
		Tags:        NewTagService(db),
		Services:    NewServiceService(db),
		Leases:      NewLeaseService(db),
		AutoScaling: NewAutoScalingConfigurationService(db),
		Meta:        db,
		// The stores that came with later features.
		Observability: NewObservabilityConfigurationService(db),
		VPC:           NewVPCService(db),
		CustomDomains: NewCustomDomainService(db),
		Blobs:         NewBlobService(db),
		Secrets:       NewSecretService(db),
		Parameters:    NewParameterService(db),
		Routes:        NewRouteService(db),
		Notifier:      db,
		Ephemeral:     db,
		Kind:          "postgres",
		Shared:        true,
		Ping:          db.Ping,
		Close:         db.Close,
	}
}

// Tx wraps a SQL transaction with the time it started, so that every
// timestamp written by one API call is the same. Its queries are written
// with SQLite-style placeholders (? and ?N), which it rewrites (rebind).
type Tx struct {
	*sql.Tx
	db  *DB
	now time.Time
}

// ExecContext runs a statement.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.db.rebind(query), args...)
}

// QueryContext runs a query.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.db.rebind(query), args...)
}

// QueryRowContext runs a single-row query.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.db.rebind(query), args...)
}

// BeginTx starts a transaction: a write transaction, which takes the write
// lock at once, unless opts marks it read-only.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	if opts == nil || !opts.ReadOnly {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, writeLockKey); err != nil {
			tx.Rollback()
			return nil, err
		}
	}
	return &Tx{Tx: tx, db: db, now: db.Now().UTC()}, nil
}

// query runs one read-only statement outside any transaction.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.pool.QueryContext(ctx, db.rebind(query), args...)
}

func (db *DB) beginRead(ctx context.Context) (*Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// rebind turns SQLite-style placeholders into PostgreSQL's: ?N becomes $N
// and each bare ? the next number. The queries hold no literal '?'.
func (db *DB) rebind(query string) string {
	if v, ok := db.rebound.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	next := 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c != '?' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			j++
		}
		if j > i+1 {
			b.WriteByte('$')
			b.WriteString(query[i+1 : j])
			i = j - 1
			continue
		}
		next++
		b.WriteString("$" + strconv.Itoa(next))
	}
	out := b.String()
	db.rebound.Store(query, out)
	return out
}

// isConstraint reports whether err violates the unique constraint or
// index named constraint, or any unique constraint when constraint is "".
func isConstraint(err error, constraint string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && (constraint == "" || pe.ConstraintName == constraint)
}

const errUnique = ""

// IsUnavailable reports whether err says the database cannot be reached
// for now (refused, reset or closed connections, a server shutting down or
// starting up, too many clients): a retryable condition, not a bug.
func IsUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false // the caller gave up (a client went away): not the database
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exceptions; 57P01-57P03: admin shutdown,
		// crash shutdown, cannot connect now; 53300: too many connections.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03" || pe.Code == "53300"
	}
	if errors.Is(err, driver.ErrBadConn) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "connection reset")
}
