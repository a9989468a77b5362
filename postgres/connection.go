package postgres

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/openrunner/openrunner"
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

// CreateConnection implements openrunner.ConnectionService.
func (s *ConnectionService) CreateConnection(ctx context.Context, c *openrunner.Connection, tags []openrunner.Tag) error {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if n, err := addUsage(ctx, tx, scope, openrunner.ResourceConnection, 1); err != nil {
		return err
	} else if max := s.db.Quotas.Connections; n > max {
		return openrunner.Errorf(openrunner.EQUOTA,
			"You have reached the maximum number of connections (%d) for this account in this Region. Delete a connection you no longer need, or raise the quota.", max)
	}

	c.Scope = scope
	c.ID = openrunner.NewID()
	c.Status = openrunner.ConnectionPendingHandshake
	c.CreatedAt = tx.now
	if err := insertResource(ctx, tx, c.ARN(), scope, openrunner.ResourceConnection, tags); err != nil {
		return err
	}
	err = tx.QueryRowContext(ctx, qInsertConnection,
		c.ID, c.ARN(), scope.AccountID, scope.Region, c.Name, c.ProviderType, c.Status, c.CreatedAt.UnixNano()).Scan(&c.Seq)
	if isConstraint(err, errUnique) {
		return openrunner.Errorf(openrunner.ECONFLICT,
			"A connection named '%s' already exists in this account and Region. Connection names must be unique.", c.Name)
	} else if err != nil {
		return err
	}
	return tx.Commit()
}

// FindConnections implements openrunner.ConnectionService.
func (s *ConnectionService) FindConnections(ctx context.Context, f openrunner.ConnectionFilter) (openrunner.ConnectionPage, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return openrunner.ConnectionPage{}, err
	}
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
	if f.Limit > 0 && len(page.Connections) > f.Limit {
		page.Connections = page.Connections[:f.Limit]
		page.Next = page.Connections[f.Limit-1].Seq
	}
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

type scanner interface{ Scan(dest ...any) error }

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
