package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/landform/landform"
)

const lockColumns = "repo, workspace, holder, run_id, reason, created_at"

func scanLock(row interface{ Scan(...any) error }) (*landform.Lock, error) {
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

// AcquireLock takes the lock of workspace (l.Repo, l.Workspace) for
// l.Holder when it is free, stamping CreatedAt from the DB's clock when
// l.CreatedAt is zero. When l.Holder has it already, it takes it again:
// RunID and Reason become l's, CreatedAt stays (held since then).
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
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		held, err := scanLock(tx.QueryRowContext(ctx,
			"SELECT "+lockColumns+" FROM workspace_locks WHERE repo = ? AND workspace = ?", l.Repo, l.Workspace))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = tx.ExecContext(ctx, "INSERT INTO workspace_locks ("+lockColumns+") VALUES (?, ?, ?, ?, ?, ?)",
				l.Repo, l.Workspace, l.Holder, l.RunID, l.Reason, formatTime(created))
			return err
		case err != nil:
			return err
		case held.Holder != l.Holder:
			return landform.NewLockedError(*held)
		}
		_, err = tx.ExecContext(ctx, "UPDATE workspace_locks SET run_id = ?, reason = ? WHERE repo = ? AND workspace = ?",
			l.RunID, l.Reason, l.Repo, l.Workspace)
		return err
	})
	if landform.ErrorCode(err) == landform.ECONFLICT {
		return err
	}
	if err != nil {
		return fmt.Errorf("locking workspace %s of %s: %w", l.Workspace, l.Repo, err)
	}
	return nil
}

// ReleaseLock frees the lock of workspace (repo, workspace) if holder has
// it, and does nothing otherwise.
func (db *DB) ReleaseLock(ctx context.Context, repo, workspace, holder string) error {
	if _, err := db.db.ExecContext(ctx, "DELETE FROM workspace_locks WHERE repo = ? AND workspace = ? AND holder = ?",
		repo, workspace, holder); err != nil {
		return fmt.Errorf("unlocking workspace %s of %s: %w", workspace, repo, err)
	}
	return nil
}

// ForceUnlock frees the lock of workspace (repo, workspace) whoever holds
// it ("landform unlock"), and returns the lock it freed. Returns ENOTFOUND
// when the workspace is not locked.
func (db *DB) ForceUnlock(ctx context.Context, repo, workspace string) (*landform.Lock, error) {
	l, err := scanLock(db.db.QueryRowContext(ctx,
		"DELETE FROM workspace_locks WHERE repo = ? AND workspace = ? RETURNING "+lockColumns, repo, workspace))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, landform.Errorf(landform.ENOTFOUND, "workspace %s of %s is not locked", workspace, repo)
	}
	if err != nil {
		return nil, fmt.Errorf("unlocking workspace %s of %s: %w", workspace, repo, err)
	}
	return l, nil
}

// ListLocks returns the locks of repo, or of every repo when repo is "",
// by repo and workspace, never nil.
func (db *DB) ListLocks(ctx context.Context, repo string) ([]*landform.Lock, error) {
	q, args := "SELECT "+lockColumns+" FROM workspace_locks", []any{}
	if repo != "" {
		q += " WHERE repo = ?"
		args = append(args, repo)
	}
	rows, err := db.db.QueryContext(ctx, q+" ORDER BY repo, workspace", args...)
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
	res, err := db.db.ExecContext(ctx, "DELETE FROM workspace_locks WHERE repo = ? AND holder = ?", repo, holder)
	if err != nil {
		return 0, fmt.Errorf("unlocking the workspaces %s holds in %s: %w", holder, repo, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("unlocking the workspaces %s holds in %s: %w", holder, repo, err)
	}
	return int(n), nil
}
