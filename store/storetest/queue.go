package storetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
)

// QueueStore is the queue: the runs in state queued.
type QueueStore interface {
	// ClaimRun marks running the oldest queued run whose workspace has no
	// run running or applying, and returns it; nil, nil when none is
	// claimable; EINVALID for an empty owner.
	ClaimRun(ctx context.Context, owner string) (*landform.Run, error)
	// SupersedeRuns marks superseded the queued, planned,
	// awaiting_approval and approved plan runs of (repo, workspace, ref)
	// created before run keepID (CreatedAt, then ID), and returns them in
	// ID order; ENOTFOUND for an unknown keepID.
	SupersedeRuns(ctx context.Context, repo, workspace, ref, keepID string) ([]*landform.Run, error)
	// RecoverRuns interrupts the runs left running or applying: running
	// plan and drift runs are re-queued as new runs keeping CreatedAt
	// (requeued), the others are flagged for a person (flagged).
	RecoverRuns(ctx context.Context) (requeued, flagged []*landform.Run, err error)
	// ListAttention lists the flagged runs newest first.
	ListAttention(ctx context.Context) ([]*landform.Run, error)
	// ClearAttention unflags a run; ENOTFOUND for an unknown run.
	ClearAttention(ctx context.Context, id string) error
}

func claim(t *testing.T, s Store) *landform.Run {
	t.Helper()
	r, err := s.ClaimRun(t.Context(), "test-worker")
	if err != nil {
		t.Fatalf("ClaimRun: %v", err)
	}
	return r
}

func update(t *testing.T, s Store, r *landform.Run, state landform.RunState) {
	t.Helper()
	r.State = state
	if err := s.UpdateRun(t.Context(), r); err != nil {
		t.Fatalf("UpdateRun(%s → %s): %v", r.ID, state, err)
	}
}

// checkClaimed checks that got is want claimed: running since a stamped
// StartedAt, the rest as stored.
func checkClaimed(t *testing.T, s Store, got, want *landform.Run) {
	t.Helper()
	if got.StartedAt.IsZero() {
		t.Errorf("claimed run %s has no StartedAt", got.ID)
	}
	w := *want
	// The claim names its owner: a replica's crash is recovered by it.
	w.State, w.StartedAt, w.Owner = landform.StateRunning, got.StartedAt, "test-worker"
	CheckRun(t, got, &w)
	CheckRun(t, get(t, s, got.ID), &w)
}

func testClaimOrder(t *testing.T, s Store) {
	runs := map[string]*landform.Run{}
	for _, c := range []struct {
		name, repo, ws string
		state          landform.RunState
		created        time.Duration
	}{
		// Oldest, but their workspaces are busy.
		{"blockedC", "infra", "c", landform.StateQueued, 0},
		{"runningC", "infra", "c", landform.StateRunning, 0},
		{"blockedD", "infra", "d", landform.StateQueued, 0},
		{"applyingD", "infra", "d", landform.StateApplying, 0},
		// Same time: the lower ID first.
		{"b", "infra", "b", landform.StateQueued, time.Minute},
		{"e", "infra", "e", landform.StateQueued, time.Minute},
		// Created first but later in time: time, not ID, orders.
		{"a2", "infra", "a", landform.StateQueued, 3 * time.Minute},
		{"a1", "infra", "a", landform.StateQueued, 2 * time.Minute},
		// Another repo's workspace of the same name is another workspace.
		{"otherA", "other", "a", landform.StateQueued, 4 * time.Minute},
		{"plannedF", "infra", "f", landform.StatePlanned, 0},
	} {
		r := NewRun(c.repo, c.ws)
		r.State, r.CreatedAt = c.state, base.Add(c.created)
		runs[c.name] = create(t, s, r)
	}
	names := map[string]string{}
	for name, r := range runs {
		names[r.ID] = name
	}
	next := func(want string) {
		t.Helper()
		got := claim(t, s)
		switch {
		case got == nil && want == "":
		case got == nil:
			t.Fatalf("ClaimRun = nil, want %s", want)
		case want == "":
			t.Fatalf("ClaimRun = %s, want nil: its workspace is busy", names[got.ID])
		case got.ID != runs[want].ID:
			t.Fatalf("ClaimRun = %s, want %s", names[got.ID], want)
		default:
			checkClaimed(t, s, got, runs[want])
			runs[want] = got
		}
	}

	next("b")
	next("e")
	next("a1")
	next("otherA")
	next("") // a2 waits for a1, c and d are busy
	update(t, s, runs["a1"], landform.StatePlanned)
	next("a2")
	next("")
	update(t, s, runs["runningC"], landform.StateErrored)
	next("blockedC")
	update(t, s, runs["applyingD"], landform.StateApplied)
	next("blockedD")
	next("")

	queued, err := s.ListRuns(t.Context(), landform.RunFilter{States: []landform.RunState{landform.StateQueued}})
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != 0 {
		t.Errorf("%d runs still queued", len(queued))
	}
	CheckRun(t, get(t, s, runs["plannedF"].ID), runs["plannedF"])
}

func testClaimInvalid(t *testing.T, s Store) {
	if r := claim(t, s); r != nil {
		t.Errorf("ClaimRun on an empty store = %+v, want nil", r)
	}
	create(t, s, NewRun("infra", "net"))
	r, err := s.ClaimRun(t.Context(), "")
	wantCode(t, "ClaimRun without an owner", err, landform.EINVALID)
	if r != nil {
		t.Errorf("ClaimRun without an owner claimed run %s", r.ID)
	}
	if r := claim(t, s); r == nil {
		t.Error("the run was claimed by the call without an owner")
	}
}

// testConcurrentClaims has 8 workers drain a queue of 5 workspaces: no run is
// claimed twice, no workspace ever has two running runs, every run is
// claimed, and each workspace's runs are claimed oldest first.
func testConcurrentClaims(t *testing.T, s Store) {
	const workers, each = 8, 8
	type ws struct{ repo, name string }
	workspaces := []ws{{"infra", "w0"}, {"infra", "w1"}, {"infra", "w2"}, {"infra", "w3"}, {"other", "w0"}}
	order := map[ws][]string{}
	for i := range each {
		for j, w := range workspaces {
			r := NewRun(w.repo, w.name)
			// Interleaved, and created in an order time does not follow.
			r.CreatedAt = base.Add(time.Duration(i*len(workspaces)+(len(workspaces)-j)) * time.Second)
			create(t, s, r)
			order[w] = append(order[w], r.ID)
		}
	}

	var (
		mu       sync.Mutex
		busy     = map[ws]string{}
		claimed  = map[ws][]string{}
		problems []string
	)
	problem := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	work := func(owner string) error {
		ctx := t.Context()
		for {
			r, err := s.ClaimRun(ctx, owner)
			if err != nil {
				return err
			}
			if r == nil {
				left, err := s.ListRuns(ctx, landform.RunFilter{States: []landform.RunState{landform.StateQueued}, Limit: 1})
				if err != nil {
					return err
				}
				if len(left) == 0 {
					return nil
				}
				time.Sleep(time.Millisecond) // the others' workspaces are busy
				continue
			}
			w := ws{r.Repo, r.Workspace}
			mu.Lock()
			if other := busy[w]; other != "" {
				problems = append(problems, fmt.Sprintf("%s claimed run %s of %v while run %s runs", owner, r.ID, w, other))
			}
			busy[w] = r.ID
			claimed[w] = append(claimed[w], r.ID)
			mu.Unlock()

			running, err := s.ListRuns(ctx, landform.RunFilter{
				Repo: r.Repo, Workspace: r.Workspace, States: []landform.RunState{landform.StateRunning}})
			if err != nil {
				return err
			}
			if len(running) != 1 {
				problem("%v has %d running runs", w, len(running))
			}

			mu.Lock()
			delete(busy, w)
			mu.Unlock()
			r.State, r.FinishedAt = landform.StatePlanned, r.StartedAt.Add(time.Second)
			if err := s.UpdateRun(ctx, r); err != nil {
				return err
			}
		}
	}
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for g := range workers {
		wg.Go(func() { errs[g] = work(fmt.Sprint("worker-", g)) })
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", g, err)
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	for _, w := range workspaces {
		if got, want := strings.Join(claimed[w], " "), strings.Join(order[w], " "); got != want {
			t.Errorf("%v: runs claimed in order %s, want %s (each once, oldest first)", w, got, want)
		}
	}
}

func testSupersede(t *testing.T, s Store) {
	const ref = "refs/pull/12/head"
	mk := func(mod func(r *landform.Run), state landform.RunState, created time.Duration) *landform.Run {
		r := NewRun("infra", "net")
		r.Ref, r.State, r.CreatedAt = ref, state, base.Add(created)
		if mod != nil {
			mod(r)
		}
		return create(t, s, r)
	}
	kind := func(k landform.RunKind) func(*landform.Run) { return func(r *landform.Run) { r.Kind = k } }
	finished := func(r *landform.Run) { r.StartedAt, r.FinishedAt = r.CreatedAt, r.CreatedAt.Add(time.Second) }
	m := time.Minute

	newer := mk(nil, landform.StatePlanned, 9*m) // created first, but newer than keep
	superseded := []*landform.Run{
		mk(nil, landform.StateQueued, 1*m),
		mk(finished, landform.StatePlanned, 2*m),
		mk(finished, landform.StateAwaitingApproval, 3*m),
		mk(finished, landform.StateApproved, 3*m),
	}
	kept := []*landform.Run{
		newer,
		mk(finished, landform.StateNoChanges, 4*m),
		mk(finished, landform.StateErrored, 4*m),
		mk(finished, landform.StatePolicyFailed, 4*m),
		mk(finished, landform.StateApplied, 4*m),
		mk(nil, landform.StateRunning, 5*m),
		mk(nil, landform.StateApplying, 5*m),
		mk(kind(landform.RunApply), landform.StateQueued, 5*m),
		mk(kind(landform.RunDrift), landform.StateQueued, 5*m),
		mk(func(r *landform.Run) { r.Ref = "refs/heads/main" }, landform.StatePlanned, 5*m),
		mk(func(r *landform.Run) { r.Workspace = "app" }, landform.StatePlanned, 5*m),
		mk(func(r *landform.Run) { r.Repo = "other" }, landform.StatePlanned, 5*m),
	}
	keep := mk(nil, landform.StateQueued, 8*m)
	kept = append(kept, keep,
		mk(nil, landform.StateQueued, 8*m), // same time as keep, later ID: newer
	)
	// A later ID but an earlier time (a re-queued run): older.
	superseded = append(superseded, mk(nil, landform.StateQueued, 7*m))

	got, err := s.SupersedeRuns(t.Context(), "infra", "net", ref, keep.ID)
	if err != nil {
		t.Fatalf("SupersedeRuns: %v", err)
	}
	if len(got) != len(superseded) {
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID+":"+string(r.State))
		}
		t.Fatalf("SupersedeRuns returned runs %v, want %d", ids, len(superseded))
	}
	for i, want := range superseded {
		w := *want
		w.State = landform.StateSuperseded
		if w.FinishedAt.IsZero() {
			if got[i].FinishedAt.IsZero() {
				t.Errorf("superseded run %s: no FinishedAt", got[i].ID)
			}
			w.FinishedAt = got[i].FinishedAt
		}
		CheckRun(t, got[i], &w)
		CheckRun(t, get(t, s, w.ID), &w)
	}
	for _, r := range kept {
		CheckRun(t, get(t, s, r.ID), r)
	}

	again, err := s.SupersedeRuns(t.Context(), "infra", "net", ref, keep.ID)
	if err != nil || again == nil || len(again) != 0 {
		t.Errorf("SupersedeRuns again = %d runs, %v; want none, never nil", len(again), err)
	}
	for _, id := range []string{"999999", "abc", ""} {
		_, err := s.SupersedeRuns(t.Context(), "infra", "net", ref, id)
		wantCode(t, fmt.Sprintf("SupersedeRuns(keep %q)", id), err, landform.ENOTFOUND)
	}
}

func testRecover(t *testing.T, s Store) {
	mk := func(ws string, kind landform.RunKind, state landform.RunState, created time.Duration) *landform.Run {
		r := NewRun("infra", ws)
		r.Dir, r.Ref = "envs/"+ws, "refs/pull/3/head"
		r.Kind, r.State, r.CreatedAt = kind, state, base.Add(created)
		if state != landform.StateQueued {
			r.StartedAt = r.CreatedAt.Add(time.Second)
		}
		return create(t, s, r)
	}
	empty := func(what string, runs []*landform.Run) {
		t.Helper()
		if runs == nil || len(runs) != 0 {
			t.Errorf("%s = %d runs (nil: %v), want an empty list", what, len(runs), runs == nil)
		}
	}
	requeued, flagged, err := s.RecoverRuns(t.Context())
	if err != nil {
		t.Fatalf("RecoverRuns on an empty store: %v", err)
	}
	empty("requeued", requeued)
	empty("flagged", flagged)

	// Two runs a worker was running, claimed through the queue.
	mk("net", landform.RunPlan, landform.StateQueued, time.Minute)
	mk("app", landform.RunDrift, landform.StateQueued, 2*time.Minute)
	cut := []*landform.Run{claim(t, s), claim(t, s)}
	applying := []*landform.Run{
		mk("db", landform.RunPlan, landform.StateApplying, 3*time.Minute),
		mk("dns", landform.RunApply, landform.StateApplying, 0),
		mk("cdn", landform.RunApply, landform.StateRunning, 4*time.Minute),
	}
	untouched := []*landform.Run{
		mk("net", landform.RunPlan, landform.StateQueued, 5*time.Minute),
		mk("x", landform.RunPlan, landform.StatePlanned, 0),
		mk("y", landform.RunPlan, landform.StateApproved, 0),
		mk("z", landform.RunApply, landform.StateApplyFailed, 0),
	}

	requeued, flagged, err = s.RecoverRuns(t.Context())
	if err != nil {
		t.Fatalf("RecoverRuns: %v", err)
	}
	if len(requeued) != len(cut) {
		t.Fatalf("RecoverRuns re-queued %d runs, want %d", len(requeued), len(cut))
	}
	copies, flaggedFirst := requeued, flagged
	for i, old := range cut {
		copied := requeued[i]
		if copied.ID == old.ID || copied.ID == "" {
			t.Errorf("re-queued copy of run %s has ID %q, want a new one", old.ID, copied.ID)
		}
		want := &landform.Run{
			ID: copied.ID, Repo: old.Repo, Workspace: old.Workspace, Dir: old.Dir, Commit: old.Commit,
			Ref: old.Ref, Kind: old.Kind, State: landform.StateQueued, CreatedAt: old.CreatedAt,
		}
		CheckRun(t, copied, want)
		CheckRun(t, get(t, s, copied.ID), want)

		got := get(t, s, old.ID)
		if got.FinishedAt.IsZero() {
			t.Errorf("interrupted run %s: no FinishedAt", old.ID)
		}
		if !strings.Contains(got.Error, "re-queued as run "+copied.ID) {
			t.Errorf("interrupted run %s: Error %q does not name run %s", old.ID, got.Error, copied.ID)
		}
		w := *old
		w.State, w.Error, w.FinishedAt = landform.StateInterrupted, got.Error, got.FinishedAt
		CheckRun(t, got, &w)
	}

	if len(flagged) != len(applying) {
		t.Fatalf("RecoverRuns flagged %d runs, want %d", len(flagged), len(applying))
	}
	for i, old := range applying {
		got := flagged[i]
		if got.FinishedAt.IsZero() {
			t.Errorf("flagged run %s: no FinishedAt", old.ID)
		}
		if !strings.HasPrefix(got.Error, "interrupted while applying") || !strings.Contains(got.Error, "state lock") {
			t.Errorf("flagged run %s: Error %q, want it to say it was applying and to check the state lock", old.ID, got.Error)
		}
		w := *old
		w.State, w.Error, w.FinishedAt = landform.StateInterrupted, got.Error, got.FinishedAt
		CheckRun(t, got, &w)
		CheckRun(t, get(t, s, old.ID), &w)
	}
	for _, r := range untouched {
		CheckRun(t, get(t, s, r.ID), r)
	}

	attention := func(want ...*landform.Run) {
		t.Helper()
		got, err := s.ListAttention(t.Context())
		if err != nil {
			t.Fatalf("ListAttention: %v", err)
		}
		if got == nil {
			t.Error("ListAttention = nil, want a list")
		}
		var g, w []string
		for _, r := range got {
			g = append(g, r.ID)
		}
		for _, r := range want {
			w = append(w, r.ID)
		}
		if strings.Join(g, " ") != strings.Join(w, " ") {
			t.Errorf("ListAttention = %v, want %v (newest first)", g, w)
		}
	}
	// Newest first: cdn (4m), db (3m), dns (0).
	attention(applying[2], applying[0], applying[1])

	// Done: a second start finds nothing more.
	requeued, flagged, err = s.RecoverRuns(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	empty("requeued by a second RecoverRuns", requeued)
	empty("flagged by a second RecoverRuns", flagged)

	// The copies kept their place in the queue: ahead of the run queued
	// after them, which waits for its workspace.
	for _, want := range copies {
		if got := claim(t, s); got == nil || got.ID != want.ID {
			t.Errorf("ClaimRun = %v, want the re-queued run %s", got, want.ID)
		}
	}

	if err := s.ClearAttention(t.Context(), applying[0].ID); err != nil {
		t.Fatalf("ClearAttention: %v", err)
	}
	attention(applying[2], applying[1])
	for _, id := range []string{applying[0].ID, untouched[1].ID} {
		if err := s.ClearAttention(t.Context(), id); err != nil {
			t.Errorf("ClearAttention(%s) of a run not flagged: %v", id, err)
		}
	}
	wantCode(t, "ClearAttention(999999)", s.ClearAttention(t.Context(), "999999"), landform.ENOTFOUND)
	wantCode(t, "ClearAttention(abc)", s.ClearAttention(t.Context(), "abc"), landform.ENOTFOUND)
	attention(applying[2], applying[1])
	CheckRun(t, get(t, s, applying[0].ID), flaggedFirst[0])
}

// testClaimSkipsBlocked: a queued run waiting for a lock (BlockedBy set) is
// not claimed until BlockedBy is cleared; runs behind it are.
func testClaimSkipsBlocked(t *testing.T, s Store) {
	blocked := NewRun("infra", "net")
	blocked.BlockedBy = "pr/1"
	create(t, s, blocked)
	other := create(t, s, NewRun("infra", "dns"))
	if r := claim(t, s); r == nil || r.ID != other.ID {
		t.Fatalf("claimed %+v, want run %s (the blocked one waits)", r, other.ID)
	}
	if r := claim(t, s); r != nil {
		t.Fatalf("claimed the blocked run %s", r.ID)
	}
	blocked.BlockedBy = ""
	if err := s.UpdateRun(t.Context(), blocked); err != nil {
		t.Fatal(err)
	}
	if r := claim(t, s); r == nil || r.ID != blocked.ID {
		t.Fatalf("claimed %+v after unblocking, want run %s", r, blocked.ID)
	}
}
