package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/landform/landform"
)

// AcquireLease takes lease name for holder until ttl from now (the DB's
// clock), or renews it when holder has it: held is true when holder has
// it afterwards, false when another holder has it unexpired. EINVALID for
// an empty name or holder, or a ttl under a millisecond.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl < time.Millisecond {
		return false, landform.Errorf(landform.EINVALID, "a lease needs a name, a holder and a ttl of at least 1ms")
	}
	now := db.now()
	res, err := db.db.ExecContext(ctx, `INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= ?`,
		name, holder, formatTime(now.Add(ttl)), formatTime(now))
	if err != nil {
		return false, fmt.Errorf("taking lease %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("taking lease %s: %w", name, err)
	}
	return n == 1, nil
}

// ReleaseLease gives lease name up when holder has it; otherwise it does
// nothing.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.db.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return fmt.Errorf("releasing lease %s: %w", name, err)
	}
	return nil
}

// LeaseHolder returns who holds lease name unexpired, "" for nobody.
func (db *DB) LeaseHolder(ctx context.Context, name string) (string, error) {
	var holder string
	err := db.db.QueryRowContext(ctx, `SELECT holder FROM leases WHERE name = ? AND expires_at > ?`, name, formatTime(db.now())).Scan(&holder)
	if err == sql.ErrNoRows {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading lease %s: %w", name, err)
	}
	return holder, nil
}

// RecoverOrphans recovers, as RecoverRuns does, the runs left running or
// applying by owners that hold no unexpired lease prefix+owner (replicas
// that died), except self's: plans and drift checks are re-queued as new
// runs, applies flagged for a person. All in one transaction.
func (db *DB) RecoverOrphans(ctx context.Context, prefix, self string) (requeued, flagged []*landform.Run, err error) {
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		requeued, flagged, err = db.recover(ctx, tx, `claimed_by != ? AND NOT EXISTS (
			SELECT 1 FROM leases l WHERE l.name = ? || claimed_by AND l.expires_at > ?)`,
			self, prefix, formatTime(db.now()))
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("recovering the runs of replicas gone: %w", err)
	}
	return requeued, flagged, nil
}

// SaveRepoStatus records status (the poller's view of repo, opaque JSON)
// in place of the last one.
func (db *DB) SaveRepoStatus(ctx context.Context, repo string, status []byte) error {
	if _, err := db.db.ExecContext(ctx, `INSERT INTO repo_status (repo, status, updated_at) VALUES (?, ?, ?)
		ON CONFLICT (repo) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
		repo, string(status), formatTime(db.now())); err != nil {
		return fmt.Errorf("saving the status of %s: %w", repo, err)
	}
	return nil
}

// RepoStatuses returns the statuses SaveRepoStatus recorded, by repo.
func (db *DB) RepoStatuses(ctx context.Context) (map[string][]byte, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT repo, status FROM repo_status`)
	if err != nil {
		return nil, fmt.Errorf("reading repository statuses: %w", err)
	}
	defer rows.Close()
	out := map[string][]byte{}
	for rows.Next() {
		var repo, status string
		if err := rows.Scan(&repo, &status); err != nil {
			return nil, fmt.Errorf("reading repository statuses: %w", err)
		}
		out[repo] = []byte(status)
	}
	return out, rows.Err()
}
