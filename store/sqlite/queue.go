package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/landform/landform"
)

// InterruptedApply is the Error of a run RecoverRuns found applying: nobody
// knows how far terraform got, and the backend's state lock may still be
// held, so a person has to look.
const InterruptedApply = "interrupted while applying: state may be locked; " +
	"check the backend's state lock and re-run apply by hand"

// ClaimRun takes the next run off the queue for owner (a worker's name,
// kept with the run): the oldest queued run (by CreatedAt, then ID) whose
// workspace — its (Repo, Workspace) — has no run running or applying. It
// marks that run running with StartedAt from the DB's clock, all in one
// transaction, so that concurrent claimers, in this process or another,
// never get the same run nor two running runs of one workspace. Any kind of
// run is claimed; workspace locks are not looked at: whether a holder may
// plan is decided when the run is queued, and a run waiting for a lock has
// BlockedBy set, which keeps it from being claimed.
//
// Returns nil, nil when no run is claimable: an empty queue is not an
// error. Returns EINVALID for an empty owner.
func (db *DB) ClaimRun(ctx context.Context, owner string) (*landform.Run, error) {
	if owner == "" {
		return nil, landform.Errorf(landform.EINVALID, "claiming a run needs an owner")
	}
	var claimed *landform.Run
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT q.id FROM runs q
			WHERE q.state = ? AND q.blocked_by = '' AND NOT EXISTS (
				SELECT 1 FROM runs b
				WHERE b.repo = q.repo AND b.workspace = q.workspace AND b.state IN (?, ?))
			ORDER BY q.created_at, q.id
			LIMIT 1`,
			landform.StateQueued, landform.StateRunning, landform.StateApplying).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		runs, err := queryRuns(ctx, tx, `UPDATE runs SET state = ?, started_at = ?, claimed_by = ?
			WHERE id = ? RETURNING `+runColumns,
			landform.StateRunning, formatTime(db.now()), owner, id)
		if err != nil {
			return err
		}
		claimed = runs[0]
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claiming a queued run: %w", err)
	}
	return claimed, nil
}

// SupersedeRuns marks superseded the unapplied plan runs of (repo,
// workspace, ref) older than the run keepID, and returns them as stored now,
// in ID order, never nil. Unapplied means queued, planned,
// awaiting_approval or approved; runs of other kinds, and plan runs running
// or applying or in a final state (no_changes, errored, policy_failed…),
// are left alone. A run running now is not superseded: when it finishes, the
// caller supersedes it by calling again. Older means created before keepID's
// run (CreatedAt, then ID), so a run re-queued by RecoverRuns, which keeps
// its original CreatedAt, stays older than the runs queued after it.
// A superseded run that never finished gets FinishedAt from the DB's clock.
//
// Returns ENOTFOUND when there is no run keepID.
func (db *DB) SupersedeRuns(ctx context.Context, repo, workspace, ref, keepID string) ([]*landform.Run, error) {
	keep, ok := parseID(keepID)
	if !ok {
		return nil, notFound(keepID)
	}
	var superseded []*landform.Run
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		superseded, err = db.supersede(ctx, tx, repo, workspace, ref, keep)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("superseding runs of %s older than run %s: %w", workspace, keepID, err)
	}
	sortByID(superseded)
	return superseded, nil
}

// supersede is SupersedeRuns in tx; the runs it returns are in no order.
func (db *DB) supersede(ctx context.Context, tx *sql.Tx, repo, workspace, ref string, keep int64) ([]*landform.Run, error) {
	var keepCreated string
	err := tx.QueryRowContext(ctx, "SELECT created_at FROM runs WHERE id = ?", keep).Scan(&keepCreated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(formatID(keep))
	}
	if err != nil {
		return nil, err
	}
	return queryRuns(ctx, tx, `UPDATE runs
		SET state = ?, finished_at = coalesce(finished_at, ?)
		WHERE repo = ? AND workspace = ? AND ref = ? AND kind = ?
			AND state IN (?, ?, ?, ?)
			AND (created_at < ? OR (created_at = ? AND id < ?))
		RETURNING `+runColumns,
		landform.StateSuperseded, formatTime(db.now()),
		repo, workspace, ref, landform.RunPlan,
		landform.StateQueued, landform.StatePlanned, landform.StateAwaitingApproval, landform.StateApproved,
		keepCreated, keepCreated, keep)
}

// RecoverRuns puts right, at daemon start, the runs a stop or a crash cut
// off, in one transaction:
//
//   - a plan or drift run left running becomes interrupted (FinishedAt from
//     the DB's clock, Error naming the new run) and a new queued run copies
//     its repo, workspace, dir, commit, ref, kind and CreatedAt — keeping
//     CreatedAt keeps its place in the queue; requeued holds the copies;
//   - a run left applying, and a run of any other kind left running, becomes
//     interrupted with Error InterruptedApply and is flagged for a person
//     (see ListAttention), never re-queued; flagged holds them.
//
// Both lists are in ID order (of the originals), never nil. It recovers
// every such run in the database, so only one process may use the database
// while it runs — the one that is about to claim runs.
func (db *DB) RecoverRuns(ctx context.Context) (requeued, flagged []*landform.Run, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		requeued, flagged, err = db.recover(ctx, tx, "1 = 1")
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("recovering interrupted runs: %w", err)
	}
	return requeued, flagged, nil
}

// recover is RecoverRuns of the runs that also match the SQL condition
// which (with its args), in tx.
func (db *DB) recover(ctx context.Context, tx *sql.Tx, which string, args ...any) (requeued, flagged []*landform.Run, err error) {
	now := formatTime(db.now())
	cut, err := queryRuns(ctx, tx, "SELECT "+runColumns+" FROM runs WHERE state = ? AND kind IN (?, ?) AND ("+which+") ORDER BY id",
		append([]any{landform.StateRunning, landform.RunPlan, landform.RunDrift}, args...)...)
	if err != nil {
		return nil, nil, err
	}
	requeued = make([]*landform.Run, 0, len(cut))
	for _, old := range cut {
		again := &landform.Run{
			Repo: old.Repo, Workspace: old.Workspace, Dir: old.Dir, Commit: old.Commit, Ref: old.Ref,
			Kind: old.Kind, State: landform.StateQueued, PR: old.PR, CommitAuthor: old.CommitAuthor,
		}
		id, err := insertRun(ctx, tx, again, old.CreatedAt)
		if err != nil {
			return nil, nil, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE runs SET state = ?, error = ?, finished_at = ? WHERE id = ?",
			landform.StateInterrupted,
			fmt.Sprintf("interrupted: Landform stopped while this run was running; re-queued as run %d", id),
			now, old.ID); err != nil {
			return nil, nil, err
		}
		again.ID, again.CreatedAt = formatID(id), old.CreatedAt
		requeued = append(requeued, again)
	}

	flagged, err = queryRuns(ctx, tx, `UPDATE runs
		SET state = ?, error = ?, finished_at = ?, needs_attention = 1
		WHERE (state = ? OR (state = ? AND kind NOT IN (?, ?))) AND (`+which+`)
		RETURNING `+runColumns,
		append([]any{landform.StateInterrupted, InterruptedApply, now,
			landform.StateApplying, landform.StateRunning, landform.RunPlan, landform.RunDrift}, args...)...)
	if err != nil {
		return nil, nil, err
	}
	sortByID(flagged)
	return requeued, flagged, nil
}

// ListAttention returns the runs flagged for a person (see RecoverRuns),
// newest first, never nil, until ClearAttention.
func (db *DB) ListAttention(ctx context.Context) ([]*landform.Run, error) {
	runs, err := queryRuns(ctx, db.db, "SELECT "+runColumns+
		" FROM runs WHERE needs_attention = 1 ORDER BY created_at DESC, id DESC")
	if err != nil {
		return nil, fmt.Errorf("listing runs that need attention: %w", err)
	}
	return runs, nil
}

// ClearAttention takes run id off ListAttention, once a person has looked.
// Clearing a run that is not flagged does nothing. Returns ENOTFOUND for an
// unknown run.
func (db *DB) ClearAttention(ctx context.Context, id string) error {
	n, ok := parseID(id)
	if !ok {
		return notFound(id)
	}
	res, err := db.db.ExecContext(ctx, "UPDATE runs SET needs_attention = 0 WHERE id = ?", n)
	if err != nil {
		return fmt.Errorf("clearing attention of run %s: %w", id, err)
	}
	if k, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("clearing attention of run %s: %w", id, err)
	} else if k == 0 {
		return notFound(id)
	}
	return nil
}

// sortByID sorts runs by ID, as numbers: RETURNING has no order.
func sortByID(runs []*landform.Run) {
	slices.SortFunc(runs, func(a, b *landform.Run) int {
		x, _ := parseID(a.ID)
		y, _ := parseID(b.ID)
		return cmp.Compare(x, y)
	})
}
