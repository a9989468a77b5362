package postgres

import (
	"context"
	"database/sql"
	"errors"
)

// Meta returns the value stored under key, or nil if there is none.
func (db *DB) Meta(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return v, err
}

// SetMeta stores value under key.
func (db *DB) SetMeta(ctx context.Context, key string, value []byte) error {
	_, err := db.pool.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// AddMeta stores value under key unless a value is there already, and
// returns the value stored.
func (db *DB) AddMeta(ctx context.Context, key string, value []byte) ([]byte, error) {
	var v []byte
	err := db.pool.QueryRowContext(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET value = meta.value RETURNING value`, key, value).Scan(&v)
	return v, err
}
