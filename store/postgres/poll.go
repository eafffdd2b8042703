package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
)

// LastProcessed returns the commit SetLastProcessed last recorded for ref
// of repo, "" when none.
func (db *DB) LastProcessed(ctx context.Context, repo, ref string) (string, error) {
	var sha string
	err := db.pool.QueryRow(ctx, "SELECT commit_sha FROM poll_state WHERE repo = $1 AND ref = $2", repo, ref).Scan(&sha)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the last commit processed on %s of %s: %w", ref, repo, err)
	}
	return sha, nil
}

// SetLastProcessed records sha as the last commit processed on ref of repo.
// An empty sha forgets the ref (it is gone from the remote): LastProcessed
// returns "" again. Returns EINVALID for an empty repo or ref.
func (db *DB) SetLastProcessed(ctx context.Context, repo, ref, sha string) error {
	if repo == "" || ref == "" {
		return landform.Errorf(landform.EINVALID, "poll state needs a repo and a ref")
	}
	if err := setLastProcessed(ctx, db.pool, repo, ref, sha, db.now()); err != nil {
		return fmt.Errorf("recording the last commit processed on %s of %s: %w", ref, repo, err)
	}
	return nil
}

// setLastProcessed is SetLastProcessed through q, stamped now.
func setLastProcessed(ctx context.Context, q querier, repo, ref, sha string, now time.Time) error {
	var err error
	if sha == "" {
		_, err = q.Exec(ctx, "DELETE FROM poll_state WHERE repo = $1 AND ref = $2", repo, ref)
	} else {
		_, err = q.Exec(ctx, `INSERT INTO poll_state (repo, ref, commit_sha, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (repo, ref) DO UPDATE SET commit_sha = excluded.commit_sha, updated_at = excluded.updated_at`,
			repo, ref, sha, formatTime(now))
	}
	return err
}

// QueueRuns records what one poll made of commit on ref of repo, in one
// transaction: it creates runs (assigning each its ID, and its CreatedAt
// when zero, as CreateRun does), supersedes for each of them the older
// unapplied plan runs of its workspace and ref (as SupersedeRuns does),
// and records commit as the last one processed on ref (as
// SetLastProcessed does). Either all of it is stored or none of it: on
// error no run is created or superseded, the poll state is as it was, and
// runs are left as given. runs may be empty: a branch's baseline.
//
// It returns the runs it superseded, in ID order, never nil. Returns
// EINVALID for an empty repo, ref or commit, and for a run that CreateRun
// refuses or whose Repo or Ref is not repo or ref.
func (db *DB) QueueRuns(ctx context.Context, repo, ref, commit string, runs []*landform.Run) ([]*landform.Run, error) {
	if repo == "" || ref == "" || commit == "" {
		return nil, landform.Errorf(landform.EINVALID, "queueing runs needs a repo, a ref and a commit")
	}
	ids := make([]int64, len(runs))
	created := make([]time.Time, len(runs))
	var superseded []*landform.Run
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		superseded = []*landform.Run{}
		for i, r := range runs {
			if r.Repo != repo || r.Ref != ref {
				return landform.Errorf(landform.EINVALID, "a run of %s on %s queued by the poll of %s on %s", r.Repo, r.Ref, repo, ref)
			}
			var err error
			if created[i], err = db.checkNew(r); err != nil {
				return err
			}
			if ids[i], err = insertRun(ctx, tx, r, created[i]); err != nil {
				return fmt.Errorf("creating run of %s: %w", r.Workspace, err)
			}
			older, err := db.supersede(ctx, tx, repo, r.Workspace, ref, ids[i])
			if err != nil {
				return fmt.Errorf("superseding runs of %s: %w", r.Workspace, err)
			}
			superseded = append(superseded, older...)
		}
		return setLastProcessed(ctx, tx, repo, ref, commit, db.now())
	})
	if err != nil {
		return nil, fmt.Errorf("queueing %d runs of %s at %s: %w", len(runs), ref, landform.ShortSHA(commit), err)
	}
	for i, r := range runs {
		r.ID, r.CreatedAt = formatID(ids[i]), created[i]
	}
	sortByID(superseded)
	return superseded, nil
}
