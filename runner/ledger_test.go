package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/landform/landform"
)

// startLedger starts the daemon of h and moves ref of src to commit.
// It returns the runs finished for workspaces, in order, with the ledger
// loop waiting to gather them, and the event of the poll round.
func startLedger(h *harness, src *faultySource, ref, commit string, workspaces ...string) ([]*landform.Run, Event) {
	h.t.Helper()
	h.start()
	return moveLedger(h, src, h.polled("infra"), ref, commit, workspaces...)
}

// moveLedger is startLedger on a started daemon whose last poll round ev
// reported.
func moveLedger(h *harness, src *faultySource, ev Event, ref, commit string, workspaces ...string) ([]*landform.Run, Event) {
	h.t.Helper()
	// The poll round's advance fires the ledger loop's periodic timer
	// too: the runs wait (at their export) until the loop has looked and
	// waits again.
	h.settleLedger()
	gate := make(chan struct{})
	src.set(func(s *faultySource) { s.gate = gate })
	n := h.clk.armedCount(ledgerInterval)
	src.setRef(ref, commit)
	ev = h.round(ev)
	h.clk.waitArmed(h.t, ledgerInterval, n+1)
	close(gate)
	var runs []*landform.Run
	for _, ws := range workspaces {
		runs = append(runs, h.finished(ws))
	}
	return runs, ev
}

// settleLedger waits until the ledger loop waits for its periodic timer,
// ending the gathering waits of wake-ups still pending.
func (h *harness) settleLedger() {
	h.t.Helper()
	for {
		gather := false
		h.clk.waitUntil(h.t, "the ledger loop waiting", func() bool {
			for tm := range h.clk.timers {
				switch tm.d {
				case ledgerGather:
					gather = true
					return true
				case ledgerInterval:
					return true
				}
			}
			return false
		})
		if !gather {
			return
		}
		h.clk.advance(ledgerGather)
	}
}

func TestLedgerSetsAsideARecordItCannotWrite(t *testing.T) {
	ctx := context.Background()
	src := newFaultySource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app", ".git/hooks", "db")
	src.affect("c3", "app")
	src.set(func(s *faultySource) { s.refuse[".git/hooks"] = true })
	h := newHarness(t, ledgerRepo(src))
	runs, ev := startLedger(h, src, mainRef, "c2", "app", ".git/hooks", "db")
	bad := runs[1]

	// The record the ledger refuses is set aside; the others are written.
	w := h.flushLedger()
	aside := h.next("a record set aside", func(e Event) bool { return e.Kind == EventLedgerSetAside })
	if aside.Run.ID != bad.ID || !strings.Contains(aside.Err.Error(), `".git" is reserved`) {
		t.Errorf("set aside run %s (%v), want %s", aside.Run.ID, aside.Err, bad.ID)
	}
	if w.Err != nil || w.Count != 2 {
		t.Fatalf("ledger write: %d runs, %v; want the two others", w.Count, w.Err)
	}
	if got := describeRuns(src.recorded); got != describeRuns([]*landform.Run{runs[0], runs[2]}) {
		t.Errorf("ledger records %s, want app and db", got)
	}
	set, err := h.db.ListSetAsideLedger(ctx, "infra")
	if err != nil || len(set) != 1 || !strings.Contains(set[bad.ID], `".git" is reserved`) {
		t.Errorf("set aside in the store: %v (%v), want run %s with its reason", set, err, bad.ID)
	}
	if p := h.pending("infra"); len(p) != 0 {
		t.Errorf("pending %v, want none", p)
	}
	h.wantReason("infra", "run "+bad.ID, "set aside", `".git" is reserved`)

	// Later records are not blocked by it.
	later, _ := moveLedger(h, src, ev, mainRef, "c3", "app")
	next := later[0]
	// (The newer plan of app supersedes the one at c2: both records, in
	// one commit or two.)
	for n := 0; n < 2; {
		var w Event
		if n == 0 {
			w = h.flushLedger()
		} else {
			w = h.next("another ledger write", func(e Event) bool { return e.Kind == EventLedgerWritten })
		}
		if w.Err != nil {
			t.Fatalf("the next ledger write: %v", w.Err)
		}
		n += w.Count
	}
	got := describeRuns(src.recorded[2:])
	runs[0].State = landform.StateSuperseded
	if want := describeRuns([]*landform.Run{runs[0], next}); got != want {
		t.Errorf("the next ledger records %s, want %s", got, want)
	}
	h.wantReason("run "+bad.ID, "set aside") // until someone deals with it
}

func TestLedgerNeverWritesOntoCode(t *testing.T) {
	for _, tc := range []struct {
		name     string
		branches []string
		ledger   string
		want     string
	}{
		{"the default branch", nil, "main", "default branch"},
		{"the default branch, not watched", []string{"dev"}, "main", "default branch"},
		{"a watched branch", []string{"main", "release"}, "release", "watched branch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := newFaultySource(map[string]string{mainRef: "c1", "refs/heads/dev": "d1", "refs/heads/release": "r1"})
			src.affect("c2", "app")
			h := newHarness(t, ledgerRepo(src, func(r *landform.Repo) { r.LedgerBranch, r.Branches = tc.ledger, tc.branches }))
			src.affect("d2", "app")
			ref, commit := mainRef, "c2"
			if len(tc.branches) > 0 && tc.branches[0] == "dev" {
				ref, commit = "refs/heads/dev", "d2" // only dev is watched
			}
			startLedger(h, src, ref, commit, "app")
			w := h.flushLedger()
			if w.Err == nil || !strings.Contains(w.Err.Error(), tc.want) || landform.ErrorCode(w.Err) != landform.EINVALID {
				t.Errorf("ledger write onto %s: %v, want refused naming the %s", tc.ledger, w.Err, tc.want)
			}
			if _, _, _, records := src.counts(); records != 0 {
				t.Errorf("%d ledger writes onto %s", records, tc.ledger)
			}
			if p := h.pending("infra"); len(p) != 1 {
				t.Errorf("pending %v, want the run kept in the outbox", p)
			}
			h.wantReason("infra", "ledger writes fail", tc.want)
		})
	}
}
