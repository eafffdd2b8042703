package report

import (
	"cmp"
	"strings"

	"github.com/landform/landform"
)

// StatusContext is the context of the commit status of a workspace's plan:
// one per workspace, so a forge shows each workspace's plan on its own line.
func StatusContext(workspace string) string { return "landform/plan: " + workspace }

// ApplyStatusContext is the context of the commit status of a workspace's
// apply, beside its plan's.
func ApplyStatusContext(workspace string) string { return "landform/apply: " + workspace }

// maxStatusDescription bounds a status description (GitHub's limit is 140
// characters).
const maxStatusDescription = 140

// CommitStatuses are the commit statuses that tell run's state on the
// forge: its plan's (CommitStatus) and, once an apply of its plan was asked
// for (run.Apply set), its apply's (ApplyCommitStatus).
func CommitStatuses(run *landform.Run, externalURL string) []landform.CommitStatus {
	out := []landform.CommitStatus{CommitStatus(run, externalURL)}
	if s, ok := ApplyCommitStatus(run, externalURL); ok {
		out = append(out, s)
	}
	return out
}

// CommitStatus is the commit status of run's plan (context StatusContext):
// pending while it waits or runs, success for a plan (with its summary) or
// no changes, failure for an error (terraform's first line) or an
// interruption. A run whose apply was asked for made its plan: success,
// "planned", whatever became of the apply (ApplyCommitStatus says that).
// externalURL, when set, links the run's page.
func CommitStatus(run *landform.Run, externalURL string) landform.CommitStatus {
	s := landform.CommitStatus{SHA: run.Commit, Context: StatusContext(run.Workspace)}
	state := run.State
	if run.Apply != nil {
		state = landform.StatePlanned
	}
	switch state {
	case landform.StateQueued:
		s.State, s.Description = landform.StatusPending, "queued"
		if run.BlockedBy != "" {
			s.Description = "waiting for the lock held by " + run.BlockedBy
		}
	case landform.StateRunning:
		s.State, s.Description = landform.StatusPending, "planning"
	case landform.StateNoChanges:
		s.State, s.Description = landform.StatusSuccess, "no changes"
	case landform.StateErrored:
		s.State, s.Description = landform.StatusFailure, "error: "+FirstLine(run.Error)
	case landform.StateInterrupted:
		s.State, s.Description = landform.StatusError, "interrupted: Landform stopped during the plan"
	case landform.StateSuperseded:
		s.State, s.Description = landform.StatusSuccess, "superseded by a newer commit"
	default:
		s.State, s.Description = landform.StatusSuccess, "plan "+run.Summary.String()+" ("+string(state)+")"
	}
	return finishStatus(s, run, externalURL)
}

// ApplyCommitStatus is the commit status of the apply of run's plan
// (context ApplyStatusContext), false when no apply was asked for
// (run.Apply nil): pending while it is applying or waits to, success once
// applied (terraform's summary), failure when the apply failed, found the
// plan stale (and which run planned again) or was refused, error when
// Landform stopped during it.
func ApplyCommitStatus(run *landform.Run, externalURL string) (landform.CommitStatus, bool) {
	ap := run.Apply
	if ap == nil {
		return landform.CommitStatus{}, false
	}
	s := landform.CommitStatus{SHA: run.Commit, Context: ApplyStatusContext(run.Workspace)}
	by := ""
	if ap.By != "" {
		by = " by " + ap.By
	}
	switch run.State {
	case landform.StateApplying:
		s.State, s.Description = landform.StatusPending, "applying, requested"+by
	case landform.StateApplied:
		s.State, s.Description = landform.StatusSuccess, cmp.Or(ap.Summary, "applied")
	case landform.StateApplyFailed:
		s.State, s.Description = landform.StatusFailure, "apply failed: "+FirstLine(cmp.Or(ap.Error, run.Error))
	case landform.StateStale:
		s.State, s.Description = landform.StatusFailure, "plan stale, nothing applied"
		if ap.Replan != "" {
			s.Description = "plan stale, nothing applied; re-planned as run " + ap.Replan
		}
	case landform.StateInterrupted:
		s.State, s.Description = landform.StatusError, "interrupted: Landform stopped during the apply"
	default:
		if ap.Error != "" {
			s.State, s.Description = landform.StatusFailure, "apply refused: "+FirstLine(ap.Error)
		} else {
			s.State, s.Description = landform.StatusPending, "apply requested"+by
		}
	}
	return finishStatus(s, run, externalURL), true
}

// finishStatus bounds s's description and links run's page.
func finishStatus(s landform.CommitStatus, run *landform.Run, externalURL string) landform.CommitStatus {
	s.Description = landform.OneLine(s.Description, maxStatusDescription)
	if externalURL != "" && run.ID != "" {
		s.TargetURL = strings.TrimRight(externalURL, "/") + "/runs/" + run.ID
	}
	return s
}
