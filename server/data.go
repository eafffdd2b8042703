package server

import (
	"context"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
)

var (
	_ Reader  = (*runner.Views)(nil)
	_ Actions = (*runner.Views)(nil)
)

// Reader is what the dashboard and the REST API read (runner.Views
// implements it). Unknown repositories and runs are ENOTFOUND.
type Reader interface {
	Repos(ctx context.Context) ([]runner.RepoView, error)
	Workspaces(ctx context.Context, repo string) ([]runner.WorkspaceView, error)
	Runs(ctx context.Context, f landform.RunFilter) ([]*landform.Run, error)
	// Run returns a run with its approvals.
	Run(ctx context.Context, id string) (*landform.Run, error)
	// Plan returns a run's stored plan (text redacted at storage);
	// ENOTFOUND when it has none.
	Plan(ctx context.Context, id string) (*landform.PlanArtifact, error)
	// Locks lists the locks of repo, "" for all.
	Locks(ctx context.Context, repo string) ([]*landform.Lock, error)
	// DriftReport is repo's newest drift check of each workspace.
	DriftReport(ctx context.Context, repo string) (*landform.DriftReport, error)
}

// Actions are what people do through the dashboard and the API. Who may
// approve a run is decided behind them (the approvals rules); the role
// checks in this package only open the door.
type Actions interface {
	// Approve records by's approval through channel; EUNAUTHORIZED when
	// by may not approve the run, ECONFLICT when it is not awaiting
	// approval.
	Approve(ctx context.Context, runID, by, channel string) (*landform.Run, error)
	// StartApply starts the apply of an approved run's plan; done is
	// closed once its outcome is recorded.
	StartApply(ctx context.Context, runID, by, channel string) (run *landform.Run, done <-chan struct{}, err error)
	// UnlockWorkspace releases a workspace's lock whoever holds it;
	// ENOTFOUND when it is not locked.
	UnlockWorkspace(ctx context.Context, repo, workspace string) (*landform.Lock, error)
}
