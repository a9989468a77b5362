package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/openrunner/openrunner"
)

var _ openrunner.EphemeralService = (*DB)(nil)

// PutEphemeral implements openrunner.EphemeralService. It also sweeps a
// few expired records, so the table stays as small as what is live.
func (db *DB) PutEphemeral(ctx context.Context, kind, key string, value []byte, expires time.Time) error {
	now := db.Now().UnixNano()
	if _, err := db.pool.ExecContext(ctx, `DELETE FROM ephemeral WHERE ctid IN
		(SELECT ctid FROM ephemeral WHERE expires_at <= $1 LIMIT 100)`, now); err != nil {
		return err
	}
	_, err := db.pool.ExecContext(ctx, `INSERT INTO ephemeral (kind, key, value, expires_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`,
		kind, key, value, expires.UnixNano())
	return err
}

// FindEphemeral implements openrunner.EphemeralService.
func (db *DB) FindEphemeral(ctx context.Context, kind, key string) ([]byte, error) {
	return db.ephemeral(ctx, `SELECT value FROM ephemeral WHERE kind = $1 AND key = $2 AND expires_at > $3`, kind, key)
}

// TakeEphemeral implements openrunner.EphemeralService: one DELETE ...
// RETURNING, which only one of concurrent callers sees a row from.
func (db *DB) TakeEphemeral(ctx context.Context, kind, key string) ([]byte, error) {
	return db.ephemeral(ctx, `DELETE FROM ephemeral WHERE kind = $1 AND key = $2 AND expires_at > $3 RETURNING value`, kind, key)
}

// DeleteEphemeral implements openrunner.EphemeralService.
func (db *DB) DeleteEphemeral(ctx context.Context, kind, key string) error {
	_, err := db.pool.ExecContext(ctx, `DELETE FROM ephemeral WHERE kind = $1 AND key = $2`, kind, key)
	return err
}

func (db *DB) ephemeral(ctx context.Context, query, kind, key string) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRowContext(ctx, query, kind, key, db.Now().UnixNano()).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}
