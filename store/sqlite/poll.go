package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/landform/landform"
)

// LastProcessed returns the commit SetLastProcessed last recorded for ref
// of repo, "" when none.
func (db *DB) LastProcessed(ctx context.Context, repo, ref string) (string, error) {
	var sha string
	err := db.db.QueryRowContext(ctx, "SELECT commit_sha FROM poll_state WHERE repo = ? AND ref = ?", repo, ref).Scan(&sha)
	if errors.Is(err, sql.ErrNoRows) {
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
	var err error
	if sha == "" {
		_, err = db.db.ExecContext(ctx, "DELETE FROM poll_state WHERE repo = ? AND ref = ?", repo, ref)
	} else {
		_, err = db.db.ExecContext(ctx, `INSERT INTO poll_state (repo, ref, commit_sha, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (repo, ref) DO UPDATE SET commit_sha = excluded.commit_sha, updated_at = excluded.updated_at`,
			repo, ref, sha, formatTime(db.now()))
	}
	if err != nil {
		return fmt.Errorf("recording the last commit processed on %s of %s: %w", ref, repo, err)
	}
	return nil
}
