package runner

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
)

// Health: each reason it gives, on the fake clock.

func TestHealthPollFailures(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.failRefs(errors.New("connection refused"))
	h := newHarness(t, repo("infra", src))
	h.start()
	ev := h.polled("infra")
	h.wantReason("infra", "polling fails", "connection refused")
	src.failRefs(nil)
	h.round(ev)
	h.wantHealthy()
}

func TestHealthLedgerWritesFailAndFallBehind(t *testing.T) {
	src := newFaultySource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	src.set(func(s *faultySource) { s.recordErr = errors.New("pushing to origin: connection refused") })
	h := newHarness(t, ledgerRepo(src))
	startLedger(h, src, mainRef, "c2", "app")
	w := h.flushLedger()
	if w.Err == nil {
		t.Fatal("the ledger write succeeded")
	}
	h.wantReason("infra", "ledger writes fail", "connection refused")
	if reasons := h.healthReasons(); len(reasons) != 1 {
		t.Errorf("reasons %q, want only the failing writes: the ledger is not behind yet", reasons)
	}

	// Ten minutes later the record still waits: the ledger is behind.
	h.backoffWait() // the loop waits to try again
	h.clk.advance(LedgerLagBound + time.Minute)
	h.next("the ledger tried again", func(e Event) bool { return e.Kind == EventLedgerWritten && e.Err != nil })
	h.wantReason("infra", "the ledger is behind", "11m0s")

	// The remote is back: written, healthy.
	src.set(func(s *faultySource) { s.recordErr = nil })
	h.clk.waitPending(t, h.backoffWait(), 1)
	h.clk.advance(h.backoffWait())
	if w := h.next("the ledger written", func(e Event) bool { return e.Kind == EventLedgerWritten && e.Err == nil }); w.Count != 1 {
		t.Errorf("the ledger wrote %d runs, want 1", w.Count)
	}
	h.wantHealthy()
}

// backoffWait returns the ledger loop's pending backoff wait (the timer
// that is neither another loop's nor a worker's).
func (h *harness) backoffWait() time.Duration {
	h.t.Helper()
	var d time.Duration
	h.clk.waitUntil(h.t, "the ledger loop's backoff", func() bool {
		for tm := range h.clk.timers {
			if tm.d != claimInterval && tm.d < interval/2 {
				d = tm.d
				return true
			}
		}
		return false
	})
	return d
}

func TestHealthQueueStuckWithIdleWorkers(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	h, fs := newFaultyHarness(t, repo("infra", src))
	fs.set(func(s *faultyStore) { s.claimErr = errors.New("disk I/O error") })
	h.start()
	ev := h.polled("infra")
	src.setRef(mainRef, "c2")
	ev = h.round(ev)
	h.next("app queued", isQueued(mainRef))
	h.wantHealthy() // queued a moment ago

	h.clk.advance(QueueBound + time.Minute)
	h.polled("infra")
	h.wantReason("infra", "queued for more than 10m0s with a worker idle", "of app")

	// Claims work again: the run is planned, the queue moves.
	fs.set(func(s *faultyStore) { s.claimErr = nil })
	h.clk.waitPending(t, claimInterval, workers)
	h.clk.advance(claimInterval)
	h.finished("app")
	h.wantHealthy()
}

func TestHealthRunRunningTooLong(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	h := newHarness(t, repo("infra", src))
	h.planner.set("app", blocks)
	h.start()
	ev := h.polled("infra")
	src.setRef(mainRef, "c2")
	ev = h.round(ev)
	h.planner.waitStarted(t, "app")
	h.wantHealthy()

	h.clk.advance(RunningBound + time.Minute)
	h.polled("infra")
	h.wantReason("infra", "of app has been running for 6h1m0s")
	// A long run is not a stuck queue: no worker is idle.
	if reasons := h.healthReasons(); len(reasons) != 1 {
		t.Errorf("reasons %q, want only the long run", reasons)
	}
	h.planner.releaseAll()
	h.finished("app")
	h.wantHealthy()
}

func TestHealthWatchedBranchGone(t *testing.T) {
	const release = "refs/heads/release"
	src := newFakeSource(map[string]string{mainRef: "c1", release: "r1"})
	logs := &logRecorder{}
	h := newHarnessWith(t, harnessConfig{opts: []Option{WithLogger(slog.New(logs))}},
		repo("infra", src, func(r *landform.Repo) { r.Branches = []string{"main", "release"} }))
	h.start()
	ev := h.polled("infra")
	h.wantHealthy()

	src.setRef(release, "")
	for range 3 {
		ev = h.round(ev)
		h.wantReason("infra", "watched branch release is gone")
	}
	if n := logs.count(slog.LevelWarn, "watched branch is gone"); n != 1 {
		t.Errorf("warned %d times of the branch gone, want once", n)
	}
	if st := h.d.Statuses()[0]; len(st.MissingBranches) != 1 || st.MissingBranches[0] != "release" || st.DefaultBranch != "main" {
		t.Errorf("status %+v", st)
	}

	src.setRef(release, "r1")
	h.round(ev)
	h.wantHealthy()
	if n := logs.count(slog.LevelInfo, "watched branch is back"); n != 1 {
		t.Errorf("said %d times the branch is back, want once", n)
	}
}

// logRecorder is a slog.Handler keeping the messages logged.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r)
	return nil
}

// count returns how many messages at level contain msg.
func (l *logRecorder) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			n++
		}
	}
	return n
}

// messages returns every message logged with its attributes.
func (l *logRecorder) messages() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, r := range l.recs {
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.String())
			return true
		})
		b.WriteString("\n")
	}
	return b.String()
}
