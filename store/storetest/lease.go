package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
)

// LeaseStore keeps leases, by which replicas of the daemon share one
// store: a lease is held by one holder until it expires, by the store's
// clock (so replicas' clocks need not agree).
type LeaseStore interface {
	// AcquireLease takes name for holder for ttl, or renews it when
	// holder has it; false when another holder has it unexpired.
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives name up when holder has it.
	ReleaseLease(ctx context.Context, name, holder string) error
	// LeaseHolder returns the unexpired holder of name, "" for none.
	LeaseHolder(ctx context.Context, name string) (string, error)
	// RecoverOrphans is RecoverRuns of the runs whose Owner holds no
	// unexpired lease prefix+Owner, except self's runs.
	RecoverOrphans(ctx context.Context, prefix, self string) (requeued, flagged []*landform.Run, err error)
	// SaveRepoStatus records the poller's view of a repository (opaque
	// JSON) in place of the last; RepoStatuses returns them by repo.
	SaveRepoStatus(ctx context.Context, repo string, status []byte) error
	RepoStatuses(ctx context.Context) (map[string][]byte, error)
}

func testRepoStatus(t *testing.T, s Store) {
	ctx := t.Context()
	if got, err := s.RepoStatuses(ctx); err != nil || len(got) != 0 {
		t.Fatalf("RepoStatuses of an empty store = %v, %v", got, err)
	}
	for _, st := range []struct{ repo, json string }{
		{"infra", `{"polls":1}`}, {"net", `{"polls":7}`}, {"infra", `{"polls":2,"last_error":"é"}`},
	} {
		if err := s.SaveRepoStatus(ctx, st.repo, []byte(st.json)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.RepoStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || string(got["infra"]) != `{"polls":2,"last_error":"é"}` || string(got["net"]) != `{"polls":7}` {
		t.Errorf("RepoStatuses = %q", got)
	}
}

// testLeases needs a store whose clock the test does not control: its
// expiries are real, and short.
func testLeases(t *testing.T, s Store) {
	ctx := t.Context()
	acquire := func(name, holder string, ttl time.Duration) bool {
		t.Helper()
		ok, err := s.AcquireLease(ctx, name, holder, ttl)
		if err != nil {
			t.Fatalf("AcquireLease(%s, %s): %v", name, holder, err)
		}
		return ok
	}
	holder := func(name string) string {
		t.Helper()
		h, err := s.LeaseHolder(ctx, name)
		if err != nil {
			t.Fatalf("LeaseHolder(%s): %v", name, err)
		}
		return h
	}
	if h := holder("poll"); h != "" {
		t.Errorf("an unknown lease is held by %q", h)
	}
	if !acquire("poll", "a", time.Hour) {
		t.Fatal("a free lease was refused")
	}
	if acquire("poll", "b", time.Hour) {
		t.Error("b took a lease a holds")
	}
	if !acquire("poll", "a", time.Hour) {
		t.Error("a could not renew its lease")
	}
	if h := holder("poll"); h != "a" {
		t.Errorf("poll is held by %q, want a", h)
	}
	if !acquire("other", "b", time.Hour) {
		t.Error("leases are not separate")
	}
	// b's release of a's lease does nothing; a's frees it.
	if err := s.ReleaseLease(ctx, "poll", "b"); err != nil {
		t.Fatal(err)
	}
	if h := holder("poll"); h != "a" {
		t.Errorf("b released a's lease: held by %q", h)
	}
	if err := s.ReleaseLease(ctx, "poll", "a"); err != nil {
		t.Fatal(err)
	}
	if !acquire("poll", "b", 50*time.Millisecond) {
		t.Fatal("a released lease was refused")
	}
	// An expired lease goes to whoever asks.
	deadline := time.Now().Add(10 * time.Second)
	for acquire("poll", "c", time.Hour) == false {
		if time.Now().After(deadline) {
			t.Fatal("b's 50ms lease never expired")
		}
		time.Sleep(10 * time.Millisecond) // waiting for the store's clock: nothing to wait on
	}
	if h := holder("poll"); h != "c" {
		t.Errorf("poll is held by %q, want c", h)
	}
	for _, bad := range [][3]any{{"", "a", time.Second}, {"x", "", time.Second}, {"x", "a", time.Duration(0)}} {
		if _, err := s.AcquireLease(ctx, bad[0].(string), bad[1].(string), bad[2].(time.Duration)); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("AcquireLease(%q, %q, %v) = %v, want EINVALID", bad[0], bad[1], bad[2], err)
		}
	}

	// Of many replicas asking at once, one gets it.
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		got []string
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := string(rune('p' + i))
			if ok, err := s.AcquireLease(ctx, "race", who, time.Hour); err != nil {
				t.Errorf("AcquireLease: %v", err)
			} else if ok {
				mu.Lock()
				got = append(got, who)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(got) != 1 {
		t.Errorf("%d replicas got one lease: %v", len(got), got)
	}
}

func testRecoverOrphans(t *testing.T, s Store) {
	ctx := t.Context()
	mk := func(ws string, state landform.RunState, owner string) *landform.Run {
		r := NewRun("infra", ws)
		r.State, r.Owner, r.StartedAt = state, owner, base
		return create(t, s, r)
	}
	alive := mk("a", landform.StateRunning, "live")
	self := mk("b", landform.StateRunning, "me")
	gonePlan := mk("c", landform.StateRunning, "gone")
	goneApply := mk("d", landform.StateApplying, "gone")
	never := mk("e", landform.StateRunning, "never-leased")
	for _, h := range []string{"live", "me"} {
		if ok, err := s.AcquireLease(ctx, "replica/"+h, h, time.Hour); err != nil || !ok {
			t.Fatalf("AcquireLease(%s) = %v, %v", h, ok, err)
		}
	}
	requeued, flagged, err := s.RecoverOrphans(ctx, "replica/", "me")
	if err != nil {
		t.Fatal(err)
	}
	var requeuedOf []string
	for _, r := range requeued {
		requeuedOf = append(requeuedOf, r.Workspace)
		if r.State != landform.StateQueued || r.Owner != "" {
			t.Errorf("re-queued %+v", r)
		}
	}
	slices.Sort(requeuedOf)
	if !slices.Equal(requeuedOf, []string{"c", "e"}) {
		t.Errorf("re-queued the runs of %v, want c and e (their replicas hold no lease)", requeuedOf)
	}
	if len(flagged) != 1 || flagged[0].ID != goneApply.ID || flagged[0].State != landform.StateInterrupted {
		t.Errorf("flagged %+v, want the apply of d", flagged)
	}
	for _, r := range []*landform.Run{alive, self} {
		if got := get(t, s, r.ID); got.State != landform.StateRunning {
			t.Errorf("run %s of a live replica is %s", r.ID, got.State)
		}
	}
	for _, r := range []*landform.Run{gonePlan, never} {
		if got := get(t, s, r.ID); got.State != landform.StateInterrupted {
			t.Errorf("run %s of a replica gone is %s, want interrupted", r.ID, got.State)
		}
	}
	// Nothing more the second time.
	if requeued, flagged, err := s.RecoverOrphans(ctx, "replica/", "me"); err != nil || len(requeued)+len(flagged) != 0 {
		t.Errorf("RecoverOrphans again = %d, %d, %v", len(requeued), len(flagged), err)
	}
}
