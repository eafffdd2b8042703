package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/landform/landform"
)

// EnqueueLedger records that run runID's ledger record in repo is to be
// written (again): the outbox keeps it through crashes and failed writes
// until MarkLedgerDone. Enqueueing a run already pending keeps one entry,
// in its first place; enqueueing a run set aside makes it pending again.
// Returns ENOTFOUND for an unknown run and EINVALID for an empty repo.
func (db *DB) EnqueueLedger(ctx context.Context, repo, runID string) error {
	if repo == "" {
		return landform.Errorf(landform.EINVALID, "a ledger entry needs a repo")
	}
	id, ok := parseID(runID)
	if !ok {
		return notFound(runID)
	}
	tag, err := db.pool.Exec(ctx, `INSERT INTO ledger_outbox (repo, run_id, enqueued_at)
		SELECT $1, id, $2 FROM runs WHERE id = $3
		ON CONFLICT (repo, run_id) DO UPDATE SET dirty = true, set_aside_at = '', set_aside_reason = ''`,
		repo, formatTime(db.now()), id)
	if err != nil {
		return fmt.Errorf("queueing the ledger record of run %s: %w", runID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound(runID)
	}
	return nil
}

// PendingLedger returns up to limit (0: all) run IDs of repo whose ledger
// record is to be written, in the order they were first enqueued, never
// nil. A run stays pending until MarkLedgerDone or SetAsideLedger, so after
// a crash the next call returns it again. Returns EINVALID for a negative
// limit.
func (db *DB) PendingLedger(ctx context.Context, repo string, limit int) ([]string, error) {
	if limit < 0 {
		return nil, landform.Errorf(landform.EINVALID, "negative ledger limit %d", limit)
	}
	// One statement reads them and, from here on, lets only a new
	// EnqueueLedger make them dirty again. LIMIT NULL is no limit.
	var lim *int
	if limit > 0 {
		lim = &limit
	}
	rows, err := db.pool.Query(ctx, `UPDATE ledger_outbox SET dirty = false
		WHERE id IN (SELECT id FROM ledger_outbox WHERE repo = $1 AND set_aside_at = '' ORDER BY id LIMIT $2)
		RETURNING id, run_id`, repo, lim)
	if err != nil {
		return nil, fmt.Errorf("listing pending ledger records of %s: %w", repo, err)
	}
	defer rows.Close()
	var pending [][2]int64
	for rows.Next() {
		var p [2]int64
		if err := rows.Scan(&p[0], &p[1]); err != nil {
			return nil, fmt.Errorf("listing pending ledger records of %s: %w", repo, err)
		}
		pending = append(pending, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing pending ledger records of %s: %w", repo, err)
	}
	slices.SortFunc(pending, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	ids := make([]string, len(pending))
	for i, p := range pending {
		ids[i] = formatID(p[1])
	}
	return ids, nil
}

// MarkLedgerDone takes runIDs, whose ledger records in repo are written,
// out of the outbox. A run enqueued again since PendingLedger returned it
// stays pending, so that the change that enqueued it is written too. IDs
// not pending (also those set aside) are ignored.
func (db *DB) MarkLedgerDone(ctx context.Context, repo string, runIDs []string) error {
	ns := rowIDs(runIDs)
	if len(ns) == 0 {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `DELETE FROM ledger_outbox
		WHERE repo = $1 AND NOT dirty AND set_aside_at = '' AND run_id = ANY($2)`, repo, ns); err != nil {
		return fmt.Errorf("marking ledger records of %s written: %w", repo, err)
	}
	return nil
}

// rowIDs returns the row IDs of ids, leaving out those no run can have.
func rowIDs(ids []string) []int64 {
	var ns []int64
	for _, id := range ids {
		if n, ok := parseID(id); ok {
			ns = append(ns, n)
		}
	}
	return ns
}

// SetAsideLedger sets aside run runID's pending ledger record in repo: one
// that cannot be written through its own fault, such as a path the ledger
// refuses. It stays in the outbox with reason, and PendingLedger leaves it
// out until EnqueueLedger enqueues the run again, so it blocks no other
// record. Like MarkLedgerDone, it leaves pending a run enqueued again
// since PendingLedger returned it (the newer record may be writable), and
// ignores a run not pending. Returns EINVALID for an empty reason.
func (db *DB) SetAsideLedger(ctx context.Context, repo, runID, reason string) error {
	if reason == "" {
		return landform.Errorf(landform.EINVALID, "setting aside the ledger record of run %s: no reason", runID)
	}
	id, ok := parseID(runID)
	if !ok {
		return nil
	}
	if _, err := db.pool.Exec(ctx, `UPDATE ledger_outbox SET set_aside_at = $1, set_aside_reason = $2
		WHERE repo = $3 AND run_id = $4 AND NOT dirty AND set_aside_at = ''`,
		formatTime(db.now()), text(reason), repo, id); err != nil {
		return fmt.Errorf("setting aside the ledger record of run %s: %w", runID, err)
	}
	return nil
}

// ListSetAsideLedger returns the ledger records of repo set aside, as run
// ID → reason, never nil.
func (db *DB) ListSetAsideLedger(ctx context.Context, repo string) (map[string]string, error) {
	rows, err := db.pool.Query(ctx, "SELECT run_id, set_aside_reason FROM ledger_outbox WHERE repo = $1 AND set_aside_at <> ''", repo)
	if err != nil {
		return nil, fmt.Errorf("listing ledger records of %s set aside: %w", repo, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var (
			n      int64
			reason string
		)
		if err := rows.Scan(&n, &reason); err != nil {
			return nil, fmt.Errorf("listing ledger records of %s set aside: %w", repo, err)
		}
		out[formatID(n)] = reason
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing ledger records of %s set aside: %w", repo, err)
	}
	return out, nil
}

// OldestPendingLedger returns when the oldest pending (not set aside)
// ledger record of repo was enqueued, the zero time when none is pending:
// how long the ledger has been behind.
func (db *DB) OldestPendingLedger(ctx context.Context, repo string) (time.Time, error) {
	var at *string
	if err := db.pool.QueryRow(ctx, "SELECT min(enqueued_at) FROM ledger_outbox WHERE repo = $1 AND set_aside_at = ''", repo).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("reading the ledger outbox of %s: %w", repo, err)
	}
	t, err := parseTime(at)
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the ledger outbox of %s: %w", repo, err)
	}
	return t, nil
}
