package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sqlrows"
)

// CreateVpcIngressConnection implements openrunner.VPCService. The service
// check, the one-per-service rule and the insert are one transaction.
func (s *VPCService) CreateVpcIngressConnection(ctx context.Context, c *openrunner.VpcIngressConnection, tags []openrunner.Tag) error {
	scope, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM services s WHERE s.arn = ? AND s.account_id = ? AND s.region = ? AND `+notDeleted,
		c.ServiceARN, scope.AccountID, scope.Region).Scan(&n); err != nil {
		return err
	} else if n == 0 {
		return openrunner.Errorf(openrunner.EINVALID, "The service you specified doesn't exist in this account and Region. ServiceArn: %s", openrunner.Truncate(c.ServiceARN, 1011))
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM vpc_ingress_connections WHERE service_arn = ? AND status != 'DELETED'`,
		c.ServiceARN).Scan(&n); err != nil {
		return err
	} else if n > 0 {
		return openrunner.Errorf(openrunner.EINVALID, "The service %s already has a VPC ingress connection. Delete it before creating another.", c.ServiceARN)
	}
	if err := reserve(ctx, tx, scope, openrunner.ResourceVpcIngressConnection,
		quota(s.db.Quotas.VpcIngressConnections, openrunner.DefaultMaxVpcIngressConnections), "VPC ingress connections"); err != nil {
		return err
	}
	c.Scope, c.ID = scope, openrunner.NewID()
	c.Status, c.CreatedAt = openrunner.IngressPendingCreation, tx.now
	err = tx.QueryRowContext(ctx, qInsertIngress, c.ARN(), c.ID, scope.AccountID, scope.Region, c.Name, c.ServiceARN,
		c.VpcID, c.VpcEndpointID, c.DomainName, c.Status, c.CreatedAt.UnixNano()).Scan(&c.Seq)
	if isConstraint(err, errUnique) {
		return openrunner.Errorf(openrunner.ECONFLICT,
			"A VPC ingress connection named '%s' already exists in this account and Region. Names must be unique among active VPC ingress connections.", c.Name)
	} else if err != nil {
		return err
	}
	if err := insertResource(ctx, tx, c.ARN(), scope, openrunner.ResourceVpcIngressConnection, tags); err != nil {
		return err
	}
	return tx.Commit()
}

// FindVpcIngressConnection implements openrunner.VPCService.
func (s *VPCService) FindVpcIngressConnection(ctx context.Context, arn string) (*openrunner.VpcIngressConnection, error) {
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return nil, err
	}
	return s.queryIngress(ctx, arn, ` WHERE arn = ? AND account_id = ? AND region = ?`, arn, scope.AccountID, scope.Region)
}

// FindVpcIngressConnectionForService implements openrunner.VPCService.
func (s *VPCService) FindVpcIngressConnectionForService(ctx context.Context, serviceARN string) (*openrunner.VpcIngressConnection, error) {
	return s.queryIngress(ctx, serviceARN, ` WHERE service_arn = ? AND status != 'DELETED'`, serviceARN)
}

func (s *VPCService) queryIngress(ctx context.Context, key, where string, args ...any) (*openrunner.VpcIngressConnection, error) {
	rows, err := s.db.query(ctx, `SELECT `+ingressColumns+` FROM vpc_ingress_connections`+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, err
		}
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "No VPC ingress connection found for: %s", key)
	}
	return scanIngress(rows)
}

// FindVpcIngressConnections implements openrunner.VPCService.
func (s *VPCService) FindVpcIngressConnections(ctx context.Context, f openrunner.VpcIngressConnectionFilter) (openrunner.VpcIngressConnectionPage, error) {
	var page openrunner.VpcIngressConnectionPage
	scope, err := openrunner.MustScope(ctx)
	if err != nil {
		return page, err
	}
	q := `SELECT ` + ingressColumns + ` FROM vpc_ingress_connections
		WHERE account_id = ? AND region = ? AND status != 'DELETED' AND seq > ?`
	args := []any{scope.AccountID, scope.Region, f.After}
	if f.ServiceARN != nil {
		q += ` AND service_arn = ?`
		args = append(args, *f.ServiceARN)
	}
	if f.VpcEndpointID != nil {
		q += ` AND vpc_endpoint_id = ?`
		args = append(args, *f.VpcEndpointID)
	}
	page.Connections, err = s.listIngress(ctx, q+` ORDER BY seq LIMIT ?::BIGINT`, append(args, queryLimit(f.Limit))...)
	page.Connections, page.Next = sqlrows.Page(page.Connections, f.Limit, func(c *openrunner.VpcIngressConnection) int64 { return c.Seq })
	return page, err
}

// FindVpcIngressConnectionsByStatus implements openrunner.VPCService.
func (s *VPCService) FindVpcIngressConnectionsByStatus(ctx context.Context, statuses ...string) ([]*openrunner.VpcIngressConnection, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	args := make([]any, len(statuses))
	for i, st := range statuses {
		args[i] = st
	}
	marks := strings.TrimSuffix(strings.Repeat("?,", len(statuses)), ",")
	return s.listIngress(ctx, `SELECT `+ingressColumns+` FROM vpc_ingress_connections WHERE status IN (`+marks+`) ORDER BY seq`, args...)
}

func (s *VPCService) listIngress(ctx context.Context, q string, args ...any) ([]*openrunner.VpcIngressConnection, error) {
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return sqlrows.All(rows, scanIngress)
}

// UpdateVpcIngressConnection implements openrunner.VPCService.
func (s *VPCService) UpdateVpcIngressConnection(ctx context.Context, arn string, apply func(*openrunner.VpcIngressConnection) error) (*openrunner.VpcIngressConnection, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	c, err := scanIngress(tx.QueryRowContext(ctx, `SELECT `+ingressColumns+` FROM vpc_ingress_connections WHERE arn = ?`, arn))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, openrunner.Errorf(openrunner.ENOTFOUND, "No VPC ingress connection found for the ARN: %s", arn)
	} else if err != nil {
		return nil, err
	}
	wasLive := c.Live()
	if err := apply(c); err != nil {
		return nil, err
	}
	if wasLive && !c.Live() {
		if c.DeletedAt.IsZero() {
			c.DeletedAt = tx.now
		}
		if err := deleteResource(ctx, tx, arn); err != nil {
			return nil, err
		}
		if _, err := addUsage(ctx, tx, c.Scope, openrunner.ResourceVpcIngressConnection, -1); err != nil {
			return nil, err
		}
	} else if !wasLive && c.Live() {
		return nil, openrunner.Errorf(openrunner.EINVALIDSTATE, "The VPC ingress connection %s is deleted.", arn)
	}
	var deleted int64
	if !c.DeletedAt.IsZero() {
		deleted = c.DeletedAt.UnixNano()
	}
	if _, err := tx.ExecContext(ctx, `UPDATE vpc_ingress_connections
		SET vpc_id = ?, vpc_endpoint_id = ?, status = ?, status_message = ?, deleted_at = ? WHERE seq = ?`,
		c.VpcID, c.VpcEndpointID, c.Status, c.StatusMessage, deleted, c.Seq); err != nil {
		return nil, err
	}
	return c, tx.Commit()
}

func scanIngress(row scanner) (*openrunner.VpcIngressConnection, error) {
	c := &openrunner.VpcIngressConnection{}
	var created, deleted int64
	if err := row.Scan(&c.Seq, &c.ID, &c.Scope.AccountID, &c.Scope.Region, &c.Name, &c.ServiceARN, &c.VpcID,
		&c.VpcEndpointID, &c.DomainName, &c.Status, &c.StatusMessage, &created, &deleted); err != nil {
		return nil, err
	}
	c.CreatedAt = time.Unix(0, created).UTC()
	if deleted != 0 {
		c.DeletedAt = time.Unix(0, deleted).UTC()
	}
	return c, nil
}

const (
	ingressColumns = `seq, id, account_id, region, name, service_arn, vpc_id, vpc_endpoint_id, domain_name,
		status, status_message, created_at, deleted_at`

	qInsertIngress = `
		INSERT INTO vpc_ingress_connections (arn, id, account_id, region, name, service_arn, vpc_id,
			vpc_endpoint_id, domain_name, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`
)
