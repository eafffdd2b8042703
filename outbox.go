package landform

import "time"

// OutboxMessage is something to say on a repository's forge (a plan
// preview, a commit status), kept by the store until it is delivered.
type OutboxMessage struct {
	// Key names what the message updates ("preview/12"); a newer message
	// under the same key replaces an undelivered older one.
	Key string
	// Payload is the message, as the runner wrote it.
	Payload []byte
	// Version grows with every message enqueued under Key: a delivery
	// marks only the version it delivered done.
	Version    int64
	EnqueuedAt time.Time
	// Attempts counts the failed deliveries of this version, LastError
	// says why the last one failed.
	Attempts  int
	LastError string
}
