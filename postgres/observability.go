package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sqlrows"
)

// ObservabilityConfigurationService stores observability configurations in
// SQLite. Revision numbering, quotas and in-use checks (against the
// configurations of services and of their unfinished operations) are
// decided inside one write transaction.
type ObservabilityConfigurationService struct {
	db *DB
}

var _ openrunner.ObservabilityConfigurationService = (*ObservabilityConfigurationService)(nil)

// NewObservabilityConfigurationService returns an ObservabilityConfigurationService on db.
func NewObservabilityConfigurationService(db *DB) *ObservabilityConfigurationService {
	return &ObservabilityConfigurationService{db: db}
}

// CreateObservabilityConfiguration implements openrunner.ObservabilityConfigurationService.
func (s *ObservabilityConfigurationService) CreateObservabilityConfiguration(ctx context.Context, c *openrunner.ObservabilityConfiguration, tags []openrunner.Tag) error {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return err
	}
	if err := c.CheckNew(); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var active, highest, names int
	if err := tx.QueryRowContext(ctx, qObsCounts, scope.AccountID, scope.Region, c.Name).Scan(&active, &highest, &names); err != nil {
		return err
	}
	if max := quota(s.db.Quotas.ObservabilityRevisions, openrunner.DefaultMaxObservabilityRevisions); active >= max {
		return openrunner.Errorf(openrunner.EQUOTA,
			"You have reached the maximum number of revisions (%d) of the observability configuration %s. Delete a revision you no longer need.", max, c.Name)
	}
	if max := quota(s.db.Quotas.ObservabilityNames, openrunner.DefaultMaxObservabilityNames); active == 0 && names >= max {
		return openrunner.Errorf(openrunner.EQUOTA,
			"You have reached the maximum number of observability configurations (%d) for this account in this Region. Delete one you no longer need, or raise the quota.", max)
	}
	c.Scope, c.ID, c.Revision = scope, openrunner.NewID(), highest+1
	c.Status, c.Latest = openrunner.ObservabilityActive, true
	c.CreatedAt, c.DeletedAt = tx.now, time.Time{}
	if err := tx.QueryRowContext(ctx, `INSERT INTO observability_configurations
		(arn, id, account_id, region, name, revision, status, trace_vendor, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
		c.ARN(), c.ID, scope.AccountID, scope.Region, c.Name, c.Revision, c.Status, c.TraceVendor, toNanos(c.CreatedAt)).Scan(&c.Seq); err != nil {
		return err
	}
	if err := insertResource(ctx, tx, c.ARN(), scope, openrunner.ResourceObservabilityConfig, tags); err != nil {
		return err
	}
	return tx.Commit()
}

// scoped begins a transaction (a write one if write) in the Scope of ctx.
func (s *ObservabilityConfigurationService) scoped(ctx context.Context, write bool) (*Tx, openrunner.Scope, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, scope, err
	}
	var tx *Tx
	if write {
		tx, err = s.db.BeginTx(ctx, nil)
	} else {
		tx, err = s.db.beginRead(ctx)
	}
	return tx, scope, err
}

// FindObservabilityConfiguration implements openrunner.ObservabilityConfigurationService.
func (s *ObservabilityConfigurationService) FindObservabilityConfiguration(ctx context.Context, arn string) (*openrunner.ObservabilityConfiguration, error) {
	tx, scope, err := s.scoped(ctx, false)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return resolveObservability(ctx, tx, scope, arn)
}

// FindObservabilityConfigurations implements openrunner.ObservabilityConfigurationService.
func (s *ObservabilityConfigurationService) FindObservabilityConfigurations(ctx context.Context, f openrunner.ObservabilityConfigurationFilter) (openrunner.ObservabilityConfigurationPage, error) {
	var page openrunner.ObservabilityConfigurationPage
	tx, scope, err := s.scoped(ctx, false)
	if err != nil {
		return page, err
	}
	defer tx.Rollback()
	var name any // NULL: every name
	if f.Name != nil {
		name = *f.Name
	}
	rows, err := tx.QueryContext(ctx, qListObs, scope.AccountID, scope.Region, f.After, name, f.LatestOnly, queryLimit(f.Limit))
	if err != nil {
		return page, err
	}
	if page.Configurations, err = sqlrows.All(rows, func(r sqlrows.Scanner) (*openrunner.ObservabilityConfiguration, error) {
		return scanObservability(r, scope)
	}); err != nil {
		return page, err
	}
	page.Configurations, page.Next = sqlrows.Page(page.Configurations, f.Limit, func(c *openrunner.ObservabilityConfiguration) int64 { return c.Seq })
	return page, nil
}

// DeleteObservabilityConfiguration implements openrunner.ObservabilityConfigurationService.
func (s *ObservabilityConfigurationService) DeleteObservabilityConfiguration(ctx context.Context, arn string) (*openrunner.ObservabilityConfiguration, error) {
	tx, scope, err := s.scoped(ctx, true)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	c, err := resolveObservability(ctx, tx, scope, arn)
	if err != nil {
		return nil, err
	}
	if c.Status != openrunner.ObservabilityActive {
		return nil, openrunner.Errorf(openrunner.EINVALID, "The observability configuration you specified has been deleted. ARN: '%s'", c.ARN())
	}
	var used bool
	if err := tx.QueryRowContext(ctx, qObsUsed, c.ARN()).Scan(&used); err != nil {
		return nil, err
	}
	if used {
		return nil, openrunner.Errorf(openrunner.EINVALID,
			"You can't delete the observability configuration. It's used by one or more services. To delete it, update the services to use other observability configurations, or disable observability.")
	}
	if _, err := tx.ExecContext(ctx, `UPDATE observability_configurations SET status = 'INACTIVE', deleted_at = ? WHERE seq = ?`,
		toNanos(tx.now), c.Seq); err != nil {
		return nil, err
	}
	if err := deleteResource(ctx, tx, c.ARN()); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	c.Status, c.DeletedAt, c.Latest = openrunner.ObservabilityInactive, tx.now, false
	return c, nil
}

// resolveObservability returns the revision arn names in scope: a full
// ARN in any status, …/<name>/<revision> the active revision of that
// number (else the last deleted one), …/<name> the latest active revision.
func resolveObservability(ctx context.Context, tx *Tx, scope openrunner.Scope, arn string) (*openrunner.ObservabilityConfiguration, error) {
	notFound := openrunner.Errorf(openrunner.ENOTFOUND, "No observability configuration found for the ARN: %s", openrunner.Truncate(arn, 1011))
	a, err := openrunner.ParseARN(arn)
	if err != nil {
		return nil, err
	}
	if a.Type != openrunner.ResourceObservabilityConfig || a.Scope() != scope || len(a.Path) > 3 {
		return nil, notFound
	}
	// ?3 name, ?4 revision (0: latest active), ?5 full ARN (NULL: by name).
	var rev int
	var full any
	switch len(a.Path) {
	case 3:
		full = openrunner.NewARN(scope, openrunner.ResourceObservabilityConfig, a.Path...)
	case 2:
		if rev, err = strconv.Atoi(a.Path[1]); err != nil || rev < 1 {
			return nil, notFound
		}
	}
	c, err := scanObservability(tx.QueryRowContext(ctx, qFindObs, scope.AccountID, scope.Region, a.Path[0], rev, full), scope)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	return c, err
}

// checkServiceObservability makes sure a service of scope may start to use
// o: with observability enabled, o.ConfigurationARN must be the full ARN
// of an active revision of scope.
func checkServiceObservability(ctx context.Context, tx *Tx, scope openrunner.Scope, o openrunner.ObservabilityConfig) error {
	if !o.Enabled || o.ConfigurationARN == "" {
		return nil
	}
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM observability_configurations WHERE arn = ? AND account_id = ? AND region = ?`,
		o.ConfigurationARN, scope.AccountID, scope.Region).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return openrunner.Errorf(openrunner.EINVALID, "The observability configuration ARN you specified isn't valid. ARN: '%s'", openrunner.Truncate(o.ConfigurationARN, 1011))
	case err != nil:
		return err
	case status != openrunner.ObservabilityActive:
		return openrunner.Errorf(openrunner.EINVALID, "The observability configuration you specified has been deleted. ARN: '%s'", o.ConfigurationARN)
	}
	return nil
}

// checkOperationObservability checks the observability configuration an
// operation's desired configuration starts to use (see
// checkServiceObservability); one the service already uses passes.
func checkOperationObservability(ctx context.Context, tx *Tx, svc *openrunner.Service, op *openrunner.Operation) error {
	if op.Desired == nil || op.Desired.Observability == svc.Config.Observability {
		return nil
	}
	return checkServiceObservability(ctx, tx, svc.Scope, op.Desired.Observability)
}

func scanObservability(row scanner, scope openrunner.Scope) (*openrunner.ObservabilityConfiguration, error) {
	c := &openrunner.ObservabilityConfiguration{Scope: scope}
	var created, deleted int64
	if err := row.Scan(&c.Seq, &c.ID, &c.Name, &c.Revision, &c.Status, &c.TraceVendor, &created, &deleted, &c.Latest); err != nil {
		return nil, err
	}
	c.CreatedAt, c.DeletedAt = fromNanos(created), fromNanos(deleted)
	return c, nil
}

const (
	obsColumns = `o.seq, o.id, o.name, o.revision, o.status, o.trace_vendor, o.created_at, o.deleted_at,
		o.status = 'ACTIVE' AND o.revision = (SELECT MAX(b.revision) FROM observability_configurations b
			WHERE b.account_id = o.account_id AND b.region = o.region AND b.name = o.name AND b.status = 'ACTIVE') AS latest`

	// qObsCounts: the name's active revisions, its highest active
	// revision, and the names with active revisions.
	qObsCounts = `SELECT
		(SELECT COUNT(*) FROM observability_configurations WHERE account_id = ?1 AND region = ?2 AND name = ?3 AND status = 'ACTIVE'),
		(SELECT COALESCE(MAX(revision), 0) FROM observability_configurations WHERE account_id = ?1 AND region = ?2 AND name = ?3 AND status = 'ACTIVE'),
		(SELECT COUNT(DISTINCT name) FROM observability_configurations WHERE account_id = ?1 AND region = ?2 AND status = 'ACTIVE')`

	qFindObs = `SELECT ` + obsColumns + ` FROM observability_configurations o
		WHERE o.account_id = ?1 AND o.region = ?2 AND o.name = ?3
			AND (?5::TEXT IS NULL OR o.arn = ?5)
			AND (?5::TEXT IS NOT NULL OR (?4::INTEGER = 0 AND o.status = 'ACTIVE') OR o.revision = ?4)
		ORDER BY o.status = 'ACTIVE' DESC, o.revision DESC, o.seq DESC LIMIT 1`

	qListObs = `SELECT * FROM (SELECT ` + obsColumns + ` FROM observability_configurations o
		WHERE o.account_id = ?1 AND o.region = ?2 AND o.status = 'ACTIVE' AND o.seq > ?3
			AND (?4::TEXT IS NULL OR o.name = ?4)) AS l
		WHERE NOT ?5::BOOLEAN OR l.latest ORDER BY l.seq LIMIT ?6::BIGINT`

	// qObsUsed: a service not DELETED has the revision in its
	// configuration, or an unfinished operation of one has it in its
	// desired configuration.
	qObsUsed = `SELECT EXISTS (SELECT 1 FROM services s
			WHERE (s.config::jsonb) #>> '{Observability,ConfigurationARN}' = ?1 AND ` + notDeleted + `
				AND (s.config::jsonb) #>> '{Observability,Enabled}' = 'true')
		OR EXISTS (SELECT 1 FROM operations o JOIN services s ON s.seq = o.service_seq
			WHERE ` + unfinished + ` AND ` + notDeleted + `
				AND (o.desired::jsonb) #>> '{Observability,ConfigurationARN}' = ?1
				AND (o.desired::jsonb) #>> '{Observability,Enabled}' = 'true')`
)
