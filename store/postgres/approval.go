package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
)

// AddApproval records a (an approval or a refusal) and sets a.ID, and
// a.At from the DB's clock when it is zero. Returns ENOTFOUND for an
// unknown run and EINVALID without who or channel.
func (db *DB) AddApproval(ctx context.Context, a *landform.Approval) error {
	runID, ok := parseID(a.RunID)
	if !ok {
		return notFound(a.RunID)
	}
	if a.By == "" || a.Channel == "" {
		return landform.Errorf(landform.EINVALID, "an approval needs who and a channel")
	}
	if a.At.IsZero() {
		a.At = db.now().UTC()
	}
	if err := checkTimes(a.At); err != nil {
		return err
	}
	var id int64
	err := db.pool.QueryRow(ctx, `INSERT INTO approvals (run_id, by_who, channel, commit_sha, plan_sha256, approved, reason, at)
		SELECT id, $1, $2, $3, $4, $5, $6, $7 FROM runs WHERE id = $8
		RETURNING id`,
		a.By, a.Channel, a.Commit, a.PlanSHA256, a.Approved, text(a.Reason), formatTime(a.At), runID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound(a.RunID)
	}
	if err != nil {
		return fmt.Errorf("recording an approval of run %s: %w", a.RunID, err)
	}
	a.ID = strconv.FormatInt(id, 10)
	return nil
}

// ListApprovals returns the approvals and refusals of run runID, oldest
// first, never nil.
func (db *DB) ListApprovals(ctx context.Context, runID string) ([]*landform.Approval, error) {
	out := []*landform.Approval{}
	id, ok := parseID(runID)
	if !ok {
		return out, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT id, run_id, by_who, channel, commit_sha, plan_sha256, approved, reason, at
		FROM approvals WHERE run_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("listing the approvals of run %s: %w", runID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a        landform.Approval
			aid, rid int64
			at       string
		)
		if err := rows.Scan(&aid, &rid, &a.By, &a.Channel, &a.Commit, &a.PlanSHA256, &a.Approved, &a.Reason, &at); err != nil {
			return nil, fmt.Errorf("listing the approvals of run %s: %w", runID, err)
		}
		a.ID, a.RunID = strconv.FormatInt(aid, 10), strconv.FormatInt(rid, 10)
		if a.At, err = time.Parse(timeLayout, at); err != nil {
			return nil, fmt.Errorf("approval %d: at: %w", aid, err)
		}
		out = append(out, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing the approvals of run %s: %w", runID, err)
	}
	return out, nil
}
