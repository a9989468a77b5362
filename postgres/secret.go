package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"

	"github.com/openrunner/openrunner"
)

// SecretService stores the embedded Secrets Manager's secrets in PostgreSQL,
// one row per secret with the secret as JSON. Values arrive sealed.
type SecretService struct {
	db *DB
}

var _ openrunner.SecretService = (*SecretService)(nil)

// NewSecretService returns a SecretService on db.
func NewSecretService(db *DB) *SecretService { return &SecretService{db: db} }

// inScope runs fn in one transaction (read-only unless write) with the
// caller's Scope, committing it if fn succeeds.
func inScope[T any](ctx context.Context, db *DB, write bool, fn func(*Tx, openrunner.Scope) (T, error)) (T, error) {
	var zero T
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return zero, err
	}
	var tx *Tx
	if write {
		tx, err = db.BeginTx(ctx, nil)
	} else {
		tx, err = db.beginRead(ctx)
	}
	if err != nil {
		return zero, err
	}
	defer tx.Rollback()
	v, err := fn(tx, scope)
	if err != nil {
		return zero, err
	}
	return v, tx.Commit()
}

// secretWhere selects a secret of a Scope by ARN or by name.
const secretWhere = ` WHERE account_id = ? AND region = ? AND (arn = ? OR (name = ? AND NOT starts_with(?::TEXT, 'arn:')))`

// CreateSecret implements openrunner.SecretService.
func (s *SecretService) CreateSecret(ctx context.Context, sec *openrunner.Secret) error {
	doc, err := json.Marshal(sec)
	if err != nil {
		return err
	}
	_, err = inScope(ctx, s.db, true, func(tx *Tx, scope openrunner.Scope) (struct{}, error) {
		_, err := tx.ExecContext(ctx, `INSERT INTO secrets (arn, account_id, region, name, doc) VALUES (?, ?, ?, ?, ?)`,
			sec.ARN, scope.AccountID, scope.Region, sec.Name, string(doc))
		if isConstraint(err, errUnique) {
			return struct{}{}, openrunner.Errorf(openrunner.ECONFLICT, "A secret named %s already exists.", sec.Name)
		}
		return struct{}{}, err
	})
	return err
}

// FindSecret implements openrunner.SecretService.
func (s *SecretService) FindSecret(ctx context.Context, id string) (*openrunner.Secret, error) {
	return inScope(ctx, s.db, false, func(tx *Tx, scope openrunner.Scope) (*openrunner.Secret, error) {
		return findSecret(ctx, tx, scope, id)
	})
}

func findSecret(ctx context.Context, tx *Tx, scope openrunner.Scope, id string) (*openrunner.Secret, error) {
	var doc string
	err := tx.QueryRowContext(ctx, `SELECT doc FROM secrets`+secretWhere, scope.AccountID, scope.Region, id, id, id).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "Secrets Manager can't find the specified secret.")
	}
	if err != nil {
		return nil, err
	}
	sec := new(openrunner.Secret)
	if err := json.Unmarshal([]byte(doc), sec); err != nil {
		return nil, err
	}
	return sec, nil
}

// FindSecrets implements openrunner.SecretService.
func (s *SecretService) FindSecrets(ctx context.Context) ([]*openrunner.Secret, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, `SELECT doc FROM secrets WHERE account_id = ? AND region = ? ORDER BY name`, scope.AccountID, scope.Region)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*openrunner.Secret
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		sec := new(openrunner.Secret)
		if err := json.Unmarshal([]byte(doc), sec); err != nil {
			return nil, err
		}
		out = append(out, sec)
	}
	return out, rows.Err()
}

// UpdateSecret implements openrunner.SecretService.
func (s *SecretService) UpdateSecret(ctx context.Context, id string, fn func(*openrunner.Secret) error) (*openrunner.Secret, error) {
	return inScope(ctx, s.db, true, func(tx *Tx, scope openrunner.Scope) (*openrunner.Secret, error) {
		sec, err := findSecret(ctx, tx, scope, id)
		if err != nil {
			return nil, err
		}
		arn, name := sec.ARN, sec.Name
		if err := fn(sec); err != nil {
			return nil, err
		}
		sec.ARN, sec.Name = arn, name
		doc, err := json.Marshal(sec)
		if err != nil {
			return nil, err
		}
		_, err = tx.ExecContext(ctx, `UPDATE secrets SET doc = ? WHERE arn = ?`, string(doc), arn)
		return sec, err
	})
}

// DeleteSecret implements openrunner.SecretService.
func (s *SecretService) DeleteSecret(ctx context.Context, id string) error {
	return deleteOne(ctx, s.db, `DELETE FROM secrets`+secretWhere, []any{id, id, id},
		openrunner.Errorf(openrunner.ENOTFOUND, "Secrets Manager can't find the specified secret."))
}

// deleteOne runs a DELETE whose arguments are the caller's account and
// Region then args, in one transaction; notFound is its error when it
// deletes nothing.
func deleteOne(ctx context.Context, db *DB, query string, args []any, notFound error) error {
	_, err := inScope(ctx, db, true, func(tx *Tx, scope openrunner.Scope) (struct{}, error) {
		res, err := tx.ExecContext(ctx, query, append([]any{scope.AccountID, scope.Region}, args...)...)
		if err != nil {
			return struct{}{}, err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, notFound
		}
		return struct{}{}, nil
	})
	return err
}

// ParameterService stores the embedded Parameter Store's parameters in
// SQLite, one row per parameter with its versions as JSON. Values arrive
// sealed.
type ParameterService struct {
	db *DB
}

var _ openrunner.ParameterService = (*ParameterService)(nil)

// NewParameterService returns a ParameterService on db.
func NewParameterService(db *DB) *ParameterService { return &ParameterService{db: db} }

// PutParameter implements openrunner.ParameterService.
func (s *ParameterService) PutParameter(ctx context.Context, name string, fn func(*openrunner.Parameter) (*openrunner.Parameter, error)) (*openrunner.Parameter, error) {
	return inScope(ctx, s.db, true, func(tx *Tx, scope openrunner.Scope) (*openrunner.Parameter, error) {
		old, err := findParameter(ctx, tx, scope, name)
		if openrunner.ErrorCode(err) == openrunner.ENOTFOUND {
			old, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		p, err := fn(old)
		if err != nil {
			return nil, err
		}
		p.Name = name
		doc, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO parameters (account_id, region, name, doc) VALUES (?, ?, ?, ?)
			ON CONFLICT (account_id, region, name) DO UPDATE SET doc = excluded.doc`,
			scope.AccountID, scope.Region, name, string(doc))
		return p, err
	})
}

// FindParameter implements openrunner.ParameterService.
func (s *ParameterService) FindParameter(ctx context.Context, name string) (*openrunner.Parameter, error) {
	return inScope(ctx, s.db, false, func(tx *Tx, scope openrunner.Scope) (*openrunner.Parameter, error) {
		return findParameter(ctx, tx, scope, name)
	})
}

func findParameter(ctx context.Context, tx *Tx, scope openrunner.Scope, name string) (*openrunner.Parameter, error) {
	var doc string
	err := tx.QueryRowContext(ctx, `SELECT doc FROM parameters WHERE account_id = ? AND region = ? AND name = ?`,
		scope.AccountID, scope.Region, name).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "Parameter %s not found.", name)
	}
	if err != nil {
		return nil, err
	}
	p := new(openrunner.Parameter)
	if err := json.Unmarshal([]byte(doc), p); err != nil {
		return nil, err
	}
	return p, nil
}

// FindParameters implements openrunner.ParameterService.
func (s *ParameterService) FindParameters(ctx context.Context, prefix string) ([]*openrunner.Parameter, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	// The prefix is matched in Go: LIKE would treat _ and % in it as
	// wildcards. The range condition still narrows the scan.
	rows, err := s.db.query(ctx, `SELECT name, doc FROM parameters WHERE account_id = ? AND region = ? AND name >= ? ORDER BY name`,
		scope.AccountID, scope.Region, prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*openrunner.Parameter
	for rows.Next() {
		var name, doc string
		if err := rows.Scan(&name, &doc); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(name, prefix) {
			break
		}
		p := new(openrunner.Parameter)
		if err := json.Unmarshal([]byte(doc), p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeleteParameter implements openrunner.ParameterService.
func (s *ParameterService) DeleteParameter(ctx context.Context, name string) error {
	return deleteOne(ctx, s.db, `DELETE FROM parameters WHERE account_id = ? AND region = ? AND name = ?`, []any{name},
		openrunner.Errorf(openrunner.ENOTFOUND, "Parameter %s not found.", name))
}
