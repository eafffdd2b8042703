// Package publish says Landform's piece on a repository's forge: it joins
// the report package's rendering, the plan store's artifacts and a forge
// client into the runner's Forge (the daemon decides when and about which
// runs; this package decides how it reads and where it goes).
package publish

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
	"github.com/landform/landform/report"
	"github.com/landform/landform/terraform"
)

// PlanReader reads a run's plan artifact.
type PlanReader interface {
	Get(ctx context.Context, runID string) (*landform.PlanArtifact, error)
}

// previewMarker starts the hidden marker of every part of a preview: part
// i carries previewMarker + ":i -->" (forge.UpsertParts finds them again).
const previewMarker = "<!-- landform:preview"

// Forge is a repository's forge as the daemon uses it (runner.Forge).
type Forge struct {
	client      forge.Client
	plans       PlanReader
	externalURL string
	now         func() time.Time
	logger      *slog.Logger
}

// Option configures a Forge.
type Option func(*Forge)

// WithClock sets the clock of the previews' times.
func WithClock(now func() time.Time) Option { return func(f *Forge) { f.now = now } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(f *Forge) { f.logger = l } }

// New returns the Forge of client; plans holds the runs' plans (their text
// is stored redacted); externalURL, when set, is Landform's web server, for
// links.
func New(client forge.Client, plans PlanReader, externalURL string, opts ...Option) *Forge {
	f := &Forge{client: client, plans: plans, externalURL: externalURL, now: time.Now, logger: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(f)
	}
	return f
}

// PullRequests lists the open pull requests.
func (f *Forge) PullRequests(ctx context.Context) ([]landform.PullRequest, error) {
	return f.client.ListPullRequests(ctx)
}

// Status sets the commit status of run's workspace's plan and, once an
// apply of the plan was asked for (run.Apply set), that of its apply
// (report.CommitStatuses), in that order. It stops at the first the forge
// refuses: setting them all again later is harmless.
func (f *Forge) Status(ctx context.Context, run *landform.Run) error {
	for _, s := range report.CommitStatuses(run, f.externalURL) {
		if err := f.client.SetStatus(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// IsTeamMember reports whether user belongs to team on the repository's
// forge (forge.Client.IsTeamMember: "org/name", or "name" for a team of
// the repository's owner; a GitLab group's path): chat-ops asks it about
// the "team:" approvers of a workspace.
func (f *Forge) IsTeamMember(ctx context.Context, team, user string) (bool, error) {
	return f.client.IsTeamMember(ctx, team, user)
}

// Preview renders the plan preview of a pull request and makes it the
// Landform comments of the pull request: edited in place, split into as
// many comments as the forge's size limit needs.
func (f *Forge) Preview(ctx context.Context, p landform.PullRequestPlans) error {
	if p.PR.Number <= 0 {
		return landform.Errorf(landform.EINVALID, "a preview of %s needs a pull request number", p.Ref)
	}
	rp := report.Preview{
		PR: p.PR.Number, HeadCommit: p.Commit, Time: f.now().UTC(),
		Workspaces: f.workspaces(ctx, p.Runs), ExternalURL: f.externalURL, Deleted: p.Deleted,
	}
	if p.PreviousCommit != "" {
		rp.Previous = &report.Preview{HeadCommit: p.PreviousCommit, Workspaces: f.workspaces(ctx, p.Previous)}
	}
	bodies := report.RenderPreview(rp, f.client.MaxCommentLength(), func(i int) string {
		return previewMarker + ":" + strconv.Itoa(i) + " -->"
	})
	if err := forge.UpsertParts(ctx, f.client, p.PR.Number, previewMarker, bodies); err != nil {
		return fmt.Errorf("the preview of #%d: %w", p.PR.Number, err)
	}
	return nil
}

// workspaces are the preview's workspaces of runs, with their plans' text
// and changes. A plan the store cannot give is shown without its text (and
// logged): the preview still says what the run did.
func (f *Forge) workspaces(ctx context.Context, runs []*landform.Run) []report.PreviewWorkspace {
	out := make([]report.PreviewWorkspace, 0, len(runs))
	for _, run := range runs {
		w := report.PreviewWorkspace{Run: run}
		if run.PlanSHA256 != "" {
			a, err := f.plans.Get(ctx, run.ID)
			if err != nil {
				f.logger.Warn("preview: the plan of a run cannot be read; shown without its text", "run", run.ID, "err", err)
			} else {
				w.PlanText = a.Text
				if w.Changes, err = terraform.ResourceActions(a.JSON); err != nil {
					f.logger.Warn("preview: the plan JSON of a run cannot be read", "run", run.ID, "err", err)
				}
			}
		}
		out = append(out, w)
	}
	return out
}
