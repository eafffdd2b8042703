package postgres

import (
	"context"
	"fmt"
)

// queueChannel is the NOTIFY channel of "runs may be claimable".
const queueChannel = "landform_queue"

// SignalQueue tells every replica's WatchQueue that runs may be claimable
// (NOTIFY; delivered once the statement's transaction commits, at once
// here).
func (db *DB) SignalQueue(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, '')`, queueChannel); err != nil {
		return fmt.Errorf("signalling the queue: %w", err)
	}
	return nil
}

// WatchQueue calls f for each SignalQueue of any replica (LISTEN, on a
// connection of its own, held until ctx is done). It returns when ctx is
// done, or when the connection fails.
func (db *DB) WatchQueue(ctx context.Context, f func()) error {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("listening for queued runs: %w", err)
	}
	// The connection will hold LISTEN: it is taken out of the pool, and
	// closed when done.
	raw := conn.Hijack()
	defer raw.Close(context.WithoutCancel(ctx))
	if _, err := raw.Exec(ctx, `LISTEN `+queueChannel); err != nil {
		return fmt.Errorf("listening for queued runs: %w", err)
	}
	for {
		if _, err := raw.WaitForNotification(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("listening for queued runs: %w", err)
		}
		f()
	}
}
