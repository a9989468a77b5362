package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"slices"
	"strings"

	"github.com/openrunner/openrunner"
	"github.com/openrunner/openrunner/internal/sqlrows"
)

// CustomDomainService stores custom domains in SQLite.
type CustomDomainService struct {
	db *DB
}

var _ openrunner.CustomDomainService = (*CustomDomainService)(nil)

// NewCustomDomainService returns a CustomDomainService on db.
func NewCustomDomainService(db *DB) *CustomDomainService {
	return &CustomDomainService{db: db}
}

const domainColumns = `seq, service_arn, name, www, status, records, reason, created_at`

// AssociateCustomDomain implements openrunner.CustomDomainService.
func (s *CustomDomainService) AssociateCustomDomain(ctx context.Context, d *openrunner.CustomDomain, max int) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()

	if owner, err := hostOwner(ctx, tx, d); err != nil {
		return err
	} else if owner != "" {
		return openrunner.Errorf(openrunner.ECONFLICT,
			"The domain %s is already associated with a service (%s). Disassociate it there first.", d.Name, owner)
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM custom_domains WHERE service_arn = ?`, d.ServiceARN).Scan(&n); err != nil {
		return err
	}
	if n >= max {
		return openrunner.Errorf(openrunner.EQUOTA,
			"The service has the maximum number of custom domains (%d). Disassociate one first, or raise --max-custom-domains.", max)
	}
	d.Status, d.CreatedAt, d.Reason = openrunner.DomainCreating, tx.now, ""
	records, err := json.Marshal(d.Records)
	if err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO custom_domains (service_arn, name, www, status, records, reason, created_at)
		VALUES (?, ?, ?, ?, ?, '', ?)`, d.ServiceARN, d.Name, d.WWW, d.Status, string(records), toNanos(d.CreatedAt))
	if isConstraint(err, errUnique) {
		return openrunner.Errorf(openrunner.ECONFLICT, "The domain %s is already associated with a service.", d.Name)
	} else if err != nil {
		return err
	}
	if d.Seq, err = res.LastInsertId(); err != nil {
		return err
	}
	return tx.Commit()
}

// hostOwner returns the service ARN of a stored domain that serves one of
// d's hosts, or "". Only a domain named like d, www.d or d without its
// www. can.
func hostOwner(ctx context.Context, tx *Tx, d *openrunner.CustomDomain) (string, error) {
	bare := strings.TrimPrefix(d.Name, "www.")
	rows, err := tx.QueryContext(ctx, `SELECT `+domainColumns+` FROM custom_domains WHERE name IN (?, ?, ?)`, d.Name, "www."+d.Name, bare)
	if err != nil {
		return "", err
	}
	list, err := scanDomains(rows)
	if err != nil {
		return "", err
	}
	hosts := d.Hosts()
	for _, o := range list {
		for _, h := range o.Hosts() {
			if slices.Contains(hosts, h) {
				return o.ServiceARN, nil
			}
		}
	}
	return "", nil
}

// FindCustomDomains implements openrunner.CustomDomainService.
func (s *CustomDomainService) FindCustomDomains(ctx context.Context, serviceARN string, f openrunner.CustomDomainFilter) (openrunner.CustomDomainPage, error) {
	limit := -1
	if f.Limit > 0 {
		limit = f.Limit + 1
	}
	list, err := s.query(ctx, `SELECT `+domainColumns+` FROM custom_domains WHERE service_arn = ? AND seq > ? ORDER BY seq LIMIT ?`,
		serviceARN, f.After, limit)
	if err != nil {
		return openrunner.CustomDomainPage{}, err
	}
	var page openrunner.CustomDomainPage
	page.Domains, page.Next = sqlrows.Page(list, f.Limit, func(d *openrunner.CustomDomain) int64 { return d.Seq })
	return page, nil
}

// FindCustomDomain implements openrunner.CustomDomainService.
func (s *CustomDomainService) FindCustomDomain(ctx context.Context, serviceARN, name string) (*openrunner.CustomDomain, error) {
	list, err := s.query(ctx, `SELECT `+domainColumns+` FROM custom_domains WHERE service_arn = ? AND name = ?`, serviceARN, name)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, domainNotFound(name)
	}
	return list[0], nil
}

// AllCustomDomains implements openrunner.CustomDomainService.
func (s *CustomDomainService) AllCustomDomains(ctx context.Context) ([]*openrunner.CustomDomain, error) {
	return s.query(ctx, `SELECT `+domainColumns+` FROM custom_domains ORDER BY seq`)
}

// UpdateCustomDomain implements openrunner.CustomDomainService.
func (s *CustomDomainService) UpdateCustomDomain(ctx context.Context, serviceARN, name string, apply func(*openrunner.CustomDomain) error) (*openrunner.CustomDomain, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT `+domainColumns+` FROM custom_domains WHERE service_arn = ? AND name = ?`, serviceARN, name)
	if err != nil {
		return nil, err
	}
	list, err := scanDomains(rows)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, domainNotFound(name)
	}
	d := list[0]
	if err := apply(d); err != nil {
		return nil, err
	}
	records, err := json.Marshal(d.Records)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE custom_domains SET status = ?, records = ?, reason = ? WHERE seq = ?`,
		d.Status, string(records), d.Reason, d.Seq); err != nil {
		return nil, err
	}
	return d, tx.Commit()
}

// DeleteCustomDomain implements openrunner.CustomDomainService.
func (s *CustomDomainService) DeleteCustomDomain(ctx context.Context, serviceARN, name string) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM custom_domains WHERE service_arn = ? AND name = ?`, serviceARN, name)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return domainNotFound(name)
	}
	return tx.Commit()
}

func domainNotFound(name string) error {
	return openrunner.Errorf(openrunner.ENOTFOUND, "No custom domain %s is associated with the service.", openrunner.Truncate(name, 255))
}

func (s *CustomDomainService) query(ctx context.Context, q string, args ...any) ([]*openrunner.CustomDomain, error) {
	rows, err := s.db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	return scanDomains(rows)
}

func scanDomains(rows *sql.Rows) ([]*openrunner.CustomDomain, error) {
	return sqlrows.All(rows, scanDomain)
}

func scanDomain(row sqlrows.Scanner) (*openrunner.CustomDomain, error) {
	var d openrunner.CustomDomain
	var records string
	var created int64
	if err := row.Scan(&d.Seq, &d.ServiceARN, &d.Name, &d.WWW, &d.Status, &records, &d.Reason, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(records), &d.Records); err != nil {
		return nil, err
	}
	d.CreatedAt = fromNanos(created)
	return &d, nil
}
