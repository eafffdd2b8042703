package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/landform/landform"
)

// LedgerStore is the ledger outbox: runs whose ledger record is still to be
// written, per repo.
type LedgerStore interface {
	// EnqueueLedger adds a run, once however often it is enqueued;
	// ENOTFOUND for an unknown run, EINVALID for an empty repo.
	EnqueueLedger(ctx context.Context, repo, runID string) error
	// PendingLedger returns up to limit (0: all) run IDs in the order first
	// enqueued, never nil; EINVALID for a negative limit.
	PendingLedger(ctx context.Context, repo string, limit int) ([]string, error)
	// MarkLedgerDone removes runs PendingLedger returned, except those
	// enqueued again since; other IDs are ignored.
	MarkLedgerDone(ctx context.Context, repo string, runIDs []string) error
	// SetAsideLedger keeps a run PendingLedger returned in the outbox with
	// a reason but out of PendingLedger until it is enqueued again, except
	// one enqueued again since; other IDs are ignored; EINVALID for an
	// empty reason.
	SetAsideLedger(ctx context.Context, repo, runID, reason string) error
	// ListSetAsideLedger returns run ID → reason of the runs set aside,
	// never nil.
	ListSetAsideLedger(ctx context.Context, repo string) (map[string]string, error)
	// OldestPendingLedger returns when the oldest pending run (not set
	// aside) was first enqueued, zero when none is.
	OldestPendingLedger(ctx context.Context, repo string) (time.Time, error)
}

func enqueue(t *testing.T, s Store, repo string, runs ...*landform.Run) {
	t.Helper()
	for _, r := range runs {
		if err := s.EnqueueLedger(t.Context(), repo, r.ID); err != nil {
			t.Fatalf("EnqueueLedger(%s, %s): %v", repo, r.ID, err)
		}
	}
}

func markDone(t *testing.T, s Store, repo string, ids ...string) {
	t.Helper()
	if err := s.MarkLedgerDone(t.Context(), repo, ids); err != nil {
		t.Fatalf("MarkLedgerDone(%s, %v): %v", repo, ids, err)
	}
}

// wantPending fails the test unless PendingLedger(repo, limit) returns the
// IDs of want, in order.
func wantPending(t *testing.T, s Store, repo string, limit int, want ...*landform.Run) {
	t.Helper()
	got, err := s.PendingLedger(t.Context(), repo, limit)
	if err != nil {
		t.Fatalf("PendingLedger(%s, %d): %v", repo, limit, err)
	}
	if got == nil {
		t.Errorf("PendingLedger(%s, %d) = nil, want a list", repo, limit)
	}
	ids := []string{}
	for _, r := range want {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("PendingLedger(%s, %d) = %v, want %v", repo, limit, got, ids)
	}
}

func testLedger(t *testing.T, s Store) {
	ctx := t.Context()
	var r [4]*landform.Run
	for i := range r {
		r[i] = create(t, s, NewRun("infra", fmt.Sprint("ws", i)))
	}
	wantPending(t, s, "infra", 0)

	enqueue(t, s, "infra", r[2], r[0], r[1], r[2]) // r2 twice: once, first place
	enqueue(t, s, "other", r[3])
	wantPending(t, s, "infra", 0, r[2], r[0], r[1])
	wantPending(t, s, "infra", 2, r[2], r[0])
	wantPending(t, s, "other", 0, r[3])

	// After a crash the writer asks again: still pending.
	wantPending(t, s, "infra", 0, r[2], r[0], r[1])

	markDone(t, s, "infra", r[2].ID, r[0].ID, r[3].ID, "999999", "abc")
	wantPending(t, s, "infra", 0, r[1])
	wantPending(t, s, "other", 0, r[3]) // another repo's entry
	markDone(t, s, "infra")

	// Written and changed again: back in the outbox, last.
	enqueue(t, s, "infra", r[0])
	wantPending(t, s, "infra", 0, r[1], r[0])
	markDone(t, s, "infra", r[1].ID, r[0].ID)
	markDone(t, s, "other", r[3].ID)
	wantPending(t, s, "infra", 0)
	wantPending(t, s, "other", 0)

	for _, id := range []string{"999999", "abc", ""} {
		wantCode(t, fmt.Sprintf("EnqueueLedger(%q)", id), s.EnqueueLedger(ctx, "infra", id), landform.ENOTFOUND)
	}
	wantCode(t, "EnqueueLedger without a repo", s.EnqueueLedger(ctx, "", r[0].ID), landform.EINVALID)
	_, err := s.PendingLedger(ctx, "infra", -1)
	wantCode(t, "PendingLedger with limit -1", err, landform.EINVALID)
	wantPending(t, s, "infra", 0)

	t.Run("SetAside", func(t *testing.T) { testLedgerSetAside(t, s) })
}

// wantSetAside fails the test unless ListSetAsideLedger(repo) is want.
func wantSetAside(t *testing.T, s Store, repo string, want map[string]string) {
	t.Helper()
	got, err := s.ListSetAsideLedger(t.Context(), repo)
	if err != nil {
		t.Fatalf("ListSetAsideLedger(%s): %v", repo, err)
	}
	if got == nil {
		t.Errorf("ListSetAsideLedger(%s) = nil, want a map", repo)
	}
	if !maps.Equal(got, want) {
		t.Errorf("ListSetAsideLedger(%s) = %v, want %v", repo, got, want)
	}
}

// wantOldest fails the test unless OldestPendingLedger(repo) is zero (when
// from is zero) or within [from, to] (from to the second: a store may keep
// less than nanoseconds).
func wantOldest(t *testing.T, s Store, repo string, from, to time.Time) {
	t.Helper()
	got, err := s.OldestPendingLedger(t.Context(), repo)
	if err != nil {
		t.Fatalf("OldestPendingLedger(%s): %v", repo, err)
	}
	switch {
	case from.IsZero() && !got.IsZero():
		t.Errorf("OldestPendingLedger(%s) = %s, want zero: nothing pending", repo, got)
	case !from.IsZero() && (got.Before(from.Truncate(time.Second)) || got.After(to)):
		t.Errorf("OldestPendingLedger(%s) = %s, want between %s and %s", repo, got, from, to)
	}
}

// testLedgerSetAside checks that a record set aside blocks no other, is
// listed with its reason, and is pending again once enqueued again.
func testLedgerSetAside(t *testing.T, s Store) {
	ctx := t.Context()
	const repo = "aside"
	var r [3]*landform.Run
	for i := range r {
		r[i] = create(t, s, NewRun(repo, fmt.Sprint("ws", i)))
	}
	wantSetAside(t, s, repo, map[string]string{})
	wantOldest(t, s, repo, time.Time{}, time.Time{})
	before := time.Now()
	enqueue(t, s, repo, r[0])
	between := time.Now()
	enqueue(t, s, repo, r[1], r[2])
	wantOldest(t, s, repo, before, between)
	wantPending(t, s, repo, 0, r[0], r[1], r[2])

	// The first record cannot be written: set aside, the others go on.
	if err := s.SetAsideLedger(ctx, repo, r[0].ID, "ledger: .git is reserved"); err != nil {
		t.Fatalf("SetAsideLedger: %v", err)
	}
	wantPending(t, s, repo, 0, r[1], r[2])
	wantSetAside(t, s, repo, map[string]string{r[0].ID: "ledger: .git is reserved"})
	wantOldest(t, s, repo, between, time.Now())
	wantSetAside(t, s, "infra", map[string]string{})

	// Written, the others leave; the one set aside stays.
	markDone(t, s, repo, r[0].ID, r[1].ID, r[2].ID)
	wantPending(t, s, repo, 0)
	wantOldest(t, s, repo, time.Time{}, time.Time{})
	wantSetAside(t, s, repo, map[string]string{r[0].ID: "ledger: .git is reserved"})

	// A run enqueued again while its record was being written is not set
	// aside: the newer record is tried.
	enqueue(t, s, repo, r[1])
	wantPending(t, s, repo, 0, r[1])
	enqueue(t, s, repo, r[1])
	if err := s.SetAsideLedger(ctx, repo, r[1].ID, "bad"); err != nil {
		t.Fatalf("SetAsideLedger: %v", err)
	}
	wantPending(t, s, repo, 0, r[1])
	markDone(t, s, repo, r[1].ID)

	// Enqueued again (fixed, or changed), a record set aside is pending.
	enqueue(t, s, repo, r[0])
	wantSetAside(t, s, repo, map[string]string{})
	wantPending(t, s, repo, 0, r[0])
	markDone(t, s, repo, r[0].ID)
	wantPending(t, s, repo, 0)

	// Unknown and not pending runs are ignored; a reason is required.
	for _, id := range []string{"999999", "abc", "", r[2].ID} {
		if err := s.SetAsideLedger(ctx, repo, id, "x"); err != nil {
			t.Errorf("SetAsideLedger(%q) of a run not pending: %v", id, err)
		}
	}
	wantSetAside(t, s, repo, map[string]string{})
	enqueue(t, s, repo, r[2])
	wantPending(t, s, repo, 0, r[2])
	wantCode(t, "SetAsideLedger without a reason", s.SetAsideLedger(ctx, repo, r[2].ID, ""), landform.EINVALID)
	wantPending(t, s, repo, 0, r[2])
}

// testLedgerReenqueue checks that a change enqueued while the writer is
// writing the run's record is not lost when the writer marks it done.
func testLedgerReenqueue(t *testing.T, s Store) {
	a := create(t, s, NewRun("infra", "net"))
	b := create(t, s, NewRun("infra", "app"))
	enqueue(t, s, "infra", a)
	wantPending(t, s, "infra", 0, a)
	enqueue(t, s, "infra", a) // the run moved on while its record was written
	markDone(t, s, "infra", a.ID)
	wantPending(t, s, "infra", 0, a)
	markDone(t, s, "infra", a.ID)
	wantPending(t, s, "infra", 0)

	// A writer marks done only what it was given.
	enqueue(t, s, "infra", b)
	markDone(t, s, "infra", b.ID)
	wantPending(t, s, "infra", 0, b)
}
