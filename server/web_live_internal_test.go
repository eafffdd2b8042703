package server

import (
	"errors"
	"fmt"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
)

// A page that does not read loses events past its buffer, and is told to
// resync; Publish never blocks on it; other pages get everything.
func TestLiveUpdatesDropOnFull(t *testing.T) {
	l := NewLiveUpdates()
	slow, ok := l.subscribe()
	if !ok {
		t.Fatal("subscribe refused")
	}
	fast, _ := l.subscribe()
	got := 0
	for i := range liveBuffer + 10 {
		l.Publish(runner.Event{Kind: runner.EventRunFinished, Repo: "infra",
			Run: &landform.Run{ID: fmt.Sprint(i + 1), Repo: "infra", Workspace: "app", State: landform.StatePlanned}})
		<-fast.ch
		got++
	}
	if got != liveBuffer+10 {
		t.Errorf("the reading page got %d events", got)
	}
	if len(slow.ch) != liveBuffer || !slow.lost.Load() {
		t.Errorf("the slow page holds %d events, lost=%v; want %d, true", len(slow.ch), slow.lost.Load(), liveBuffer)
	}
	l.unsubscribe(slow)
	l.unsubscribe(fast)
	l.Close()
	if _, ok := l.subscribe(); ok {
		t.Error("subscribed after Close")
	}
	l.Close() // twice is fine
}

// What pages learn: run events, drift reports, lock releases, and a
// repository's poll error only when it changes.
func TestLiveUpdatesEvents(t *testing.T) {
	l := NewLiveUpdates()
	run := &landform.Run{ID: "7", Repo: "infra", Workspace: "envs/a", Kind: landform.RunPlan, State: landform.StateAwaitingApproval}
	boom := errors.New("remote hung up")
	for _, c := range []struct {
		e    runner.Event
		want string // "" for nothing
	}{
		{runner.Event{Kind: runner.EventRunQueued, Repo: "infra", Run: run}, "run:Run 7 (infra/envs/a) is now awaiting approval."},
		{runner.Event{Kind: runner.EventApproval, Repo: "infra", Run: run, Err: boom}, "run:An approval of run 7 was refused."},
		{runner.Event{Kind: runner.EventRunFinished, Repo: "infra"}, ""},
		{runner.Event{Kind: runner.EventDriftReported, Repo: "infra"}, "drift:New drift report for infra."},
		{runner.Event{Kind: runner.EventLocksReleased, Repo: "infra"}, "repo:"},
		{runner.Event{Kind: runner.EventPolled, Repo: "infra"}, ""},
		{runner.Event{Kind: runner.EventPolled, Repo: "infra", Err: boom}, "repo:Polling infra fails."},
		{runner.Event{Kind: runner.EventPolled, Repo: "infra", Err: boom}, ""},
		{runner.Event{Kind: runner.EventPolled, Repo: "infra"}, "repo:Polling infra works again."},
		{runner.Event{Kind: runner.EventPolled, Repo: "infra"}, ""},
		{runner.Event{Kind: runner.EventLedgerWritten, Repo: "infra"}, ""},
	} {
		ev, ok := l.liveEventOf(c.e)
		got := ""
		if ok {
			got = ev.Type + ":" + ev.Data.Text
		}
		if got != c.want {
			t.Errorf("%s (err %v): %q, want %q", c.e.Kind, c.e.Err, got, c.want)
		}
	}
}
