package sqlstore

import "context"

// CountRows counts rows of table matching where; the conformance tests use it to
// look for orphans, which no exported method can show.
func (db *DB) CountRows(ctx context.Context, table, where string, args ...any) (int, error) {
	q := db.read.NewSelect().Table(table)
	if where != "" {
		q = q.Where(where, args...)
	}
	n, err := q.Count(ctx)
	return int(n), err
}

// ExecRaw runs a statement on the write pool, for tests that set up states the API
// cannot reach (an invite that expired, a log row).
func (db *DB) ExecRaw(ctx context.Context, query string, args ...any) error {
	_, err := db.write.NewRaw(query, args...).Exec(ctx)
	return err
}
