package postgres

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// The NOTIFY channels of the replicas' signals (runner.Signals).
const (
	// queueChannel: runs may be claimable.
	queueChannel = "landform_queue"
	// pollerChannel: the poller's loop LOOP of repository REPO has work;
	// the payload is "LOOP REPO".
	pollerChannel = "landform_poller"
	// eventChannel: an event of a replica's, the payload as given.
	eventChannel = "landform_events"
)

// maxPayload is under NOTIFY's limit (8000 bytes in the default build).
const maxPayload = 7900

// SignalQueue tells every replica's WatchSignals that runs may be
// claimable (NOTIFY; delivered once the statement's transaction commits,
// at once here).
func (db *DB) SignalQueue(ctx context.Context) error {
	if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, '')`, queueChannel); err != nil {
		return fmt.Errorf("signalling the queue: %w", err)
	}
	return nil
}

// SignalPoller tells every replica's WatchSignals that the poller's loop
// of repo has work.
func (db *DB) SignalPoller(ctx context.Context, loop, repo string) error {
	if loop == "" || strings.ContainsRune(loop, ' ') {
		return fmt.Errorf("signalling the poller: bad loop name %q", loop)
	}
	if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, pollerChannel, loop+" "+repo); err != nil {
		return fmt.Errorf("signalling the poller (%s of %s): %w", loop, repo, err)
	}
	return nil
}

// SignalEvent tells every replica's WatchSignals of an event: payload,
// which must be valid UTF-8 (JSON) of at most maxPayload bytes.
func (db *DB) SignalEvent(ctx context.Context, payload []byte) error {
	if len(payload) > maxPayload || !utf8.Valid(payload) || bytes.IndexByte(payload, 0) >= 0 {
		return fmt.Errorf("signalling an event: the payload (%d bytes) is not text NOTIFY carries", len(payload))
	}
	if _, err := db.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, eventChannel, string(payload)); err != nil {
		return fmt.Errorf("signalling an event: %w", err)
	}
	return nil
}

// WatchSignals calls queued for each SignalQueue, poller for each
// SignalPoller and event for each SignalEvent of any replica (LISTEN, on
// a connection of its own, held until ctx is done). It returns when ctx
// is done, or when the connection fails.
func (db *DB) WatchSignals(ctx context.Context, queued func(), poller func(loop, repo string), event func(payload []byte)) error {
	raw, err := db.listenConn(ctx)
	if err != nil {
		return fmt.Errorf("listening for signals: %w", err)
	}
	defer raw.Close(context.WithoutCancel(ctx))
	for _, ch := range []string{queueChannel, pollerChannel, eventChannel} {
		if _, err := raw.Exec(ctx, `LISTEN `+ch); err != nil {
			return fmt.Errorf("listening for signals: %w", err)
		}
	}
	for {
		n, err := raw.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("listening for signals: %w", err)
		}
		switch n.Channel {
		case queueChannel:
			queued()
		case pollerChannel:
			if loop, repo, ok := strings.Cut(n.Payload, " "); ok {
				poller(loop, repo)
			}
		case eventChannel:
			event([]byte(n.Payload))
		}
	}
}

// listenConn returns the connection LISTEN is held on, closed by the
// caller: one to the listen DSN (WithListenDSN), else one taken out of the
// pool for good.
func (db *DB) listenConn(ctx context.Context) (*pgx.Conn, error) {
	if db.listenDSN != "" {
		conn, err := pgx.Connect(ctx, db.listenDSN)
		if err != nil {
			// pgx's message redacts the password.
			return nil, fmt.Errorf("connecting to the listen DSN: %w", err)
		}
		return conn, nil
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	return conn.Hijack(), nil
}
