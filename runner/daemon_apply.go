package runner

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/landform/landform"
)

// The daemon's side of approvals and applies: whoever asks (a PR comment,
// Slack, the API), the daemon records, applies in the background of its
// work context, and says so in the ledger and on the forge.

// WithApprovalPolicy sets who may approve and what an apply needs.
// Without one, every approval and apply is refused.
func WithApprovalPolicy(p ApprovalPolicy) DaemonOption {
	return func(dm *Daemon) { dm.approvals = p }
}

// applies tracks the applies running in the background.
type applies struct {
	mu      sync.Mutex
	ctx     context.Context // the work context; nil while not running
	stopped bool
	wg      sync.WaitGroup
}

// begin registers one background apply; false when the daemon is not
// running.
func (a *applies) begin() (context.Context, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ctx == nil || a.stopped {
		return nil, false
	}
	a.wg.Add(1)
	return a.ctx, true
}

// start sets the work context applies run in.
func (a *applies) start(ctx context.Context) {
	a.mu.Lock()
	a.ctx = ctx
	a.mu.Unlock()
}

// stop refuses new applies and waits for the running ones.
func (a *applies) stop() {
	a.mu.Lock()
	a.stopped = true
	a.mu.Unlock()
	a.wg.Wait()
}

// Approve records an approval of a run's plan (see runner.Approve) and
// puts the run's record in the ledger outbox and on the forge, refused or
// not: a refusal is recorded too.
func (d *Daemon) Approve(ctx context.Context, req ApprovalRequest) (*landform.Run, error) {
	if d.approvals == nil {
		return nil, landform.Errorf(landform.EUNAUTHORIZED, "approvals are not configured")
	}
	if req.Now.IsZero() {
		req.Now = d.now()
	}
	if run, err := d.store.GetRun(ctx, req.RunID); err == nil {
		if repo, ok := d.repo(run.Repo); ok && repo.Forge != nil {
			req.Forge = repo.Forge
		}
	}
	run, err := Approve(ctx, d.store, d.approvals, req)
	if run != nil {
		if rerr := d.announce(ctx, run); rerr != nil && err == nil {
			err = rerr
		}
		d.emit(Event{Kind: EventApproval, Repo: run.Repo, Run: run, Err: err, Holder: req.By})
	}
	return run, err
}

// announce puts run's record, with its approvals, in its repository's
// ledger outbox and its status and preview in the forge outbox.
func (d *Daemon) announce(ctx context.Context, run *landform.Run) error {
	repo, ok := d.repo(run.Repo)
	if !ok {
		return nil
	}
	if err := d.ledgerRecord(ctx, repo, run); err != nil {
		return err
	}
	if err := d.enqueueForge(ctx, repo, run.Ref, run.Commit, d.deletedBy(run.Repo, run.Ref, run.Commit), run); err != nil {
		d.logger.Error("forge: queueing the preview and status failed", "repo", run.Repo, "run", run.ID, "err", err)
	}
	return nil
}

// applyEnv is what applying a run of repo works with.
func (d *Daemon) applyEnv(repo WatchedRepo) ApplyEnv {
	return ApplyEnv{Store: d.store, Policy: d.approvals, Source: repo.Source, Forge: repo.Forge, LockPolicy: repo.LockPolicy, Owner: d.owner}
}

// Apply starts the apply of a run's plan (see StartApply for what is
// checked) and runs it in the background; done is closed once the
// outcome is recorded. Concurrent requests for one run apply it once: the
// others get ECONFLICT. While the daemon is not running (before Run, or
// stopping) an apply is refused.
func (d *Daemon) Apply(ctx context.Context, req ApplyRequest) (run *landform.Run, done <-chan struct{}, err error) {
	if d.approvals == nil {
		return nil, nil, landform.Errorf(landform.EUNAUTHORIZED, "approvals are not configured: nothing is applied")
	}
	if req.Now.IsZero() {
		req.Now = d.now()
	}
	run, err = d.store.GetRun(ctx, req.RunID)
	if err != nil {
		return nil, nil, err
	}
	repo, ok := d.repo(run.Repo)
	if !ok {
		return run, nil, landform.Errorf(landform.EINVALID, "repository %q of run %s is not watched by this daemon", run.Repo, run.ID)
	}
	workCtx, ok := d.applies.begin()
	if !ok {
		return run, nil, landform.Errorf(landform.EINTERNAL, "the daemon is not running (starting or stopping): try again")
	}
	env := d.applyEnv(repo)
	run, err = d.startWhenFree(ctx, env, req)
	if err != nil {
		d.applies.wg.Done()
		if run != nil && run.State == landform.StateSuperseded {
			_ = d.announce(ctx, run)
		}
		return run, nil, err
	}
	_ = d.announce(ctx, run) // applying: the status and preview say so
	d.emit(Event{Kind: EventApplyStarted, Repo: run.Repo, Run: run, Holder: req.By})
	ch := make(chan struct{})
	started := *run
	go func() {
		defer d.applies.wg.Done()
		defer close(ch)
		d.finishApply(workCtx, repo, env, &started)
	}()
	return run, ch, nil
}

// finishApply applies run and records it as a worker records a finished
// run: whatever it takes, then the ledger and the forge.
func (d *Daemon) finishApply(ctx context.Context, repo WatchedRepo, env ApplyEnv, run *landform.Run) {
	d.busy(+1)
	defer d.busy(-1)
	// Recorded the daemon's way: retried, with the ledger and the forge.
	env.Save = d.saveFinished
	if d.replicas != nil {
		// The commit may be one only the poller fetched.
		env.Source = fetchFirst{ApplySource: env.Source, d: d, repo: repo, ref: run.Ref}
	}
	done, err := d.FinishApply(ctx, env, run)
	if done == nil {
		done = run
	}
	if err != nil {
		d.logger.Error("after an apply", "repo", done.Repo, "workspace", done.Workspace, "run", done.ID, "err", err)
	}
	// The workspace is free again: a run queued meanwhile may be claimed.
	d.wakeWorkers()
	if done.Apply != nil && done.Apply.Replan != "" {
		if replan, gerr := d.store.GetRun(ctx, done.Apply.Replan); gerr == nil {
			d.emit(Event{Kind: EventRunQueued, Repo: replan.Repo, Run: replan})
		}
	}
	d.emit(Event{Kind: EventApplyFinished, Repo: done.Repo, Run: done, Err: err})
}

// busyWait bounds how long an apply waits for its workspace's running run
// (a plan, a drift check) to end.
const busyWait = 2 * time.Minute

// startWhenFree is StartApply, which, while another run of the
// workspace runs, is tried again each time a run ends, for at most
// busyWait.
func (d *Daemon) startWhenFree(ctx context.Context, env ApplyEnv, req ApplyRequest) (*landform.Run, error) {
	deadline, stop := d.after(busyWait)
	defer stop()
	for {
		woken := d.wake.C() // taken before the attempt: an end after it wakes us
		run, err := d.StartApply(ctx, env, req)
		if !errors.Is(err, landform.ErrWorkspaceBusy) {
			return run, err
		}
		select {
		case <-ctx.Done():
			return run, err
		case <-deadline:
			return run, err
		case <-woken:
		}
	}
}
