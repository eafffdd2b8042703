package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/store/internal/rows"
)

// timeLayout is the stored text of times (rows.TimeLayout).
const timeLayout = rows.TimeLayout

func formatTime(t time.Time) string { return rows.FormatTime(t) }

// nullTime stores the zero time as NULL.
func nullTime(t time.Time) sql.NullString {
	if t.IsZero() {
		return sql.NullString{}
	}
	return sql.NullString{String: formatTime(t), Valid: true}
}

func parseTime(s sql.NullString) (time.Time, error) {
	if !s.Valid {
		return time.Time{}, nil
	}
	return time.Parse(timeLayout, s.String)
}

// checkTimes is rows.CheckTimes.
func checkTimes(ts ...time.Time) error { return rows.CheckTimes(ts...) }

// The stored forms of the JSON columns (rows.JSON).
func policyJSON(p *landform.PolicyResult) string { return rows.JSON(p) }

func applyJSON(a *landform.ApplyResult) string { return rows.JSON(a) }

func driftJSON(d *landform.WorkspaceDrift) string { return rows.JSON(d) }

// parseID and notFound are rows'.
func parseID(id string) (int64, bool) { return rows.ParseID(id) }

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
	id, err := insertRun(ctx, db.db, r, created)
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

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// insertRun inserts r, created at created, and returns its row ID; r is
// not changed.
func insertRun(ctx context.Context, e execer, r *landform.Run, created time.Time) (int64, error) {
	res, err := e.ExecContext(ctx, `INSERT INTO runs (
		repo, workspace, dir, commit_sha, ref, kind, state,
		add_count, change_count, destroy_count, replace_count,
		error, plan_sha256, created_at, started_at, finished_at, blocked_by,
		pr_number, pr_author, pr_base, policy, apply, commit_author, drift, claimed_by
	) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.Repo, r.Workspace, r.Dir, r.Commit, r.Ref, string(r.Kind), string(r.State),
		r.Summary.Add, r.Summary.Change, r.Summary.Destroy, r.Summary.Replace,
		r.Error, r.PlanSHA256, formatTime(created), nullTime(r.StartedAt), nullTime(r.FinishedAt), r.BlockedBy,
		r.PR.Number, r.PR.Author, r.PR.BaseBranch, policyJSON(r.Policy), applyJSON(r.Apply), r.CommitAuthor, driftJSON(r.Drift), r.Owner)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// UpdateRun saves r's mutable fields: Dir, Commit, Ref, State, Summary,
// Error, PlanSHA256, BlockedBy, PR, Policy, CommitAuthor, Apply, Drift, Owner, StartedAt and FinishedAt. ID, Repo, Workspace, Kind and
// CreatedAt are fixed at creation; their values in r are ignored.
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
	res, err := updateRow(ctx, db.db, r, id)
	if err != nil {
		return fmt.Errorf("updating run %s: %w", r.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("updating run %s: %w", r.ID, err)
	}
	if n == 0 {
		return notFound(r.ID)
	}
	return nil
}

// updateRow saves r's mutable fields in row id.
func updateRow(ctx context.Context, e execer, r *landform.Run, id int64) (sql.Result, error) {
	return e.ExecContext(ctx, `UPDATE runs SET
		dir = ?, commit_sha = ?, ref = ?, state = ?,
		add_count = ?, change_count = ?, destroy_count = ?, replace_count = ?,
		error = ?, plan_sha256 = ?, started_at = ?, finished_at = ?, blocked_by = ?,
		pr_number = ?, pr_author = ?, pr_base = ?, policy = ?, apply = ?, commit_author = ?, drift = ?, claimed_by = ?
	WHERE id = ?`,
		r.Dir, r.Commit, r.Ref, string(r.State),
		r.Summary.Add, r.Summary.Change, r.Summary.Destroy, r.Summary.Replace,
		r.Error, r.PlanSHA256, nullTime(r.StartedAt), nullTime(r.FinishedAt), r.BlockedBy,
		r.PR.Number, r.PR.Author, r.PR.BaseBranch, policyJSON(r.Policy), applyJSON(r.Apply), r.CommitAuthor, driftJSON(r.Drift), r.Owner, id)
}

const runColumns = `id, repo, workspace, dir, commit_sha, ref, kind, state,
	add_count, change_count, destroy_count, replace_count,
	error, plan_sha256, created_at, started_at, finished_at, blocked_by,
	pr_number, pr_author, pr_base, policy, apply, commit_author, drift, claimed_by`

// scanRun reads one row of runColumns.
func scanRun(row interface{ Scan(...any) error }) (*landform.Run, error) {
	var (
		r                 landform.Run
		id                int64
		created           string
		started, finished sql.NullString
		policy, apply     string
		drift             string
		err               error
	)
	if err := row.Scan(&id, &r.Repo, &r.Workspace, &r.Dir, &r.Commit, &r.Ref, &r.Kind, &r.State,
		&r.Summary.Add, &r.Summary.Change, &r.Summary.Destroy, &r.Summary.Replace,
		&r.Error, &r.PlanSHA256, &created, &started, &finished, &r.BlockedBy,
		&r.PR.Number, &r.PR.Author, &r.PR.BaseBranch, &policy, &apply, &r.CommitAuthor, &drift, &r.Owner); err != nil {
		return nil, err
	}
	if r.Drift, err = rows.ParseJSON[landform.WorkspaceDrift](drift); err != nil {
		return nil, fmt.Errorf("run %d: drift: %w", id, err)
	}
	if r.Apply, err = rows.ParseJSON[landform.ApplyResult](apply); err != nil {
		return nil, fmt.Errorf("run %d: apply: %w", id, err)
	}
	if r.Policy, err = rows.ParseJSON[landform.PolicyResult](policy); err != nil {
		return nil, fmt.Errorf("run %d: policy: %w", id, err)
	}
	r.ID = strconv.FormatInt(id, 10)
	if r.CreatedAt, err = time.Parse(timeLayout, created); err != nil {
		return nil, fmt.Errorf("run %s: created_at: %w", r.ID, err)
	}
	if r.StartedAt, err = parseTime(started); err != nil {
		return nil, fmt.Errorf("run %s: started_at: %w", r.ID, err)
	}
	if r.FinishedAt, err = parseTime(finished); err != nil {
		return nil, fmt.Errorf("run %s: finished_at: %w", r.ID, err)
	}
	return &r, nil
}

// GetRun returns the run with ID id, its times in UTC. Returns ENOTFOUND when
// there is none (any ID that is not a run's decimal number included).
func (db *DB) GetRun(ctx context.Context, id string) (*landform.Run, error) {
	n, ok := parseID(id)
	if !ok {
		return nil, notFound(id)
	}
	r, err := scanRun(db.db.QueryRowContext(ctx, "SELECT "+runColumns+" FROM runs WHERE id = ?", n))
	if errors.Is(err, sql.ErrNoRows) {
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
	var (
		where []string
		args  []any
	)
	add := func(cond string, vals ...any) {
		where = append(where, cond)
		args = append(args, vals...)
	}
	if f.Repo != "" {
		add("repo = ?", f.Repo)
	}
	if f.Workspace != "" {
		add("workspace = ?", f.Workspace)
	}
	if f.Kind != "" {
		add("kind = ?", string(f.Kind))
	}
	if f.Ref != "" {
		add("ref = ?", f.Ref)
	}
	if f.Commit != "" {
		add("commit_sha = ?", f.Commit)
	}
	if len(f.States) > 0 {
		vals := make([]any, len(f.States))
		for i, s := range f.States {
			vals[i] = string(s)
		}
		add("state IN (?"+strings.Repeat(", ?", len(vals)-1)+")", vals...)
	}
	if f.Before != "" {
		before, ok := parseID(f.Before)
		if !ok {
			return []*landform.Run{}, nil
		}
		add(`(created_at, id) < (SELECT created_at, id FROM runs WHERE id = ?)`, before)
	}
	q := "SELECT " + runColumns + " FROM runs"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY created_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}

	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("listing runs: %w", err)
	}
	defer rows.Close()
	runs := []*landform.Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("listing runs: %w", err)
		}
		runs = append(runs, r)
	}
	if err := rows.Err(); err != nil {
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
func (db *DB) EnsureNextRunID(ctx context.Context, next int64) error {
	if next < 0 {
		return landform.Errorf(landform.EINVALID, "negative run ID %d", next)
	}
	if next <= 1 {
		return nil
	}
	// AUTOINCREMENT assigns one more than the larger of sqlite_sequence's
	// entry for the table and the largest ID in it; the entry is there
	// once a run was ever inserted.
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'runs'", next-1)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n > 0 {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO sqlite_sequence (name, seq) VALUES ('runs', ?)", next-1)
		return err
	})
	if err != nil {
		return fmt.Errorf("raising the next run ID to %d: %w", next, err)
	}
	return nil
}
