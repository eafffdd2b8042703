package runner

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
)

// What the dashboard and the REST API read: repositories with their poll
// status, workspaces with their last plan, drift and lock, and the latest
// drift report. Everything comes from the store and the daemon's memory;
// nothing here asks a remote.

// RepoView is one watched repository.
type RepoView struct {
	RepoStatus
	// URL is the remote as configured (the config refuses credentials
	// in it).
	URL string `json:"url"`
	// Branch is the tracked branch (drift, applies from the branch).
	Branch string `json:"branch,omitempty"`
	// Head is the last commit of Branch the daemon processed.
	Head string `json:"head,omitempty"`
	// Workspaces counts the workspaces at Head (0 while unknown).
	Workspaces int `json:"workspaces"`
}

// WorkspaceView is one workspace of a repository.
type WorkspaceView struct {
	Repo string `json:"repo"`
	Name string `json:"name"`
	Dir  string `json:"dir,omitempty"`
	// AtHead says whether the workspace is at the tracked branch's head
	// (false: only runs of pull requests or of the past know it).
	AtHead bool `json:"at_head"`
	// LastPlan is its newest plan run (of any ref), nil when none.
	LastPlan *landform.Run `json:"last_plan,omitempty"`
	// LastApply is its newest run that was applied or failed to.
	LastApply *landform.Run `json:"last_apply,omitempty"`
	// Drift is what its newest finished drift check found, with
	// DriftedSince; nil when it was never checked.
	Drift *landform.WorkspaceDrift `json:"drift,omitempty"`
	// Lock is its lock, nil when it is not locked.
	Lock *landform.Lock `json:"lock,omitempty"`
}

// viewDepth bounds how many runs of a repository Workspaces reads.
const viewDepth = 5000

// Views reads what the dashboard and the API show of a daemon.
type Views struct {
	D *Daemon

	mu      sync.Mutex
	targets map[string]targetsAt // repo → the workspaces at a commit
}

type targetsAt struct {
	commit  string
	targets []landform.Target
}

// repo returns the watched repository named name; ENOTFOUND otherwise.
func (v *Views) repo(name string) (WatchedRepo, error) {
	for _, r := range v.D.repos {
		if r.Name == name {
			return r, nil
		}
	}
	return WatchedRepo{}, landform.Errorf(landform.ENOTFOUND, "no repository %q is watched", name)
}

// Repos returns every watched repository, in the config's order.
func (v *Views) Repos(ctx context.Context) ([]RepoView, error) {
	out := make([]RepoView, 0, len(v.D.repos))
	statuses, err := v.D.ViewStatuses(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range statuses {
		repo, err := v.repo(s.Repo)
		if err != nil {
			return nil, err
		}
		rv := RepoView{RepoStatus: s, URL: repo.URL}
		rv.Branch, rv.Head, err = v.head(ctx, repo, s.DefaultBranch)
		if err != nil {
			return nil, err
		}
		if ts, ok := v.headTargets(ctx, repo, rv.Branch, rv.Head); ok {
			rv.Workspaces = len(ts)
		}
		out = append(out, rv)
	}
	return out, nil
}

// head returns repo's tracked branch (def is its default branch, "" when
// not known yet) and the last commit of it processed.
func (v *Views) head(ctx context.Context, repo WatchedRepo, def string) (branch, head string, err error) {
	if def == "" && len(repo.Branches) == 0 {
		return "", "", nil
	}
	branch = v.D.trackedBranch(repo, def)
	head, err = v.D.store.LastProcessed(ctx, repo.Name, branchPrefix+branch)
	return branch, head, err
}

// defaultBranch returns repo's default branch as this daemon knows it
// (see Daemon.ViewStatuses).
func (v *Views) defaultBranch(ctx context.Context, repo string) (string, error) {
	statuses, err := v.D.ViewStatuses(ctx)
	if err != nil {
		return "", err
	}
	for _, s := range statuses {
		if s.Repo == repo {
			return s.DefaultBranch, nil
		}
	}
	return "", nil
}

// headTargets returns the workspaces at head, cached per repository and
// commit; ok false when they cannot be listed (no head yet, a source that
// cannot list, a broken commit).
func (v *Views) headTargets(ctx context.Context, repo WatchedRepo, branch, head string) ([]landform.Target, bool) {
	if head == "" {
		return nil, false
	}
	v.mu.Lock()
	c, ok := v.targets[repo.Name]
	v.mu.Unlock()
	if ok && c.commit == head {
		return c.targets, true
	}
	lister, ok := repo.Source.(WorkspaceLister)
	if !ok {
		return nil, false
	}
	// A replica that does not poll may lack the commit the poller saw.
	if err := v.D.ensureCommit(ctx, repo, head, branchPrefix+branch); err != nil {
		v.D.logger.Debug("views: fetching the head", "repo", repo.Name, "commit", head, "err", err)
		return nil, false
	}
	ts, err := lister.AllTargets(ctx, head)
	if err != nil {
		v.D.logger.Debug("views: listing the workspaces at the head", "repo", repo.Name, "commit", head, "err", err)
		return nil, false
	}
	v.mu.Lock()
	if v.targets == nil {
		v.targets = map[string]targetsAt{}
	}
	v.targets[repo.Name] = targetsAt{commit: head, targets: ts}
	v.mu.Unlock()
	return ts, true
}

// Workspaces returns repo's workspaces, by name: those at its tracked
// branch's head and those its runs and locks name.
func (v *Views) Workspaces(ctx context.Context, repoName string) ([]WorkspaceView, error) {
	repo, err := v.repo(repoName)
	if err != nil {
		return nil, err
	}
	byName := map[string]*WorkspaceView{}
	get := func(name string) *WorkspaceView {
		w, ok := byName[name]
		if !ok {
			w = &WorkspaceView{Repo: repoName, Name: name}
			byName[name] = w
		}
		return w
	}
	def, err := v.defaultBranch(ctx, repo.Name)
	if err != nil {
		return nil, err
	}
	branch, head, err := v.head(ctx, repo, def)
	if err != nil {
		return nil, err
	}
	if ts, ok := v.headTargets(ctx, repo, branch, head); ok {
		for _, t := range ts {
			w := get(t.Workspace.Name)
			w.AtHead, w.Dir = true, t.Workspace.Dir
		}
	}
	runs, err := v.D.store.ListRuns(ctx, landform.RunFilter{Repo: repoName, Limit: viewDepth})
	if err != nil {
		return nil, err
	}
	lastDrift := map[string]*landform.Run{}
	for _, r := range runs { // newest first
		w := get(r.Workspace)
		if w.Dir == "" {
			w.Dir = r.Dir
		}
		switch r.Kind {
		case landform.RunPlan:
			if w.LastPlan == nil {
				w.LastPlan = r
			}
			if w.LastApply == nil && r.Apply != nil && (r.State == landform.StateApplied || r.State == landform.StateApplyFailed) {
				w.LastApply = r
			}
		case landform.RunDrift:
			if _, ok := lastDrift[r.Workspace]; !ok && r.State.Terminal() {
				lastDrift[r.Workspace] = r
			}
		}
	}
	for name, r := range lastDrift {
		d, err := WorkspaceDriftOf(ctx, v.D.store, r)
		if err != nil {
			return nil, err
		}
		byName[name].Drift = &d
	}
	locks, err := v.D.store.ListLocks(ctx, repoName)
	if err != nil {
		return nil, err
	}
	for _, l := range locks {
		get(l.Workspace).Lock = l
	}
	out := make([]WorkspaceView, 0, len(byName))
	for _, w := range byName {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b WorkspaceView) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// Runs lists runs.
func (v *Views) Runs(ctx context.Context, f landform.RunFilter) ([]*landform.Run, error) {
	return v.D.store.ListRuns(ctx, f)
}

// Run returns run id with its approvals; ENOTFOUND for an unknown one.
func (v *Views) Run(ctx context.Context, id string) (*landform.Run, error) {
	return ChatActions{D: v.D}.Run(ctx, id)
}

// Plan returns the stored plan of run id to show people: its text
// (redacted at storage) and its JSON with every value the plan marks
// sensitive and every secret Landform knows masked; never the binary
// plan. ENOTFOUND when the run has none.
func (v *Views) Plan(ctx context.Context, id string) (*landform.PlanArtifact, error) {
	if _, err := v.D.store.GetRun(ctx, id); err != nil {
		return nil, err
	}
	a, err := v.D.plans.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	out := &landform.PlanArtifact{Text: a.Text, SHA256: a.SHA256}
	if len(a.JSON) > 0 {
		red := v.D.redactor.With(redact.SensitiveValues(a.JSON)...)
		if out.JSON, err = red.JSON(a.JSON); err != nil {
			return nil, fmt.Errorf("plan JSON of run %s: %w", id, err)
		}
	}
	return out, nil
}

// Locks lists the workspace locks of repo ("" for every repository).
func (v *Views) Locks(ctx context.Context, repo string) ([]*landform.Lock, error) {
	if repo != "" {
		if _, err := v.repo(repo); err != nil {
			return nil, err
		}
	}
	return v.D.store.ListLocks(ctx, repo)
}

// DriftReport returns repo's drift report as of now: the newest finished
// drift check of each workspace, with how long each has drifted. A
// repository never checked has a report without workspaces.
func (v *Views) DriftReport(ctx context.Context, repoName string) (*landform.DriftReport, error) {
	if _, err := v.repo(repoName); err != nil {
		return nil, err
	}
	runs, err := v.D.store.ListRuns(ctx, landform.RunFilter{Repo: repoName, Kind: landform.RunDrift, Limit: viewDepth})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var latest []*landform.Run
	for _, r := range runs {
		if seen[r.Workspace] || !r.State.Terminal() {
			continue
		}
		seen[r.Workspace] = true
		latest = append(latest, r)
	}
	slices.SortFunc(latest, func(a, b *landform.Run) int { return cmp.Compare(a.Workspace, b.Workspace) })
	rep, err := DriftReportOf(ctx, v.D.store, repoName, latest, time.Time{})
	if err != nil {
		return nil, err
	}
	// CheckedAt is the newest check's, not the time of reading.
	rep.CheckedAt = time.Time{}
	var newest *landform.WorkspaceDrift
	for i := range rep.Workspaces {
		if w := &rep.Workspaces[i]; newest == nil || w.CheckedAt.After(newest.CheckedAt) {
			newest = w
		}
	}
	if newest != nil {
		rep.CheckedAt, rep.Commit = newest.CheckedAt, newest.Commit
	}
	return rep, nil
}

// Approve records by's approval of run runID through channel (see
// Daemon.Approve).
func (v *Views) Approve(ctx context.Context, runID, by, channel string) (*landform.Run, error) {
	return ChatActions{D: v.D}.Approve(ctx, runID, by, channel)
}

// StartApply starts the apply of run runID (see Daemon.Apply).
func (v *Views) StartApply(ctx context.Context, runID, by, channel string) (*landform.Run, <-chan struct{}, error) {
	return ChatActions{D: v.D}.StartApply(ctx, runID, by, channel)
}

// UnlockWorkspace releases the lock of workspace in repo whoever holds it
// (an admin's action); ENOTFOUND when it is not locked. Queued plans that
// waited for it are planned at the next poll, which it makes happen now.
func (v *Views) UnlockWorkspace(ctx context.Context, repo, workspace string) (*landform.Lock, error) {
	if _, err := v.repo(repo); err != nil {
		return nil, err
	}
	lb, ok := v.D.store.(LockBreaker)
	if !ok {
		return nil, landform.Errorf(landform.EINTERNAL, "the store cannot break locks")
	}
	l, err := Unlock(ctx, lb, repo, workspace)
	if err != nil {
		return nil, err
	}
	v.D.Poke(repo)
	return l, nil
}
