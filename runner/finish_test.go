package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/store/sqlite"
)

// Every way a run ends reaches the ledger, also those before terraform.

// faultyStore is the daemon's store with faults the test injects.
type faultyStore struct {
	*sqlite.DB
	mu sync.Mutex
	// updateFails fails the next n saves of a finished run.
	updateFails int
	updateErr   error
	lockErr     error
	claimErr    error
}

func (s *faultyStore) UpdateRun(ctx context.Context, r *landform.Run) error {
	s.mu.Lock()
	if s.updateFails > 0 && r.State != landform.StateRunning && r.State != landform.StateQueued {
		s.updateFails--
		s.mu.Unlock()
		return s.updateErr
	}
	s.mu.Unlock()
	return s.DB.UpdateRun(ctx, r)
}

func (s *faultyStore) AcquireLock(ctx context.Context, l landform.Lock) error {
	s.mu.Lock()
	err := s.lockErr
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.DB.AcquireLock(ctx, l)
}

func (s *faultyStore) ClaimRun(ctx context.Context, owner string) (*landform.Run, error) {
	s.mu.Lock()
	err := s.claimErr
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.DB.ClaimRun(ctx, owner)
}

func (s *faultyStore) set(f func(*faultyStore)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}

// newFaultyHarness is a harness whose store is a faultyStore.
func newFaultyHarness(t *testing.T, repos ...WatchedRepo) (*harness, *faultyStore) {
	var fs *faultyStore
	h := newHarnessWith(t, harnessConfig{store: func(db *sqlite.DB) DaemonStore {
		fs = &faultyStore{DB: db}
		return fs
	}}, repos...)
	return h, fs
}

// ledgerRepo is a watched repository on src with a ledger.
func ledgerRepo(src WatchedSource, edit ...func(*landform.Repo)) WatchedRepo {
	return repo("infra", src, append([]func(*landform.Repo){func(r *landform.Repo) {
		r.Ledger, r.LedgerBranch = true, landform.DefaultLedgerBranch
	}}, edit...)...)
}

// pending returns the run IDs in repo's ledger outbox.
func (h *harness) pending(repo string) []string {
	h.t.Helper()
	ids, err := h.db.PendingLedger(context.Background(), repo, 0)
	if err != nil {
		h.t.Fatal(err)
	}
	return ids
}

// flushLedger ends the ledger loop's gathering wait and returns the event
// of the write.
func (h *harness) flushLedger() Event {
	h.t.Helper()
	h.clk.waitPending(h.t, ledgerGather, 1)
	h.clk.advance(ledgerGather)
	return h.next("a ledger write", func(e Event) bool { return e.Kind == EventLedgerWritten })
}

func TestRunErroredBeforeTerraformReachesTheLedger(t *testing.T) {
	const pr1 = "refs/pull/1/head"
	src := newFakeSource(map[string]string{mainRef: "m1"})
	src.affect("p1", "app")
	h, fs := newFaultyHarness(t, ledgerRepo(src, func(r *landform.Repo) { r.PullRequests = true }))
	fs.set(func(s *faultyStore) { s.lockErr = errors.New("database is locked") })
	h.start()
	ev := h.polled("infra")
	h.clk.waitPending(t, ledgerInterval, 1)

	// Taking the workspace lock fails: the run is errored before any
	// export or terraform, and its record reaches the ledger.
	src.setRef(pr1, "p1")
	h.round(ev)
	run := h.finished("app")
	if run.State != landform.StateErrored || !strings.Contains(run.Error, "database is locked") {
		t.Fatalf("run whose lock failed: %s %q, want errored", run.State, run.Error)
	}
	if w := h.flushLedger(); w.Err != nil || w.Count != 1 {
		t.Fatalf("ledger write: %d runs, %v", w.Count, w.Err)
	}
	if len(src.recorded) != 1 || src.recorded[0].ID != run.ID || src.recorded[0].State != landform.StateErrored {
		t.Errorf("ledger records %s, want the errored run %s", describeRuns(src.recorded), run.ID)
	}
}

// faultySource is a fakeSource whose exports fail as the test says, and
// whose ledger refuses the records of some workspaces (their own fault)
// or fails altogether.
type faultySource struct {
	*fakeSource
	fmu sync.Mutex
	// exportFails fails the next n exports with exportErr; negative: all.
	exportFails int
	exportErr   error
	exports     int
	refuse      map[string]bool // workspaces whose records the ledger refuses
	recordErr   error
	// gate, when set, holds exports until it is closed.
	gate chan struct{}
}

func newFaultySource(refs map[string]string) *faultySource {
	return &faultySource{fakeSource: newFakeSource(refs), refuse: map[string]bool{}}
}

func (s *faultySource) set(f func(*faultySource)) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	f(s)
}

func (s *faultySource) ExportPaths(ctx context.Context, commit, dir string, paths []string) error {
	s.fmu.Lock()
	gate := s.gate
	s.fmu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.exports++
	if s.exportFails != 0 {
		s.exportFails--
		return s.exportErr
	}
	return nil
}

// refusedRecord is the error of a record the ledger refuses.
type refusedRecord struct{ run *landform.Run }

func (e *refusedRecord) Error() string {
	return fmt.Sprintf(`ledger: path runs/%s/.git/hooks/%s.md: ".git" is reserved`, e.run.Workspace, e.run.ID)
}
func (e *refusedRecord) FaultyRun() string { return e.run.ID }

func (s *faultySource) Record(ctx context.Context, branch string, runs []*landform.Run) error {
	s.fmu.Lock()
	err := s.recordErr
	for _, r := range runs {
		if s.refuse[r.Workspace] {
			err = fmt.Errorf("writing %d runs: %w", len(runs), &refusedRecord{r})
			break
		}
	}
	s.fmu.Unlock()
	if err != nil {
		return err
	}
	return s.fakeSource.Record(ctx, branch, runs)
}

// retried advances the clock past each retry of a run's prepare (n of
// them) and returns their events.
func (h *harness) retried(n int) []Event {
	h.t.Helper()
	var evs []Event
	for range n {
		ev := h.next("a retry", func(e Event) bool { return e.Kind == EventRunRetrying })
		evs = append(evs, ev)
		h.clk.advance(ev.Wait)
	}
	return evs
}

// healthReasons returns the daemon's health reasons, checking the status
// agrees with them.
func (h *harness) healthReasons() []string {
	h.t.Helper()
	hl := h.d.Health(context.Background())
	if want := map[bool]string{true: HealthOK, false: HealthDegraded}[len(hl.Reasons) == 0]; hl.Status != want {
		h.t.Errorf("health status %q with reasons %q", hl.Status, hl.Reasons)
	}
	return hl.Reasons
}

// wantReason fails the test unless one of the daemon's health reasons
// contains every part.
func (h *harness) wantReason(parts ...string) {
	h.t.Helper()
	reasons := h.healthReasons()
	for _, r := range reasons {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(r, p)
		}
		if ok {
			return
		}
	}
	h.t.Errorf("health reasons %q, want one saying %q", reasons, parts)
}

// wantHealthy fails the test unless the daemon's health is ok.
func (h *harness) wantHealthy() {
	h.t.Helper()
	if reasons := h.healthReasons(); len(reasons) != 0 {
		h.t.Errorf("health reasons %q, want none", reasons)
	}
}

func TestExportFailureIsErroredAfterRetriesAndReachesTheLedger(t *testing.T) {
	src := newFaultySource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	src.set(func(s *faultySource) {
		s.exportFails, s.exportErr = -1, errors.New("write tree/app/main.tf: no space left on device")
	})
	h := newHarness(t, ledgerRepo(src))
	h.start()
	ev := h.polled("infra")
	h.clk.waitPending(t, ledgerInterval, 1)

	src.setRef(mainRef, "c2")
	h.round(ev)
	h.retried(envAttempts - 1)
	run := h.finished("app")
	for _, part := range []string{"environment fault, not the commit's", fmt.Sprintf("after %d attempts", envAttempts), "no space left on device"} {
		if run.State != landform.StateErrored || !strings.Contains(run.Error, part) {
			t.Errorf("run whose export always fails: %s %q, want errored saying %q", run.State, run.Error, part)
		}
	}
	if n := h.planner.callsOf("app"); n != 0 {
		t.Errorf("planned %d times", n)
	}
	if w := h.flushLedger(); w.Err != nil || w.Count != 1 {
		t.Fatalf("ledger write: %d runs, %v", w.Count, w.Err)
	}
	if len(src.recorded) != 1 || src.recorded[0].ID != run.ID || src.recorded[0].State != landform.StateErrored {
		t.Errorf("ledger records %s, want the errored run %s", describeRuns(src.recorded), run.ID)
	}
}

func TestExportFailingTwiceIsRetriedAndPlanned(t *testing.T) {
	src := newFaultySource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	src.set(func(s *faultySource) { s.exportFails, s.exportErr = 2, errors.New("mkdir tree: input/output error") })
	h := newHarness(t, repo("infra", src))
	h.start()
	ev := h.polled("infra")

	src.setRef(mainRef, "c2")
	h.round(ev)
	for i, r := range h.retried(2) {
		want := time.Duration(1<<i) * time.Second
		if r.Count != i+1 || !within(r.Wait, want) || r.Run.State != landform.StateRunning || !strings.Contains(r.Err.Error(), "input/output error") {
			t.Errorf("retry %d: attempt %d, wait %s, run %s, err %v; want attempt %d after %s", i+1, r.Count, r.Wait, r.Run.State, r.Err, i+1, want)
		}
	}
	if run := h.finished("app"); run.State != landform.StatePlanned || run.Error != "" {
		t.Errorf("run whose export failed twice: %s %q, want planned", run.State, run.Error)
	}
	if n := h.planner.callsOf("app"); n != 1 {
		t.Errorf("planned %d times, want once", n)
	}
}

func TestTargetNotFoundIsTheCommitsFaultAndNotRetried(t *testing.T) {
	h := newHarness(t, repo("infra", &missingTargets{newFakeSource(map[string]string{mainRef: "c1"})}))
	run := &landform.Run{Repo: "infra", Workspace: "gone", Dir: "gone", Commit: "c1", Ref: mainRef, Kind: landform.RunPlan, State: landform.StateQueued}
	if err := h.db.CreateRun(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	h.start()
	if got := h.finished("gone"); got.State != landform.StateErrored || !strings.Contains(got.Error, `no workspace "gone"`) || strings.Contains(got.Error, "environment") {
		t.Errorf("run of a workspace not at its commit: %s %q, want errored, the commit's fault", got.State, got.Error)
	}
	if n := len(h.all(EventRunRetrying)); n != 0 {
		t.Errorf("%d retries of the commit's own fault", n)
	}
}

// missingTargets is a source with no workspaces.
type missingTargets struct{ *fakeSource }

func (s *missingTargets) Target(_ context.Context, commit, name string) (landform.Target, error) {
	return landform.Target{}, landform.Errorf(landform.ENOTFOUND, "no workspace %q at %s", name, commit)
}

func TestUnrecordableResultIsRetriedWithHealthDegraded(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	h, fs := newFaultyHarness(t, repo("infra", src))
	fs.set(func(s *faultyStore) { s.updateFails, s.updateErr = 2, errors.New("database or disk is full (13)") })
	h.start()
	ev := h.polled("infra")
	h.wantHealthy()

	src.setRef(mainRef, "c2")
	h.round(ev)
	for i := range 2 {
		f := h.next("a failed record", func(e Event) bool { return e.Kind == EventRecordFailed })
		if f.Count != i+1 || f.Run.Workspace != "app" || !strings.Contains(f.Err.Error(), "disk is full") {
			t.Errorf("failed record %d: %+v", i+1, f)
		}
		h.wantReason("run "+f.Run.ID, "cannot be recorded", "disk is full")
		if stored, err := h.db.GetRun(context.Background(), f.Run.ID); err != nil || stored.State != landform.StateRunning {
			t.Errorf("while its end is not recorded the run is %v (%v), want running", stored.State, err)
		}
		h.clk.advance(f.Wait)
	}
	run := h.finished("app")
	if stored, err := h.db.GetRun(context.Background(), run.ID); err != nil || stored.State != landform.StatePlanned {
		t.Errorf("once recorded the run is %v (%v), want planned", stored.State, err)
	}
	h.wantHealthy()
}

func TestUnrecordedRunStaysRunningWhenTheDaemonStops(t *testing.T) {
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	h, fs := newFaultyHarness(t, repo("infra", src))
	fs.set(func(s *faultyStore) { s.updateFails, s.updateErr = 1000, errors.New("database or disk is full (13)") })
	h.start()
	ev := h.polled("infra")
	src.setRef(mainRef, "c2")
	h.round(ev)
	f := h.next("a failed record", func(e Event) bool { return e.Kind == EventRecordFailed })

	h.cancel()
	h.clk.waitPending(t, h.d.grace, 1)
	h.clk.advance(h.d.grace)
	select {
	case err := <-h.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(failsafe):
		t.Fatal("the daemon did not stop")
	}
	h.cancel = nil
	if stored, err := h.db.GetRun(context.Background(), f.Run.ID); err != nil || stored.State != landform.StateRunning {
		t.Errorf("a run whose end was never recorded: %v (%v), want running for the next start's recovery", stored.State, err)
	}
	if n := len(h.all(EventRunFinished)); n != 0 {
		t.Errorf("%d runs reported finished", n)
	}
}
