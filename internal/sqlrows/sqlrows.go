// Package sqlrows is what the SQL stores (packages sqlite and postgres)
// share beside their SQL: reading rows into values and cutting pages.
package sqlrows

import "database/sql"

// Scanner is a row to scan: *sql.Row or *sql.Rows.
type Scanner interface{ Scan(dest ...any) error }

// All scans every row of rows with scan, then closes rows.
func All[T any](rows *sql.Rows, scan func(Scanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Page cuts items, read with a LIMIT of limit+1 (none when limit is 0), to
// one page of limit, and returns with it where the next page starts: after
// the position (seq) of its last item, or 0 when there is no next page.
func Page[T any](items []T, limit int, seq func(T) int64) ([]T, int64) {
	if limit <= 0 || len(items) <= limit {
		return items, 0
	}
	items = items[:limit]
	return items, seq(items[limit-1])
}
