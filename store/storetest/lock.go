package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
)

// LockStore keeps workspace locks, one per (repo, workspace).
type LockStore interface {
	// AcquireLock takes the lock for l.Holder, or takes it again (new RunID
	// and Reason, same CreatedAt) when l.Holder has it; ECONFLICT with a
	// *landform.LockedError naming the holder when another has it.
	AcquireLock(ctx context.Context, l landform.Lock) error
	// ReleaseLock frees the lock if holder has it.
	ReleaseLock(ctx context.Context, repo, workspace, holder string) error
	// ForceUnlock frees the lock whoever has it and returns it; ENOTFOUND
	// when the workspace is not locked.
	ForceUnlock(ctx context.Context, repo, workspace string) (*landform.Lock, error)
	// ListLocks lists repo's locks ("": all) by repo and workspace.
	ListLocks(ctx context.Context, repo string) ([]*landform.Lock, error)
	// ReleaseLocksOf frees all of holder's locks in repo and counts them.
	ReleaseLocksOf(ctx context.Context, repo, holder string) (int, error)
}

// checkLock fails the test unless got equals want, CreatedAt by instant
// and in UTC.
func checkLock(t *testing.T, got, want *landform.Lock) {
	t.Helper()
	g, w := *got, *want
	if !g.CreatedAt.Equal(w.CreatedAt) || g.CreatedAt.Location() != time.UTC {
		t.Errorf("lock of %s/%s: CreatedAt = %v, want %v in UTC", w.Repo, w.Workspace, g.CreatedAt, w.CreatedAt)
	}
	g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
	if g != w {
		t.Errorf("lock:\n got %+v\nwant %+v", g, w)
	}
}

func acquire(t *testing.T, s Store, l landform.Lock) {
	t.Helper()
	if err := s.AcquireLock(t.Context(), l); err != nil {
		t.Fatalf("AcquireLock(%+v): %v", l, err)
	}
}

// checkLocks fails the test unless ListLocks(repo) returns want.
func checkLocks(t *testing.T, s Store, repo string, want ...landform.Lock) {
	t.Helper()
	got, err := s.ListLocks(t.Context(), repo)
	if err != nil {
		t.Fatalf("ListLocks(%q): %v", repo, err)
	}
	if got == nil {
		t.Errorf("ListLocks(%q) = nil, want a list", repo)
	}
	if len(got) != len(want) {
		var names []string
		for _, l := range got {
			names = append(names, l.Repo+"/"+l.Workspace+"="+l.Holder)
		}
		t.Fatalf("ListLocks(%q) = %v, want %d locks", repo, names, len(want))
	}
	for i := range want {
		checkLock(t, got[i], &want[i])
	}
}

// wantLocked checks that err is ECONFLICT carrying held and naming its
// holder.
func wantLocked(t *testing.T, what string, err error, held landform.Lock) {
	t.Helper()
	wantCode(t, what, err, landform.ECONFLICT)
	var le *landform.LockedError
	if !errors.As(err, &le) {
		t.Fatalf("%s: error %v carries no *landform.LockedError", what, err)
	}
	checkLock(t, &le.Lock, &held)
	if msg := landform.ErrorMessage(err); !strings.Contains(msg, held.Holder) {
		t.Errorf("%s: message %q does not name the holder %s", what, msg, held.Holder)
	}
}

func testLocks(t *testing.T, s Store) {
	ctx := t.Context()
	checkLocks(t, s, "")

	net := landform.Lock{Repo: "infra", Workspace: "net", Holder: "pr/12", RunID: "1", Reason: "plan awaiting approval", CreatedAt: base}
	acquire(t, s, net)
	checkLocks(t, s, "infra", net)

	// Another holder: refused, naming the holder.
	err := s.AcquireLock(ctx, landform.Lock{Repo: "infra", Workspace: "net", Holder: "pr/13", RunID: "2"})
	wantLocked(t, "AcquireLock by pr/13", err, net)
	checkLocks(t, s, "infra", net)

	// The same holder again: its new run and reason, held since the start.
	acquire(t, s, landform.Lock{Repo: "infra", Workspace: "net", Holder: "pr/12", RunID: "3", Reason: "replanned", CreatedAt: base.Add(time.Hour)})
	net.RunID, net.Reason = "3", "replanned"
	checkLocks(t, s, "infra", net)

	// A zero CreatedAt is stamped.
	acquire(t, s, landform.Lock{Repo: "infra", Workspace: "app", Holder: "pr/12"})
	listed, err := s.ListLocks(ctx, "infra")
	if err != nil {
		t.Fatal(err)
	}
	app := *listed[0]
	if app.Workspace != "app" || app.CreatedAt.IsZero() {
		t.Fatalf("lock of app = %+v, want one with a CreatedAt", app)
	}
	dns := landform.Lock{Repo: "infra", Workspace: "dns", Holder: "branch/main", CreatedAt: base}
	acquire(t, s, dns)
	// Another repo's workspace of the same name is another workspace.
	otherNet := landform.Lock{Repo: "other", Workspace: "net", Holder: "pr/13", CreatedAt: base}
	acquire(t, s, otherNet)

	checkLocks(t, s, "infra", app, dns, net)
	checkLocks(t, s, "", app, dns, net, otherNet)
	checkLocks(t, s, "other", otherNet)
	checkLocks(t, s, "nope")

	// Release by someone else: nothing happens.
	if err := s.ReleaseLock(ctx, "infra", "net", "pr/13"); err != nil {
		t.Fatalf("ReleaseLock by another holder: %v", err)
	}
	checkLocks(t, s, "infra", app, dns, net)
	for range 2 { // the second time it is not held: no error
		if err := s.ReleaseLock(ctx, "infra", "net", "pr/12"); err != nil {
			t.Fatalf("ReleaseLock: %v", err)
		}
	}
	checkLocks(t, s, "infra", app, dns)

	// Free again: another holder takes it.
	net13 := landform.Lock{Repo: "infra", Workspace: "net", Holder: "pr/13", CreatedAt: base.Add(time.Minute)}
	acquire(t, s, net13)
	forced, err := s.ForceUnlock(ctx, "infra", "net")
	if err != nil {
		t.Fatalf("ForceUnlock: %v", err)
	}
	checkLock(t, forced, &net13)
	_, err = s.ForceUnlock(ctx, "infra", "net")
	wantCode(t, "ForceUnlock of a free workspace", err, landform.ENOTFOUND)
	checkLocks(t, s, "infra", app, dns)

	// pr/12 closed: its locks in infra go, other repos' stay.
	acquire(t, s, landform.Lock{Repo: "other", Workspace: "app", Holder: "pr/12", CreatedAt: base})
	n, err := s.ReleaseLocksOf(ctx, "infra", "pr/12")
	if err != nil || n != 1 {
		t.Errorf("ReleaseLocksOf(infra, pr/12) = %d, %v; want 1", n, err)
	}
	if n, err := s.ReleaseLocksOf(ctx, "infra", "pr/12"); err != nil || n != 0 {
		t.Errorf("ReleaseLocksOf again = %d, %v; want 0", n, err)
	}
	checkLocks(t, s, "", dns,
		landform.Lock{Repo: "other", Workspace: "app", Holder: "pr/12", CreatedAt: base}, otherNet)
}

func testLockInvalid(t *testing.T, s Store) {
	for _, l := range []landform.Lock{
		{Workspace: "net", Holder: "pr/1"},
		{Repo: "infra", Holder: "pr/1"},
		{Repo: "infra", Workspace: "net"},
	} {
		wantCode(t, fmt.Sprintf("AcquireLock(%+v)", l), s.AcquireLock(t.Context(), l), landform.EINVALID)
	}
	checkLocks(t, s, "")
}

// testConcurrentLocks has 16 holders race for each of 4 workspaces: one
// wins each, the others are told who.
func testConcurrentLocks(t *testing.T, s Store) {
	const holders = 16
	for w := range 4 {
		ws := fmt.Sprint("ws", w)
		errs := make([]error, holders)
		var wg sync.WaitGroup
		for h := range holders {
			wg.Go(func() {
				errs[h] = s.AcquireLock(t.Context(), landform.Lock{
					Repo: "infra", Workspace: ws, Holder: fmt.Sprint("pr/", h), RunID: fmt.Sprint(h), CreatedAt: base})
			})
		}
		wg.Wait()
		var winners []int
		for h, err := range errs {
			if err == nil {
				winners = append(winners, h)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%s: holders %v all got the lock, want exactly one", ws, winners)
		}
		won := landform.Lock{Repo: "infra", Workspace: ws, Holder: fmt.Sprint("pr/", winners[0]), RunID: fmt.Sprint(winners[0]), CreatedAt: base}
		for h, err := range errs {
			if h != winners[0] {
				wantLocked(t, fmt.Sprintf("%s: AcquireLock by pr/%d", ws, h), err, won)
			}
		}
	}
	locks, err := s.ListLocks(t.Context(), "infra")
	if err != nil || len(locks) != 4 {
		t.Errorf("ListLocks = %d locks, %v; want 4", len(locks), err)
	}
}
