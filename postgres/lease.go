package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/openrunner/openrunner"
)

// LeaseService stores leases in PostgreSQL. Each method is one transaction that
// reads the time once from DB.Now, so servers sharing a database decide by
// the same rule; a lease expires at its expiry time exactly.
type LeaseService struct {
	db *DB
}

var _ openrunner.LeaseService = (*LeaseService)(nil)

// NewLeaseService returns a LeaseService on db.
func NewLeaseService(db *DB) *LeaseService {
	return &LeaseService{db: db}
}

// AcquireLease implements openrunner.LeaseService. ttl must be positive,
// and key and holder must not be empty.
func (s *LeaseService) AcquireLease(ctx context.Context, key, holder string, ttl time.Duration) (bool, error) {
	if ttl <= 0 {
		return false, fmt.Errorf("postgres: AcquireLease(%q): ttl %v is not positive", key, ttl)
	}
	if key == "" || holder == "" {
		return false, errors.New("postgres: AcquireLease: key and holder required")
	}
	// One statement is atomic on its own: it takes no write lock.
	tx, err := s.db.beginLease(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()

	// One statement decides: it inserts a free lease, and updates a taken
	// one only when holder renews it or its holder let it expire. A lease
	// left as it is changes no row.
	res, err := tx.ExecContext(ctx, qAcquireLease, key, holder, toNanos(tx.now.Add(ttl)), toNanos(tx.now))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, err
	}
	if err := tx.Commit(); err != nil {
		return false, err
	}
	return n == 1, nil
}

// ReleaseLease implements openrunner.LeaseService.
func (s *LeaseService) ReleaseLease(ctx context.Context, key, holder string) error {
	tx, err := s.db.beginLease(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, qReleaseLease, key, holder); err != nil {
		return err
	}
	return tx.Commit()
}

// FindLeases implements openrunner.LeaseService. Expires reads back in UTC.
func (s *LeaseService) FindLeases(ctx context.Context, holder string) ([]openrunner.Lease, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, qFindLeases, holder, toNanos(tx.now))
	if err != nil {
		return nil, err
	}
	return scanLeases(rows)
}

// FindLapsedLeases implements openrunner.LeaseService.
func (s *LeaseService) FindLapsedLeases(ctx context.Context, prefix string) ([]openrunner.Lease, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, qFindLapsedLeases, toNanos(tx.now), prefix)
	if err != nil {
		return nil, err
	}
	return scanLeases(rows)
}

const (
	// qFindLapsedLeases's arguments: now, key prefix. substr keeps the
	// prefix literal (LIKE would read % and _ in it).
	qFindLapsedLeases = `SELECT key, holder, expires_at FROM leases
		WHERE expires_at <= ?1 AND substr(key, 1, length(?2::TEXT)) = ?2::TEXT ORDER BY key`
	// qAcquireLease's arguments: key, holder, new expiry, now.
	qAcquireLease = `
		INSERT INTO leases (key, holder, expires_at) VALUES (?1, ?2, ?3)
		ON CONFLICT (key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4`
	qReleaseLease = `DELETE FROM leases WHERE key = ? AND holder = ?`
	qFindLeases   = `SELECT key, holder, expires_at FROM leases
		WHERE holder = ? AND expires_at > ? ORDER BY key`
)

// beginLease begins a transaction of one lease statement, which is atomic
// without the write lock: leases are renewed often and must not wait on
// the API's writes.
func (db *DB) beginLease(ctx context.Context) (*Tx, error) {
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, db: db, now: db.Now().UTC()}, nil
}

// scanLeases reads rows of key, holder, expires_at, and closes them.
func scanLeases(rows *sql.Rows) ([]openrunner.Lease, error) {
	defer rows.Close()
	var out []openrunner.Lease
	for rows.Next() {
		var l openrunner.Lease
		var expires int64
		if err := rows.Scan(&l.Key, &l.Holder, &expires); err != nil {
			return nil, err
		}
		l.Expires = fromNanos(expires)
		out = append(out, l)
	}
	return out, rows.Err()
}
