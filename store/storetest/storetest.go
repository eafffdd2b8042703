// Package storetest is the test suite every run store passes (store/sqlite,
// and later store/postgres), so that they keep one contract:
//
//   - CreateRun assigns increasing decimal IDs, and CreatedAt when it is zero;
//   - GetRun returns every field exactly as stored, times to the nanosecond
//     and in UTC, zero times staying zero;
//   - UpdateRun saves the mutable fields and ignores Repo, Workspace, Kind and
//     CreatedAt;
//   - GetRun and UpdateRun of an unknown run are ENOTFOUND;
//   - ListRuns returns runs newest first (CreatedAt, then ID) filtered by
//     repo, workspace, kind and states, capped by limit, never nil;
//   - concurrent CreateRuns all succeed;
//   - EnsureNextRunID raises the IDs assigned afterwards, never lowers them;
//   - the queue (queue.go): ClaimRun takes the oldest claimable queued run,
//     never the same run twice nor two running runs of one workspace;
//     SupersedeRuns, RecoverRuns, ListAttention, ClearAttention;
//   - workspace locks (lock.go), poll state and QueueRuns, which queues a
//     poll's runs and moves its poll state all or nothing (poll.go), and
//     the ledger outbox (ledger.go), the forge outbox (forge.go);
//   - API tokens, dashboard sessions and run counts (auth.go);
//   - leases, by the store's clock, and the recovery of the runs of
//     replicas whose lease expired (lease.go).
package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
)

// Store is what the suite exercises: everything a store keeps.
type Store interface {
	RunStore
	QueueStore
	LockStore
	PollStore
	LedgerStore
	ForgeOutboxStore
	ApprovalStore
	TransitionStore
	ChatOpsStore
	AuthStore
	LeaseStore
}

// RunStore keeps run records.
type RunStore interface {
	CreateRun(ctx context.Context, r *landform.Run) error
	UpdateRun(ctx context.Context, r *landform.Run) error
	GetRun(ctx context.Context, id string) (*landform.Run, error)
	ListRuns(ctx context.Context, f landform.RunFilter) ([]*landform.Run, error)
	// EnsureNextRunID makes the run IDs assigned afterwards at least next,
	// never lowering them; EINVALID for a negative next.
	EnsureNextRunID(ctx context.Context, next int64) error
}

// Run runs the suite. newStore returns a new, empty store for each subtest
// and registers its own cleanup with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("CreateAssignsIDs", func(t *testing.T) { testCreateAssignsIDs(t, newStore(t)) })
	t.Run("CreateInvalid", func(t *testing.T) { testCreateInvalid(t, newStore(t)) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, newStore(t)) })
	t.Run("Update", func(t *testing.T) { testUpdate(t, newStore(t)) })
	t.Run("Missing", func(t *testing.T) { testMissing(t, newStore(t)) })
	t.Run("List", func(t *testing.T) { testList(t, newStore(t)) })
	t.Run("ConcurrentCreates", func(t *testing.T) { testConcurrentCreates(t, newStore(t)) })
	t.Run("EnsureNextRunID", func(t *testing.T) { testEnsureNextRunID(t, newStore(t)) })

	t.Run("ClaimOrder", func(t *testing.T) { testClaimOrder(t, newStore(t)) })
	t.Run("ClaimInvalid", func(t *testing.T) { testClaimInvalid(t, newStore(t)) })
	t.Run("ClaimSkipsBlocked", func(t *testing.T) { testClaimSkipsBlocked(t, newStore(t)) })
	t.Run("ConcurrentClaims", func(t *testing.T) { testConcurrentClaims(t, newStore(t)) })
	t.Run("Supersede", func(t *testing.T) { testSupersede(t, newStore(t)) })
	t.Run("Recover", func(t *testing.T) { testRecover(t, newStore(t)) })

	t.Run("Locks", func(t *testing.T) { testLocks(t, newStore(t)) })
	t.Run("LockInvalid", func(t *testing.T) { testLockInvalid(t, newStore(t)) })
	t.Run("ConcurrentLocks", func(t *testing.T) { testConcurrentLocks(t, newStore(t)) })

	t.Run("PollState", func(t *testing.T) { testPollState(t, newStore(t)) })
	t.Run("QueueRuns", func(t *testing.T) { testQueueRuns(t, newStore(t)) })
	t.Run("QueueRunsAllOrNothing", func(t *testing.T) { testQueueRunsAllOrNothing(t, newStore(t)) })

	t.Run("Ledger", func(t *testing.T) { testLedger(t, newStore(t)) })
	t.Run("LedgerReenqueue", func(t *testing.T) { testLedgerReenqueue(t, newStore(t)) })

	t.Run("ForgeOutbox", func(t *testing.T) { testForgeOutbox(t, newStore(t)) })
	t.Run("Approvals", func(t *testing.T) { testApprovals(t, newStore(t)) })
	t.Run("Transition", func(t *testing.T) { testTransition(t, newStore(t)) })
	t.Run("Tokens", func(t *testing.T) { testTokens(t, newStore(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, newStore(t)) })
	t.Run("CountRuns", func(t *testing.T) { testCountRuns(t, newStore(t)) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, newStore(t)) })
	t.Run("RecoverOrphans", func(t *testing.T) { testRecoverOrphans(t, newStore(t)) })
	t.Run("RepoStatus", func(t *testing.T) { testRepoStatus(t, newStore(t)) })
	t.Run("ConcurrentTransitions", func(t *testing.T) { testConcurrentTransitions(t, newStore(t)) })
	t.Run("ChatOps", func(t *testing.T) { testChatOps(t, newStore(t)) })
}

// base is a time with nanoseconds, so that any rounding shows.
var base = time.Date(2026, 11, 23, 13, 57, 1, 123456789, time.UTC)

// NewRun returns a queued plan run of repo and workspace, without ID or
// times. Backends' own tests use it too.
func NewRun(repo, workspace string) *landform.Run {
	return &landform.Run{
		Repo:      repo,
		Workspace: workspace,
		Dir:       workspace,
		Commit:    "0123456789abcdef0123456789abcdef01234567",
		Ref:       "refs/heads/main",
		Kind:      landform.RunPlan,
		State:     landform.StateQueued,
	}
}

func create(t *testing.T, s Store, r *landform.Run) *landform.Run {
	t.Helper()
	if err := s.CreateRun(t.Context(), r); err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	return r
}

func get(t *testing.T, s Store, id string) *landform.Run {
	t.Helper()
	r, err := s.GetRun(t.Context(), id)
	if err != nil {
		t.Fatalf("GetRun(%s): %v", id, err)
	}
	return r
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := landform.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

// CheckRun fails the test unless got equals want field by field, times by
// instant and in UTC.
func CheckRun(t *testing.T, got, want *landform.Run) {
	t.Helper()
	g, w := *got, *want
	for _, tm := range []struct {
		name      string
		got, want *time.Time
	}{
		{"CreatedAt", &g.CreatedAt, &w.CreatedAt},
		{"StartedAt", &g.StartedAt, &w.StartedAt},
		{"FinishedAt", &g.FinishedAt, &w.FinishedAt},
	} {
		if !tm.got.Equal(*tm.want) {
			t.Errorf("run %s: %s = %v, want %v", want.ID, tm.name, *tm.got, *tm.want)
		}
		if !tm.got.IsZero() && tm.got.Location() != time.UTC {
			t.Errorf("run %s: %s = %v, want UTC", want.ID, tm.name, *tm.got)
		}
		*tm.got, *tm.want = time.Time{}, time.Time{}
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("run %s:\n got %+v\nwant %+v", want.ID, g, w)
	}
}

func testCreateAssignsIDs(t *testing.T, s Store) {
	var last int64
	for i := range 3 {
		r := create(t, s, NewRun("infra", fmt.Sprint("ws", i)))
		n, err := strconv.ParseInt(r.ID, 10, 64)
		if err != nil || strconv.FormatInt(n, 10) != r.ID {
			t.Fatalf("run ID %q is not a decimal number", r.ID)
		}
		if n <= last {
			t.Errorf("run ID %d after %d, want increasing", n, last)
		}
		last = n
		if r.CreatedAt.IsZero() {
			t.Errorf("run %s: CreatedAt not assigned", r.ID)
		}
		CheckRun(t, get(t, s, r.ID), r)
	}

	given := NewRun("infra", "given")
	given.CreatedAt = base
	create(t, s, given)
	if !given.CreatedAt.Equal(base) {
		t.Errorf("CreateRun changed a given CreatedAt to %v", given.CreatedAt)
	}
	CheckRun(t, get(t, s, given.ID), given)
}

func testCreateInvalid(t *testing.T, s Store) {
	withID := NewRun("infra", "net")
	withID.ID = "7"
	wantCode(t, "CreateRun with an ID", s.CreateRun(t.Context(), withID), landform.EINVALID)
	for _, clear := range []func(r *landform.Run){
		func(r *landform.Run) { r.Repo = "" },
		func(r *landform.Run) { r.Workspace = "" },
		func(r *landform.Run) { r.Kind = "" },
		func(r *landform.Run) { r.State = "" },
	} {
		r := NewRun("infra", "net")
		clear(r)
		wantCode(t, fmt.Sprintf("CreateRun(%+v)", *r), s.CreateRun(t.Context(), r), landform.EINVALID)
		if r.ID != "" {
			t.Errorf("a rejected run got ID %q", r.ID)
		}
	}
}

func testRoundTrip(t *testing.T, s Store) {
	full := &landform.Run{
		Repo:       "https://git.example.com/org/infra.git",
		Workspace:  "envs/prod@blue",
		Dir:        "envs/prod",
		Commit:     "89abcdef0123456789abcdef0123456789abcdef",
		Ref:        "refs/pull/12/head",
		Kind:       landform.RunApply,
		State:      landform.StateApplyFailed,
		Summary:    landform.PlanSummary{Add: 4, Change: 3, Destroy: 2, Replace: 1},
		Error:      "Error: creating thing\n\n  on main.tf line 3:\n  ünïcode, 'quotes' and \"more\"",
		PlanSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		BlockedBy:  "pr/7",
		PR:         landform.RunPR{Number: 12, Author: "alice", BaseBranch: "main"},
		Policy: &landform.PolicyResult{
			Deny:             []landform.PolicyMessage{{Set: "builtin", Package: "landform.protect_types", Rule: "deny", Message: "no"}},
			RequireApprovals: []landform.ApprovalRequirement{{Count: 2, From: []string{"dba"}, Set: "builtin", Package: "landform.destroy_approvals"}},
			Override:         &landform.PolicyOverride{By: "alice", Reason: "migration", At: base},
		},
		CommitAuthor: "bob@example.com",
		Apply: &landform.ApplyResult{
			By: "carol", Channel: landform.ChannelSlack, RequestedAt: base, StartedAt: base.Add(time.Second),
			FinishedAt: base.Add(time.Minute), Summary: "Apply complete!", Output: "out", Error: "boom", Replan: "9",
		},
		Drift: &landform.WorkspaceDrift{
			Repo: "infra", Workspace: "envs/prod@blue", Dir: "envs/prod", Commit: "89ab", RunID: "3", Drifted: true,
			Resources: []landform.DriftedResource{{Address: "testcloud_bucket.a", Kind: landform.DriftChanged, Action: "update",
				Attributes: []landform.AttributeChange{{Path: "tags.env", Before: "prod", After: "dev"}, {Path: "value", Before: landform.SensitiveValue, After: landform.SensitiveValue, Sensitive: true}}}},
			CheckedAt: base, DriftedSince: base.Add(-time.Hour),
		},
		CreatedAt:  base,
		StartedAt:  base.Add(1500 * time.Millisecond),
		FinishedAt: base.Add(time.Minute + 1),
	}
	create(t, s, full)
	CheckRun(t, get(t, s, full.ID), full)

	// Zero times stay zero; a time in another zone keeps its instant.
	bare := NewRun("infra", "net")
	bare.CreatedAt = time.Date(2026, 11, 23, 15, 0, 0, 1, time.FixedZone("CET", 3600))
	create(t, s, bare)
	got := get(t, s, bare.ID)
	if !got.StartedAt.IsZero() || !got.FinishedAt.IsZero() {
		t.Errorf("zero times came back as %v, %v", got.StartedAt, got.FinishedAt)
	}
	if got.Duration() != 0 {
		t.Errorf("Duration of an unstarted run = %v", got.Duration())
	}
	CheckRun(t, got, bare)
}

func testUpdate(t *testing.T, s Store) {
	r := NewRun("infra", "net")
	r.CreatedAt = base
	create(t, s, r)

	r.State = landform.StateRunning
	r.StartedAt = base.Add(time.Second)
	if err := s.UpdateRun(t.Context(), r); err != nil {
		t.Fatalf("UpdateRun: %v", err)
	}
	CheckRun(t, get(t, s, r.ID), r)

	r.State = landform.StatePlanned
	r.Summary = landform.PlanSummary{Add: 1, Change: 2, Destroy: 3, Replace: 4}
	r.PlanSHA256 = strings.Repeat("ab", 32)
	r.Error = "warning: something"
	r.FinishedAt = base.Add(90 * time.Second)
	r.Dir, r.Commit, r.Ref = "moved", "fedcba9876543210fedcba9876543210fedcba98", "refs/heads/other"
	if err := s.UpdateRun(t.Context(), r); err != nil {
		t.Fatalf("UpdateRun: %v", err)
	}
	got := get(t, s, r.ID)
	CheckRun(t, got, r)
	if got.Duration() != 89*time.Second {
		t.Errorf("Duration = %v, want 1m29s", got.Duration())
	}

	// The fields fixed at creation do not change.
	want := *r
	changed := *r
	changed.Repo, changed.Workspace, changed.Kind = "other", "other", landform.RunDrift
	changed.CreatedAt = base.Add(time.Hour)
	if err := s.UpdateRun(t.Context(), &changed); err != nil {
		t.Fatalf("UpdateRun: %v", err)
	}
	CheckRun(t, get(t, s, r.ID), &want)

	// Clearing works too.
	r.Error, r.PlanSHA256, r.Summary = "", "", landform.PlanSummary{}
	r.StartedAt, r.FinishedAt = time.Time{}, time.Time{}
	if err := s.UpdateRun(t.Context(), r); err != nil {
		t.Fatalf("UpdateRun: %v", err)
	}
	CheckRun(t, get(t, s, r.ID), r)
}

func testMissing(t *testing.T, s Store) {
	create(t, s, NewRun("infra", "net"))
	for _, id := range []string{"999999", "0", "-1", "abc", "", "1.0", " 1"} {
		_, err := s.GetRun(t.Context(), id)
		wantCode(t, fmt.Sprintf("GetRun(%q)", id), err, landform.ENOTFOUND)
		r := NewRun("infra", "net")
		r.ID = id
		wantCode(t, fmt.Sprintf("UpdateRun(%q)", id), s.UpdateRun(t.Context(), r), landform.ENOTFOUND)
	}
	_, err := s.GetRun(t.Context(), "999999")
	if err == nil || err.Error() != "run 999999 not found" {
		t.Errorf("GetRun(999999) error %q, want %q", err, "run 999999 not found")
	}
}

func testList(t *testing.T, s Store) {
	runs := map[string]*landform.Run{}
	for _, c := range []struct {
		name, repo, ws string
		kind           landform.RunKind
		state          landform.RunState
		created        time.Duration
	}{
		{"r1", "a", "net", landform.RunPlan, landform.StatePlanned, 1 * time.Minute},
		{"r2", "a", "app", landform.RunPlan, landform.StateErrored, 2 * time.Minute},
		{"r3", "b", "net", landform.RunDrift, landform.StateNoChanges, 3 * time.Minute},
		{"r4", "a", "net", landform.RunApply, landform.StateApplied, 4 * time.Minute},
		// Same time as r4: the later ID comes first.
		{"r5", "a", "net", landform.RunPlan, landform.StatePlanned, 4 * time.Minute},
		// Created last but stamped earliest: time, not ID, orders.
		{"r6", "b", "app", landform.RunPlan, landform.StateQueued, 0},
	} {
		r := NewRun(c.repo, c.ws)
		r.Kind, r.State, r.CreatedAt = c.kind, c.state, base.Add(c.created)
		r.Ref, r.Commit = "refs/heads/main", "c1"
		if c.name == "r2" || c.name == "r5" {
			r.Ref = "refs/pull/3/head"
		}
		if c.name == "r5" {
			r.Commit = "c2"
		}
		runs[c.name] = create(t, s, r)
	}
	names := map[string]string{}
	for name, r := range runs {
		names[r.ID] = name
	}

	for _, c := range []struct {
		f    landform.RunFilter
		want string
	}{
		{landform.RunFilter{}, "r5 r4 r3 r2 r1 r6"},
		{landform.RunFilter{Repo: "a"}, "r5 r4 r2 r1"},
		{landform.RunFilter{Workspace: "net"}, "r5 r4 r3 r1"},
		{landform.RunFilter{Repo: "a", Workspace: "net"}, "r5 r4 r1"},
		{landform.RunFilter{Kind: landform.RunPlan}, "r5 r2 r1 r6"},
		{landform.RunFilter{Kind: landform.RunDrift}, "r3"},
		{landform.RunFilter{States: []landform.RunState{landform.StatePlanned, landform.StateErrored}}, "r5 r2 r1"},
		{landform.RunFilter{States: []landform.RunState{landform.StateQueued}}, "r6"},
		{landform.RunFilter{Limit: 2}, "r5 r4"},
		{landform.RunFilter{Ref: "refs/pull/3/head"}, "r5 r2"},
		{landform.RunFilter{Ref: "refs/pull/3/head", Commit: "c1"}, "r2"},
		{landform.RunFilter{Repo: "a", Commit: "c2"}, "r5"},
		{landform.RunFilter{Repo: "a", Kind: landform.RunPlan, Limit: 1}, "r5"},
		{landform.RunFilter{Repo: "b", Workspace: "net", States: []landform.RunState{landform.StateNoChanges}}, "r3"},
		{landform.RunFilter{Repo: "nope"}, ""},
		{landform.RunFilter{States: []landform.RunState{landform.StateStale}}, ""},
		// Pages: the runs after Before in the list's order.
		{landform.RunFilter{Before: runs["r4"].ID}, "r3 r2 r1 r6"},
		{landform.RunFilter{Before: runs["r5"].ID, Limit: 2}, "r4 r3"},
		{landform.RunFilter{Repo: "a", Before: runs["r2"].ID}, "r1"},
		{landform.RunFilter{Before: runs["r6"].ID}, ""},
		{landform.RunFilter{Before: "999999"}, ""},
		{landform.RunFilter{Before: "x"}, ""},
	} {
		got, err := s.ListRuns(t.Context(), c.f)
		if err != nil {
			t.Errorf("ListRuns(%+v): %v", c.f, err)
			continue
		}
		if got == nil {
			t.Errorf("ListRuns(%+v) = nil, want an empty slice", c.f)
		}
		var gotNames []string
		for _, r := range got {
			gotNames = append(gotNames, names[r.ID])
		}
		if g := strings.Join(gotNames, " "); g != c.want {
			t.Errorf("ListRuns(%+v) = %q, want %q", c.f, g, c.want)
		}
	}

	all, err := s.ListRuns(t.Context(), landform.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		CheckRun(t, r, runs[names[r.ID]])
	}
}

func testConcurrentCreates(t *testing.T, s Store) {
	const goroutines, each = 16, 8
	ids := make([][]string, goroutines)
	errs := make([]error, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				r := NewRun("infra", fmt.Sprintf("ws-%d-%d", g, i))
				if err := s.CreateRun(t.Context(), r); err != nil {
					errs[g] = err
					return
				}
				ids[g] = append(ids[g], r.ID)
			}
		})
	}
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", g, err)
		}
	}
	all := slices.Concat(ids...)
	slices.Sort(all)
	if n := len(slices.Compact(all)); n != goroutines*each {
		t.Errorf("%d unique IDs, want %d", n, goroutines*each)
	}
	listed, err := s.ListRuns(t.Context(), landform.RunFilter{Repo: "infra"})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != goroutines*each {
		t.Errorf("ListRuns found %d runs, want %d", len(listed), goroutines*each)
	}
}

// idNumber returns run r's ID as a number, failing the test unless it is
// a decimal one.
func idNumber(t *testing.T, r *landform.Run) int64 {
	t.Helper()
	n, err := strconv.ParseInt(r.ID, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != r.ID {
		t.Fatalf("run ID %q is not a decimal number", r.ID)
	}
	return n
}

// testEnsureNextRunID: after a database was lost, run IDs continue above
// the floor Landform found elsewhere (plan store, ledgers), and the floor
// never takes IDs back.
func testEnsureNextRunID(t *testing.T, s Store) {
	ctx := t.Context()
	ensure := func(next int64) {
		t.Helper()
		if err := s.EnsureNextRunID(ctx, next); err != nil {
			t.Fatalf("EnsureNextRunID(%d): %v", next, err)
		}
	}
	ensure(0)
	ensure(1)
	first := idNumber(t, create(t, s, NewRun("infra", "net")))

	// As after the database was lost: IDs continue above what the plan
	// store and the ledgers hold.
	ensure(first + 100)
	raised := idNumber(t, create(t, s, NewRun("infra", "net")))
	if raised < first+100 {
		t.Errorf("run ID %d after EnsureNextRunID(%d), want at least that", raised, first+100)
	}
	// A lower floor does not lower the IDs, nor does one already reached.
	for _, next := range []int64{first + 50, raised} {
		ensure(next)
		if n := idNumber(t, create(t, s, NewRun("infra", "net"))); n <= raised {
			t.Errorf("run ID %d after EnsureNextRunID(%d), want above %d", n, next, raised)
		} else {
			raised = n
		}
	}
	// Queued and recovered runs draw from the same sequence.
	ensure(raised + 1000)
	queued := NewRun("infra", "app")
	if _, err := s.QueueRuns(ctx, "infra", queued.Ref, queued.Commit, []*landform.Run{queued}); err != nil {
		t.Fatalf("QueueRuns: %v", err)
	}
	if n := idNumber(t, queued); n < raised+1000 {
		t.Errorf("queued run ID %d after EnsureNextRunID(%d)", n, raised+1000)
	}
	wantCode(t, "EnsureNextRunID(-1)", s.EnsureNextRunID(ctx, -1), landform.EINVALID)
}
