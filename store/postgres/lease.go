package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
)

// AcquireLease takes lease name for holder until ttl from now, or renews
// it when holder has it: held is true when holder has it afterwards, false
// when another holder has it unexpired. Expiry is by the database's clock
// (now()), never a replica's, so replicas whose clocks disagree still
// agree on who holds a lease; WithClock does not change it. One statement
// decides: of replicas racing for a free lease, one gets it. EINVALID for
// an empty name or holder, or a ttl under a millisecond.
func (db *DB) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if name == "" || holder == "" || ttl < time.Millisecond {
		return false, landform.Errorf(landform.EINVALID, "a lease needs a name, a holder and a ttl of at least 1ms")
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO leases (name, holder, expires_at)
		VALUES ($1, $2, now() + $3::bigint * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE leases.holder = excluded.holder OR leases.expires_at <= now()`,
		name, holder, ttl.Microseconds())
	if err != nil {
		return false, fmt.Errorf("taking lease %s: %w", name, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease gives lease name up when holder has it; otherwise it does
// nothing.
func (db *DB) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return fmt.Errorf("releasing lease %s: %w", name, err)
	}
	return nil
}

// LeaseHolder returns who holds lease name unexpired (by the database's
// clock), "" for nobody.
func (db *DB) LeaseHolder(ctx context.Context, name string) (string, error) {
	var holder string
	err := db.pool.QueryRow(ctx, `SELECT holder FROM leases WHERE name = $1 AND expires_at > now()`, name).Scan(&holder)
	if errors.Is(err, pgx.ErrNoRows) {
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
// runs, applies flagged for a person. All in one transaction, locking the
// runs it recovers, so that replicas recovering at once recover each run
// once.
func (db *DB) RecoverOrphans(ctx context.Context, prefix, self string) (requeued, flagged []*landform.Run, err error) {
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		requeued, flagged, err = db.recover(ctx, tx, `runs.claimed_by <> @self AND NOT EXISTS (
			SELECT 1 FROM leases l WHERE l.name = @prefix::text || runs.claimed_by AND l.expires_at > now())`,
			pgx.NamedArgs{"self": self, "prefix": prefix})
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
	if _, err := db.pool.Exec(ctx, `INSERT INTO repo_status (repo, status, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (repo) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`,
		repo, text(string(status))); err != nil {
		return fmt.Errorf("saving the status of %s: %w", repo, err)
	}
	return nil
}

// RepoStatuses returns the statuses SaveRepoStatus recorded, by repo.
func (db *DB) RepoStatuses(ctx context.Context) (map[string][]byte, error) {
	rows, err := db.pool.Query(ctx, `SELECT repo, status FROM repo_status`)
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
