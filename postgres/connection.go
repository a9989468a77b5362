package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sqlrows"
)

// ConnectionService stores connections in PostgreSQL.
type ConnectionService struct {
	db *DB
}

var _ openrunner.ConnectionService = (*ConnectionService)(nil)

// NewConnectionService returns a ConnectionService on db.
func NewConnectionService(db *DB) *ConnectionService {
	return &ConnectionService{db: db}
}

// CreateConnection implements openrunner.ConnectionService. It is one
// statement (qCreateConnection), committed on its own, and takes no write
// lock: the quota is the usage row's, which the statement locks, and the
// name's uniqueness is the table's constraint. So creates in different
// Scopes commit together (PostgreSQL flushes their commits at once), and
// one create costs a single round trip.
func (s *ConnectionService) CreateConnection(ctx context.Context, c *openrunner.Connection, tags []openrunner.Tag) error {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return err
	}
	// Later values of a repeated key win, as successive upserts would.
	keys, values, index := []string{}, []string{}, map[string]int{}
	for _, t := range tags {
		if i, ok := index[t.Key]; ok {
			values[i] = t.Value
			continue
		}
		index[t.Key] = len(keys)
		keys, values = append(keys, t.Key), append(values, t.Value)
	}
	if len(keys) > openrunner.MaxTagsPerResource {
		return openrunner.Errorf(openrunner.EINVALID,
			"A resource can have at most %d tags; this request would give it %d.", openrunner.MaxTagsPerResource, len(keys))
	}
	next := *c
	next.Scope = scope
	next.ID = openrunner.NewID()
	next.Status = openrunner.ConnectionPendingHandshake
	next.CreatedAt = s.db.Now().UTC()
	max := s.db.Quotas.Connections
	var seq sql.NullInt64
	err = s.db.pool.QueryRowContext(ctx, qCreateConnection, scope.AccountID, scope.Region, openrunner.ResourceConnection, max,
		next.ARN(), next.ID, next.Name, next.ProviderType, next.Status, next.CreatedAt.UnixNano(), keys, values).Scan(&seq)
	switch {
	case isConstraint(err, "connections_name_unique"):
		return openrunner.Errorf(openrunner.ECONFLICT,
			"A connection named '%s' already exists in this account and Region. Connection names must be unique.", c.Name)
	case err != nil:
		return err
	case !seq.Valid:
		return openrunner.Errorf(openrunner.EQUOTA,
			"You have reached the maximum number of connections (%d) for this account in this Region. Delete a connection you no longer need, or raise the quota.", max)
	}
	next.Seq = seq.Int64
	*c = next
	return nil
}

// qCreateConnection's arguments: account, Region, usage kind, quota, ARN,
// id, name, provider, status, created_at, tag keys, tag values. The usage
// count goes up only below the quota (u is then empty and nothing is
// inserted); a taken name fails the statement, which undoes the count.
const qCreateConnection = `
	WITH u AS (
		INSERT INTO usage (account_id, region, kind, n) VALUES ($1, $2, $3, 1)
		ON CONFLICT (account_id, region, kind) DO UPDATE SET n = usage.n + 1 WHERE usage.n < $4::INTEGER
		RETURNING n
	), r AS (
		INSERT INTO resources (arn, account_id, region, type) SELECT $5, $1, $2, $3 FROM u WHERE u.n <= $4::INTEGER
		RETURNING arn
	), t AS (
		INSERT INTO tags (resource_arn, key, value) SELECT r.arn, k.key, k.value FROM r,
			unnest($11::TEXT[], $12::TEXT[]) AS k (key, value)
	), c AS (
		INSERT INTO connections (id, arn, account_id, region, name, provider_type, status, created_at)
		SELECT $6, r.arn, $1, $2, $7, $8, $9, $10 FROM r
		RETURNING seq
	)
	SELECT (SELECT seq FROM c)`

// FindConnections implements openrunner.ConnectionService. Identical
// listings at once share their reads (see coalescer).
func (s *ConnectionService) FindConnections(ctx context.Context, f openrunner.ConnectionFilter) (openrunner.ConnectionPage, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return openrunner.ConnectionPage{}, err
	}
	key := connListing{scope: scope, after: f.After, limit: f.Limit}
	if f.Name != nil {
		key.name, key.byName = *f.Name, true
	}
	return s.db.connListings.do(ctx, key, func(ctx context.Context) (openrunner.ConnectionPage, error) {
		return s.findConnections(ctx, scope, f)
	})
}

// connListing is what one FindConnections lists.
type connListing struct {
	scope  openrunner.Scope
	name   string
	byName bool
	after  int64
	limit  int
}

func (s *ConnectionService) findConnections(ctx context.Context, scope openrunner.Scope, f openrunner.ConnectionFilter) (openrunner.ConnectionPage, error) {
	var name any // NULL: every name
	if f.Name != nil {
		name = *f.Name
	}
	rows, err := s.db.query(ctx, qListConnections, scope.AccountID, scope.Region, f.After, name, queryLimit(f.Limit))
	if err != nil {
		return openrunner.ConnectionPage{}, err
	}
	defer rows.Close()
	var page openrunner.ConnectionPage
	for rows.Next() {
		c, err := scanConnection(rows, scope)
		if err != nil {
			return openrunner.ConnectionPage{}, err
		}
		page.Connections = append(page.Connections, c)
	}
	if err := rows.Err(); err != nil {
		return openrunner.ConnectionPage{}, err
	}
	page.Connections, page.Next = sqlrows.Page(page.Connections, f.Limit, func(c *openrunner.Connection) int64 { return c.Seq })
	return page, nil
}

// FindConnectionByARN implements openrunner.ConnectionService.
func (s *ConnectionService) FindConnectionByARN(ctx context.Context, arn string) (*openrunner.Connection, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return findConnectionByARN(ctx, tx, scope, arn)
}

func findConnectionByARN(ctx context.Context, tx *Tx, scope openrunner.Scope, arn string) (*openrunner.Connection, error) {
	row := tx.QueryRowContext(ctx, qFindConnection, arn, scope.AccountID, scope.Region)
	c, err := scanConnection(row, scope)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "No connection found for the ARN: %s", arn)
	}
	return c, err
}

// UpdateConnection implements openrunner.ConnectionService.
func (s *ConnectionService) UpdateConnection(ctx context.Context, arn string, upd openrunner.ConnectionUpdate) (*openrunner.Connection, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	c, err := findConnectionByARN(ctx, tx, scope, arn)
	if err != nil {
		return nil, err
	}
	if upd.Status != nil {
		c.Status = *upd.Status
	}
	if upd.StatusMessage != nil {
		c.StatusMessage = *upd.StatusMessage
	}
	if upd.ProviderAccount != nil {
		c.ProviderAccount = *upd.ProviderAccount
	}
	if _, err := tx.ExecContext(ctx, qUpdateConnection, c.Status, c.StatusMessage, c.ProviderAccount, c.Seq); err != nil {
		return nil, err
	}
	switch {
	case upd.ClearSecret:
		if _, err := tx.ExecContext(ctx, `DELETE FROM connection_secrets WHERE connection_seq = ?`, c.Seq); err != nil {
			return nil, err
		}
	case upd.Secret != nil:
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO connection_secrets (connection_seq, sealed) VALUES (?, ?)
			ON CONFLICT (connection_seq) DO UPDATE SET sealed = excluded.sealed`, c.Seq, upd.Secret); err != nil {
			return nil, err
		}
	}
	return c, tx.Commit()
}

// FindConnectionSecret implements openrunner.ConnectionService.
func (s *ConnectionService) FindConnectionSecret(ctx context.Context, arn string) ([]byte, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var sealed []byte
	err = tx.QueryRowContext(ctx, `
		SELECT s.sealed FROM connection_secrets s JOIN connections c ON c.seq = s.connection_seq
		WHERE c.arn = ? AND c.account_id = ? AND c.region = ?`, arn, scope.AccountID, scope.Region).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "The connection %s holds no provider credential.", arn)
	}
	return sealed, err
}

// DeleteConnection implements openrunner.ConnectionService.
func (s *ConnectionService) DeleteConnection(ctx context.Context, arn string) (*openrunner.Connection, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	c, err := findConnectionByARN(ctx, tx, scope, arn)
	if err != nil {
		return nil, err
	}
	// Deleting the resource row cascades to the connection and its tags.
	if err := deleteResource(ctx, tx, arn); err != nil {
		return nil, err
	}
	if _, err := addUsage(ctx, tx, scope, openrunner.ResourceConnection, -1); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	c.Status = openrunner.ConnectionDeleted
	return c, nil
}

type scanner = sqlrows.Scanner

func scanConnection(row scanner, scope openrunner.Scope) (*openrunner.Connection, error) {
	c := &openrunner.Connection{Scope: scope}
	var created int64
	if err := row.Scan(&c.Seq, &c.ID, &c.Name, &c.ProviderType, &c.Status, &c.StatusMessage, &c.ProviderAccount, &created); err != nil {
		return nil, err
	}
	c.CreatedAt = time.Unix(0, created).UTC()
	return c, nil
}

const (
	connectionColumns = `seq, id, name, provider_type, status, status_message, provider_account, created_at`

	qInsertConnection = `
		INSERT INTO connections (id, arn, account_id, region, name, provider_type, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
	qListConnections = `SELECT ` + connectionColumns + ` FROM connections
		WHERE account_id = ?1 AND region = ?2 AND seq > ?3 AND (?4::TEXT IS NULL OR name = ?4) ORDER BY seq LIMIT ?5`
	qFindConnection   = `SELECT ` + connectionColumns + ` FROM connections WHERE arn = ? AND account_id = ? AND region = ?`
	qUpdateConnection = `UPDATE connections SET status = ?, status_message = ?, provider_account = ? WHERE seq = ?`
)
