package runner

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/store/sqlite"
)

// Ready: the store answers and every poll loop ends its rounds, on the
// fake clock.

// stallingSource is a fakeSource whose ref listing the test can make hang
// (a remote that accepts the connection and never answers).
type stallingSource struct {
	*fakeSource
	mu      sync.Mutex
	stall   chan struct{} // non-nil: Refs waits until it is closed
	entered chan struct{} // signalled when Refs starts to wait
}

func newStallingSource(refs map[string]string) *stallingSource {
	return &stallingSource{fakeSource: newFakeSource(refs), entered: make(chan struct{}, 1)}
}

// hang makes the next listings wait until release.
func (s *stallingSource) hang() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = make(chan struct{})
}

func (s *stallingSource) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stall != nil {
		close(s.stall)
		s.stall = nil
	}
}

// waitHanging waits until a listing hangs.
func (s *stallingSource) waitHanging(t *testing.T) {
	t.Helper()
	select {
	case <-s.entered:
	case <-time.After(failsafe):
		t.Fatal("no ref listing started")
	}
}

func (s *stallingSource) Refs(ctx context.Context) (map[string]string, string, error) {
	s.mu.Lock()
	stall := s.stall
	s.mu.Unlock()
	if stall != nil {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		select {
		case <-stall:
		case <-ctx.Done():
			return nil, "", ctx.Err()
		}
	}
	return s.fakeSource.Refs(ctx)
}

// ready returns what Ready says now.
func (h *harness) ready() error {
	h.t.Helper()
	return h.d.Ready(context.Background())
}

func TestReadyOnceEveryRepositoryPolled(t *testing.T) {
	fast := newFakeSource(map[string]string{mainRef: "c1"})
	slow := newStallingSource(map[string]string{mainRef: "s1"})
	slow.hang() // its first round does not end
	h := newHarness(t, repo("infra", fast), repo("slow", slow))

	if err := h.ready(); err == nil || err.Error() != "infra has not polled yet; slow has not polled yet" {
		t.Fatalf("before Run: %v", err)
	}
	h.start()
	h.polled("infra")
	slow.waitHanging(t)
	if err := h.ready(); err == nil || err.Error() != "slow has not polled yet" {
		t.Fatalf("infra polled, slow not: %v", err)
	}
	slow.release()
	h.polled("slow")
	if err := h.ready(); err != nil {
		t.Fatalf("both polled: %v", err)
	}
}

func TestReadyUntilAPollRoundHangs(t *testing.T) {
	src := newStallingSource(map[string]string{mainRef: "c1"})
	h := newHarness(t, repo("infra", src))
	h.start()
	ev := h.polled("infra")
	if err := h.ready(); err != nil {
		t.Fatalf("after the first round: %v", err)
	}

	// The next round starts when it is due and hangs listing the refs.
	src.hang()
	h.clk.advance(ev.Wait)
	src.waitHanging(t)
	bound := 2*interval + PollStallSlack
	h.clk.advance(bound)
	if err := h.ready(); err != nil {
		t.Fatalf("%s after the round was due: %v, want ready until more than %s", bound, err, bound)
	}
	h.clk.advance(time.Second)
	err := h.ready()
	if err == nil || !strings.HasPrefix(err.Error(), "infra: the poll loop is stuck: the round due at ") || !strings.Contains(err.Error(), "(3m1s late, more than 3m0s)") {
		t.Fatalf("a round hanging %s past its due time: %v, want the poll loop stuck", bound+time.Second, err)
	}

	// The remote answers: the round ends, ready again.
	src.release()
	h.polled("infra")
	if err := h.ready(); err != nil {
		t.Fatalf("after the round ended: %v", err)
	}
}

func TestReadyWhilePollsFail(t *testing.T) {
	// A failing remote is Health's business: the loop is alive, it backs
	// off, and the daemon stays ready through the backoff.
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.failRefs(errors.New("connection refused"))
	h := newHarness(t, repo("infra", src))
	h.start()
	ev := h.polled("infra")
	if ev.Err == nil {
		t.Fatal("the poll succeeded")
	}
	ev = h.round(h.round(ev))
	if ev.Count != 3 {
		t.Fatalf("%d failures in a row, want 3", ev.Count)
	}
	// The wait (8m ±10%) is longer than three intervals and the slack
	// after the last round: the bound counts from when the round is due.
	if ev.Wait <= 3*interval+PollStallSlack {
		t.Fatalf("backoff %s: the test needs one past the stall bound", ev.Wait)
	}
	h.clk.advance(ev.Wait - time.Second)
	if err := h.ready(); err != nil {
		t.Fatalf("polls failing, loop backing off: %v", err)
	}
}

// downStore is a store whose queries fail.
type downStore struct {
	*sqlite.DB
	err error
}

func (s downStore) ListRuns(context.Context, landform.RunFilter) ([]*landform.Run, error) {
	return nil, s.err
}

func TestReadyNotWhenTheStoreFails(t *testing.T) {
	diskErr := errors.New("disk I/O error")
	h := newHarnessWith(t, harnessConfig{store: func(db *sqlite.DB) DaemonStore { return downStore{DB: db, err: diskErr} }},
		repo("infra", newFakeSource(map[string]string{mainRef: "c1"})))
	err := h.ready()
	if !errors.Is(err, diskErr) || !strings.HasPrefix(err.Error(), "the store does not answer: ") {
		t.Fatalf("Ready = %v, want the store's error", err)
	}
}
