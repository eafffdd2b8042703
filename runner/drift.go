package runner

import (
	"context"
	"time"

	"github.com/landform/landform"
)

// Drift reports: the latest drift run of each workspace, with how long it
// has been drifted, from the drift runs before it (its history).

// HistoryStore lists runs.
type HistoryStore interface {
	ListRuns(ctx context.Context, f landform.RunFilter) ([]*landform.Run, error)
}

// historyDepth bounds how many earlier drift runs of a workspace "drifted
// since" looks at.
const historyDepth = 500

// WorkspaceDriftOf is the drift record of a finished drift run, with its
// DriftedSince from the workspace's history in s: the first of the
// drifted checks since its last check that was not drifted. An errored
// run is a record with its error.
func WorkspaceDriftOf(ctx context.Context, s HistoryStore, run *landform.Run) (landform.WorkspaceDrift, error) {
	var w landform.WorkspaceDrift
	if run.Drift != nil {
		w = *run.Drift
	} else {
		w = landform.WorkspaceDrift{Repo: run.Repo, Workspace: run.Workspace, Dir: run.Dir, Commit: run.Commit, RunID: run.ID,
			Resources: []landform.DriftedResource{}, CheckedAt: run.FinishedAt, Error: run.Error}
		if w.Error == "" {
			w.Error = "the check did not finish (" + string(run.State) + ")"
		}
	}
	if !w.Drifted {
		return w, nil
	}
	history, err := s.ListRuns(ctx, landform.RunFilter{Repo: run.Repo, Workspace: run.Workspace, Kind: landform.RunDrift, Limit: historyDepth})
	if err != nil {
		return w, err
	}
	since := w.CheckedAt
	seen := false
	for _, h := range history { // newest first
		if h.ID == run.ID {
			seen = true
			continue
		}
		if !seen || !h.State.Terminal() {
			continue
		}
		if h.Drift == nil || !h.Drift.Drifted {
			if h.Drift != nil || h.State == landform.StateNoChanges {
				break // the last check that was not drifted
			}
			continue // an errored check says nothing either way
		}
		since = h.Drift.CheckedAt
	}
	w.DriftedSince = since
	return w, nil
}

// DriftReportOf is the report of runs (finished drift runs of repo, one
// per workspace) checked at at.
func DriftReportOf(ctx context.Context, s HistoryStore, repo string, runs []*landform.Run, at time.Time) (*landform.DriftReport, error) {
	r := &landform.DriftReport{Repo: repo, CheckedAt: at.UTC(), Workspaces: make([]landform.WorkspaceDrift, 0, len(runs))}
	for _, run := range runs {
		w, err := WorkspaceDriftOf(ctx, s, run)
		if err != nil {
			return nil, err
		}
		if r.Commit == "" {
			r.Commit = run.Commit
		}
		r.Workspaces = append(r.Workspaces, w)
	}
	return r, nil
}
