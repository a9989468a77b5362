package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openrunner/openrunner"
)

// UpdateServiceState implements openrunner.ServiceService. It finds the
// service by ARN alone, so it works without a Scope in ctx, and for DELETED
// services too. It writes the desired and observed columns only: not the
// service's UpdatedAt, which is the API's UpdatedAt and moves with
// operations, not with the reconciler. It returns the service as stored,
// times in UTC.
//
// apply runs inside the write transaction, which holds the database's only
// write connection: it must be quick and must not write to the store (it
// would wait forever).
func (s *ServiceService) UpdateServiceState(ctx context.Context, arn string, apply func(*openrunner.Service) error) (*openrunner.Service, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	svc, err := scanService(tx.QueryRowContext(ctx, qFindServiceAnyScope, arn))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, serviceNotFound(arn)
	} else if err != nil {
		return nil, err
	}
	seq := svc.Seq // apply may change the service it is given, Seq included
	if err := apply(svc); err != nil {
		return nil, err
	}
	desired, observed, err := marshalState(svc)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, qUpdateServiceState, desired, observed, seq); err != nil {
		return nil, err
	}
	// Read the row back: apply may have changed more than the states, and
	// the caller gets what is stored.
	stored, err := findServiceBySeq(ctx, tx, seq)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return stored, nil
}

// marshalState encodes svc's desired and observed states as JSON.
//
// DesiredState and ObservedState are stored as encoding/json writes them
// (field names as keys), so renaming one of their fields needs a migration
// that rewrites the stored documents.
func marshalState(svc *openrunner.Service) (desired, observed string, err error) {
	d, err := json.Marshal(svc.Desired)
	if err != nil {
		return "", "", fmt.Errorf("postgres: service %s: desired state: %w", svc.ID, err)
	}
	o, err := json.Marshal(svc.Observed)
	if err != nil {
		return "", "", fmt.Errorf("postgres: service %s: observed state: %w", svc.ID, err)
	}
	return string(d), string(o), nil
}

// unmarshalState decodes the desired and observed columns into svc, with
// every time in UTC.
func unmarshalState(svc *openrunner.Service, desired, observed string) error {
	if err := json.Unmarshal([]byte(desired), &svc.Desired); err != nil {
		return fmt.Errorf("postgres: service %s: desired state: %w", svc.ID, err)
	}
	if err := json.Unmarshal([]byte(observed), &svc.Observed); err != nil {
		return fmt.Errorf("postgres: service %s: observed state: %w", svc.ID, err)
	}
	// JSON keeps the offset, not the Location; every stored time reads
	// back in UTC.
	if r := svc.Desired.Rollout; r != nil {
		r.DeployedAt = r.DeployedAt.UTC()
	}
	svc.Observed.At = svc.Observed.At.UTC()
	return nil
}

const (
	// qFindServiceAnyScope finds a service by ARN in any Scope; ARNs are
	// unique across Scopes.
	qFindServiceAnyScope = `SELECT ` + serviceColumns + ` FROM services s WHERE s.arn = ?`
	qUpdateServiceState  = `UPDATE services SET desired = ?, observed = ? WHERE seq = ?`
)
