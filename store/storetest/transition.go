package storetest

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/landform/landform"
)

// TransitionStore moves runs between states atomically.
type TransitionStore interface {
	// TransitionRun moves run id from one of the states from to what
	// change makes of it, atomically: of racing callers at most one
	// succeeds; the others get ECONFLICT and the run as it is. ENOTFOUND
	// for an unknown run; change's error is returned and saves nothing.
	TransitionRun(ctx context.Context, id string, from []landform.RunState, change func(*landform.Run) error) (*landform.Run, error)
}

// ChatOpsStore keeps what chat-ops has handled.
type ChatOpsStore interface {
	// MarkCommandSeen reports whether this call is the first to see key.
	MarkCommandSeen(ctx context.Context, repo, key string) (bool, error)
	CommentCursor(ctx context.Context, repo string) (string, error)
	SetCommentCursor(ctx context.Context, repo, cursor string) error
}

func testTransition(t *testing.T, s Store) {
	ctx := t.Context()
	r := NewRun("infra", "net")
	r.State = landform.StatePlanned
	create(t, s, r)

	got, err := s.TransitionRun(ctx, r.ID, []landform.RunState{landform.StatePlanned, landform.StateAwaitingApproval}, func(x *landform.Run) error {
		x.State = landform.StateApproved
		x.Apply = &landform.ApplyResult{By: "alice", Channel: landform.ChannelCLI, RequestedAt: base}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != landform.StateApproved || got.Apply == nil || got.Apply.By != "alice" {
		t.Errorf("TransitionRun returned %+v", got)
	}
	stored := get(t, s, r.ID)
	CheckRun(t, stored, got)

	// Not in a from state: ECONFLICT, with the run as it is, unchanged.
	called := false
	now, err := s.TransitionRun(ctx, r.ID, []landform.RunState{landform.StatePlanned}, func(x *landform.Run) error {
		called = true
		return nil
	})
	wantCode(t, "transition from the wrong state", err, landform.ECONFLICT)
	if called {
		t.Error("change was called for a run in the wrong state")
	}
	if now == nil || now.State != landform.StateApproved {
		t.Errorf("the conflict returned run %+v, want it approved", now)
	}

	// change's error saves nothing.
	boom := errors.New("boom")
	_, err = s.TransitionRun(ctx, r.ID, []landform.RunState{landform.StateApproved}, func(x *landform.Run) error {
		x.State = landform.StateApplying
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("change's error came back as %v", err)
	}
	if st := get(t, s, r.ID).State; st != landform.StateApproved {
		t.Errorf("after a failed change the run is %s, want approved", st)
	}

	_, err = s.TransitionRun(ctx, "999999", []landform.RunState{landform.StatePlanned}, func(*landform.Run) error { return nil })
	wantCode(t, "transition of an unknown run", err, landform.ENOTFOUND)

	// An apply does not start beside another running run of its
	// workspace (a drift check, a plan): ErrWorkspaceBusy, nothing saved.
	busy := NewRun("infra", "net")
	busy.Kind, busy.State = landform.RunDrift, landform.StateRunning
	create(t, s, busy)
	_, err = s.TransitionRun(ctx, r.ID, []landform.RunState{landform.StateApproved}, func(x *landform.Run) error {
		x.State = landform.StateApplying
		return nil
	})
	if landform.ErrorCode(err) != landform.ECONFLICT || !errors.Is(err, landform.ErrWorkspaceBusy) {
		t.Errorf("applying beside a running run: %v, want ECONFLICT with ErrWorkspaceBusy", err)
	}
	if st := get(t, s, r.ID).State; st != landform.StateApproved {
		t.Errorf("after a busy refusal the run is %s, want approved", st)
	}
}

func testConcurrentTransitions(t *testing.T, s Store) {
	ctx := t.Context()
	r := NewRun("infra", "net")
	r.State = landform.StateApproved
	create(t, s, r)
	var (
		wg        sync.WaitGroup
		won, lost atomic.Int32
	)
	for range 50 {
		wg.Go(func() {
			_, err := s.TransitionRun(ctx, r.ID, []landform.RunState{landform.StateApproved}, func(x *landform.Run) error {
				x.State = landform.StateApplying
				return nil
			})
			switch landform.ErrorCode(err) {
			case "":
				won.Add(1)
			case landform.ECONFLICT:
				lost.Add(1)
			default:
				t.Errorf("transition: %v", err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 || lost.Load() != 49 {
		t.Errorf("50 racing transitions: %d won, %d lost; want 1 and 49", won.Load(), lost.Load())
	}
}

func testChatOps(t *testing.T, s Store) {
	ctx := t.Context()
	for i, want := range []bool{true, false, false} {
		first, err := s.MarkCommandSeen(ctx, "infra", "comment/3/77")
		if err != nil {
			t.Fatal(err)
		}
		if first != want {
			t.Errorf("MarkCommandSeen call %d = %v, want %v", i+1, first, want)
		}
	}
	if first, err := s.MarkCommandSeen(ctx, "other", "comment/3/77"); err != nil || !first {
		t.Errorf("the same key in another repo = %v, %v; want first", first, err)
	}
	_, err := s.MarkCommandSeen(ctx, "", "x")
	wantCode(t, "MarkCommandSeen without a repo", err, landform.EINVALID)

	if c, err := s.CommentCursor(ctx, "infra"); err != nil || c != "" {
		t.Errorf("CommentCursor before any = %q, %v", c, err)
	}
	for _, c := range []string{"2026-11-29T10:00:00Z", "2026-11-29T11:00:00Z"} {
		if err := s.SetCommentCursor(ctx, "infra", c); err != nil {
			t.Fatal(err)
		}
		if got, err := s.CommentCursor(ctx, "infra"); err != nil || got != c {
			t.Errorf("CommentCursor = %q, %v; want %q", got, err, c)
		}
	}
}
