package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/landform/landform"
)

// PollStore keeps the last commit processed per (repo, ref).
type PollStore interface {
	// LastProcessed returns "" for a ref never processed.
	LastProcessed(ctx context.Context, repo, ref string) (string, error)
	// SetLastProcessed records sha; "" forgets the ref. EINVALID for an
	// empty repo or ref.
	SetLastProcessed(ctx context.Context, repo, ref, sha string) error
	// QueueRuns creates runs (IDs and CreatedAt assigned), supersedes
	// for each the older unapplied plans of its workspace and ref, and
	// records commit as processed on ref, all or nothing; it returns the
	// superseded runs in ID order, never nil. EINVALID for an empty
	// repo, ref or commit, a run CreateRun refuses, or a run of another
	// repo or ref.
	QueueRuns(ctx context.Context, repo, ref, commit string, runs []*landform.Run) ([]*landform.Run, error)
}

func testPollState(t *testing.T, s Store) {
	ctx := t.Context()
	const (
		main = "refs/heads/main"
		pr   = "refs/pull/12/head"
		sha1 = "1111111111111111111111111111111111111111"
		sha2 = "2222222222222222222222222222222222222222"
		sha3 = "3333333333333333333333333333333333333333"
	)
	want := func(repo, ref, sha string) {
		t.Helper()
		got, err := s.LastProcessed(ctx, repo, ref)
		if err != nil {
			t.Fatalf("LastProcessed(%s, %s): %v", repo, ref, err)
		}
		if got != sha {
			t.Errorf("LastProcessed(%s, %s) = %q, want %q", repo, ref, got, sha)
		}
	}
	set := func(repo, ref, sha string) {
		t.Helper()
		if err := s.SetLastProcessed(ctx, repo, ref, sha); err != nil {
			t.Fatalf("SetLastProcessed(%s, %s, %s): %v", repo, ref, sha, err)
		}
	}

	want("infra", main, "")
	set("infra", main, sha1)
	set("infra", pr, sha2)
	set("other", main, sha3)
	want("infra", main, sha1)
	want("infra", pr, sha2)
	want("other", main, sha3)
	want("other", pr, "")

	set("infra", main, sha2)
	want("infra", main, sha2)
	want("other", main, sha3)

	// The pull request is gone: forget its ref.
	set("infra", pr, "")
	want("infra", pr, "")
	set("infra", pr, "") // forgetting twice is fine
	want("infra", main, sha2)

	wantCode(t, "SetLastProcessed without a repo", s.SetLastProcessed(ctx, "", main, sha1), landform.EINVALID)
	wantCode(t, "SetLastProcessed without a ref", s.SetLastProcessed(ctx, "infra", "", sha1), landform.EINVALID)
}

// wantProcessed fails the test unless LastProcessed(repo, ref) is sha.
func wantProcessed(t *testing.T, s Store, repo, ref, sha string) {
	t.Helper()
	got, err := s.LastProcessed(t.Context(), repo, ref)
	if err != nil {
		t.Fatalf("LastProcessed(%s, %s): %v", repo, ref, err)
	}
	if got != sha {
		t.Errorf("LastProcessed(%s, %s) = %q, want %q", repo, ref, got, sha)
	}
}

// queueRun returns a queued plan run of workspace on ref of infra at
// commit.
func queueRun(workspace, ref, commit string) *landform.Run {
	r := NewRun("infra", workspace)
	r.Ref, r.Commit = ref, commit
	return r
}

// wantIDs fails the test unless runs are those of want, in order.
func wantIDs(t *testing.T, what string, runs []*landform.Run, want ...*landform.Run) {
	t.Helper()
	if runs == nil {
		t.Errorf("%s = nil, want a list", what)
	}
	var got, ids []string
	for _, r := range runs {
		got = append(got, r.ID)
	}
	for _, r := range want {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(got, ids) {
		t.Errorf("%s = runs %v, want %v", what, got, ids)
	}
}

func testQueueRuns(t *testing.T, s Store) {
	ctx := t.Context()
	const (
		main = "refs/heads/main"
		pr   = "refs/pull/12/head"
		sha1 = "1111111111111111111111111111111111111111"
		sha2 = "2222222222222222222222222222222222222222"
		sha3 = "3333333333333333333333333333333333333333"
	)
	// A baseline: no run, the poll state moves.
	superseded, err := s.QueueRuns(ctx, "infra", main, sha1, nil)
	if err != nil {
		t.Fatalf("QueueRuns of a baseline: %v", err)
	}
	wantIDs(t, "superseded by a baseline", superseded)
	wantProcessed(t, s, "infra", main, sha1)

	// What the runs supersede: the unapplied plans of their workspace and
	// ref, not those of another ref or workspace, nor finished ones.
	oldNet := queueRun("net", main, sha1)
	oldNet.State, oldNet.CreatedAt = landform.StatePlanned, base
	oldApp := queueRun("app", main, sha1)
	oldApp.CreatedAt = base
	prNet := queueRun("net", pr, sha1)
	prNet.CreatedAt = base
	erroredNet := queueRun("net", main, sha1)
	erroredNet.State, erroredNet.CreatedAt = landform.StateErrored, base
	dns := queueRun("dns", main, sha1)
	dns.State, dns.CreatedAt = landform.StatePlanned, base
	for _, r := range []*landform.Run{oldNet, oldApp, prNet, erroredNet, dns} {
		create(t, s, r)
	}

	net, app := queueRun("net", main, sha2), queueRun("app", main, sha2)
	app.BlockedBy, app.Error = "pr/7", "waiting: locked by pr/7"
	superseded, err = s.QueueRuns(ctx, "infra", main, sha2, []*landform.Run{net, app})
	if err != nil {
		t.Fatalf("QueueRuns: %v", err)
	}
	for _, r := range []*landform.Run{net, app} {
		if r.ID == "" || r.CreatedAt.IsZero() {
			t.Fatalf("queued run of %s: ID %q, CreatedAt %v; want both assigned", r.Workspace, r.ID, r.CreatedAt)
		}
		CheckRun(t, get(t, s, r.ID), r)
	}
	if idNumber(t, app) <= idNumber(t, net) {
		t.Errorf("run IDs %s, %s: want them in the order given", net.ID, app.ID)
	}
	wantIDs(t, "superseded", superseded, oldNet, oldApp)
	for _, r := range superseded {
		if r.State != landform.StateSuperseded || r.FinishedAt.IsZero() {
			t.Errorf("superseded run %s: %s, finished %v", r.ID, r.State, r.FinishedAt)
		}
		CheckRun(t, get(t, s, r.ID), r)
	}
	for _, r := range []*landform.Run{prNet, erroredNet, dns} {
		CheckRun(t, get(t, s, r.ID), r)
	}
	wantProcessed(t, s, "infra", main, sha2)
	wantProcessed(t, s, "infra", pr, "")

	// A broken commit: one errored run, and the ref moves on.
	broken := queueRun("(repository)", main, sha3)
	broken.State, broken.Error = landform.StateErrored, ".landform.yaml:1:1: bad"
	broken.StartedAt, broken.FinishedAt = base, base
	superseded, err = s.QueueRuns(ctx, "infra", main, sha3, []*landform.Run{broken})
	if err != nil {
		t.Fatalf("QueueRuns of a broken commit: %v", err)
	}
	wantIDs(t, "superseded by a broken commit", superseded)
	CheckRun(t, get(t, s, broken.ID), broken)
	wantProcessed(t, s, "infra", main, sha3)
	CheckRun(t, get(t, s, net.ID), net) // a run of another workspace stays queued

	for _, c := range []struct {
		what              string
		repo, ref, commit string
		run               *landform.Run
	}{
		{"without a repo", "", main, sha1, nil},
		{"without a ref", "infra", "", sha1, nil},
		{"without a commit", "infra", main, "", nil},
		{"of another repo's run", "other", main, sha1, queueRun("net", main, sha1)},
		{"of another ref's run", "infra", pr, sha1, queueRun("net", main, sha1)},
	} {
		var runs []*landform.Run
		if c.run != nil {
			runs = append(runs, c.run)
		}
		_, err := s.QueueRuns(ctx, c.repo, c.ref, c.commit, runs)
		wantCode(t, "QueueRuns "+c.what, err, landform.EINVALID)
	}
	wantProcessed(t, s, "infra", main, sha3)
	wantProcessed(t, s, "other", main, "")
}

// testQueueRunsAllOrNothing fails QueueRuns part way, at its second run:
// no run is created, none superseded, and the poll state stays where it
// was, so the next poll queues the commit once.
func testQueueRunsAllOrNothing(t *testing.T, s Store) {
	ctx := t.Context()
	const (
		main = "refs/heads/main"
		sha1 = "1111111111111111111111111111111111111111"
		sha2 = "2222222222222222222222222222222222222222"
	)
	if _, err := s.QueueRuns(ctx, "infra", main, sha1, nil); err != nil {
		t.Fatal(err)
	}
	old := queueRun("net", main, sha1)
	old.State = landform.StatePlanned
	create(t, s, old)
	before, err := s.ListRuns(ctx, landform.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}

	net, app := queueRun("net", main, sha2), queueRun("app", main, sha2)
	bad := queueRun("", main, sha2) // no workspace: refused after net went in
	_, err = s.QueueRuns(ctx, "infra", main, sha2, []*landform.Run{net, bad, app})
	wantCode(t, "QueueRuns with a run lacking a workspace", err, landform.EINVALID)
	for _, r := range []*landform.Run{net, bad, app} {
		if r.ID != "" || !r.CreatedAt.IsZero() {
			t.Errorf("run of %q after a failed QueueRuns: ID %q, CreatedAt %v; want them unset", r.Workspace, r.ID, r.CreatedAt)
		}
	}
	after, err := s.ListRuns(ctx, landform.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "runs after a failed QueueRuns", after, before...)
	CheckRun(t, get(t, s, old.ID), old) // not superseded
	wantProcessed(t, s, "infra", main, sha1)

	// The next poll queues the commit, once.
	superseded, err := s.QueueRuns(ctx, "infra", main, sha2, []*landform.Run{net, app})
	if err != nil {
		t.Fatalf("QueueRuns again: %v", err)
	}
	old.State = landform.StateSuperseded
	wantIDs(t, "superseded", superseded, old)
	queued, err := s.ListRuns(ctx, landform.RunFilter{States: []landform.RunState{landform.StateQueued}})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs(t, "queued runs", queued, app, net)
	wantProcessed(t, s, "infra", main, sha2)
}
