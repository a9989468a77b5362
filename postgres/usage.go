package postgres

import (
	"context"

	"github.com/openrunner/openrunner"
)

// addUsage changes the count of live resources of a kind in scope by delta
// and returns the new count.
func addUsage(ctx context.Context, tx *Tx, scope openrunner.Scope, kind string, delta int) (int, error) {
	var n int
	err := tx.QueryRowContext(ctx, qAddUsage, scope.AccountID, scope.Region, kind, delta).Scan(&n)
	return n, err
}

const qAddUsage = `
	INSERT INTO usage (account_id, region, kind, n) VALUES (?1, ?2, ?3, GREATEST(?4::INTEGER, 0))
	ON CONFLICT (account_id, region, kind) DO UPDATE SET n = usage.n + ?4::INTEGER
	RETURNING n`
