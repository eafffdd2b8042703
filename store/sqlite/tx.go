package sqlite

import (
	"context"
	"database/sql"
	"strings"

	"github.com/landform/landform"
	"github.com/landform/landform/store/internal/rows"
)

// inTx runs fn in one transaction, which BEGIN IMMEDIATE (the _txlock
// setting) serializes with every other writer, in this process or another:
// what fn reads stays true until it commits. fn's error rolls it back and is
// returned as is; callers wrap it.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryRuns reads every row of a query selecting runColumns, never nil.
func queryRuns(ctx context.Context, q querier, query string, args ...any) ([]*landform.Run, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	runs := []*landform.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	return runs, rows.Err()
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// rowIDs returns the row IDs of ids, leaving out those no run can have.
func rowIDs(ids []string) []any {
	var ns []any
	for _, id := range ids {
		if n, ok := parseID(id); ok {
			ns = append(ns, n)
		}
	}
	return ns
}

func formatID(n int64) string { return rows.FormatID(n) }
