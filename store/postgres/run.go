package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/landform/landform"
	"github.com/landform/landform/store/internal/rows"
)

// querier is a *pgxpool.Pool or a pgx.Tx.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// timeLayout is the stored text of times, store/sqlite's too
// (rows.TimeLayout).
const timeLayout = rows.TimeLayout

func formatTime(t time.Time) string { return rows.FormatTime(t) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := formatTime(t)
	return &s
}

func parseTime(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, *s)
}

// checkTimes is rows.CheckTimes.
func checkTimes(ts ...time.Time) error { return rows.CheckTimes(ts...) }

// text returns free text (terraform's errors, reasons) as PostgreSQL's
// text keeps it: it refuses NUL bytes and invalid UTF-8, which SQLite
// stores, so they become U+FFFD rather than fail the write. Names and keys
// are not passed through it: a bad one fails loudly.
func text(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// lit returns s as an SQL string literal, for the constant states that
// partial indexes name: with a literal in the query, rather than a
// parameter, the planner uses them in every plan it caches.
func lit[S ~string](s S) string {
	return "'" + strings.ReplaceAll(string(s), "'", "''") + "'"
}

// jsonText is the stored form of a JSON column (rows.JSON).
func jsonText[T any](v *T) string { return rows.JSON(v) }

// parseJSON reads what jsonText stored (rows.ParseJSON).
func parseJSON[T any](s string) (*T, error) { return rows.ParseJSON[T](s) }

// parseID, formatID and notFound are rows'.
func parseID(id string) (int64, bool) { return rows.ParseID(id) }

func formatID(n int64) string { return rows.FormatID(n) }

func notFound(id string) error { return rows.NotFound(id) }

// CreateRun stores r and assigns r.ID, a decimal number never used before,
// and r.CreatedAt from the DB's clock when it is zero.
//
// Returns EINVALID when r already has an ID or lacks a repo, workspace, kind
// or state.
func (db *DB) CreateRun(ctx context.Context, r *landform.Run) error {
	created, err := db.checkNew(r)
	if err != nil {
		return err
	}
	id, err := insertRun(ctx, db.pool, r, created)
	if err != nil {
		return fmt.Errorf("creating run of %s: %w", r.Workspace, err)
	}
	r.ID = formatID(id)
	r.CreatedAt = created
	return nil
}

// checkNew validates a run to create and returns its CreatedAt: r's, or
// the DB's clock when it is zero (rows.CheckNew).
func (db *DB) checkNew(r *landform.Run) (time.Time, error) { return rows.CheckNew(r, db.now) }

// insertRun inserts r, created at created, and returns its ID; r is not
// changed.
func insertRun(ctx context.Context, q querier, r *landform.Run, created time.Time) (int64, error) {
	var id int64
	err := q.QueryRow(ctx, `INSERT INTO runs (
		repo, workspace, dir, commit_sha, ref, kind, state,
		add_count, change_count, destroy_count, replace_count,
		error, plan_sha256, created_at, started_at, finished_at, blocked_by,
		pr_number, pr_author, pr_base, policy, apply, commit_author, drift, claimed_by
	) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)
	RETURNING id`,
		r.Repo, r.Workspace, r.Dir, r.Commit, r.Ref, string(r.Kind), string(r.State),
		r.Summary.Add, r.Summary.Change, r.Summary.Destroy, r.Summary.Replace,
		text(r.Error), r.PlanSHA256, formatTime(created), nullTime(r.StartedAt), nullTime(r.FinishedAt), r.BlockedBy,
		r.PR.Number, r.PR.Author, r.PR.BaseBranch, jsonText(r.Policy), jsonText(r.Apply), r.CommitAuthor, jsonText(r.Drift), r.Owner,
	).Scan(&id)
	return id, err
}

// UpdateRun saves r's mutable fields: Dir, Commit, Ref, State, Summary,
// Error, PlanSHA256, BlockedBy, PR, Policy, CommitAuthor, Apply, Drift,
// Owner, StartedAt and FinishedAt. ID, Repo, Workspace, Kind and CreatedAt
// are fixed at creation; their values in r are ignored.
//
// Returns ENOTFOUND for an unknown run and EINVALID for an empty state.
func (db *DB) UpdateRun(ctx context.Context, r *landform.Run) error {
	id, ok := parseID(r.ID)
	if !ok {
		return notFound(r.ID)
	}
	if r.State == "" {
		return landform.Errorf(landform.EINVALID, "run %s needs a state", r.ID)
	}
	if err := checkTimes(r.StartedAt, r.FinishedAt); err != nil {
		return err
	}
	tag, err := updateRow(ctx, db.pool, r, id)
	if err != nil {
		return fmt.Errorf("updating run %s: %w", r.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(r.ID)
	}
	return nil
}

// updateRow saves r's mutable fields in row id.
func updateRow(ctx context.Context, q querier, r *landform.Run, id int64) (pgconn.CommandTag, error) {
	return q.Exec(ctx, `UPDATE runs SET
		dir = $1, commit_sha = $2, ref = $3, state = $4,
		add_count = $5, change_count = $6, destroy_count = $7, replace_count = $8,
		error = $9, plan_sha256 = $10, started_at = $11, finished_at = $12, blocked_by = $13,
		pr_number = $14, pr_author = $15, pr_base = $16, policy = $17, apply = $18, commit_author = $19,
		drift = $20, claimed_by = $21
	WHERE id = $22`,
		r.Dir, r.Commit, r.Ref, string(r.State),
		r.Summary.Add, r.Summary.Change, r.Summary.Destroy, r.Summary.Replace,
		text(r.Error), r.PlanSHA256, nullTime(r.StartedAt), nullTime(r.FinishedAt), r.BlockedBy,
		r.PR.Number, r.PR.Author, r.PR.BaseBranch, jsonText(r.Policy), jsonText(r.Apply), r.CommitAuthor,
		jsonText(r.Drift), r.Owner, id)
}

const runColumns = `id, repo, workspace, dir, commit_sha, ref, kind, state,
	add_count, change_count, destroy_count, replace_count,
	error, plan_sha256, created_at, started_at, finished_at, blocked_by,
	pr_number, pr_author, pr_base, policy, apply, commit_author, drift, claimed_by`

// scanRun reads one row of runColumns.
func scanRun(row pgx.Row) (*landform.Run, error) {
	var (
		r                    landform.Run
		id                   int64
		kind, state          string
		created              string
		started, finished    *string
		policy, apply, drift string
		err                  error
	)
	if err := row.Scan(&id, &r.Repo, &r.Workspace, &r.Dir, &r.Commit, &r.Ref, &kind, &state,
		&r.Summary.Add, &r.Summary.Change, &r.Summary.Destroy, &r.Summary.Replace,
		&r.Error, &r.PlanSHA256, &created, &started, &finished, &r.BlockedBy,
		&r.PR.Number, &r.PR.Author, &r.PR.BaseBranch, &policy, &apply, &r.CommitAuthor, &drift, &r.Owner); err != nil {
		return nil, err
	}
	r.ID, r.Kind, r.State = formatID(id), landform.RunKind(kind), landform.RunState(state)
	if r.Policy, err = parseJSON[landform.PolicyResult](policy); err != nil {
		return nil, fmt.Errorf("run %d: policy: %w", id, err)
	}
	if r.Apply, err = parseJSON[landform.ApplyResult](apply); err != nil {
		return nil, fmt.Errorf("run %d: apply: %w", id, err)
	}
	if r.Drift, err = parseJSON[landform.WorkspaceDrift](drift); err != nil {
		return nil, fmt.Errorf("run %d: drift: %w", id, err)
	}
	if r.CreatedAt, err = time.Parse(timeLayout, created); err != nil {
		return nil, fmt.Errorf("run %d: created_at: %w", id, err)
	}
	if r.StartedAt, err = parseTime(started); err != nil {
		return nil, fmt.Errorf("run %d: started_at: %w", id, err)
	}
	if r.FinishedAt, err = parseTime(finished); err != nil {
		return nil, fmt.Errorf("run %d: finished_at: %w", id, err)
	}
	return &r, nil
}

// queryRuns reads every row of a query selecting runColumns, never nil.
func queryRuns(ctx context.Context, q querier, sql string, args ...any) ([]*landform.Run, error) {
	return collectRuns(q.Query(ctx, sql, args...))
}

// collectRuns reads every row of rows, of runColumns, never nil.
func collectRuns(rows pgx.Rows, err error) ([]*landform.Run, error) {
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

// GetRun returns the run with ID id, its times in UTC. Returns ENOTFOUND when
// there is none (any ID that is not a run's decimal number included).
func (db *DB) GetRun(ctx context.Context, id string) (*landform.Run, error) {
	n, ok := parseID(id)
	if !ok {
		return nil, notFound(id)
	}
	r, err := scanRun(db.pool.QueryRow(ctx, "SELECT "+runColumns+" FROM runs WHERE id = $1", n))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, fmt.Errorf("getting run %s: %w", id, err)
	}
	return r, nil
}

// ListRuns returns the runs f selects, newest first (by CreatedAt, then by
// ID), never nil. Returns EINVALID for a negative limit.
func (db *DB) ListRuns(ctx context.Context, f landform.RunFilter) ([]*landform.Run, error) {
	if f.Limit < 0 {
		return nil, landform.Errorf(landform.EINVALID, "negative run limit %d", f.Limit)
	}
	var where []string
	args := pgx.NamedArgs{}
	add := func(cond, name string, val any) {
		where = append(where, cond)
		args[name] = val
	}
	if f.Repo != "" {
		add("repo = @repo", "repo", f.Repo)
	}
	if f.Workspace != "" {
		add("workspace = @workspace", "workspace", f.Workspace)
	}
	if f.Kind != "" {
		add("kind = @kind", "kind", string(f.Kind))
	}
	if f.Ref != "" {
		add("ref = @ref", "ref", f.Ref)
	}
	if f.Commit != "" {
		add("commit_sha = @commit", "commit", f.Commit)
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, s := range f.States {
			states[i] = string(s)
		}
		add("state = ANY(@states)", "states", states)
	}
	if f.Before != "" {
		before, ok := parseID(f.Before)
		if !ok {
			return []*landform.Run{}, nil
		}
		add("(created_at, id) < (SELECT created_at, id FROM runs WHERE id = @before)", "before", before)
	}
	q := "SELECT " + runColumns + " FROM runs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT @limit"
		args["limit"] = f.Limit
	}
	runs, err := queryRuns(ctx, db.pool, q, args)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	return runs, nil
}

// EnsureNextRunID makes every run ID assigned from now on at least next,
// whatever the database holds: Landform calls it at start with one more
// than the highest run ID its plan store and ledgers hold, so that a lost
// or restored database never hands out an ID that names another run's
// plan artifact or ledger record. It never lowers the sequence: a next at
// or below the IDs already assigned changes nothing. Returns EINVALID for
// a negative next.
//
// A sequence cannot be locked, and setval does not compare: to raise it
// without ever lowering it under a replica that is inserting runs, it
// locks the runs table against inserts (SHARE ROW EXCLUSIVE: it waits for
// the transactions inserting runs, which hold the sequence's values they
// drew, and keeps new ones out; reads go on) while it reads and sets the
// sequence. Every run ID is drawn by an insert into runs.
func (db *DB) EnsureNextRunID(ctx context.Context, next int64) error {
	if next < 0 {
		return landform.Errorf(landform.EINVALID, "negative run ID %d", next)
	}
	if next <= 1 {
		return nil
	}
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE"); err != nil {
			return err
		}
		// The next nextval returns last_value+1, or last_value itself
		// when the sequence was never used (is_called false).
		_, err := tx.Exec(ctx, `SELECT setval('runs_id_seq', $1::bigint - 1, true) FROM runs_id_seq
			WHERE CASE WHEN is_called THEN last_value + 1 ELSE last_value END < $1::bigint`, next)
		return err
	})
	if err != nil {
		return fmt.Errorf("raising the next run ID to %d: %w", next, err)
	}
	return nil
}
