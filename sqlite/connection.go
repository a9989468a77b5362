package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sqlrows"
)

// ConnectionService stores connections in SQLite.
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
	res, err := tx.ExecContext(ctx, qInsertConnection,
		c.ID, c.ARN(), scope.AccountID, scope.Region, c.Name, c.ProviderType, c.Status, c.CreatedAt.UnixNano())
	if isConstraint(err, errUnique) {
		return openrunner.Errorf(openrunner.ECONFLICT,
			"A connection named '%s' already exists in this account and Region. Connection names must be unique.", c.Name)
	} else if err != nil {
		return err
	}
	if c.Seq, err = res.LastInsertId(); err != nil {
		return err
	}
	defer s.db.conns.invalidate()
	return tx.Commit()
}

// FindConnections implements openrunner.ConnectionService. Listings are
// served from a cache of each Scope's connections (see connCache).
func (s *ConnectionService) FindConnections(ctx context.Context, f openrunner.ConnectionFilter) (openrunner.ConnectionPage, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return openrunner.ConnectionPage{}, err
	}
	all, err := s.scopeConnections(ctx, scope)
	if err != nil {
		return openrunner.ConnectionPage{}, err
	}
	var page openrunner.ConnectionPage
	for _, c := range all {
		if c.Seq <= f.After || (f.Name != nil && c.Name != *f.Name) {
			continue
		}
		if f.Limit > 0 && len(page.Connections) == f.Limit {
			page.Next = page.Connections[f.Limit-1].Seq
			break
		}
		cp := *c
		page.Connections = append(page.Connections, &cp)
	}
	return page, nil
}

// scopeConnections returns every connection of scope in creation order,
// from the cache when it is current. The slice and its elements are shared:
// callers copy before handing them out.
func (s *ConnectionService) scopeConnections(ctx context.Context, scope openrunner.Scope) ([]*openrunner.Connection, error) {
	c := &s.db.conns
	gen := c.gen.Load()
	c.mu.RLock()
	e, ok := c.m[scope]
	c.mu.RUnlock()
	if ok && e.gen == gen {
		return e.list, nil
	}

	rows, err := s.db.query(ctx, qListConnections, scope.AccountID, scope.Region, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []*openrunner.Connection
	for rows.Next() {
		c, err := scanConnection(rows, scope)
		if err != nil {
			return nil, err
		}
		list = append(list, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Cache only what was read entirely after the generation observed
	// above: a write that committed meanwhile has bumped it.
	if len(list) <= maxCachedConnections && c.gen.Load() == gen {
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxCachedScopes {
			// Start over rather than grow without bound: Scopes are
			// chosen by callers (any Region name).
			c.m = map[openrunner.Scope]connCacheEntry{}
		}
		c.m[scope] = connCacheEntry{gen: gen, list: list}
		c.mu.Unlock()
	}
	return list, nil
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
	defer s.db.conns.invalidate()
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
	defer s.db.conns.invalidate()
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

// maxCachedConnections bounds the listings connCache keeps per Scope, and
// maxCachedScopes the number of Scopes it keeps.
const (
	maxCachedConnections = 1000
	maxCachedScopes      = 4096
)

// connCache keeps each Scope's connections in memory: ListConnections is the
// hottest call and SQLite would spend most of its time decoding rows. The
// process is the database's only writer (Open locks the data directory), so
// bumping gen after every connection write keeps the cache exact: an entry
// is used only while gen still has the value it was read under.
type connCache struct {
	gen atomic.Uint64
	mu  sync.RWMutex
	m   map[openrunner.Scope]connCacheEntry
}

type connCacheEntry struct {
	gen  uint64
	list []*openrunner.Connection
}

// invalidate runs after every write to connections, committed or not
// (a rolled-back write costs one cache miss, never a stale read).
func (c *connCache) invalidate() { c.gen.Add(1) }

const (
	connectionColumns = `seq, id, name, provider_type, status, status_message, provider_account, created_at`

	qInsertConnection = `
		INSERT INTO connections (id, arn, account_id, region, name, provider_type, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`
	qListConnections = `SELECT ` + connectionColumns + ` FROM connections
		WHERE account_id = ? AND region = ? AND seq > ? ORDER BY seq LIMIT ?`
	qFindConnection   = `SELECT ` + connectionColumns + ` FROM connections WHERE arn = ? AND account_id = ? AND region = ?`
	qUpdateConnection = `UPDATE connections SET status = ?, status_message = ?, provider_account = ? WHERE seq = ?`
)
