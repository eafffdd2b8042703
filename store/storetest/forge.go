package storetest

import (
	"context"
	"testing"

	"github.com/landform/landform"
)

// ForgeOutboxStore keeps what is to be said on a repository's forge.
type ForgeOutboxStore interface {
	// EnqueueForge replaces the message pending under key (newest wins,
	// version bumped, attempts reset, place kept) or adds it.
	EnqueueForge(ctx context.Context, repo, key string, payload []byte) error
	// PendingForge returns up to limit (0: all) messages of repo in the
	// order first enqueued, never nil.
	PendingForge(ctx context.Context, repo string, limit int) ([]landform.OutboxMessage, error)
	// ForgeDone removes the message under key if its version is version.
	ForgeDone(ctx context.Context, repo, key string, version int64) error
	// ForgeFailed counts a failed delivery of version and keeps why.
	ForgeFailed(ctx context.Context, repo, key string, version int64, reason string) error
}

func pendingForge(t *testing.T, s Store, repo string, limit int) []landform.OutboxMessage {
	t.Helper()
	ms, err := s.PendingForge(context.Background(), repo, limit)
	if err != nil {
		t.Fatalf("PendingForge(%s): %v", repo, err)
	}
	if ms == nil {
		t.Fatal("PendingForge returned nil")
	}
	return ms
}

func testForgeOutbox(t *testing.T, s Store) {
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	if ms := pendingForge(t, s, "a", 0); len(ms) != 0 {
		t.Fatalf("empty outbox holds %v", ms)
	}
	must(s.EnqueueForge(ctx, "a", "preview/1", []byte(`{"v":1}`)))
	must(s.EnqueueForge(ctx, "a", "status/x", []byte(`{"s":1}`)))
	must(s.EnqueueForge(ctx, "b", "preview/1", []byte(`{"b":1}`)))

	ms := pendingForge(t, s, "a", 0)
	if len(ms) != 2 || ms[0].Key != "preview/1" || ms[1].Key != "status/x" || string(ms[0].Payload) != `{"v":1}` || ms[0].EnqueuedAt.IsZero() {
		t.Fatalf("pending = %+v", ms)
	}
	v1 := ms[0].Version

	// A failed delivery is counted and explained; the message stays.
	must(s.ForgeFailed(ctx, "a", "preview/1", v1, "forge down"))
	ms = pendingForge(t, s, "a", 1)
	if len(ms) != 1 || ms[0].Attempts != 1 || ms[0].LastError != "forge down" {
		t.Fatalf("after a failure: %+v", ms)
	}

	// A newer message under the same key replaces the payload, keeps its
	// place, resets the attempts; delivering the old version leaves it.
	must(s.EnqueueForge(ctx, "a", "preview/1", []byte(`{"v":2}`)))
	ms = pendingForge(t, s, "a", 0)
	if len(ms) != 2 || ms[0].Key != "preview/1" || string(ms[0].Payload) != `{"v":2}` || ms[0].Version <= v1 || ms[0].Attempts != 0 || ms[0].LastError != "" {
		t.Fatalf("after a newer message: %+v", ms)
	}
	must(s.ForgeDone(ctx, "a", "preview/1", v1))
	if ms := pendingForge(t, s, "a", 0); len(ms) != 2 {
		t.Fatalf("delivering an old version removed the newer one: %+v", ms)
	}
	must(s.ForgeDone(ctx, "a", "preview/1", ms[0].Version))
	if ms := pendingForge(t, s, "a", 0); len(ms) != 1 || ms[0].Key != "status/x" {
		t.Fatalf("after delivery: %+v", ms)
	}
	// Other repos are apart.
	if ms := pendingForge(t, s, "b", 0); len(ms) != 1 || string(ms[0].Payload) != `{"b":1}` {
		t.Fatalf("repo b: %+v", ms)
	}
	wantCode(t, "EnqueueForge without a key", s.EnqueueForge(ctx, "a", "", nil), landform.EINVALID)
	_, err := s.PendingForge(ctx, "a", -1)
	wantCode(t, "PendingForge with a negative limit", err, landform.EINVALID)
}
