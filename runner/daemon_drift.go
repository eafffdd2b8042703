package runner

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/landform/landform"
)

// Drift sweeps: each repository's drift loop keeps every workspace of its
// tracked branch on its schedule (DriftPlanner), queues a drift run of the
// branch's head for each one due (never a second one while one is queued
// or running: ClaimRun never runs it beside a plan or an apply of the same
// workspace), and once the sweep's last run ended and no workspace of it
// waits for a slot, says the repository's report: on the ledger, on the
// forge's issue, in Slack. The loop decides that from the store, so the
// sweep ends whichever replica's workers ran its checks; a check's end
// wakes the loop (the poller's, through the replicas' signals).

// DriftRules are how one workspace's drift is checked and remedied.
type DriftRules struct {
	Schedule DriftSchedule
	// Remediation is landform.RemediationNone, landform.RemediationPlan (a drifted check
	// queues a plan that waits for approval like any other) or
	// landform.RemediationAuto (that plan is applied without a person when
	// AutoApply is set and its policies pass; otherwise as plan).
	Remediation string
	AutoApply   bool
}

// DriftOutlet says a repository's drift report somewhere: its forge's
// issue, a Slack channel.
type DriftOutlet interface {
	DriftReport(ctx context.Context, r *landform.DriftReport) error
}

// DriftLedger writes a drift report to a ledger branch (source.Repo).
type DriftLedger interface {
	RecordDrift(ctx context.Context, branch string, r *landform.DriftReport) error
}

// WorkspaceLister lists every workspace at a commit (source.Repo).
type WorkspaceLister interface {
	AllTargets(ctx context.Context, commit string) ([]landform.Target, error)
}

// DriftConfig is how the daemon sweeps for drift.
type DriftConfig struct {
	// Rules are a workspace's schedule and remediation.
	Rules func(repo, workspace string) DriftRules
	// MaxParallel bounds a repository's drift checks at once.
	MaxParallel func(repo string) int
	// Outlets are where a repository's reports go besides its ledger.
	Outlets func(repo string) []DriftOutlet
	// Ledger says whether a repository's reports go to its ledger branch
	// (as drift/<date>/<workspace>.md and .json, and a summary).
	Ledger func(repo string) bool
}

// WithDrift makes the daemon sweep its repositories for drift.
func WithDrift(c DriftConfig) DaemonOption {
	return func(dm *Daemon) { dm.drift = &c }
}

// sweep is a repository's drift runs queued and not seen finished, and
// how many of its workspaces are due and wait for a slot; the report is
// said once neither is left.
type sweep struct {
	pending map[string]bool
	waiting int
}

// driftState is the daemon's drift bookkeeping.
type driftState struct {
	mu     sync.Mutex
	sweeps map[string]*sweep // by repository
	wake   map[string]chan struct{}
}

// driftLoop sweeps repo for drift until ctx is done.
func (d *Daemon) driftLoop(ctx context.Context, repo WatchedRepo) {
	log := d.logger.With("repo", repo.Name, "drift", true)
	lister, ok := repo.Source.(WorkspaceLister)
	if !ok {
		log.Warn("drift: this source cannot list its workspaces; no drift sweeps")
		return
	}
	planner := NewDriftPlanner(max(d.drift.MaxParallel(repo.Name), 1))
	specs := map[string]DriftSchedule{}
	failures := 0
	for {
		now := d.now()
		err := d.driftTick(ctx, repo, lister, planner, specs, now, log)
		wait := time.Duration(0)
		if err != nil {
			failures++
			wait = pollBackoff(repo.PollInterval, failures)
			log.Error("drift: a sweep could not start", "err", err, "retry_in", wait)
		} else {
			failures = 0
			wait = repo.PollInterval
			if next := planner.NextWake(); next.After(now) {
				wait = next.Sub(now)
			}
			// Due but every slot taken: a finished check wakes the loop.
		}
		// The workspaces at the branch's head are listed again at least
		// every poll interval, so a new one gets its schedule.
		wait = min(wait, max(repo.PollInterval, time.Second))
		next, stop := d.after(wait)
		d.emit(Event{Kind: EventDriftScheduled, Repo: repo.Name, Wait: wait, Err: err})
		select {
		case <-ctx.Done():
			stop()
			return
		case <-d.driftWake(repo.Name):
			stop()
		case <-next:
		}
	}
}

// driftWake is repo's channel woken when one of its drift runs finishes.
func (d *Daemon) driftWake(repo string) chan struct{} {
	d.driftState.mu.Lock()
	defer d.driftState.mu.Unlock()
	if d.driftState.wake == nil {
		d.driftState.wake = map[string]chan struct{}{}
	}
	ch, ok := d.driftState.wake[repo]
	if !ok {
		ch = make(chan struct{}, 1)
		d.driftState.wake[repo] = ch
	}
	return ch
}

// trackedBranch is the branch whose head drift checks: the first
// configured branch, else the default branch.
func (d *Daemon) trackedBranch(repo WatchedRepo, defaultBranch string) string {
	if len(repo.Branches) > 0 {
		return strings.TrimPrefix(repo.Branches[0], branchPrefix)
	}
	return defaultBranch
}

// driftTick queues the drift runs due at now.
func (d *Daemon) driftTick(ctx context.Context, repo WatchedRepo, lister WorkspaceLister, planner *DriftPlanner, specs map[string]DriftSchedule, now time.Time, log *slog.Logger) error {
	// The head the poll loop processed (and so fetched): the drift loop
	// asks nothing of the remote itself, so an idle repository costs one
	// ref listing per poll interval, as without drift.
	def := d.defaultBranch(repo.Name)
	if def == "" && len(repo.Branches) == 0 {
		return nil // no poll round has listed the refs yet
	}
	branch := d.trackedBranch(repo, def)
	ref := branchPrefix + branch
	head, err := d.store.LastProcessed(ctx, repo.Name, ref)
	if err != nil {
		return err
	}
	if head == "" {
		return nil // not polled yet
	}
	targets, err := lister.AllTargets(ctx, head)
	if err != nil {
		return fmt.Errorf("listing the workspaces at %s: %w", landform.ShortSHA(head), err)
	}
	byKey := map[string]landform.Target{}
	for _, t := range targets {
		key := repo.Name + "/" + t.Workspace.Name
		byKey[key] = t
		s := d.drift.Rules(repo.Name, t.Workspace.Name).Schedule
		if old, ok := specs[key]; !ok || old.Spec != s.Spec || old.Jitter != s.Jitter || old.Location.String() != s.Location.String() {
			planner.Set(key, s, now)
			specs[key] = s
		}
	}
	busy, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: repo.Name, Kind: landform.RunDrift,
		States: []landform.RunState{landform.StateQueued, landform.StateRunning}})
	if err != nil {
		return err
	}
	running, busyIDs := map[string]bool{}, map[string]bool{}
	for _, r := range busy {
		running[repo.Name+"/"+r.Workspace] = true
		busyIDs[r.ID] = true
	}
	var queued []*landform.Run
	for _, key := range planner.Due(now, func(key string) bool { return running[key] }) {
		t, ok := byKey[key]
		if !ok {
			continue // a workspace deleted since
		}
		run := &landform.Run{Repo: repo.Name, Workspace: t.Workspace.Name, Dir: t.Workspace.Dir, Commit: head, Ref: ref,
			Kind: landform.RunDrift, State: landform.StateQueued, CreatedAt: now.UTC()}
		if err := d.store.CreateRun(ctx, run); err != nil {
			return err
		}
		queued = append(queued, run)
	}
	waiting := planner.Waiting(now)
	d.driftState.mu.Lock()
	if d.driftState.sweeps == nil {
		d.driftState.sweeps = map[string]*sweep{}
	}
	sw := d.driftState.sweeps[repo.Name]
	if sw == nil && len(queued) > 0 {
		sw = &sweep{pending: map[string]bool{}}
		d.driftState.sweeps[repo.Name] = sw
	}
	over := false
	if sw != nil {
		for id := range sw.pending {
			if !busyIDs[id] { // ended (listed before this tick queued more)
				delete(sw.pending, id)
			}
		}
		for _, run := range queued {
			sw.pending[run.ID] = true
		}
		sw.waiting = waiting
		if len(sw.pending) == 0 && sw.waiting == 0 {
			delete(d.driftState.sweeps, repo.Name)
			over = true
		}
	}
	d.driftState.mu.Unlock()
	for _, run := range queued {
		d.emit(Event{Kind: EventRunQueued, Repo: repo.Name, Run: run})
	}
	if len(queued) > 0 {
		log.Info("drift: checks queued", "commit", landform.ShortSHA(head), "workspaces", len(queued), "waiting", waiting)
		d.wakeWorkers()
	}
	if over {
		if err := d.reportDrift(ctx, repo); err != nil {
			log.Error("drift: saying the sweep's report failed", "err", err)
		}
	}
	return nil
}

// driftFinished is what the daemon does once a drift run ended (recorded
// by the worker): remediation, and waking the drift loop, which says the
// report when the run was its sweep's last.
func (d *Daemon) driftFinished(ctx context.Context, repo WatchedRepo, run *landform.Run) error {
	if d.drift == nil {
		return nil
	}
	if err := d.remediate(ctx, repo, run); err != nil {
		d.logger.Error("drift: queueing the remediation failed", "repo", repo.Name, "workspace", run.Workspace, "run", run.ID, "err", err)
	}
	// The drift loop sees it ended, and says the report when it was the
	// sweep's last.
	d.wakeLoop(LoopDrift, repo.Name)
	return nil
}

// remediationOf returns the drift run whose remediation plan is run, nil
// when none of the workspace's recent drift runs names it.
func (d *Daemon) remediationOf(ctx context.Context, run *landform.Run) (*landform.Run, error) {
	drifts, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: run.Repo, Workspace: run.Workspace, Kind: landform.RunDrift, Limit: 20})
	if err != nil {
		return nil, err
	}
	for _, r := range drifts {
		if r.Drift != nil && r.Drift.Remediation == run.ID {
			return r, nil
		}
	}
	return nil, nil
}

// remediate queues the plan that brings a drifted workspace back to its
// code, when its rules say so.
func (d *Daemon) remediate(ctx context.Context, repo WatchedRepo, run *landform.Run) error {
	if run.Drift == nil || !run.Drift.Drifted {
		return nil
	}
	rules := d.drift.Rules(repo.Name, run.Workspace)
	if rules.Remediation != landform.RemediationPlan && rules.Remediation != landform.RemediationAuto {
		return nil
	}
	plan := &landform.Run{Repo: run.Repo, Workspace: run.Workspace, Dir: run.Dir, Commit: run.Commit, Ref: run.Ref,
		Kind: landform.RunPlan, State: landform.StateQueued, CommitAuthor: run.CommitAuthor, CreatedAt: d.now().UTC()}
	if err := d.store.CreateRun(ctx, plan); err != nil {
		return err
	}
	run.Drift.Remediation = plan.ID
	if err := d.saveOnce(ctx, run); err != nil {
		return err
	}
	d.emit(Event{Kind: EventRunQueued, Repo: repo.Name, Run: plan})
	d.wakeWorkers()
	return nil
}

// autoRemediate approves and applies run, a remediation plan queued under
// remediation: auto with auto_apply, when it planned changes its policies
// allowed. Anything else leaves it to people. What makes run a
// remediation is in the store (a drift run names it), and the rules are
// read now: so whichever replica planned it, after a restart too, and
// never once auto_apply was turned off.
func (d *Daemon) autoRemediate(ctx context.Context, run *landform.Run) error {
	if d.drift == nil || run.Kind != landform.RunPlan || run.State != landform.StatePlanned || run.Policy.Denied() {
		return nil
	}
	if rules := d.drift.Rules(run.Repo, run.Workspace); rules.Remediation != landform.RemediationAuto || !rules.AutoApply {
		return nil
	}
	driftRun, err := d.remediationOf(ctx, run)
	if err != nil || driftRun == nil {
		return err // a plan of a push, or queued by a person: people approve it
	}
	reason := fmt.Sprintf("remediation of drift run %s, applied without a person (remediation: auto, auto_apply: true)", driftRun.ID)
	if err := d.store.AddApproval(ctx, &landform.Approval{RunID: run.ID, By: "landform", Channel: landform.ChannelDrift,
		Commit: run.Commit, PlanSHA256: run.PlanSHA256, Approved: true, Reason: reason, At: d.now().UTC()}); err != nil {
		return err
	}
	approved, err := d.store.TransitionRun(ctx, run.ID, []landform.RunState{landform.StatePlanned}, func(r *landform.Run) error {
		r.State = landform.StateApproved
		return nil
	})
	if err != nil {
		return err
	}
	*run = *approved
	_, _, err = d.Apply(ctx, ApplyRequest{RunID: run.ID, By: "landform", Channel: landform.ChannelDrift, Auto: true})
	return err
}

// reportDrift says repo's drift report: the latest finished drift run of
// each workspace. Each outlet's failure is logged and reported; the next
// sweep says it again.
func (d *Daemon) reportDrift(ctx context.Context, repo WatchedRepo) error {
	all, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: repo.Name, Kind: landform.RunDrift, Limit: 5000})
	if err != nil {
		return err
	}
	var finished []*landform.Run
	for _, r := range all {
		if r.State.Terminal() && r.State != landform.StateSuperseded {
			finished = append(finished, r)
		}
	}
	latest := latestPerWorkspace(finished)
	report, err := DriftReportOf(ctx, d.store, repo.Name, latest, d.now())
	if err != nil {
		return err
	}
	var errs []string
	if d.drift.Ledger != nil && d.drift.Ledger(repo.Name) {
		if l, ok := repo.Source.(DriftLedger); ok {
			branch := repo.LedgerBranch
			if branch == "" {
				branch = landform.DefaultLedgerBranch
			}
			if err := d.checkLedgerBranch(ctx, repo, branch); err != nil {
				errs = append(errs, "ledger: "+err.Error())
			} else if err := l.RecordDrift(ctx, branch, report); err != nil {
				errs = append(errs, "ledger: "+err.Error())
			}
		}
	}
	if d.drift.Outlets != nil {
		for _, o := range d.drift.Outlets(repo.Name) {
			if err := o.DriftReport(ctx, report); err != nil {
				errs = append(errs, err.Error())
			}
		}
	}
	var rerr error
	if len(errs) > 0 {
		rerr = fmt.Errorf("drift report of %s: %s", repo.Name, strings.Join(errs, "; "))
		d.logger.Error("drift: saying the report failed", "repo", repo.Name, "err", rerr)
	}
	d.logger.Info("drift: "+report.Summary(), "repo", repo.Name)
	d.emit(Event{Kind: EventDriftReported, Repo: repo.Name, Err: rerr, Count: len(report.Workspaces), Holder: report.Summary()})
	return nil
}
