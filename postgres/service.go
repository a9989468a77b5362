package postgres

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sqlrows"
)

// ServiceService stores services and their operations in PostgreSQL.
//
// A DELETED service keeps its row, its operations and its resources row
// until it is purged (by deleting its resources row, which cascades), so
// DescribeService and ListOperations keep answering for it. Its tags stay
// too: TagService lists (and changes) them like any other resource's until
// the purge. Whether the API lets callers tag a DELETED service is the API
// layer's decision, not the store's.
type ServiceService struct {
	db *DB

	// urlPrefix returns a candidate URLPrefix for a new service. Tests
	// replace it to force collisions.
	urlPrefix func() string
}

var _ openrunner.ServiceService = (*ServiceService)(nil)

// NewServiceService returns a ServiceService on db.
func NewServiceService(db *DB) *ServiceService {
	return &ServiceService{db: db, urlPrefix: newURLPrefix}
}

// maxURLPrefixAttempts bounds how often CreateService draws a new URL prefix
// after a collision. With 36^10 prefixes even the second draw is rare.
const maxURLPrefixAttempts = 8

// CreateService implements openrunner.ServiceService. It sets op.Type to
// CREATE_SERVICE. A non-empty svc.AutoScalingConfigurationARN must be the
// full ARN of an active auto scaling configuration revision of the Scope
// (EINVALID otherwise); StartOperation checks the same when apply changes it.
func (s *ServiceService) CreateService(ctx context.Context, svc *openrunner.Service, op *openrunner.Operation, tags []openrunner.Tag) error {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	// The count goes up before the insert so that the quota check and the
	// insert are one step for concurrent creates; a failure rolls it back.
	if n, err := addUsage(ctx, tx, scope, openrunner.ResourceService, 1); err != nil {
		return err
	} else if max := s.db.Quotas.Services; n > max {
		return openrunner.Errorf(openrunner.EQUOTA,
			"You have reached the maximum number of services (%d) for this account in this Region. Delete a service you no longer need, or raise the quota.", max)
	}

	// The configuration is checked under the write lock, so it cannot be
	// deleted between the check and the insert.
	if err := checkServiceASC(ctx, tx, scope, svc.AutoScalingConfigurationARN); err != nil {
		return err
	}
	if err := checkServiceObservability(ctx, tx, scope, svc.Config.Observability); err != nil {
		return err
	}
	svc.Scope = scope
	svc.ID = openrunner.NewID()
	svc.Status = openrunner.ServiceOperationInProgress
	svc.CreatedAt, svc.UpdatedAt, svc.DeletedAt = tx.now, tx.now, time.Time{}
	if err := insertResource(ctx, tx, svc.ARN(), scope, openrunner.ResourceService, tags); err != nil {
		return err
	}
	if err := s.insertService(ctx, tx, svc); err != nil {
		return err
	}
	op.Type = openrunner.OperationCreateService
	if err := insertOperation(ctx, tx, svc, op); err != nil {
		return err
	}
	return tx.Commit()
}

// insertService inserts svc with a fresh URL prefix, drawing another one
// when the prefix is taken, and sets svc.URLPrefix and svc.Seq.
func (s *ServiceService) insertService(ctx context.Context, tx *Tx, svc *openrunner.Service) error {
	config, err := json.Marshal(svc.Config)
	if err != nil {
		return err
	}
	active, err := marshalRevision(svc.Active)
	if err != nil {
		return err
	}
	desired, observed, err := marshalState(svc)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		prefix := s.urlPrefix()
		// A failed statement aborts a PostgreSQL transaction: a savepoint
		// keeps it usable, so a taken prefix can be drawn again.
		if _, err := tx.ExecContext(ctx, `SAVEPOINT insert_service`); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, qInsertService,
			svc.ID, svc.ARN(), svc.Scope.AccountID, svc.Scope.Region, svc.Name, svc.Status, prefix,
			toNanos(svc.CreatedAt), toNanos(svc.UpdatedAt), toNanos(svc.DeletedAt),
			string(config), active, svc.AutoScalingConfigurationARN, svc.KMSKey, desired, observed).Scan(&svc.Seq)
		switch {
		case isConstraint(err, "services_url_prefix_key"):
			if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT insert_service`); rerr != nil {
				return rerr
			}
			if attempt < maxURLPrefixAttempts {
				continue
			}
			return fmt.Errorf("postgres: no free URL prefix after %d attempts: %w", attempt, err)
		case isConstraint(err, errUnique):
			// The only other unique key a new service can hit is
			// services_live_name: ids and ARNs are fresh.
			return openrunner.Errorf(openrunner.ECONFLICT,
				"A service named '%s' already exists in this account and Region.", svc.Name)
		case err != nil:
			return err
		}
		svc.URLPrefix = prefix
		return nil
	}
}

// FindServiceByARN implements openrunner.ServiceService.
func (s *ServiceService) FindServiceByARN(ctx context.Context, arn string) (*openrunner.Service, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	return s.queryService(ctx, serviceNotFound(arn), qFindService, arn, scope.AccountID, scope.Region)
}

// FindServicesByStatus implements openrunner.ServiceService.
func (s *ServiceService) FindServicesByStatus(ctx context.Context, statuses ...string) ([]*openrunner.Service, error) {
	var out []*openrunner.Service
	for _, st := range statuses {
		rows, err := s.db.query(ctx, qServicesByStatus, st)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			svc, err := scanService(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, svc)
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, func(a, b *openrunner.Service) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// FindServices implements openrunner.ServiceService.
func (s *ServiceService) FindServices(ctx context.Context, f openrunner.ServiceFilter) (openrunner.ServicePage, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return openrunner.ServicePage{}, err
	}
	rows, err := s.db.query(ctx, qListServices, scope.AccountID, scope.Region, f.After, queryLimit(f.Limit))
	if err != nil {
		return openrunner.ServicePage{}, err
	}
	defer rows.Close()
	var page openrunner.ServicePage
	for rows.Next() {
		svc, err := scanService(rows)
		if err != nil {
			return openrunner.ServicePage{}, err
		}
		page.Services = append(page.Services, svc)
	}
	if err := rows.Err(); err != nil {
		return openrunner.ServicePage{}, err
	}
	// queryLimit asked for one row more than a page: its presence is what
	// announces a next page, so an exact last page announces none.
	page.Services, page.Next = sqlrows.Page(page.Services, f.Limit, func(c *openrunner.Service) int64 { return c.Seq })
	return page, nil
}

// StartOperation implements openrunner.ServiceService. apply runs inside the
// write transaction, which holds the database's only write connection: it
// must be quick and must not write to the store (it would wait forever).
func (s *ServiceService) StartOperation(ctx context.Context, arn string, op *openrunner.Operation, apply func(*openrunner.Service) error) (*openrunner.Service, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()

	svc, err := findServiceByARN(ctx, tx, scope, arn)
	if err != nil {
		return nil, err
	}
	if svc.Status == openrunner.ServiceDeleted {
		return nil, serviceNotFound(arn)
	}
	// apply sees the service as stored and decides under the write lock,
	// so no other operation can start between its check and the insert.
	asc := svc.AutoScalingConfigurationARN
	if err := apply(svc); err != nil {
		return nil, err
	}
	if svc.AutoScalingConfigurationARN != asc {
		if err := checkServiceASC(ctx, tx, scope, svc.AutoScalingConfigurationARN); err != nil {
			return nil, err
		}
	}
	if err := checkOperationObservability(ctx, tx, svc, op); err != nil {
		return nil, err
	}
	svc.Status = openrunner.ServiceOperationInProgress
	svc.UpdatedAt = tx.now
	svc.DeletedAt = time.Time{}
	if err := updateService(ctx, tx, svc); err != nil {
		return nil, err
	}
	if err := insertOperation(ctx, tx, svc, op); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return svc, nil
}

// UpdateOperation implements openrunner.ServiceService. It sets
// op.UpdatedAt. A final status is FinishOperation's to write, so UpdateOperation
// refuses one, and it returns EINVALIDSTATE for an operation that has
// already finished and ENOTFOUND for an unknown one.
func (s *ServiceService) UpdateOperation(ctx context.Context, op *openrunner.Operation) error {
	if op.Finished() {
		return fmt.Errorf("postgres: UpdateOperation with final status %s; use FinishOperation", op.Status)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	res, err := tx.ExecContext(ctx, qUpdateOperation, op.Status, op.Step, op.Message, op.CommitID, toNanos(tx.now), op.ID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		// Nothing matched: say whether the operation is missing or over.
		if _, _, err := findOperation(ctx, tx, op.ID); err != nil {
			return err
		}
		return operationFinished(op.ID)
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	op.UpdatedAt = tx.now
	return nil
}

// FinishOperation implements openrunner.ServiceService. It writes op's
// Status, Step and Message and the service's Status, Config, Active,
// AutoScalingConfigurationARN, KMSKey, Desired and Observed; it sets
// op.UpdatedAt, op.EndedAt, svc.UpdatedAt and svc.DeletedAt (the time the
// service became DELETED, zero for any other status). The service is the operation's, and svc must
// be that service (same ID). It refuses a status of op that is not final,
// returns ENOTFOUND for an unknown operation and EINVALIDSTATE for one that
// has already finished or when svc would leave the DELETED status.
func (s *ServiceService) FinishOperation(ctx context.Context, op *openrunner.Operation, svc *openrunner.Service) error {
	if !op.Finished() {
		return fmt.Errorf("postgres: FinishOperation with status %s, which is not final", op.Status)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	cur, serviceSeq, err := findOperation(ctx, tx, op.ID)
	if err != nil {
		return err
	}
	if cur.Finished() {
		return operationFinished(op.ID)
	}
	stored, err := findServiceBySeq(ctx, tx, serviceSeq)
	if err != nil {
		return err
	}
	if svc.ID != stored.ID {
		return fmt.Errorf("postgres: FinishOperation: operation %s belongs to service %s, not %s", op.ID, stored.ID, svc.ID)
	}

	deletedAt := time.Time{}
	switch {
	case stored.Status == openrunner.ServiceDeleted && svc.Status != openrunner.ServiceDeleted:
		// A DELETED service may share its name with a live one, and has
		// left the quota: it cannot come back.
		return openrunner.Errorf(openrunner.EINVALIDSTATE, "The service %s has been deleted.", stored.ARN())
	case stored.Status == openrunner.ServiceDeleted:
		deletedAt = stored.DeletedAt
	case svc.Status == openrunner.ServiceDeleted:
		// The service leaves the quota exactly once, on this transition.
		if _, err := addUsage(ctx, tx, stored.Scope, openrunner.ResourceService, -1); err != nil {
			return err
		}
		deletedAt = tx.now
	}
	// Write a copy so that svc is changed only once the commit succeeded.
	next := *svc
	next.Seq = stored.Seq
	next.UpdatedAt = tx.now
	next.DeletedAt = deletedAt
	if err := updateService(ctx, tx, &next); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, qFinishOperation,
		op.Status, op.Step, op.Message, op.CommitID, toNanos(tx.now), toNanos(tx.now), cur.Seq); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	svc.UpdatedAt, svc.DeletedAt = next.UpdatedAt, next.DeletedAt
	op.UpdatedAt, op.EndedAt = tx.now, tx.now
	return nil
}

// FindOperations implements openrunner.ServiceService. The operations of a
// DELETED service are listed too.
func (s *ServiceService) FindOperations(ctx context.Context, serviceARN string, f openrunner.OperationFilter) (openrunner.OperationPage, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return openrunner.OperationPage{}, err
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return openrunner.OperationPage{}, err
	}
	defer tx.Rollback()

	svc, err := findServiceByARN(ctx, tx, scope, serviceARN)
	if err != nil {
		return openrunner.OperationPage{}, err
	}
	before := f.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := tx.QueryContext(ctx, qListOperations, svc.Seq, before, queryLimit(f.Limit))
	if err != nil {
		return openrunner.OperationPage{}, err
	}
	defer rows.Close()
	var page openrunner.OperationPage
	for rows.Next() {
		op, err := scanOperation(rows)
		if err != nil {
			return openrunner.OperationPage{}, err
		}
		page.Operations = append(page.Operations, op)
	}
	if err := rows.Err(); err != nil {
		return openrunner.OperationPage{}, err
	}
	page.Operations, page.Next = sqlrows.Page(page.Operations, f.Limit, func(c *openrunner.Operation) int64 { return c.Seq })
	return page, nil
}

// UnfinishedOperations implements openrunner.ServiceService. Each
// operation's ServiceARN names its service.
func (s *ServiceService) UnfinishedOperations(ctx context.Context) ([]*openrunner.Operation, error) {
	rows, err := s.db.query(ctx, qUnfinishedOperations)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ops []*openrunner.Operation
	for rows.Next() {
		op, err := scanOperation(rows)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op)
	}
	return ops, rows.Err()
}

// FindServiceForOperation implements openrunner.ServiceService. It looks the
// operation up by op.ID.
func (s *ServiceService) FindServiceForOperation(ctx context.Context, op *openrunner.Operation) (*openrunner.Service, error) {
	return s.queryService(ctx,
		openrunner.Errorf(openrunner.ENOTFOUND, "No service found for the operation: %s", op.ID),
		qFindServiceForOperation, op.ID)
}

// queryService runs a query for at most one service outside a transaction
// (see DB.query) and returns notFound when there is none.
func (s *ServiceService) queryService(ctx context.Context, notFound error, query string, args ...any) (*openrunner.Service, error) {
	rows, err := s.db.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, notFound
	}
	svc, err := scanService(rows)
	if err != nil {
		return nil, err
	}
	return svc, rows.Close()
}

// findServiceByARN returns the service with that ARN in scope, DELETED
// ones included.
func findServiceByARN(ctx context.Context, tx *Tx, scope openrunner.Scope, arn string) (*openrunner.Service, error) {
	svc, err := scanService(tx.QueryRowContext(ctx, qFindService, arn, scope.AccountID, scope.Region))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, serviceNotFound(arn)
	}
	return svc, err
}

// findServiceBySeq returns the service at that position, in any Scope.
func findServiceBySeq(ctx context.Context, tx *Tx, seq int64) (*openrunner.Service, error) {
	svc, err := scanService(tx.QueryRowContext(ctx, qFindServiceBySeq, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("postgres: no service at seq %d", seq)
	}
	return svc, err
}

// updateService writes the mutable state of svc (found by svc.Seq), its
// desired and observed states included.
func updateService(ctx context.Context, tx *Tx, svc *openrunner.Service) error {
	config, err := json.Marshal(svc.Config)
	if err != nil {
		return err
	}
	active, err := marshalRevision(svc.Active)
	if err != nil {
		return err
	}
	desired, observed, err := marshalState(svc)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, qUpdateService,
		svc.Status, toNanos(svc.UpdatedAt), toNanos(svc.DeletedAt), string(config), active,
		svc.AutoScalingConfigurationARN, svc.KMSKey, desired, observed, svc.Seq)
	return err
}

// insertOperation stores op as the newest operation of svc: PENDING, with a
// fresh ID, and started now.
func insertOperation(ctx context.Context, tx *Tx, svc *openrunner.Service, op *openrunner.Operation) error {
	var desired any // NULL unless op rolls out a configuration
	if op.Desired != nil {
		buf, err := json.Marshal(op.Desired)
		if err != nil {
			return err
		}
		desired = string(buf)
	}
	op.ID = openrunner.NewUUID()
	op.ServiceARN = svc.ARN()
	op.Status = openrunner.OperationPending
	op.StartedAt, op.UpdatedAt, op.EndedAt = tx.now, tx.now, time.Time{}
	return tx.QueryRowContext(ctx, qInsertOperation,
		op.ID, svc.Seq, op.Type, op.Status, op.Step, desired, op.Message,
		toNanos(op.StartedAt), toNanos(op.UpdatedAt), toNanos(op.EndedAt)).Scan(&op.Seq)
}

// findOperation returns the operation with that ID, in any Scope, and the
// position of its service.
func findOperation(ctx context.Context, tx *Tx, id string) (*openrunner.Operation, int64, error) {
	var serviceSeq int64
	op, err := scanOperation(tx.QueryRowContext(ctx, qFindOperation, id), &serviceSeq)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, openrunner.Errorf(openrunner.ENOTFOUND, "No operation found for the ID: %s", id)
	}
	return op, serviceSeq, err
}

func serviceNotFound(arn string) error {
	return openrunner.Errorf(openrunner.ENOTFOUND, "No service found for the ARN: %s", arn)
}

func operationFinished(id string) error {
	return openrunner.Errorf(openrunner.EINVALIDSTATE, "The operation %s has already finished.", id)
}

// scanService reads a row of serviceColumns.
func scanService(row scanner) (*openrunner.Service, error) {
	svc := &openrunner.Service{}
	var created, updated, deleted int64
	var config, desired, observed string
	var active sql.NullString
	if err := row.Scan(&svc.Seq, &svc.ID, &svc.Scope.AccountID, &svc.Scope.Region, &svc.Name, &svc.Status,
		&svc.URLPrefix, &created, &updated, &deleted, &config, &active,
		&svc.AutoScalingConfigurationARN, &svc.KMSKey, &desired, &observed); err != nil {
		return nil, err
	}
	svc.CreatedAt, svc.UpdatedAt, svc.DeletedAt = fromNanos(created), fromNanos(updated), fromNanos(deleted)
	if err := json.Unmarshal([]byte(config), &svc.Config); err != nil {
		return nil, fmt.Errorf("postgres: service %s: config: %w", svc.ID, err)
	}
	if active.Valid {
		svc.Active = new(openrunner.Revision)
		if err := json.Unmarshal([]byte(active.String), svc.Active); err != nil {
			return nil, fmt.Errorf("postgres: service %s: active revision: %w", svc.ID, err)
		}
		// JSON keeps the offset, not the Location; every stored time reads
		// back in UTC.
		svc.Active.DeployedAt = svc.Active.DeployedAt.UTC()
	}
	if err := unmarshalState(svc, desired, observed); err != nil {
		return nil, err
	}
	return svc, nil
}

// scanOperation reads a row of operationColumns, followed by the columns
// given in extra.
func scanOperation(row scanner, extra ...any) (*openrunner.Operation, error) {
	op := &openrunner.Operation{}
	var started, updated, ended int64
	var desired sql.NullString
	dest := append([]any{&op.Seq, &op.ID, &op.ServiceARN, &op.Type, &op.Status, &op.Step, &desired, &op.Message,
		&started, &updated, &ended, &op.CommitID}, extra...)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	op.StartedAt, op.UpdatedAt, op.EndedAt = fromNanos(started), fromNanos(updated), fromNanos(ended)
	if desired.Valid {
		op.Desired = new(openrunner.ServiceConfig)
		if err := json.Unmarshal([]byte(desired.String), op.Desired); err != nil {
			return nil, fmt.Errorf("postgres: operation %s: desired: %w", op.ID, err)
		}
	}
	return op, nil
}

// marshalRevision encodes r as JSON, and nil as SQL NULL.
//
// Revision and ServiceConfig are stored as encoding/json writes them (field
// names as keys), so renaming one of their fields needs a migration that
// rewrites the stored documents.
func marshalRevision(r *openrunner.Revision) (any, error) {
	if r == nil {
		return nil, nil
	}
	buf, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return string(buf), nil
}

// toNanos returns t as Unix nanoseconds, and the zero time as 0.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of toNanos; times read back in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// queryLimit returns the SQL LIMIT for a page of limit items: one more,
// whose presence tells that there is a next page; NULL (no limit) for 0.
func queryLimit(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit + 1
}

// urlPrefixAlphabet is what a ServiceUrl's first label is made of.
const urlPrefixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newURLPrefix returns 10 random characters of urlPrefixAlphabet.
func newURLPrefix() string {
	var out [10]byte
	var buf [16]byte
	for n := 0; n < len(out); {
		_, _ = rand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms
		for _, b := range buf {
			// 252 is the largest multiple of 36 below 256: rejecting bytes
			// above it keeps every character equally likely.
			if b < 252 && n < len(out) {
				out[n] = urlPrefixAlphabet[int(b)%len(urlPrefixAlphabet)]
				n++
			}
		}
	}
	return string(out[:])
}

// notDeleted and unfinished must match the predicates of the partial
// indexes in migration/0001_init.sql for PostgreSQL to use them.
const (
	notDeleted = `s.status != '` + openrunner.ServiceDeleted + `'`
	unfinished = `o.status NOT IN ('FAILED', 'SUCCEEDED', 'ROLLBACK_FAILED', 'ROLLBACK_SUCCEEDED')`

	serviceColumns = `s.seq, s.id, s.account_id, s.region, s.name, s.status, s.url_prefix,
		s.created_at, s.updated_at, s.deleted_at, s.config, s.active_revision, s.asc_arn, s.kms_key,
		s.desired, s.observed`
	operationColumns = `o.seq, o.id, s.arn, o.type, o.status, o.step, o.desired, o.message,
		o.started_at, o.updated_at, o.ended_at, o.commit_id`

	qInsertService = `
		INSERT INTO services (id, arn, account_id, region, name, status, url_prefix,
			created_at, updated_at, deleted_at, config, active_revision, asc_arn, kms_key, desired, observed)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
	qFindService = `SELECT ` + serviceColumns + ` FROM services s
		WHERE s.arn = ? AND s.account_id = ? AND s.region = ?`
	qFindServiceBySeq = `SELECT ` + serviceColumns + ` FROM services s WHERE s.seq = ?`
	qServicesByStatus = `SELECT ` + serviceColumns + ` FROM services s WHERE s.status = ? ORDER BY s.seq`
	qListServices     = `SELECT ` + serviceColumns + ` FROM services s
		WHERE s.account_id = ? AND s.region = ? AND ` + notDeleted + ` AND s.seq > ? ORDER BY s.seq LIMIT ?::BIGINT`
	qUpdateService = `
		UPDATE services SET status = ?, updated_at = ?, deleted_at = ?, config = ?, active_revision = ?,
			asc_arn = ?, kms_key = ?, desired = ?, observed = ?
		WHERE seq = ?`
	qFindServiceForOperation = `SELECT ` + serviceColumns + ` FROM operations o
		JOIN services s ON s.seq = o.service_seq WHERE o.id = ?`

	qInsertOperation = `
		INSERT INTO operations (id, service_seq, type, status, step, desired, message,
			started_at, updated_at, ended_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
	qFindOperation = `SELECT ` + operationColumns + `, o.service_seq FROM operations o
		JOIN services s ON s.seq = o.service_seq WHERE o.id = ?`
	qListOperations = `SELECT ` + operationColumns + ` FROM operations o
		JOIN services s ON s.seq = o.service_seq
		WHERE o.service_seq = ? AND o.seq < ? ORDER BY o.seq DESC LIMIT ?::BIGINT`
	qUnfinishedOperations = `SELECT ` + operationColumns + ` FROM operations o
		JOIN services s ON s.seq = o.service_seq WHERE ` + unfinished + ` ORDER BY o.seq`
	qUpdateOperation = `
		UPDATE operations AS o SET status = ?, step = ?, message = ?, commit_id = ?, updated_at = ?
		WHERE o.id = ? AND ` + unfinished
	qFinishOperation = `
		UPDATE operations SET status = ?, step = ?, message = ?, commit_id = ?, updated_at = ?, ended_at = ?
		WHERE seq = ?`
)
