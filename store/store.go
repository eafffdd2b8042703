// Package store opens the store the server config names: SQLite in the
// data directory (store/sqlite, one daemon), or PostgreSQL (store/postgres,
// shared by replicas). Both pass the contract suite store/storetest; Store
// is everything the daemon, the CLI and the HTTP server use of them.
package store

import (
	"context"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
)

// Store is a run store: runs, the queue, locks, poll state, the ledger and
// forge outboxes, approvals, tokens, sessions and leases.
type Store interface {
	runner.DaemonStore
	runner.LockBreaker
	runner.LeaseStore
	runner.ForgeOutbox

	SetLastProcessed(ctx context.Context, repo, ref, sha string) error
	EnsureNextRunID(ctx context.Context, next int64) error
	ListAttention(ctx context.Context) ([]*landform.Run, error)
	ClearAttention(ctx context.Context, id string) error
	LeaseHolder(ctx context.Context, name string) (string, error)

	CreateToken(ctx context.Context, t *landform.APIToken) error
	TokenBySHA256(ctx context.Context, sum string) (*landform.APIToken, error)
	ListTokens(ctx context.Context) ([]*landform.APIToken, error)
	RevokeToken(ctx context.Context, id string) error
	CreateSession(ctx context.Context, s *landform.WebSession) error
	Session(ctx context.Context, sum string, now time.Time) (*landform.WebSession, error)
	DeleteSession(ctx context.Context, sum string) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
	CountRuns(ctx context.Context) ([]landform.RunCount, error)

	Close() error
}
