package runner

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/landform/landform"
)

// Health bounds: past them, something that should have moved has not.
const (
	// LedgerLagBound: a ledger record still pending this long after its
	// run ended means the ledger is behind.
	LedgerLagBound = 10 * time.Minute
	// QueueBound: a run queued this long that a worker could claim, while
	// a worker is idle, means the queue is stuck.
	QueueBound = 10 * time.Minute
	// RunningBound: a run running this long is stuck (terraform hangs,
	// or its end was never recorded).
	RunningBound = 6 * time.Hour
)

// Health statuses.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded"
)

// Health is what the daemon says of itself: "ok", or "degraded" with one
// reason per problem, and every repository's status.
type Health struct {
	Status  string       `json:"status"`
	Reasons []string     `json:"reasons,omitempty"`
	Repos   []RepoStatus `json:"repos"`
}

// healthState is what the daemon's goroutines report for Health, guarded
// by Daemon.mu (per-repository facts are in RepoStatus).
type healthState struct {
	busy    int               // workers executing a run
	unsaved map[string]string // run ID → why its end is not recorded yet
}

// busy counts a worker that starts (+1) or ends (-1) a run.
func (d *Daemon) busy(delta int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.health.busy += delta
}

// unsaved reports that the end of run id cannot be recorded (err), or is
// recorded now (nil).
func (d *Daemon) unsaved(id string, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err == nil {
		delete(d.health.unsaved, id)
		return
	}
	if d.health.unsaved == nil {
		d.health.unsaved = map[string]string{}
	}
	d.health.unsaved[id] = err.Error()
}

// observeRefs notes what one listing of repo's refs says: its default
// branch, and which configured branches are gone (a warning when one
// goes, once, and a note when it comes back).
func (d *Daemon) observeRefs(repo WatchedRepo, refs map[string]string, defaultBranch string, log *slog.Logger) {
	var missing []string
	for _, b := range repo.Branches {
		b = strings.TrimPrefix(b, branchPrefix)
		if _, ok := refs[branchPrefix+b]; !ok {
			missing = append(missing, b)
		}
	}
	var before []string
	d.status(repo.Name, func(s *RepoStatus) {
		before = s.MissingBranches
		s.MissingBranches = missing
		if defaultBranch != "" {
			s.DefaultBranch = defaultBranch
		}
	})
	for _, b := range missing {
		if !slices.Contains(before, b) {
			log.Warn("a watched branch is gone from the remote: not planned until it comes back", "branch", b)
		}
	}
	for _, b := range before {
		if !slices.Contains(missing, b) {
			log.Info("a watched branch is back on the remote", "branch", b)
		}
	}
}

// defaultBranch returns repo's default branch as the last listing of its
// refs said, "" before any.
func (d *Daemon) defaultBranch(repo string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.statuses[repo].DefaultBranch
}

// Health reports the daemon's health: degraded when a repository's polls
// fail or one of its watched branches is gone; when its ledger writes
// fail, its oldest pending ledger record waits longer than LedgerLagBound,
// or a record was set aside; when the end of a run cannot be recorded;
// when a run that could be claimed has waited longer than QueueBound with
// a worker idle, or a run has been running longer than RunningBound. What
// the store cannot answer is a reason too.
func (d *Daemon) Health(ctx context.Context) Health {
	h := Health{Status: HealthOK, Repos: d.Statuses()}
	add := func(format string, args ...any) { h.Reasons = append(h.Reasons, fmt.Sprintf(format, args...)) }
	now := d.now()

	d.mu.Lock()
	unsaved := maps.Clone(d.health.unsaved)
	idle := d.parallel - d.health.busy
	d.mu.Unlock()

	for _, s := range h.Repos {
		if s.LastError != "" {
			add("%s: polling fails (%d in a row): %s", s.Repo, s.Failures, s.LastError)
		}
		for _, b := range s.MissingBranches {
			add("%s: watched branch %s is gone from the remote", s.Repo, b)
		}
		if s.LedgerError != "" {
			add("%s: ledger writes fail (%d in a row); the runs stay in the outbox: %s", s.Repo, s.LedgerFailures, s.LedgerError)
		}
	}
	for _, repo := range d.repos {
		if repo.Ledger {
			d.ledgerHealth(ctx, repo.Name, now, add)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(unsaved)) {
		add("run %s cannot be recorded in the store (retrying): %s", id, unsaved[id])
	}
	d.runsHealth(ctx, now, idle, add)

	if len(h.Reasons) > 0 {
		h.Status = HealthDegraded
	}
	return h
}

// ledgerHealth adds the reasons of repo's ledger outbox.
func (d *Daemon) ledgerHealth(ctx context.Context, repo string, now time.Time, add func(string, ...any)) {
	oldest, err := d.store.OldestPendingLedger(ctx, repo)
	switch {
	case err != nil:
		add("%s: cannot read the ledger outbox: %v", repo, err)
	case !oldest.IsZero() && now.Sub(oldest) > LedgerLagBound:
		add("%s: the ledger is behind: a record has waited %s (more than %s)", repo, now.Sub(oldest).Round(time.Second), LedgerLagBound)
	}
	aside, err := d.store.ListSetAsideLedger(ctx, repo)
	if err != nil {
		add("%s: cannot read the ledger outbox: %v", repo, err)
		return
	}
	ids := slices.SortedFunc(maps.Keys(aside), func(a, b string) int { return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b)) })
	for _, id := range ids {
		add("%s: the ledger record of run %s is set aside, it cannot be written: %s", repo, id, aside[id])
	}
}

// runsHealth adds the reasons of stuck runs: the oldest claimable queued
// run past QueueBound while idle workers exist, and each run running past
// RunningBound.
func (d *Daemon) runsHealth(ctx context.Context, now time.Time, idle int, add func(string, ...any)) {
	active, err := d.store.ListRuns(ctx, landform.RunFilter{States: []landform.RunState{landform.StateQueued, landform.StateRunning}})
	if err != nil {
		add("cannot list the queued and running runs: %v", err)
		return
	}
	running := map[[2]string]bool{}
	for _, r := range active {
		if r.State != landform.StateRunning {
			continue
		}
		running[[2]string{r.Repo, r.Workspace}] = true
		if since := now.Sub(r.StartedAt); !r.StartedAt.IsZero() && since > RunningBound {
			add("%s: run %s of %s has been running for %s (more than %s)", r.Repo, r.ID, r.Workspace, since.Round(time.Minute), RunningBound)
		}
	}
	if idle <= 0 {
		return
	}
	var stuck *landform.Run
	count := 0
	for _, r := range active { // newest first: the last one found is the oldest
		_, known := d.repo(r.Repo)
		if r.State != landform.StateQueued || r.BlockedBy != "" || !known || running[[2]string{r.Repo, r.Workspace}] {
			continue
		}
		if now.Sub(r.CreatedAt) > QueueBound {
			stuck = r
			count++
		}
	}
	if stuck != nil {
		add("%s: %d claimable runs have been queued for more than %s with a worker idle; the oldest, run %s of %s, for %s",
			stuck.Repo, count, QueueBound, stuck.ID, stuck.Workspace, now.Sub(stuck.CreatedAt).Round(time.Second))
	}
}
