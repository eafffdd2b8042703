package runner

import (
	"context"
	"sync"
	"testing"

	"github.com/landform/landform"
)

// driftSource is a fakeSource whose tracked branch has the workspaces ws.
type driftSource struct {
	*fakeSource
	ws []string
}

func (s *driftSource) AllTargets(context.Context, string) ([]landform.Target, error) {
	var out []landform.Target
	for _, name := range s.ws {
		out = append(out, landform.Target{Workspace: landform.Workspace{Name: name, Dir: name}})
	}
	return out, nil
}

// fakeDrift checks drift as the test says: the workspaces in drifted have
// a bucket changed outside Terraform.
type fakeDrift struct {
	mu      sync.Mutex
	drifted map[string]bool
	checks  map[string]int
	running int
	most    int // the most checks running at once
	release chan struct{}
	// started, when set, gets a value as each check starts.
	started chan string
}

func (f *fakeDrift) Drift(ctx context.Context, job PlanJob) (*PlanOutput, error) {
	name := job.Workspace.Name
	f.mu.Lock()
	f.checks[name]++
	f.running++
	f.most = max(f.most, f.running)
	drifted, release, started := f.drifted[name], f.release, f.started
	f.mu.Unlock()
	if started != nil {
		started <- name
	}
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	if release != nil {
		select {
		case <-release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	out := &PlanOutput{Artifact: landform.PlanArtifact{Plan: []byte("plan of " + name), JSON: []byte("{}")}, Drift: &DriftFindings{Resources: []landform.DriftedResource{}}}
	if drifted {
		out.Changes = true
		out.Summary = landform.PlanSummary{Change: 1}
		out.Drift = &DriftFindings{Drifted: true, Resources: []landform.DriftedResource{{Address: "testcloud_bucket.b", Kind: landform.DriftChanged, Action: "update",
			Attributes: []landform.AttributeChange{{Path: "tags.env", Before: "prod", After: "dev"}}}}}
	}
	return out, nil
}

// fakeOutlet records the reports it is given.
type fakeOutlet struct {
	mu      sync.Mutex
	reports []*landform.DriftReport
}

func (o *fakeOutlet) DriftReport(_ context.Context, r *landform.DriftReport) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reports = append(o.reports, r)
	return nil
}

func driftHarness(t *testing.T, fd *fakeDrift, out *fakeOutlet, rules DriftRules, parallel int, ws ...string) (*harness, *driftSource) {
	t.Helper()
	src := &driftSource{fakeSource: newFakeSource(map[string]string{mainRef: "m1"}), ws: ws}
	h := newHarnessWith(t, harnessConfig{
		opts: []Option{WithDriftChecker(fd), WithApplier(newFakeApplier())},
		dopts: []DaemonOption{WithApprovalPolicy(newFakePolicy()), WithDrift(DriftConfig{
			Rules:       func(string, string) DriftRules { return rules },
			MaxParallel: func(string) int { return parallel },
			Outlets:     func(string) []DriftOutlet { return []DriftOutlet{out} },
		})},
	}, repo("infra", src))
	return h, src
}

// sweepDue moves the clock along the drift loop's timer until it has
// queued drift runs: the loop learns the branch's head from the poll
// loop's first round, then waits for the schedule.
func sweepDue(h *harness) {
	h.t.Helper()
	h.polled("infra") // the baseline is processed: the head is known
	for range 5 {
		ev := h.next("the drift loop armed", func(e Event) bool { return e.Kind == EventDriftScheduled })
		for _, q := range h.all(EventRunQueued) {
			if q.Run.Kind == landform.RunDrift {
				return
			}
		}
		h.clk.advance(ev.Wait)
	}
	h.t.Fatalf("no drift run queued; events:%s", h.describe())
}

func everyMinute(t *testing.T) DriftSchedule {
	t.Helper()
	s, err := ParseDriftSchedule("@every 1m", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDriftSweepOnAFakeClock: every minute the loop queues one drift run
// per workspace of main's head — never more than max_parallel at once,
// never a second one of a workspace whose check still runs — and once the
// sweep's last run ended, one report with every workspace reaches the
// outlet; "drifted since" comes from the first drifted check.
func TestDriftSweepOnAFakeClock(t *testing.T) {
	fd := &fakeDrift{drifted: map[string]bool{"db": true}, checks: map[string]int{}, release: make(chan struct{})}
	out := &fakeOutlet{}
	h, _ := driftHarness(t, fd, out, DriftRules{Schedule: everyMinute(t), Remediation: landform.RemediationNone}, 2, "app", "db", "net")
	h.start()
	sweepDue(h)
	// Two of three checks are queued (max_parallel 2); the third once one
	// of them ended.
	h.next("two checks queued", func(e Event) bool { return e.Kind == EventRunQueued && e.Run.Kind == landform.RunDrift })
	h.next("two checks queued", func(e Event) bool { return e.Kind == EventRunQueued && e.Run.Kind == landform.RunDrift })
	close(fd.release)
	report := h.next("the sweep's report", func(e Event) bool { return e.Kind == EventDriftReported })
	if report.Count != 3 || report.Holder != "1 of 3 workspaces drifted: 1 resource changed, 0 deleted" {
		t.Fatalf("report: %d workspaces, %q", report.Count, report.Holder)
	}
	fd.mu.Lock()
	most, checks := fd.most, fd.checks["app"]+fd.checks["db"]+fd.checks["net"]
	fd.mu.Unlock()
	if most > 2 || checks != 3 {
		t.Errorf("%d checks, at most %d at once; want 3, at most 2", checks, most)
	}
	out.mu.Lock()
	r := out.reports[0]
	out.mu.Unlock()
	var db landform.WorkspaceDrift
	for _, w := range r.Workspaces {
		if w.Workspace == "db" {
			db = w
		}
	}
	firstAt := db.DriftedSince
	if !db.Drifted || firstAt.IsZero() || firstAt != db.CheckedAt {
		t.Fatalf("db: %+v", db)
	}

	// The next sweep: db still drifted since the first check. The loop
	// says a report from a tick, then arms its timer for the next sweep
	// and reports that: the clock moves to it once.
	h.mu.Lock()
	for i, e := range h.events {
		if e.Kind == EventDriftReported {
			break
		}
		h.consumed[i] = true // armed before the report: stale waits
	}
	h.mu.Unlock()
	next := h.next("the loop armed after the report", func(e Event) bool { return e.Kind == EventDriftScheduled && e.Wait > 0 })
	h.clk.advance(next.Wait)
	second := h.next("the second report", func(e Event) bool { return e.Kind == EventDriftReported })
	if second.Count != 3 {
		t.Errorf("second report: %d workspaces (%q), want 3", second.Count, second.Holder)
	}
	out.mu.Lock()
	r = out.reports[1]
	out.mu.Unlock()
	for _, w := range r.Workspaces {
		if w.Workspace == "db" && (!w.DriftedSince.Equal(firstAt) || !w.CheckedAt.After(firstAt)) {
			t.Errorf("db in the second sweep: drifted since %v, checked %v; want since %v", w.DriftedSince, w.CheckedAt, firstAt)
		}
	}
}

// TestDriftSweepBeyondMaxParallel: with one check at a time, a sweep of
// three workspaces is one report of three — not a report per check,
// though each check ends before the loop queues the next.
func TestDriftSweepBeyondMaxParallel(t *testing.T) {
	fd := &fakeDrift{drifted: map[string]bool{"net": true}, checks: map[string]int{}}
	out := &fakeOutlet{}
	h, _ := driftHarness(t, fd, out, DriftRules{Schedule: everyMinute(t), Remediation: landform.RemediationNone}, 1, "app", "db", "net")
	h.start()
	sweepDue(h)
	report := h.next("the sweep's report", func(e Event) bool { return e.Kind == EventDriftReported })
	if report.Count != 3 || report.Holder != "1 of 3 workspaces drifted: 1 resource changed, 0 deleted" {
		t.Fatalf("report: %d workspaces, %q", report.Count, report.Holder)
	}
	fd.mu.Lock()
	most, finished := fd.most, fd.checks["app"]+fd.checks["db"]+fd.checks["net"]
	fd.mu.Unlock()
	out.mu.Lock()
	reports := len(out.reports)
	out.mu.Unlock()
	if finished != 3 || most != 1 || reports != 1 {
		t.Errorf("%d checks finished, at most %d at once, %d reports; want 3, 1, 1", finished, most, reports)
	}
}

// TestDriftAutoRemediationNeedsNoMemory: the remediation plan is applied
// without a person by a daemon that did not queue it (after a restart, or
// on another replica): what makes it a remediation is in the store. A
// plan no drift run names, beside it, waits for people.
func TestDriftAutoRemediationNeedsNoMemory(t *testing.T) {
	fd := &fakeDrift{drifted: map[string]bool{}, checks: map[string]int{}}
	out := &fakeOutlet{}
	h, _ := driftHarness(t, fd, out, DriftRules{Schedule: DriftSchedule{}, Remediation: landform.RemediationAuto, AutoApply: true}, 2, "db", "app")
	ctx := t.Context()
	// What a daemon that stopped left: a drift run naming its queued
	// remediation plan, and a plan of a person's beside it.
	plan := &landform.Run{Repo: "infra", Workspace: "db", Dir: "db", Commit: "m1", Ref: mainRef, Kind: landform.RunPlan,
		State: landform.StateQueued, CreatedAt: h.clk.now()}
	other := &landform.Run{Repo: "infra", Workspace: "app", Dir: "app", Commit: "m1", Ref: mainRef, Kind: landform.RunPlan,
		State: landform.StateQueued, CreatedAt: h.clk.now()}
	for _, r := range []*landform.Run{plan, other} {
		if err := h.db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	drift := &landform.Run{Repo: "infra", Workspace: "db", Dir: "db", Commit: "m1", Ref: mainRef, Kind: landform.RunDrift,
		State: landform.StatePlanned, CreatedAt: h.clk.now(),
		Drift: &landform.WorkspaceDrift{Workspace: "db", Drifted: true, Remediation: plan.ID}}
	if err := h.db.CreateRun(ctx, drift); err != nil {
		t.Fatal(err)
	}
	h.start()
	done := h.next("the remediation applied", func(e Event) bool { return e.Kind == EventApplyFinished })
	if done.Run.ID != plan.ID || done.Run.State != landform.StateApplied || done.Run.Apply.Channel != landform.ChannelDrift {
		t.Fatalf("applied %+v (%+v), want the remediation plan %s by drift", done.Run, done.Run.Apply, plan.ID)
	}
	got := h.next("the other plan finished", func(e Event) bool { return e.Kind == EventRunFinished && e.Run.ID == other.ID }).Run
	if got.State != landform.StatePlanned || len(h.all(EventApplyStarted)) != 1 {
		t.Errorf("the plan no drift run names: %s, %d applies started; want it planned, waiting for people", got.State, len(h.all(EventApplyStarted)))
	}
}

// TestDriftAutoRemediation: with remediation auto and auto_apply, a
// drifted check queues a plan, which is approved by landform (channel
// drift) and applied without a person.
func TestDriftAutoRemediation(t *testing.T) {
	fd := &fakeDrift{drifted: map[string]bool{"db": true}, checks: map[string]int{}}
	out := &fakeOutlet{}
	h, _ := driftHarness(t, fd, out, DriftRules{Schedule: everyMinute(t), Remediation: landform.RemediationAuto, AutoApply: true}, 2, "db")
	h.start()
	sweepDue(h)
	done := h.next("the remediation applied", func(e Event) bool { return e.Kind == EventApplyFinished })
	if done.Run.State != landform.StateApplied || done.Run.Apply.Channel != landform.ChannelDrift || done.Run.Kind != landform.RunPlan {
		t.Fatalf("remediation: %+v %+v", done.Run, done.Run.Apply)
	}
	approvals, _ := h.db.ListApprovals(t.Context(), done.Run.ID)
	if len(approvals) != 1 || approvals[0].By != "landform" || approvals[0].Channel != landform.ChannelDrift {
		t.Errorf("approvals: %+v", approvals)
	}
	drifts, _ := h.db.ListRuns(t.Context(), landform.RunFilter{Kind: landform.RunDrift})
	if len(drifts) == 0 || drifts[len(drifts)-1].Drift.Remediation != done.Run.ID {
		t.Errorf("the drift run does not name its remediation %s", done.Run.ID)
	}
}
