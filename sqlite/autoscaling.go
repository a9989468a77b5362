package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sqlrows"
)

// AutoScalingConfigurationService stores auto scaling configurations in
// SQLite. Every rule (revision numbering, one default, quotas, in-use
// checks against services.asc_arn) is decided inside one write transaction,
// and the database has a single writer, so concurrent calls see each
// other's effects in some serial order.
type AutoScalingConfigurationService struct {
	db *DB
}

var _ openrunner.AutoScalingConfigurationService = (*AutoScalingConfigurationService)(nil)

// NewAutoScalingConfigurationService returns an AutoScalingConfigurationService on db.
func NewAutoScalingConfigurationService(db *DB) *AutoScalingConfigurationService {
	return &AutoScalingConfigurationService{db: db}
}

// CreateAutoScalingConfiguration implements openrunner.AutoScalingConfigurationService.
// Zero sizes take App Runner's defaults.
func (s *AutoScalingConfigurationService) CreateAutoScalingConfiguration(ctx context.Context, c *openrunner.AutoScalingConfiguration, tags []openrunner.Tag) error {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return err
	}
	if err := c.CheckSizes(quota(s.db.Quotas.AutoScalingMaxSize, openrunner.DefaultMaxSize)); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := ensureDefaultASC(ctx, tx, scope); err != nil {
		return err
	}

	var active, highest int
	if err := tx.QueryRowContext(ctx, qASCNameRevisions, scope.AccountID, scope.Region, c.Name).Scan(&active, &highest); err != nil {
		return err
	}
	if max := quota(s.db.Quotas.AutoScalingRevisions, openrunner.DefaultMaxAutoScalingRevisions); active >= max {
		return openrunner.Errorf(openrunner.EQUOTA,
			"You have reached the maximum number of revisions (%d) of the auto scaling configuration %s. Delete a revision you no longer need.", max, c.Name)
	}
	newName := active == 0
	if !newName && c.Name == openrunner.DefaultAutoScalingName {
		own, err := hasOwnRevision(ctx, tx, scope, c.Name)
		if err != nil {
			return err
		}
		newName = !own
	}
	if newName {
		var names int
		if err := tx.QueryRowContext(ctx, qASCNames, scope.AccountID, scope.Region, openrunner.DefaultAutoScalingID).Scan(&names); err != nil {
			return err
		}
		if max := quota(s.db.Quotas.AutoScalingNames, openrunner.DefaultMaxAutoScalingNames); names >= max {
			return openrunner.Errorf(openrunner.EQUOTA,
				"You have reached the maximum number of auto scaling configurations (%d) for this account in this Region. Delete one you no longer need, or raise the quota.", max)
		}
	}

	c.Scope = scope
	c.ID = openrunner.NewID()
	c.Revision = highest + 1
	c.Status = openrunner.AutoScalingActive
	c.Latest, c.IsDefault, c.HasAssociatedService = true, false, false
	c.CreatedAt = tx.now
	c.DeletedAt = time.Time{}
	if c.Seq, err = insertASC(ctx, tx, c); err != nil {
		return err
	}
	if err := insertResource(ctx, tx, c.ARN(), scope, openrunner.ResourceAutoScalingConfiguration, tags); err != nil {
		return err
	}
	return tx.Commit()
}

// hasOwnRevision reports whether name has an active revision other than
// the AWS-provided one (which does not count toward the names quota).
func hasOwnRevision(ctx context.Context, tx *Tx, scope openrunner.Scope, name string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM autoscaling_configurations
		WHERE account_id = ? AND region = ? AND name = ? AND status = 'active' AND id != ?`,
		scope.AccountID, scope.Region, name, openrunner.DefaultAutoScalingID).Scan(&n)
	return n > 0, err
}

// FindAutoScalingConfiguration implements openrunner.AutoScalingConfigurationService.
func (s *AutoScalingConfigurationService) FindAutoScalingConfiguration(ctx context.Context, arn string) (*openrunner.AutoScalingConfiguration, error) {
	tx, scope, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	c, _, err := resolveASC(ctx, tx, scope, arn)
	return c, err
}

// DefaultAutoScalingConfiguration implements openrunner.AutoScalingConfigurationService.
func (s *AutoScalingConfigurationService) DefaultAutoScalingConfiguration(ctx context.Context) (*openrunner.AutoScalingConfiguration, error) {
	tx, scope, err := s.read(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return defaultASC(ctx, tx, scope)
}

// FindAutoScalingConfigurations implements openrunner.AutoScalingConfigurationService.
func (s *AutoScalingConfigurationService) FindAutoScalingConfigurations(ctx context.Context, f openrunner.AutoScalingConfigurationFilter) (openrunner.AutoScalingConfigurationPage, error) {
	var page openrunner.AutoScalingConfigurationPage
	tx, scope, err := s.read(ctx)
	if err != nil {
		return page, err
	}
	defer tx.Rollback()
	var name any // NULL: every name
	if f.Name != nil {
		name = *f.Name
	}
	rows, err := tx.QueryContext(ctx, qListASCs, scope.AccountID, scope.Region, f.After, name, f.LatestOnly, queryLimit(f.Limit))
	if err != nil {
		return page, err
	}
	if page.Configurations, err = sqlrows.All(rows, func(r sqlrows.Scanner) (*openrunner.AutoScalingConfiguration, error) { return scanASC(r, scope) }); err != nil {
		return page, err
	}
	page.Configurations, page.Next = sqlrows.Page(page.Configurations, f.Limit, func(c *openrunner.AutoScalingConfiguration) int64 { return c.Seq })
	return page, nil
}

// DeleteAutoScalingConfiguration implements openrunner.AutoScalingConfigurationService.
func (s *AutoScalingConfigurationService) DeleteAutoScalingConfiguration(ctx context.Context, arn string, allRevisions bool) (*openrunner.AutoScalingConfiguration, error) {
	tx, scope, err := s.write(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	c, nameOnly, err := resolveASC(ctx, tx, scope, arn)
	if err != nil {
		return nil, err
	}
	if allRevisions && !nameOnly {
		return nil, openrunner.Errorf(openrunner.EINVALID,
			"You cannot specify full auto scaling configuration ARN and DeleteAllRevisions as true at same time. ARN: '%s'", openrunner.Truncate(arn, 1011))
	}
	if c.Status != openrunner.AutoScalingActive {
		return nil, openrunner.Errorf(openrunner.EINVALID,
			"The auto scaling configuration you specified has been deleted. ARN: '%s'", c.ARN())
	}
	targets := []*openrunner.AutoScalingConfiguration{c}
	if allRevisions {
		if targets, err = activeRevisions(ctx, tx, scope, c.Name); err != nil {
			return nil, err
		}
	}
	for _, t := range targets {
		switch {
		case t.IsDefault:
			return nil, openrunner.Errorf(openrunner.EINVALID, "You can't delete a reserved auto scaling configuration")
		case t.HasAssociatedService:
			return nil, openrunner.Errorf(openrunner.EINVALID,
				"You can't delete the auto scaling configuration. It's used by one or more services. To delete it, update the services to use other auto scaling configurations.")
		}
	}
	for _, t := range targets {
		if _, err := tx.ExecContext(ctx, `UPDATE autoscaling_configurations SET status = 'inactive', deleted_at = ? WHERE seq = ?`,
			toNanos(tx.now), t.Seq); err != nil {
			return nil, err
		}
		if err := deleteResource(ctx, tx, t.ARN()); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	c.Status, c.DeletedAt, c.Latest = openrunner.AutoScalingInactive, tx.now, false
	return c, nil
}

// SetDefaultAutoScalingConfiguration implements openrunner.AutoScalingConfigurationService.
// A deleted revision named by a full ARN is EINVALID.
func (s *AutoScalingConfigurationService) SetDefaultAutoScalingConfiguration(ctx context.Context, arn string) (*openrunner.AutoScalingConfiguration, error) {
	tx, scope, err := s.write(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	c, _, err := resolveASC(ctx, tx, scope, arn)
	if err != nil {
		return nil, err
	}
	if c.Status != openrunner.AutoScalingActive {
		return nil, openrunner.Errorf(openrunner.EINVALID,
			"The auto scaling configuration you specified has been deleted. ARN: '%s'", c.ARN())
	}
	if _, err := tx.ExecContext(ctx, `UPDATE autoscaling_configurations SET is_default = 0
		WHERE account_id = ? AND region = ? AND is_default = 1`, scope.AccountID, scope.Region); err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE autoscaling_configurations SET is_default = 1 WHERE seq = ?`, c.Seq); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	c.IsDefault = true
	return c, nil
}

// FindServicesForAutoScalingConfiguration implements openrunner.AutoScalingConfigurationService.
func (s *AutoScalingConfigurationService) FindServicesForAutoScalingConfiguration(ctx context.Context, arn string, f openrunner.ServiceFilter) (openrunner.ServicePage, error) {
	var page openrunner.ServicePage
	tx, scope, err := s.read(ctx)
	if err != nil {
		return page, err
	}
	defer tx.Rollback()
	c, _, err := resolveASC(ctx, tx, scope, arn)
	if err != nil {
		return page, err
	}
	rows, err := tx.QueryContext(ctx, qServicesForASC, c.ARN(), scope.AccountID, scope.Region, f.After, queryLimit(f.Limit))
	if err != nil {
		return page, err
	}
	if page.Services, err = sqlrows.All(rows, scanService); err != nil {
		return page, err
	}
	page.Services, page.Next = sqlrows.Page(page.Services, f.Limit, func(c *openrunner.Service) int64 { return c.Seq })
	return page, nil
}

// read begins a read transaction in the Scope of ctx, once the Scope's
// AWS-provided default exists.
func (s *AutoScalingConfigurationService) read(ctx context.Context) (*Tx, openrunner.Scope, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, scope, err
	}
	if err := s.db.provisionASC(ctx, scope); err != nil {
		return nil, scope, err
	}
	tx, err := s.db.beginRead(ctx)
	return tx, scope, err
}

// write begins a write transaction in the Scope of ctx, in which the
// Scope's AWS-provided default exists.
func (s *AutoScalingConfigurationService) write(ctx context.Context) (*Tx, openrunner.Scope, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, scope, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, scope, err
	}
	if err := ensureDefaultASC(ctx, tx, scope); err != nil {
		tx.Rollback()
		return nil, scope, err
	}
	return tx, scope, nil
}

// provisionASC makes sure scope's AWS-provided default exists, in a write
// transaction of its own the first time this process sees scope.
func (db *DB) provisionASC(ctx context.Context, scope openrunner.Scope) error {
	if _, ok := db.ascScopes.Load(scope); ok {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := ensureDefaultASC(ctx, tx, scope); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	db.ascScopes.Store(scope, true)
	return nil
}

// ensureDefaultASC inserts scope's AWS-provided DefaultConfiguration/1 as
// the default unless it was inserted before (it may since have been
// deleted, or stopped being the default). The first insert of a Scope
// always comes before any other revision of it, so it cannot clash with
// another default.
func ensureDefaultASC(ctx context.Context, tx *Tx, scope openrunner.Scope) error {
	if _, ok := tx.db.ascScopes.Load(scope); ok {
		return nil
	}
	d := &openrunner.AutoScalingConfiguration{
		Scope: scope, Name: openrunner.DefaultAutoScalingName, Revision: 1, ID: openrunner.DefaultAutoScalingID,
		Status: openrunner.AutoScalingActive, MaxConcurrency: openrunner.DefaultMaxConcurrency,
		MinSize: openrunner.DefaultMinSize, MaxSize: openrunner.DefaultMaxSize, IsDefault: true, CreatedAt: tx.now,
	}
	_, err := tx.ExecContext(ctx, qInsertDefaultASC, d.ARN(), d.ID, scope.AccountID, scope.Region, d.Name, d.Revision,
		d.Status, d.MaxConcurrency, d.MinSize, d.MaxSize, toNanos(d.CreatedAt))
	return err
}

// resolveASC returns the revision arn names in scope (see
// openrunner.AutoScalingConfigurationService) and whether arn named only
// the configuration's name.
func resolveASC(ctx context.Context, tx *Tx, scope openrunner.Scope, arn string) (*openrunner.AutoScalingConfiguration, bool, error) {
	notFound := openrunner.Errorf(openrunner.ENOTFOUND, "No auto scaling configuration found for the ARN: %s", openrunner.Truncate(arn, 1011))
	a, err := openrunner.ParseARN(arn)
	if err != nil {
		return nil, false, err
	}
	if a.Type != openrunner.ResourceAutoScalingConfiguration || a.Scope() != scope || len(a.Path) > 3 {
		return nil, false, notFound
	}
	var row *sql.Row
	switch len(a.Path) {
	case 1:
		row = tx.QueryRowContext(ctx, qFindASCLatest, scope.AccountID, scope.Region, a.Path[0])
	case 2:
		rev, err := strconv.Atoi(a.Path[1])
		if err != nil || rev < 1 {
			return nil, false, notFound
		}
		row = tx.QueryRowContext(ctx, qFindASCRevision, scope.AccountID, scope.Region, a.Path[0], rev)
	default:
		row = tx.QueryRowContext(ctx, qFindASC, scope.AccountID, scope.Region, ascARN(scope, a.Path))
	}
	c, err := scanASC(row, scope)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, notFound
	}
	return c, len(a.Path) == 1, err
}

// ascARN formats a revision ARN from its path (name, revision, id) in the
// standard partition, as the store keeps it.
func ascARN(scope openrunner.Scope, path []string) string {
	return openrunner.NewARN(scope, openrunner.ResourceAutoScalingConfiguration, path...)
}

func defaultASC(ctx context.Context, tx *Tx, scope openrunner.Scope) (*openrunner.AutoScalingConfiguration, error) {
	return scanASC(tx.QueryRowContext(ctx, qFindDefaultASC, scope.AccountID, scope.Region), scope)
}

func activeRevisions(ctx context.Context, tx *Tx, scope openrunner.Scope, name string) ([]*openrunner.AutoScalingConfiguration, error) {
	rows, err := tx.QueryContext(ctx, qListASCs, scope.AccountID, scope.Region, 0, name, false, -1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*openrunner.AutoScalingConfiguration
	for rows.Next() {
		c, err := scanASC(rows, scope)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// checkServiceASC makes sure a service of scope may use arn: a full ARN of
// an active revision of scope (or "", which the store leaves to its
// callers).
func checkServiceASC(ctx context.Context, tx *Tx, scope openrunner.Scope, arn string) error {
	if arn == "" {
		return nil
	}
	if err := ensureDefaultASC(ctx, tx, scope); err != nil {
		return err
	}
	var status string
	err := tx.QueryRowContext(ctx, `SELECT status FROM autoscaling_configurations WHERE arn = ? AND account_id = ? AND region = ?`,
		arn, scope.AccountID, scope.Region).Scan(&status)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return openrunner.Errorf(openrunner.EINVALID, "The auto scaling configuration ARN you specified isn't valid. ARN: '%s'", openrunner.Truncate(arn, 1011))
	case err != nil:
		return err
	case status != openrunner.AutoScalingActive:
		return openrunner.Errorf(openrunner.EINVALID, "The auto scaling configuration you specified has been deleted. ARN: '%s'", arn)
	}
	return nil
}

func insertASC(ctx context.Context, tx *Tx, c *openrunner.AutoScalingConfiguration) (int64, error) {
	res, err := tx.ExecContext(ctx, qInsertASC, c.ARN(), c.ID, c.Scope.AccountID, c.Scope.Region, c.Name, c.Revision,
		c.Status, c.MaxConcurrency, c.MinSize, c.MaxSize, c.IsDefault, toNanos(c.CreatedAt))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// scanASC reads a row of ascColumns.
func scanASC(row scanner, scope openrunner.Scope) (*openrunner.AutoScalingConfiguration, error) {
	c := &openrunner.AutoScalingConfiguration{Scope: scope}
	var created, deleted int64
	if err := row.Scan(&c.Seq, &c.ID, &c.Name, &c.Revision, &c.Status, &c.MaxConcurrency, &c.MinSize, &c.MaxSize,
		&c.IsDefault, &created, &deleted, &c.Latest, &c.HasAssociatedService); err != nil {
		return nil, err
	}
	c.CreatedAt, c.DeletedAt = fromNanos(created), fromNanos(deleted)
	return c, nil
}

// quota returns q, or def when q is not set.
func quota(q, def int) int {
	if q <= 0 {
		return def
	}
	return q
}

const (
	// ascColumns computes Latest (the highest active revision of the
	// name) and HasAssociatedService (a service not DELETED uses it).
	ascColumns = `a.seq, a.id, a.name, a.revision, a.status, a.max_concurrency, a.min_size, a.max_size,
		a.is_default, a.created_at, a.deleted_at,
		a.status = 'active' AND a.revision = (SELECT MAX(b.revision) FROM autoscaling_configurations b
			WHERE b.account_id = a.account_id AND b.region = a.region AND b.name = a.name AND b.status = 'active') AS latest,
		EXISTS (SELECT 1 FROM services s WHERE s.asc_arn = a.arn AND ` + notDeleted + `) AS used`

	qInsertASC = `
		INSERT INTO autoscaling_configurations (arn, id, account_id, region, name, revision, status,
			max_concurrency, min_size, max_size, is_default, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	qInsertDefaultASC = `
		INSERT INTO autoscaling_configurations (arn, id, account_id, region, name, revision, status,
			max_concurrency, min_size, max_size, is_default, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (arn) DO NOTHING`
	qASCNameRevisions = `SELECT COUNT(*), COALESCE(MAX(revision), 0) FROM autoscaling_configurations
		WHERE account_id = ? AND region = ? AND name = ? AND status = 'active'`
	qASCNames = `SELECT COUNT(DISTINCT name) FROM autoscaling_configurations
		WHERE account_id = ? AND region = ? AND status = 'active' AND id != ?`
	qFindASC = `SELECT ` + ascColumns + ` FROM autoscaling_configurations a
		WHERE a.account_id = ? AND a.region = ? AND a.arn = ?`
	qFindASCLatest = `SELECT ` + ascColumns + ` FROM autoscaling_configurations a
		WHERE a.account_id = ? AND a.region = ? AND a.name = ? AND a.status = 'active' ORDER BY a.revision DESC LIMIT 1`
	// A revision number names the active revision, else the last deleted.
	qFindASCRevision = `SELECT ` + ascColumns + ` FROM autoscaling_configurations a
		WHERE a.account_id = ? AND a.region = ? AND a.name = ? AND a.revision = ?
		ORDER BY a.status = 'active' DESC, a.seq DESC LIMIT 1`
	qFindDefaultASC = `SELECT ` + ascColumns + ` FROM autoscaling_configurations a
		WHERE a.account_id = ? AND a.region = ? AND a.is_default = 1`
	qListASCs = `SELECT * FROM (SELECT ` + ascColumns + ` FROM autoscaling_configurations a
		WHERE a.account_id = ?1 AND a.region = ?2 AND a.status = 'active' AND a.seq > ?3
			AND (?4 IS NULL OR a.name = ?4)) AS l
		WHERE NOT ?5 OR l.latest ORDER BY l.seq LIMIT ?6`
	qServicesForASC = `SELECT ` + serviceColumns + ` FROM services s
		WHERE s.asc_arn = ? AND s.account_id = ? AND s.region = ? AND ` + notDeleted + ` AND s.seq > ?
		ORDER BY s.seq LIMIT ?`
)
