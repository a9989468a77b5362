package postgres

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
)

// BlobService stores named values in PostgreSQL (table blobs).
type BlobService struct {
	db *DB
}

var _ openrunner.BlobService = (*BlobService)(nil)

// NewBlobService returns a BlobService on db.
func NewBlobService(db *DB) *BlobService { return &BlobService{db: db} }

// PutBlob implements openrunner.BlobService.
func (s *BlobService) PutBlob(ctx context.Context, key string, value []byte) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO blobs (key, value, modified_at) VALUES (?, ?, ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, modified_at = excluded.modified_at`,
		key, value, toNanos(tx.now)); err != nil {
		return err
	}
	return tx.Commit()
}

// FindBlob implements openrunner.BlobService.
func (s *BlobService) FindBlob(ctx context.Context, key string) ([]byte, time.Time, error) {
	rows, err := s.db.query(ctx, `SELECT value, modified_at FROM blobs WHERE key = ?`, key)
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, time.Time{}, err
		}
		return nil, time.Time{}, openrunner.Errorf(openrunner.ENOTFOUND, "no blob %s", key)
	}
	var v []byte
	var at int64
	if err := rows.Scan(&v, &at); err != nil {
		return nil, time.Time{}, err
	}
	return v, fromNanos(at), rows.Close()
}

// DeleteBlobs implements openrunner.BlobService.
func (s *BlobService) DeleteBlobs(ctx context.Context, key string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM blobs WHERE key = ? OR starts_with(key, ?)`, key, under(key))
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return openrunner.Errorf(openrunner.ENOTFOUND, "no blob %s", key)
	}
	return tx.Commit()
}

// ListBlobs implements openrunner.BlobService.
func (s *BlobService) ListBlobs(ctx context.Context, prefix string, recursive bool) ([]string, error) {
	lo := under(prefix)
	rows, err := s.db.query(ctx, `SELECT key FROM blobs WHERE starts_with(key, ?) ORDER BY key`, lo)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		if !recursive {
			rest := k[len(lo):]
			if i := strings.IndexByte(rest, '/'); i >= 0 {
				k = lo + rest[:i]
			}
			if len(keys) > 0 && keys[len(keys)-1] == k {
				continue
			}
		}
		keys = append(keys, k)
	}
	return slices.Compact(keys), rows.Err()
}

// FindBlobKey implements openrunner.BlobService.
func (s *BlobService) FindBlobKey(ctx context.Context, key string) (exists, dir bool, err error) {
	var k string
	err = s.db.pool.QueryRowContext(ctx, s.db.rebind(`SELECT key FROM blobs WHERE key = ? OR starts_with(key, ?) ORDER BY key LIMIT 1`), key, under(key)).Scan(&k)
	if errors.Is(err, sql.ErrNoRows) {
		return false, false, nil
	} else if err != nil {
		return false, false, err
	}
	return true, k != key, nil
}

// under returns the prefix of the keys under key: key + "/" ("" for
// every key).
func under(key string) string {
	if key == "" {
		return ""
	}
	return strings.TrimSuffix(key, "/") + "/"
}
