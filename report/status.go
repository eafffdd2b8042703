package report

import (
	"strings"

	"github.com/landform/landform"
)

// StatusContext is the context of the commit status of a workspace's plan:
// one per workspace, so a forge shows each workspace's plan on its own line.
func StatusContext(workspace string) string { return "landform/plan: " + workspace }

// maxStatusDescription bounds a status description (GitHub's limit is 140
// characters).
const maxStatusDescription = 140

// CommitStatus is the commit status that tells run's state on the forge:
// pending while it waits or runs, success for a plan (with its summary) or
// no changes, failure for an error (terraform's first line) or an
// interruption. externalURL, when set, links the run's page.
func CommitStatus(run *landform.Run, externalURL string) landform.CommitStatus {
	s := landform.CommitStatus{SHA: run.Commit, Context: StatusContext(run.Workspace)}
	switch run.State {
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
		s.State, s.Description = landform.StatusSuccess, "plan "+run.Summary.String()+" ("+string(run.State)+")"
	}
	s.Description = landform.OneLine(s.Description, maxStatusDescription)
	if externalURL != "" && run.ID != "" {
		s.TargetURL = strings.TrimRight(externalURL, "/") + "/runs/" + run.ID
	}
	return s
}
