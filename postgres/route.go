package postgres

import (
	"context"

	"github.com/openrunner/openrunner"
)

// RouteService stores the lease holders' routes in PostgreSQL. Each write
// is one statement on one row, written by the service's lease holder, so
// it takes no write lock.
type RouteService struct {
	db *DB
}

var _ openrunner.RouteService = (*RouteService)(nil)

// NewRouteService returns a RouteService on db.
func NewRouteService(db *DB) *RouteService { return &RouteService{db: db} }

// PutRoute implements openrunner.RouteService.
func (s *RouteService) PutRoute(ctx context.Context, r openrunner.SharedRoute) (int64, error) {
	var v int64
	err := s.db.pool.QueryRowContext(ctx, `INSERT INTO routes (service_arn, holder, route, version) VALUES ($1, $2, $3, nextval('route_versions'))
		ON CONFLICT (service_arn) DO UPDATE SET holder = excluded.holder, route = excluded.route, version = excluded.version
		RETURNING version`, r.ServiceARN, r.Holder, r.Route).Scan(&v)
	return v, err
}

// DeleteRoute implements openrunner.RouteService.
func (s *RouteService) DeleteRoute(ctx context.Context, serviceARN string) error {
	_, err := s.db.pool.ExecContext(ctx, `DELETE FROM routes WHERE service_arn = $1`, serviceARN)
	return err
}

// FindRoutes implements openrunner.RouteService.
func (s *RouteService) FindRoutes(ctx context.Context) ([]openrunner.SharedRoute, error) {
	rows, err := s.db.pool.QueryContext(ctx, `SELECT service_arn, holder, route, version FROM routes ORDER BY service_arn`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []openrunner.SharedRoute
	for rows.Next() {
		var r openrunner.SharedRoute
		if err := rows.Scan(&r.ServiceARN, &r.Holder, &r.Route, &r.Version); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
