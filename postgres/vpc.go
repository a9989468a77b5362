package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sqlrows"
)

// VPCService stores VPC connectors and VPC ingress connections in PostgreSQL.
type VPCService struct {
	db *DB
}

var _ openrunner.VPCService = (*VPCService)(nil)

// NewVPCService returns a VPCService on db.
func NewVPCService(db *DB) *VPCService { return &VPCService{db: db} }

// CreateVpcConnector implements openrunner.VPCService.
func (s *VPCService) CreateVpcConnector(ctx context.Context, c *openrunner.VpcConnector, tags []openrunner.Tag) error {
	scope, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := reserve(ctx, tx, scope, openrunner.ResourceVpcConnector, quota(s.db.Quotas.VpcConnectors, openrunner.DefaultMaxVpcConnectors), "VPC connectors"); err != nil {
		return err
	}
	c.Scope, c.ID, c.Revision = scope, openrunner.NewID(), 1
	c.Status, c.CreatedAt = openrunner.VpcConnectorActive, tx.now
	subnets, _ := json.Marshal(nonNil(c.Subnets))
	groups, _ := json.Marshal(nonNil(c.SecurityGroups))
	err = tx.QueryRowContext(ctx, qInsertVpcConnector, c.ARN(), c.ID, scope.AccountID, scope.Region, c.Name,
		string(subnets), string(groups), c.Status, c.CreatedAt.UnixNano()).Scan(&c.Seq)
	if isConstraint(err, errUnique) {
		return openrunner.Errorf(openrunner.ECONFLICT,
			"A VPC connector named '%s' already exists in this account and Region. VPC connector names must be unique among active connectors.", c.Name)
	} else if err != nil {
		return err
	}
	if err := insertResource(ctx, tx, c.ARN(), scope, openrunner.ResourceVpcConnector, tags); err != nil {
		return err
	}
	return tx.Commit()
}

// FindVpcConnector implements openrunner.VPCService.
func (s *VPCService) FindVpcConnector(ctx context.Context, arn string) (*openrunner.VpcConnector, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	return findVpcConnector(ctx, tx, scope, arn)
}

func findVpcConnector(ctx context.Context, tx *Tx, scope openrunner.Scope, arn string) (*openrunner.VpcConnector, error) {
	c, err := scanVpcConnector(tx.QueryRowContext(ctx, qFindVpcConnector, arn, scope.AccountID, scope.Region))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "No VPC connector found for the ARN: %s", arn)
	}
	return c, err
}

// FindVpcConnectors implements openrunner.VPCService.
func (s *VPCService) FindVpcConnectors(ctx context.Context, f openrunner.VpcConnectorFilter) (openrunner.VpcConnectorPage, error) {
	var page openrunner.VpcConnectorPage
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return page, err
	}
	rows, err := s.db.query(ctx, qListVpcConnectors, scope.AccountID, scope.Region, f.After, queryLimit(f.Limit))
	if err != nil {
		return page, err
	}
	if page.Connectors, err = sqlrows.All(rows, scanVpcConnector); err != nil {
		return page, err
	}
	page.Connectors, page.Next = sqlrows.Page(page.Connectors, f.Limit, func(c *openrunner.VpcConnector) int64 { return c.Seq })
	return page, nil
}

// DeleteVpcConnector implements openrunner.VPCService. The in-use check and
// the delete are one transaction, so no service can start using the
// connector in between.
func (s *VPCService) DeleteVpcConnector(ctx context.Context, arn string) (*openrunner.VpcConnector, error) {
	scope, tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	c, err := findVpcConnector(ctx, tx, scope, arn)
	if err != nil {
		return nil, err
	}
	if c.Status != openrunner.VpcConnectorActive {
		return nil, openrunner.Errorf(openrunner.EINVALID, "The VPC connector you specified has been deleted. ARN: %s", arn)
	}
	var used int
	if err := tx.QueryRowContext(ctx, qVpcConnectorUsed, arn, arn).Scan(&used); err != nil {
		return nil, err
	}
	if used > 0 {
		return nil, openrunner.Errorf(openrunner.EINVALID, "Provided VPC connector arn is being used by other services. ARN:  %s", arn)
	}
	c.Status, c.DeletedAt = openrunner.VpcConnectorInactive, tx.now
	if _, err := tx.ExecContext(ctx, `UPDATE vpc_connectors SET status = ?, deleted_at = ? WHERE seq = ?`,
		c.Status, c.DeletedAt.UnixNano(), c.Seq); err != nil {
		return nil, err
	}
	if err := deleteResource(ctx, tx, arn); err != nil {
		return nil, err
	}
	if _, err := addUsage(ctx, tx, scope, openrunner.ResourceVpcConnector, -1); err != nil {
		return nil, err
	}
	return c, tx.Commit()
}

// begin starts a write transaction in the Scope of ctx.
func (s *VPCService) begin(ctx context.Context) (openrunner.Scope, *Tx, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return scope, nil, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	return scope, tx, err
}

// reserve counts one more live resource of kind in scope, or returns EQUOTA
// naming what (plural) when that would exceed max.
func reserve(ctx context.Context, tx *Tx, scope openrunner.Scope, kind string, max int, what string) error {
	n, err := addUsage(ctx, tx, scope, kind, 1)
	if err != nil {
		return err
	}
	if n > max {
		return openrunner.Errorf(openrunner.EQUOTA,
			"You have reached the maximum number of %s (%d) for this account in this Region. Delete one you no longer need, or raise the quota.", what, max)
	}
	return nil
}

func scanVpcConnector(row scanner) (*openrunner.VpcConnector, error) {
	c := &openrunner.VpcConnector{Revision: 1}
	var subnets, groups string
	var created, deleted int64
	if err := row.Scan(&c.Seq, &c.ID, &c.Scope.AccountID, &c.Scope.Region, &c.Name, &subnets, &groups,
		&c.Status, &created, &deleted); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(subnets), &c.Subnets); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(groups), &c.SecurityGroups); err != nil {
		return nil, err
	}
	c.CreatedAt = time.Unix(0, created).UTC()
	if deleted != 0 {
		c.DeletedAt = time.Unix(0, deleted).UTC()
	}
	return c, nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

const (
	vpcConnectorColumns = `seq, id, account_id, region, name, subnets, security_groups, status, created_at, deleted_at`

	qInsertVpcConnector = `
		INSERT INTO vpc_connectors (arn, id, account_id, region, name, subnets, security_groups, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
	qFindVpcConnector  = `SELECT ` + vpcConnectorColumns + ` FROM vpc_connectors WHERE arn = ? AND account_id = ? AND region = ?`
	qListVpcConnectors = `SELECT ` + vpcConnectorColumns + ` FROM vpc_connectors
		WHERE account_id = ? AND region = ? AND status = 'ACTIVE' AND seq > ? ORDER BY seq LIMIT ?::BIGINT`
	// qVpcConnectorUsed counts the services, not DELETED, whose
	// configuration names the connector or whose unfinished operation
	// deploys one that does.
	qVpcConnectorUsed = `SELECT
		(SELECT COUNT(*) FROM services s WHERE ` + notDeleted + `
			AND (s.config::jsonb) #>> '{Network,VpcConnectorARN}' = ?) +
		(SELECT COUNT(*) FROM operations o JOIN services s ON s.seq = o.service_seq
			WHERE ` + notDeleted + ` AND ` + unfinished + ` AND o.desired IS NOT NULL
			AND (o.desired::jsonb) #>> '{Network,VpcConnectorARN}' = ?)`
)
