package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
)

// InterruptedApply is the Error of a run RecoverRuns found applying: nobody
// knows how far terraform got, and the backend's state lock may still be
// held, so a person has to look. The same words as store/sqlite's.
const InterruptedApply = "interrupted while applying: state may be locked; " +
	"check the backend's state lock and re-run apply by hand"

// States as SQL literals, for the queries the partial indexes serve.
var (
	sqlQueued   = lit(landform.StateQueued)
	sqlBusy     = "(" + lit(landform.StateRunning) + ", " + lit(landform.StateApplying) + ")"
	sqlRunning  = lit(landform.StateRunning)
	sqlApplying = lit(landform.StateApplying)
	sqlReplans  = "(" + lit(landform.RunPlan) + ", " + lit(landform.RunDrift) + ")"
)

// workspaceLockSQL takes the transaction-level advisory lock of workspace
// (@repo, @workspace). ClaimRun and TransitionRun hold it while they check
// that no run of the workspace is running or applying and make one so, so
// that of two replicas doing so at once the second sees the first's run.
// Two keys (the hashes of repo and workspace) keep it apart from the
// single-key migration lock; a collision of hashes only makes two
// workspaces wait for each other a moment.
const workspaceLockSQL = "SELECT pg_advisory_xact_lock(hashtext(@repo), hashtext(@workspace))"

// busySQL reports whether a run of workspace (@repo, @workspace) other
// than run @id is running or applying.
var busySQL = `SELECT id, kind FROM runs WHERE repo = @repo AND workspace = @workspace
	AND state IN ` + sqlBusy + ` AND id <> @id LIMIT 1`

// claimSQL finds the run ClaimRun takes: the oldest queued, unblocked run
// whose workspace has no run running or applying, locking it and skipping
// the runs other claimers have locked, and the workspaces in
// (@skipRepos, @skipWorkspaces).
//
// OFFSET 0 keeps each NOT EXISTS a subplan tested per row, so that the
// planner walks the queue in order and stops at the first run that
// passes: written as anti-joins, which the planner cannot estimate well
// (it sees every queued run's workspace among all runs), it sorted the
// whole queue instead, and without statistics took 150 ms for 1,000
// queued runs.
var claimSQL = `SELECT q.id, q.repo, q.workspace FROM runs q
	WHERE q.state = ` + sqlQueued + ` AND q.blocked_by = ''
		AND NOT EXISTS (SELECT 1 FROM unnest(@skipRepos::text[], @skipWorkspaces::text[]) s (repo, workspace)
			WHERE s.repo = q.repo AND s.workspace = q.workspace OFFSET 0)
		AND NOT EXISTS (SELECT 1 FROM runs b
			WHERE b.repo = q.repo AND b.workspace = q.workspace AND b.state IN ` + sqlBusy + ` OFFSET 0)
	ORDER BY q.created_at, q.id
	LIMIT 1
	FOR UPDATE OF q SKIP LOCKED`

// claimRunSQL marks run @id running for @owner if it may still be
// claimed: no run of its workspace is running or applying, and no queued,
// unblocked run of the workspace is older (one another claimer has
// locked: claimSQL skipped it). ClaimRun runs it right after taking the
// workspace's advisory lock, as a statement of its own, so that it sees
// what the claimers before it committed.
var claimRunSQL = `UPDATE runs SET state = ` + sqlRunning + `, started_at = @now, claimed_by = @owner
	WHERE id = @id AND NOT EXISTS (SELECT 1 FROM runs o
		WHERE o.repo = runs.repo AND o.workspace = runs.workspace AND (o.state IN ` + sqlBusy + ` OR
			(o.state = ` + sqlQueued + ` AND o.blocked_by = '' AND (o.created_at, o.id) < (runs.created_at, runs.id))))
	RETURNING ` + runColumns

// claimAttempts bounds how many workspaces one ClaimRun passes over
// because, once locked, they turned out busy or their run not the oldest.
const claimAttempts = 8

// ClaimRun takes the next run off the queue for owner (a worker's name,
// kept with the run): the oldest queued run (by CreatedAt, then ID) whose
// workspace — its (Repo, Workspace) — has no run running or applying. It
// marks that run running with StartedAt from the DB's clock, all in one
// transaction, so that concurrent claimers, in this process or in other
// replicas, never get the same run nor two running runs of one workspace,
// and each workspace's runs are claimed oldest first. Any kind of run is
// claimed; workspace locks are not looked at: whether a holder may plan is
// decided when the run is queued, and a run waiting for a lock has
// BlockedBy set, which keeps it from being claimed.
//
// How, without one lock over the whole queue: the candidate is locked
// with FOR UPDATE SKIP LOCKED (claimSQL), so claimers skip each other's
// candidates instead of waiting. Then, holding the workspace's advisory
// lock (workspaceLockSQL), which every claimer of the workspace and
// TransitionRun's start of an apply take, it checks again in a new
// snapshot (claimRunSQL) that no run of the workspace is running or
// applying and that no older run of it is queued — another claimer may
// hold that one — and marks the candidate running. A workspace that fails
// the check is passed over, in a new transaction, for the next candidate;
// after claimAttempts of them it returns nil, as for an empty queue, and
// the caller asks again later.
//
// Returns nil, nil when no run is claimable: an empty queue is not an
// error. Returns EINVALID for an empty owner.
func (db *DB) ClaimRun(ctx context.Context, owner string) (*landform.Run, error) {
	if owner == "" {
		return nil, landform.Errorf(landform.EINVALID, "claiming a run needs an owner")
	}
	skipRepos, skipWorkspaces := []string{}, []string{}
	for range claimAttempts {
		var (
			claimed         *landform.Run
			repo, workspace string
			passed          bool
		)
		err := db.inTx(ctx, func(tx pgx.Tx) error {
			claimed, passed = nil, false
			var id int64
			err := tx.QueryRow(ctx, claimSQL, pgx.NamedArgs{"skipRepos": skipRepos, "skipWorkspaces": skipWorkspaces}).
				Scan(&id, &repo, &workspace)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			// The lock, then the claim in a snapshot taken once it is
			// held: two statements, sent together.
			batch := &pgx.Batch{}
			batch.Queue(workspaceLockSQL, pgx.NamedArgs{"repo": repo, "workspace": workspace})
			batch.Queue(claimRunSQL, pgx.NamedArgs{"id": id, "owner": owner, "now": formatTime(db.now())})
			br := tx.SendBatch(ctx, batch)
			defer br.Close()
			if _, err := br.Exec(); err != nil {
				return err
			}
			runs, err := collectRuns(br.Query())
			if err != nil {
				return err
			}
			if len(runs) == 0 {
				passed = true
				return nil
			}
			claimed = runs[0]
			return br.Close()
		})
		if err != nil {
			return nil, fmt.Errorf("claiming a queued run: %w", err)
		}
		if !passed {
			return claimed, nil
		}
		skipRepos, skipWorkspaces = append(skipRepos, repo), append(skipWorkspaces, workspace)
	}
	return nil, nil
}

// SupersedeRuns marks superseded the unapplied plan runs of (repo,
// workspace, ref) older than the run keepID, and returns them as stored now,
// in ID order, never nil. Unapplied means queued, planned,
// awaiting_approval or approved; runs of other kinds, and plan runs running
// or applying or in a final state (no_changes, errored, policy_failed…),
// are left alone. A run running now — or being claimed: the update waits
// for the claim — is not superseded: when it finishes, the caller
// supersedes it by calling again. Older means created before keepID's run
// (CreatedAt, then ID), so a run re-queued by RecoverRuns, which keeps its
// original CreatedAt, stays older than the runs queued after it. A
// superseded run that never finished gets FinishedAt from the DB's clock.
//
// Returns ENOTFOUND when there is no run keepID.
func (db *DB) SupersedeRuns(ctx context.Context, repo, workspace, ref, keepID string) ([]*landform.Run, error) {
	keep, ok := parseID(keepID)
	if !ok {
		return nil, notFound(keepID)
	}
	var superseded []*landform.Run
	err := db.inTx(ctx, func(tx pgx.Tx) error {
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
func (db *DB) supersede(ctx context.Context, tx pgx.Tx, repo, workspace, ref string, keep int64) ([]*landform.Run, error) {
	var keepCreated string
	err := tx.QueryRow(ctx, "SELECT created_at FROM runs WHERE id = $1", keep).Scan(&keepCreated)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound(formatID(keep))
	}
	if err != nil {
		return nil, err
	}
	return queryRuns(ctx, tx, `UPDATE runs
		SET state = @superseded, finished_at = coalesce(finished_at, @now)
		WHERE repo = @repo AND workspace = @workspace AND ref = @ref AND kind = @plan
			AND state = ANY(@unapplied)
			AND (created_at, id) < (@keepCreated::text, @keep::bigint)
		RETURNING `+runColumns,
		pgx.NamedArgs{
			"superseded": landform.StateSuperseded, "now": formatTime(db.now()),
			"repo": repo, "workspace": workspace, "ref": ref, "plan": landform.RunPlan,
			"unapplied": []string{string(landform.StateQueued), string(landform.StatePlanned),
				string(landform.StateAwaitingApproval), string(landform.StateApproved)},
			"keepCreated": keepCreated, "keep": keep,
		})
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
// every such run in the database, so it is for a single daemon; replicas
// sharing the database recover each other's runs with RecoverOrphans.
func (db *DB) RecoverRuns(ctx context.Context) (requeued, flagged []*landform.Run, err error) {
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		requeued, flagged, err = db.recover(ctx, tx, "TRUE", pgx.NamedArgs{})
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("recovering interrupted runs: %w", err)
	}
	return requeued, flagged, nil
}

// recover is RecoverRuns of the runs that also match the SQL condition
// which (over the table runs, with the named args), in tx. It locks what
// it recovers, so that two replicas recovering at once recover each run
// once: the second waits, then finds the run interrupted.
func (db *DB) recover(ctx context.Context, tx pgx.Tx, which string, args pgx.NamedArgs) (requeued, flagged []*landform.Run, err error) {
	now := formatTime(db.now())
	cut, err := queryRuns(ctx, tx, "SELECT "+runColumns+" FROM runs WHERE state = "+sqlRunning+
		" AND kind IN "+sqlReplans+" AND ("+which+") ORDER BY id FOR UPDATE", args)
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
		oldID, _ := parseID(old.ID)
		if _, err := tx.Exec(ctx, "UPDATE runs SET state = $1, error = $2, finished_at = $3 WHERE id = $4",
			landform.StateInterrupted,
			fmt.Sprintf("interrupted: Landform stopped while this run was running; re-queued as run %d", id),
			now, oldID); err != nil {
			return nil, nil, err
		}
		again.ID, again.CreatedAt = formatID(id), old.CreatedAt
		requeued = append(requeued, again)
	}

	flaggedArgs := pgx.NamedArgs{"interrupted": landform.StateInterrupted, "why": InterruptedApply, "now": now}
	for k, v := range args {
		flaggedArgs[k] = v
	}
	flagged, err = queryRuns(ctx, tx, `UPDATE runs
		SET state = @interrupted, error = @why, finished_at = @now, needs_attention = true
		WHERE state IN `+sqlBusy+` AND (state = `+sqlApplying+` OR kind NOT IN `+sqlReplans+`) AND (`+which+`)
		RETURNING `+runColumns, flaggedArgs)
	if err != nil {
		return nil, nil, err
	}
	sortByID(flagged)
	return requeued, flagged, nil
}

// ListAttention returns the runs flagged for a person (see RecoverRuns),
// newest first, never nil, until ClearAttention.
func (db *DB) ListAttention(ctx context.Context) ([]*landform.Run, error) {
	runs, err := queryRuns(ctx, db.pool, "SELECT "+runColumns+
		" FROM runs WHERE needs_attention ORDER BY created_at DESC, id DESC")
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
	tag, err := db.pool.Exec(ctx, "UPDATE runs SET needs_attention = false WHERE id = $1", n)
	if err != nil {
		return fmt.Errorf("clearing attention of run %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
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
