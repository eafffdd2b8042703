package server_test

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
)

// fakeRuns is server.Reader and server.Actions over runs in memory, for
// the API's and the dashboard's tests. Run "13" fails with an internal
// error; mallory may approve and apply nothing. Repository "infra" is
// watched, with workspaces app, db, net and dns; "broken" fails inside.
type fakeRuns struct {
	mu      sync.Mutex
	runs    map[string]*landform.Run
	plans   map[string]*landform.PlanArtifact
	locks   []*landform.Lock
	actions []string // "approve 42 alice api"
	hang    bool     // StartApply's done is never closed
	ctxErrs []error  // the context errors actions saw
}

var (
	_ server.Reader  = (*fakeRuns)(nil)
	_ server.Actions = (*fakeRuns)(nil)
)

var fakeTime = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

func newFakeRuns() *fakeRuns {
	at := func(m int) time.Time { return fakeTime.Add(time.Duration(m) * time.Minute) }
	return &fakeRuns{
		runs: map[string]*landform.Run{
			"42": {ID: "42", Repo: "infra", Workspace: "app", Dir: "app", Kind: landform.RunPlan, State: landform.StateAwaitingApproval,
				Commit: strings.Repeat("a", 40), Ref: "refs/pull/7/head", PR: landform.RunPR{Number: 7, Author: "bob"},
				Summary: landform.PlanSummary{Add: 1, Destroy: 1}, PlanSHA256: strings.Repeat("5", 64), CreatedAt: at(42)},
			"43": {ID: "43", Repo: "infra", Workspace: "db", Dir: "db", Kind: landform.RunPlan, State: landform.StateApproved, CreatedAt: at(43)},
			"44": {ID: "44", Repo: "infra", Workspace: "net", Dir: "net", Kind: landform.RunPlan, State: landform.StateApplied, CreatedAt: at(44)},
			"45": {ID: "45", Repo: "infra", Workspace: "dns", Dir: "dns", Kind: landform.RunPlan, State: landform.StateErrored,
				Error: "Error: Invalid reference\n  on main.tf line 3", CreatedAt: at(45)},
			"46": {ID: "46", Repo: "infra", Workspace: "net", Dir: "net", Kind: landform.RunDrift, State: landform.StatePlanned,
				Drift: &landform.WorkspaceDrift{Repo: "infra", Workspace: "net", RunID: "46", Drifted: true, CheckedAt: at(46),
					Resources: []landform.DriftedResource{{Address: "testcloud_bucket.logs", Kind: landform.DriftChanged}}},
				CreatedAt: at(46)},
		},
		plans: map[string]*landform.PlanArtifact{
			"42": {Text: "  # testcloud_bucket.old will be destroyed\n  - resource \"testcloud_bucket\" \"old\" {}\n  # testcloud_bucket.new will be created\n  + resource \"testcloud_bucket\" \"new\" {}\nPlan: 1 to add, 0 to change, 1 to destroy.\n",
				JSON: []byte(`{"format_version":"1.2","resource_changes":[]}`), SHA256: strings.Repeat("5", 64)},
		},
		locks: []*landform.Lock{{Repo: "infra", Workspace: "app", Holder: "pr/7", RunID: "42", Reason: "plan of pr/7 awaiting approval", CreatedAt: at(42)}},
	}
}

func (f *fakeRuns) get(id string) (*landform.Run, error) {
	if id == "13" {
		return nil, errors.New("database is locked: /var/lib/landform/landform.db")
	}
	r, ok := f.runs[id]
	if !ok {
		return nil, landform.Errorf(landform.ENOTFOUND, "run %s not found", id)
	}
	return r, nil
}

func (f *fakeRuns) repo(name string) error {
	switch name {
	case "infra":
		return nil
	case "broken":
		return errors.New("disk I/O error reading the runs of broken")
	}
	return landform.Errorf(landform.ENOTFOUND, "no repository %q is watched", name)
}

func (f *fakeRuns) Repos(ctx context.Context) ([]runner.RepoView, error) {
	return []runner.RepoView{{RepoStatus: runner.RepoStatus{Repo: "infra", LastPoll: fakeTime, Polls: 3, DefaultBranch: "main"},
		URL: "git://127.0.0.1/infra", Branch: "main", Head: strings.Repeat("c", 40), Workspaces: 4}}, nil
}

func (f *fakeRuns) Workspaces(ctx context.Context, repo string) ([]runner.WorkspaceView, error) {
	if err := f.repo(repo); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	byName := map[string]*runner.WorkspaceView{}
	for _, r := range f.sorted() {
		w, ok := byName[r.Workspace]
		if !ok {
			w = &runner.WorkspaceView{Repo: r.Repo, Name: r.Workspace, Dir: r.Dir, AtHead: true}
			byName[r.Workspace] = w
		}
		switch {
		case r.Kind == landform.RunPlan && w.LastPlan == nil:
			c := *r
			w.LastPlan = &c
		case r.Kind == landform.RunDrift && w.Drift == nil && r.Drift != nil:
			d := *r.Drift
			d.DriftedSince = d.CheckedAt
			w.Drift = &d
		}
	}
	for _, l := range f.locks {
		if w, ok := byName[l.Workspace]; ok {
			w.Lock = l
		}
	}
	var out []runner.WorkspaceView
	for _, w := range byName {
		out = append(out, *w)
	}
	slices.SortFunc(out, func(a, b runner.WorkspaceView) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// sorted returns the runs newest first; f.mu is held.
func (f *fakeRuns) sorted() []*landform.Run {
	var all []*landform.Run
	for _, r := range f.runs {
		all = append(all, r)
	}
	slices.SortFunc(all, func(a, b *landform.Run) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return all
}

func (f *fakeRuns) Runs(ctx context.Context, flt landform.RunFilter) ([]*landform.Run, error) {
	if flt.Repo == "broken" {
		return nil, f.repo("broken")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := []*landform.Run{}
	past := flt.Before == ""
	for _, r := range f.sorted() {
		if !past {
			past = r.ID == flt.Before
			continue
		}
		if flt.Repo != "" && r.Repo != flt.Repo || flt.Workspace != "" && r.Workspace != flt.Workspace ||
			flt.Kind != "" && r.Kind != flt.Kind || len(flt.States) > 0 && !slices.Contains(flt.States, r.State) {
			continue
		}
		c := *r
		out = append(out, &c)
		if flt.Limit > 0 && len(out) == flt.Limit {
			break
		}
	}
	return out, nil
}

func (f *fakeRuns) Run(ctx context.Context, id string) (*landform.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, err := f.get(id)
	if err != nil {
		return nil, err
	}
	c := *r
	return &c, nil
}

func (f *fakeRuns) Plan(ctx context.Context, id string) (*landform.PlanArtifact, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, err := f.get(id); err != nil {
		return nil, err
	}
	a, ok := f.plans[id]
	if !ok {
		return nil, landform.Errorf(landform.ENOTFOUND, "run %s has no plan", id)
	}
	return a, nil
}

func (f *fakeRuns) Locks(ctx context.Context, repo string) ([]*landform.Lock, error) {
	if repo != "" {
		if err := f.repo(repo); err != nil {
			return nil, err
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.locks), nil
}

func (f *fakeRuns) DriftReport(ctx context.Context, repo string) (*landform.DriftReport, error) {
	if err := f.repo(repo); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d := *f.runs["46"].Drift
	d.DriftedSince = d.CheckedAt
	return &landform.DriftReport{Repo: repo, CheckedAt: d.CheckedAt, Workspaces: []landform.WorkspaceDrift{d}}, nil
}

func (f *fakeRuns) Approve(ctx context.Context, runID, by, channel string) (*landform.Run, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	r, err := f.get(runID)
	switch {
	case err != nil:
		return nil, err
	case runID == "45":
		return nil, landform.Errorf(landform.EINVALID, "run 45 errored: it has no plan to approve")
	case by == "mallory":
		return nil, landform.Errorf(landform.EUNAUTHORIZED, "mallory may not approve run %s", runID)
	case r.State != landform.StateAwaitingApproval:
		return nil, landform.Errorf(landform.ECONFLICT, "run %s is %s, not awaiting approval", runID, r.State)
	}
	f.actions = append(f.actions, strings.Join([]string{"approve", runID, by, channel}, " "))
	r.State = landform.StateApproved
	r.Approvals = append(r.Approvals, &landform.Approval{RunID: runID, By: by, Channel: channel, Approved: true, At: fakeTime})
	c := *r
	return &c, nil
}

func (f *fakeRuns) StartApply(ctx context.Context, runID, by, channel string) (*landform.Run, <-chan struct{}, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	r, err := f.get(runID)
	switch {
	case err != nil:
		return nil, nil, err
	case by == "mallory":
		return nil, nil, landform.Errorf(landform.EUNAUTHORIZED, "mallory may not apply run %s", runID)
	case r.State != landform.StateApproved:
		return nil, nil, landform.Errorf(landform.ECONFLICT, "run %s is %s, not approved", runID, r.State)
	}
	f.actions = append(f.actions, strings.Join([]string{"apply", runID, by, channel}, " "))
	r.State = landform.StateApplying
	r.Apply = &landform.ApplyResult{By: by, Channel: channel}
	started := *r
	apply := *r.Apply // the apply goes on below while the answer is written
	started.Apply = &apply
	done := make(chan struct{})
	if !f.hang {
		go func() {
			f.mu.Lock()
			r.State = landform.StateApplied
			r.Apply.Summary = "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."
			f.mu.Unlock()
			close(done)
		}()
	}
	return &started, done, nil
}

func (f *fakeRuns) UnlockWorkspace(ctx context.Context, repo, workspace string) (*landform.Lock, error) {
	if err := f.repo(repo); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ctxErrs = append(f.ctxErrs, ctx.Err())
	for i, l := range f.locks {
		if l.Repo == repo && l.Workspace == workspace {
			f.locks = slices.Delete(f.locks, i, i+1)
			f.actions = append(f.actions, "unlock "+repo+" "+workspace)
			return l, nil
		}
	}
	return nil, landform.Errorf(landform.ENOTFOUND, "workspace %s is not locked", workspace)
}

func (f *fakeRuns) took() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	a := f.actions
	f.actions = nil
	return a
}

// The tokens of the tests: tok-alice and tok-mallory approve, tok-vera
// views, tok-ada is an admin; tok-broken cannot be checked.
func fakeTokens(_ context.Context, token string) (landform.Principal, bool, error) {
	p := func(id string, r landform.Role) (landform.Principal, bool, error) {
		return landform.Principal{Identity: id, Role: r}, true, nil
	}
	switch token {
	case "tok-alice":
		return p("alice", landform.RoleApprover)
	case "tok-mallory":
		return p("mallory", landform.RoleApprover)
	case "tok-vera":
		return p("vera", landform.RoleViewer)
	case "tok-ada":
		return p("ada", landform.RoleAdmin)
	case "tok-broken":
		return landform.Principal{}, false, landform.Errorf(landform.EINVALID, "api token of bot: reading /etc/landform/bot-token: permission denied")
	}
	return landform.Principal{}, false, nil
}

// memSessions is server.SessionStore in memory.
type memSessions struct {
	mu sync.Mutex
	m  map[string]landform.WebSession
}

func (s *memSessions) CreateSession(ctx context.Context, ws *landform.WebSession) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]landform.WebSession{}
	}
	if _, ok := s.m[ws.SHA256]; ok {
		return landform.Errorf(landform.ECONFLICT, "session exists")
	}
	s.m[ws.SHA256] = *ws
	return nil
}

func (s *memSessions) Session(ctx context.Context, sum string, now time.Time) (*landform.WebSession, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws, ok := s.m[sum]
	if !ok || !now.Before(ws.ExpiresAt) {
		return nil, landform.Errorf(landform.ENOTFOUND, "no such session")
	}
	return &ws, nil
}

func (s *memSessions) DeleteSession(ctx context.Context, sum string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sum)
	return nil
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
