package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
)

const lockColumns = "repo, workspace, holder, run_id, reason, created_at"

func scanLock(row pgx.Row) (*landform.Lock, error) {
	var (
		l       landform.Lock
		created string
	)
	if err := row.Scan(&l.Repo, &l.Workspace, &l.Holder, &l.RunID, &l.Reason, &created); err != nil {
		return nil, err
	}
	t, err := time.Parse(timeLayout, created)
	if err != nil {
		return nil, fmt.Errorf("lock of %s: created_at: %w", l.Workspace, err)
	}
	l.CreatedAt = t
	return &l, nil
}

// lockAttempts bounds AcquireLock's rounds: a lock refused, then found
// released before its holder could be read, is asked for again.
const lockAttempts = 5

// AcquireLock takes the lock of workspace (l.Repo, l.Workspace) for
// l.Holder when it is free, stamping CreatedAt from the DB's clock when
// l.CreatedAt is zero. When l.Holder has it already, it takes it again:
// RunID and Reason become l's, CreatedAt stays (held since then). One
// statement (INSERT … ON CONFLICT … WHERE holder is l.Holder) decides, so
// of racing holders exactly one gets a free lock.
//
// Returns ECONFLICT when another holder has the lock, with a
// *landform.LockedError carrying that holder's lock as its cause; EINVALID
// when l lacks a repo, a workspace or a holder.
func (db *DB) AcquireLock(ctx context.Context, l landform.Lock) error {
	if l.Repo == "" || l.Workspace == "" || l.Holder == "" {
		return landform.Errorf(landform.EINVALID, "a lock needs a repo, a workspace and a holder")
	}
	if err := checkTimes(l.CreatedAt); err != nil {
		return err
	}
	created := l.CreatedAt
	if created.IsZero() {
		created = db.now()
	}
	for range lockAttempts {
		tag, err := db.pool.Exec(ctx, `INSERT INTO workspace_locks (`+lockColumns+`) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (repo, workspace) DO UPDATE SET run_id = excluded.run_id, reason = excluded.reason
			WHERE workspace_locks.holder = excluded.holder`,
			l.Repo, l.Workspace, l.Holder, l.RunID, text(l.Reason), formatTime(created))
		if err != nil {
			return fmt.Errorf("locking workspace %s of %s: %w", l.Workspace, l.Repo, err)
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		held, err := scanLock(db.pool.QueryRow(ctx,
			"SELECT "+lockColumns+" FROM workspace_locks WHERE repo = $1 AND workspace = $2", l.Repo, l.Workspace))
		if errors.Is(err, pgx.ErrNoRows) {
			continue // released meanwhile: ask again
		}
		if err != nil {
			return fmt.Errorf("locking workspace %s of %s: %w", l.Workspace, l.Repo, err)
		}
		if held.Holder != l.Holder {
			return landform.NewLockedError(*held)
		}
	}
	return fmt.Errorf("locking workspace %s of %s: the lock kept changing hands", l.Workspace, l.Repo)
}

// ReleaseLock frees the lock of workspace (repo, workspace) if holder has
// it, and does nothing otherwise.
func (db *DB) ReleaseLock(ctx context.Context, repo, workspace, holder string) error {
	if _, err := db.pool.Exec(ctx, "DELETE FROM workspace_locks WHERE repo = $1 AND workspace = $2 AND holder = $3",
		repo, workspace, holder); err != nil {
		return fmt.Errorf("unlocking workspace %s of %s: %w", workspace, repo, err)
	}
	return nil
}

// ForceUnlock frees the lock of workspace (repo, workspace) whoever holds
// it ("landform unlock"), and returns the lock it freed. Returns ENOTFOUND
// when the workspace is not locked.
func (db *DB) ForceUnlock(ctx context.Context, repo, workspace string) (*landform.Lock, error) {
	l, err := scanLock(db.pool.QueryRow(ctx,
		"DELETE FROM workspace_locks WHERE repo = $1 AND workspace = $2 RETURNING "+lockColumns, repo, workspace))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, landform.Errorf(landform.ENOTFOUND, "workspace %s of %s is not locked", workspace, repo)
	}
	if err != nil {
		return nil, fmt.Errorf("unlocking workspace %s of %s: %w", workspace, repo, err)
	}
	return l, nil
}

// ListLocks returns the locks of repo, or of every repo when repo is "",
// by repo and workspace (byte order), never nil.
func (db *DB) ListLocks(ctx context.Context, repo string) ([]*landform.Lock, error) {
	q, args := "SELECT "+lockColumns+" FROM workspace_locks", []any{}
	if repo != "" {
		q += " WHERE repo = $1"
		args = append(args, repo)
	}
	rows, err := db.pool.Query(ctx, q+" ORDER BY repo, workspace", args...)
	if err != nil {
		return nil, fmt.Errorf("listing locks: %w", err)
	}
	defer rows.Close()
	locks := []*landform.Lock{}
	for rows.Next() {
		l, err := scanLock(rows)
		if err != nil {
			return nil, fmt.Errorf("listing locks: %w", err)
		}
		locks = append(locks, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing locks: %w", err)
	}
	return locks, nil
}

// ReleaseLocksOf frees every lock holder has in repo (its pull request was
// merged or closed) and returns how many it freed.
func (db *DB) ReleaseLocksOf(ctx context.Context, repo, holder string) (int, error) {
	tag, err := db.pool.Exec(ctx, "DELETE FROM workspace_locks WHERE repo = $1 AND holder = $2", repo, holder)
	if err != nil {
		return 0, fmt.Errorf("unlocking the workspaces %s holds in %s: %w", holder, repo, err)
	}
	return int(tag.RowsAffected()), nil
}
