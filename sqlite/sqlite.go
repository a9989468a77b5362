package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/openrunner/openrunner"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migration/*.sql
var migrationFS embed.FS

// DB is an open OpenRunner database. Writes go through one connection, so
// SQLite's single writer never waits on a lock held inside this process;
// reads use a pool and run concurrently with the writer (WAL).
type DB struct {
	// Path is the database file.
	Path string

	// Now returns the current time; transactions read it once. Tests may
	// replace it before Open.
	Now func() time.Time

	// Quotas limits resources per account and Region.
	Quotas openrunner.Quotas

	write *sql.DB
	read  *sql.DB

	// stmts holds the statements of prepared, by pool and SQL text. SQLite
	// spends most of a small query's time parsing it; database/sql prepares
	// a statement on each pooled connection once, then reuses it. They are
	// prepared in Open because preparing later would need a free connection
	// while a transaction may hold the only one.
	stmts sync.Map // stmtKey -> *sql.Stmt

	conns connCache

	// ascScopes holds the Scopes whose AWS-provided default auto scaling
	// configuration is known to be stored.
	ascScopes sync.Map // openrunner.Scope -> bool
}

type stmtKey struct {
	write bool
	query string
}

// NewDB returns a DB for the file at path; call Open before use.
func NewDB(path string) *DB {
	return &DB{Path: path, Now: time.Now, Quotas: openrunner.DefaultQuotas()}
}

// Open opens the database, creating it if needed, and applies migrations.
func (db *DB) Open() (err error) {
	if db.Path == "" {
		return errors.New("sqlite: database path required")
	}
	// synchronous(FULL): a commit is on disk before the API acknowledges it,
	// so acknowledged writes survive kill -9 and power loss alike.
	// busy_timeout covers other processes (backups, the sqlite3 shell).
	q := url.Values{}
	// secure_delete(1) overwrites deleted rows, so a deleted connection's
	// sealed credential does not linger in free pages.
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "synchronous(FULL)", "busy_timeout(5000)", "secure_delete(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	dsn := "file:" + db.Path + "?" + q.Encode()
	if db.write, err = sql.Open("sqlite", dsn); err != nil {
		return err
	}
	db.write.SetMaxOpenConns(1)
	db.write.SetConnMaxIdleTime(0)

	q.Set("_txlock", "deferred")
	q.Add("_pragma", "query_only(1)")
	if db.read, err = sql.Open("sqlite", "file:"+db.Path+"?"+q.Encode()); err != nil {
		db.write.Close()
		return err
	}
	db.read.SetMaxOpenConns(8)
	db.read.SetMaxIdleConns(8)

	if err := db.migrate(); err != nil {
		db.Close()
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	for _, q := range prepared {
		for _, write := range []bool{false, true} {
			pool := db.read
			if write {
				pool = db.write
			}
			st, err := pool.Prepare(q)
			if err != nil {
				db.Close()
				return fmt.Errorf("sqlite: prepare %q: %w", q, err)
			}
			db.stmts.Store(stmtKey{write, q}, st)
		}
	}
	return nil
}

// prepared lists the statements on hot paths; Tx runs them as prepared
// statements and any other SQL unprepared.
var prepared = []string{
	qAddUsage, qInsertResource, qInsertConnection, qListConnections,
	qFindConnection, qUpdateConnection, qCheckResource, qUpsertTag, qCountTags, qListTags,
	qInsertService, qFindService, qFindServiceBySeq, qListServices, qUpdateService, qFindServiceForOperation,
	qInsertOperation, qFindOperation, qListOperations, qUnfinishedOperations, qUpdateOperation, qFinishOperation,
	qFindServiceAnyScope, qUpdateServiceState,
	qAcquireLease, qReleaseLease, qFindLeases,
}

// Close closes the database.
func (db *DB) Close() error {
	var errs []error
	db.stmts.Range(func(_, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		return true
	})
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	return errors.Join(errs...)
}

// migrate applies, in name order, every embedded migration not yet recorded
// in the migrations table, each in its own transaction.
func (db *DB) migrate() error {
	names, err := migrationNames()
	if err != nil {
		return err
	}
	return applyMigrations(db.write, names)
}

// migrationNames returns the embedded migrations' file names in the order
// they apply.
func migrationNames() ([]string, error) {
	names, err := fs.Glob(migrationFS, "migration/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

// applyMigrations applies the embedded migrations names, in that order,
// skipping those the migrations table records as applied. Tests call it
// with a prefix of migrationNames to build a database of an older schema.
func applyMigrations(conn *sql.DB, names []string) error {
	if _, err := conn.Exec(`CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY)`); err != nil {
		return err
	}
	for _, name := range names {
		if err := applyMigration(conn, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func applyMigration(conn *sql.DB, name string) error {
	tx, err := conn.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRow(`SELECT COUNT(*) FROM migrations WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	} else if n != 0 {
		return nil
	}
	buf, err := fs.ReadFile(migrationFS, name)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(string(buf)); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO migrations (name) VALUES (?)`, name); err != nil {
		return err
	}
	return tx.Commit()
}

// Tx wraps a SQL transaction with the time it started, so that every
// timestamp written by one API call is the same.
type Tx struct {
	*sql.Tx
	db    *DB
	write bool
	now   time.Time
}

// stmt returns the transaction's handle on the prepared statement for
// query, if Open prepared one (see prepared).
func (tx *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	s, ok := tx.db.stmts.Load(stmtKey{tx.write, query})
	if !ok {
		return nil
	}
	return tx.StmtContext(ctx, s.(*sql.Stmt))
}

// ExecContext runs a statement through the statement cache.
func (tx *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := tx.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs a query through the statement cache.
func (tx *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := tx.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a single-row query through the statement cache.
func (tx *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := tx.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

// BeginTx starts a transaction: a write transaction (which takes SQLite's
// write lock at once) unless opts marks it read-only.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	pool, write := db.write, true
	if opts != nil && opts.ReadOnly {
		pool, write = db.read, false
		opts = nil // the read pool is query_only already
	}
	tx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, db: db, write: write, now: db.Now().UTC()}, nil
}

// query runs one read-only statement outside any transaction: a single
// statement reads a consistent snapshot on its own, and skipping BEGIN and
// COMMIT halves the work of a small read.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s, ok := db.stmts.Load(stmtKey{false, query}); ok {
		return s.(*sql.Stmt).QueryContext(ctx, args...)
	}
	return db.read.QueryContext(ctx, query, args...)
}

func (db *DB) beginRead(ctx context.Context) (*Tx, error) {
	return db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
}

// isConstraint reports whether err is a SQLite constraint violation of the
// given extended code (for example SQLITE_CONSTRAINT_UNIQUE).
func isConstraint(err error, code int) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == code
}

var errUnique = sqlite3.SQLITE_CONSTRAINT_UNIQUE
