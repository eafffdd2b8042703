package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/landform/landform"
)

// EnqueueForge records that message payload is to be said on repo's forge
// under key (one thing said: "preview/12", "status/<sha>/<workspace>"). A
// message already pending under key is replaced — the newest wins — with
// its version bumped and its attempts reset; it keeps its place. Returns
// EINVALID for an empty repo or key.
func (db *DB) EnqueueForge(ctx context.Context, repo, key string, payload []byte) error {
	if repo == "" || key == "" {
		return landform.Errorf(landform.EINVALID, "a forge message needs a repo and a key")
	}
	if payload == nil {
		payload = []byte{}
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO forge_outbox (repo, key, payload, enqueued_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (repo, key) DO UPDATE SET payload = excluded.payload,
			version = forge_outbox.version + 1, attempts = 0, last_error = ''`,
		repo, key, payload, formatTime(db.now()))
	if err != nil {
		return fmt.Errorf("queueing forge message %s of %s: %w", key, repo, err)
	}
	return nil
}

// PendingForge returns up to limit (0: all) messages of repo still to be
// said, in the order they were first enqueued, never nil. Returns EINVALID
// for a negative limit.
func (db *DB) PendingForge(ctx context.Context, repo string, limit int) ([]landform.OutboxMessage, error) {
	if limit < 0 {
		return nil, landform.Errorf(landform.EINVALID, "negative forge outbox limit %d", limit)
	}
	var lim *int // LIMIT NULL is no limit
	if limit > 0 {
		lim = &limit
	}
	rows, err := db.pool.Query(ctx, `SELECT key, payload, version, enqueued_at, attempts, last_error
		FROM forge_outbox WHERE repo = $1 ORDER BY id LIMIT $2`, repo, lim)
	if err != nil {
		return nil, fmt.Errorf("listing forge messages of %s: %w", repo, err)
	}
	defer rows.Close()
	out := []landform.OutboxMessage{}
	for rows.Next() {
		var (
			m        landform.OutboxMessage
			enqueued string
		)
		if err := rows.Scan(&m.Key, &m.Payload, &m.Version, &enqueued, &m.Attempts, &m.LastError); err != nil {
			return nil, fmt.Errorf("listing forge messages of %s: %w", repo, err)
		}
		if m.EnqueuedAt, err = time.Parse(timeLayout, enqueued); err != nil {
			return nil, fmt.Errorf("forge message %s: enqueued_at: %w", m.Key, err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("listing forge messages of %s: %w", repo, err)
	}
	return out, nil
}

// ForgeDone removes the message under key once version was delivered; a
// newer version enqueued meanwhile stays pending.
func (db *DB) ForgeDone(ctx context.Context, repo, key string, version int64) error {
	if _, err := db.pool.Exec(ctx, "DELETE FROM forge_outbox WHERE repo = $1 AND key = $2 AND version = $3", repo, key, version); err != nil {
		return fmt.Errorf("marking forge message %s of %s delivered: %w", key, repo, err)
	}
	return nil
}

// ForgeFailed records a failed delivery of version of the message under
// key: one more attempt, and why. The message stays pending.
func (db *DB) ForgeFailed(ctx context.Context, repo, key string, version int64, reason string) error {
	_, err := db.pool.Exec(ctx, `UPDATE forge_outbox SET attempts = attempts + 1, last_error = $1
		WHERE repo = $2 AND key = $3 AND version = $4`, text(reason), repo, key, version)
	if err != nil {
		return fmt.Errorf("recording a failed delivery of forge message %s of %s: %w", key, repo, err)
	}
	return nil
}
