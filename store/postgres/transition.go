package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
)

// TransitionRun moves run id from one of the states from to what change
// makes of it, in one transaction: it reads the run, locking its row, and
// when its state is one of from, calls change on it and saves it as
// UpdateRun does. Two callers racing to move a run out of one state never
// both succeed, in one process or across replicas: the second waits for
// the first's row lock, then reads what the first left and gets ECONFLICT
// naming that state, with the run as it is now.
//
// A run moved to applying must be alone in its workspace, as ClaimRun
// keeps it for the queue: holding the workspace's advisory lock, it checks
// that no other run of the workspace is running or applying, and refuses
// with ECONFLICT wrapping landform.ErrWorkspaceBusy otherwise.
//
// Returns ENOTFOUND for an unknown run; change's error is returned as is
// and saves nothing.
func (db *DB) TransitionRun(ctx context.Context, id string, from []landform.RunState, change func(*landform.Run) error) (*landform.Run, error) {
	n, ok := parseID(id)
	if !ok {
		return nil, notFound(id)
	}
	var out *landform.Run
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		out = nil
		r, err := scanRun(tx.QueryRow(ctx, "SELECT "+runColumns+" FROM runs WHERE id = $1 FOR UPDATE", n))
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound(id)
		}
		if err != nil {
			return fmt.Errorf("reading run %s: %w", id, err)
		}
		if !slices.Contains(from, r.State) {
			out = r
			return &landform.Error{Code: landform.ECONFLICT,
				Message: fmt.Sprintf("run %s is %s, not %s", id, r.State, statesText(from))}
		}
		if err := change(r); err != nil {
			return err
		}
		if r.State == landform.StateApplying {
			// One run touches a workspace at a time: an apply does not
			// start beside a running plan, drift check or apply of its
			// workspace.
			ws := pgx.NamedArgs{"repo": r.Repo, "workspace": r.Workspace, "id": n}
			if _, err := tx.Exec(ctx, workspaceLockSQL, ws); err != nil {
				return err
			}
			var other int64
			var kind string
			err := tx.QueryRow(ctx, busySQL, ws).Scan(&other, &kind)
			if err == nil {
				out = r
				return &landform.Error{Code: landform.ECONFLICT, Err: landform.ErrWorkspaceBusy,
					Message: fmt.Sprintf("workspace %s is busy: run %d (%s) is running; the apply can start when it ends", r.Workspace, other, kind)}
			}
			if !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
		}
		if r.State == "" {
			return landform.Errorf(landform.EINVALID, "run %s needs a state", id)
		}
		if err := checkTimes(r.StartedAt, r.FinishedAt); err != nil {
			return err
		}
		if _, err := updateRow(ctx, tx, r, n); err != nil {
			return fmt.Errorf("updating run %s: %w", id, err)
		}
		out = r
		return nil
	})
	return out, err
}

// statesText is "planned", "planned or approved", "a, b or c".
func statesText(states []landform.RunState) string {
	s := make([]string, len(states))
	for i, st := range states {
		s[i] = string(st)
	}
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// MarkCommandSeen records that the chat-ops command key of repo has been
// handled and reports whether this call recorded it first: a command seen
// through a webhook and again through a comment poll, or by two replicas,
// is handled once.
func (db *DB) MarkCommandSeen(ctx context.Context, repo, key string) (bool, error) {
	if repo == "" || key == "" {
		return false, landform.Errorf(landform.EINVALID, "a chat-ops command needs a repo and a key")
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO chatops_seen (repo, key, seen_at) VALUES ($1, $2, $3)
		ON CONFLICT (repo, key) DO NOTHING`, repo, key, formatTime(db.now()))
	if err != nil {
		return false, fmt.Errorf("recording chat-ops command %s: %w", key, err)
	}
	return tag.RowsAffected() == 1, nil
}

// CommentCursor returns where repo's comment poll got to, "" when it never
// ran.
func (db *DB) CommentCursor(ctx context.Context, repo string) (string, error) {
	var c string
	err := db.pool.QueryRow(ctx, "SELECT cursor FROM chatops_cursor WHERE repo = $1", repo).Scan(&c)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the comment cursor of %s: %w", repo, err)
	}
	return c, nil
}

// SetCommentCursor records where repo's comment poll got to.
func (db *DB) SetCommentCursor(ctx context.Context, repo, cursor string) error {
	if _, err := db.pool.Exec(ctx, `INSERT INTO chatops_cursor (repo, cursor) VALUES ($1, $2)
		ON CONFLICT (repo) DO UPDATE SET cursor = excluded.cursor`, repo, cursor); err != nil {
		return fmt.Errorf("recording the comment cursor of %s: %w", repo, err)
	}
	return nil
}
