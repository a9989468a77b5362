package postgres

import (
	"context"

	"github.com/openrunner/openrunner"
)

// TagService stores the tags of every taggable resource in PostgreSQL.
type TagService struct {
	db *DB
}

var _ openrunner.TagService = (*TagService)(nil)

// NewTagService returns a TagService on db.
func NewTagService(db *DB) *TagService {
	return &TagService{db: db}
}

// TagResource implements openrunner.TagService.
func (s *TagService) TagResource(ctx context.Context, arn string, tags []openrunner.Tag) error {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := checkResource(ctx, tx, scope, arn); err != nil {
		return err
	}
	if err := putTags(ctx, tx, arn, tags); err != nil {
		return err
	}
	return tx.Commit()
}

// UntagResource implements openrunner.TagService.
func (s *TagService) UntagResource(ctx context.Context, arn string, keys []string) error {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := checkResource(ctx, tx, scope, arn); err != nil {
		return err
	}
	for _, k := range keys {
		if _, err := tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_arn = ? AND key = ?`, arn, k); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// ListTags implements openrunner.TagService.
func (s *TagService) ListTags(ctx context.Context, arn string) ([]openrunner.Tag, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	if err := checkResource(ctx, tx, scope, arn); err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, qListTags, arn)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tags := []openrunner.Tag{}
	for rows.Next() {
		var t openrunner.Tag
		if err := rows.Scan(&t.Key, &t.Value); err != nil {
			return nil, err
		}
		tags = append(tags, t)
	}
	return tags, rows.Err()
}

// insertResource registers a new taggable resource and its initial tags.
func insertResource(ctx context.Context, tx *Tx, arn string, scope openrunner.Scope, typ string, tags []openrunner.Tag) error {
	if _, err := tx.ExecContext(ctx, qInsertResource,
		arn, scope.AccountID, scope.Region, typ); err != nil {
		return err
	}
	return putTags(ctx, tx, arn, tags)
}

// deleteResource removes a resource; its tags and its typed row cascade.
func deleteResource(ctx context.Context, tx *Tx, arn string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE arn = ?`, arn)
	return err
}

// checkResource returns ENOTFOUND unless a live resource with that ARN
// exists in scope.
func checkResource(ctx context.Context, tx *Tx, scope openrunner.Scope, arn string) error {
	var n int
	if err := tx.QueryRowContext(ctx, qCheckResource, arn, scope.AccountID, scope.Region).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return openrunner.Errorf(openrunner.ENOTFOUND, "No resource found for the ARN: %s", arn)
	}
	return nil
}

// putTags upserts tags, then enforces the per-resource limit so that the
// check counts what the resource would really carry.
func putTags(ctx context.Context, tx *Tx, arn string, tags []openrunner.Tag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, qUpsertTag, arn, t.Key, t.Value); err != nil {
			return err
		}
	}
	if len(tags) == 0 {
		return nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, qCountTags, arn).Scan(&n); err != nil {
		return err
	}
	if n > openrunner.MaxTagsPerResource {
		return openrunner.Errorf(openrunner.EINVALID,
			"A resource can have at most %d tags; this request would give it %d.", openrunner.MaxTagsPerResource, n)
	}
	return nil
}

const (
	qInsertResource = `INSERT INTO resources (arn, account_id, region, type) VALUES (?, ?, ?, ?)`
	qCheckResource  = `SELECT COUNT(*) FROM resources WHERE arn = ? AND account_id = ? AND region = ?`
	qUpsertTag      = `
		INSERT INTO tags (resource_arn, key, value) VALUES (?, ?, ?)
		ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value`
	qCountTags = `SELECT COUNT(*) FROM tags WHERE resource_arn = ?`
	qListTags  = `SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY key`
)
