package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/landform/landform"
)

// Chat-ops on the daemon: pull request comments reach the command handler
// once, whether a webhook delivered them or the comment poll found them;
// replies go out through the forge outbox like previews.

// CommentHandler handles a command comment on pull request pr of repo. It
// runs on the goroutine that saw the comment (a poll loop, a webhook
// request) and must not block for long.
type CommentHandler func(ctx context.Context, repo string, pr int, c landform.Comment)

// WithCommentHandler makes the daemon hand every new pull request comment
// to h (once per comment), and, for repositories whose PollComments is
// set, poll comments: chat-ops with no inbound network.
func WithCommentHandler(h CommentHandler) DaemonOption {
	return func(dm *Daemon) { dm.comments = h }
}

// landformMarker starts the hidden markers of Landform's own comments,
// which are never read as commands.
const landformMarker = "<!-- landform:"

// HandleComment hands comment c of pull request pr of repo to the comment
// handler, once: a comment seen again (by the poll after its webhook, or
// redelivered) is skipped, and so are Landform's own comments. It reports
// whether the comment was handed on.
func (d *Daemon) HandleComment(ctx context.Context, repo string, pr int, c landform.Comment) (bool, error) {
	if d.comments == nil || strings.Contains(c.Body, landformMarker) {
		return false, nil
	}
	if _, ok := d.repo(repo); !ok {
		return false, landform.Errorf(landform.ENOTFOUND, "repository %q is not watched", repo)
	}
	first, err := d.store.MarkCommandSeen(ctx, repo, "comment/"+strconv.FormatInt(c.ID, 10))
	if err != nil || !first {
		return false, err
	}
	d.comments(ctx, repo, pr, c)
	return true, nil
}

// commentOverlap is how far back each comment poll looks before its
// cursor: forges' clocks and their "since" filters are not exact, and
// comments already handled are skipped.
const commentOverlap = time.Minute

// pollComments hands the new comments of repo's open pull requests to the
// comment handler. The first poll of a repository starts from now: older
// comments are never run.
func (d *Daemon) pollComments(ctx context.Context, repo WatchedRepo, prs []landform.PullRequest) error {
	if d.comments == nil || repo.Forge == nil || !repo.PollComments {
		return nil
	}
	cursor, err := d.store.CommentCursor(ctx, repo.Name)
	if err != nil {
		return err
	}
	now := d.now().UTC()
	if cursor == "" {
		return d.store.SetCommentCursor(ctx, repo.Name, now.Format(time.RFC3339Nano))
	}
	since, err := time.Parse(time.RFC3339Nano, cursor)
	if err != nil {
		since = now
	}
	newest := since
	for _, pr := range prs {
		cs, err := repo.Forge.Comments(ctx, pr.Number, since.Add(-commentOverlap))
		if err != nil {
			return fmt.Errorf("listing the comments of pull request %d: %w", pr.Number, err)
		}
		for _, c := range cs {
			if c.CreatedAt.Before(since.Add(-commentOverlap)) {
				continue
			}
			if _, err := d.HandleComment(ctx, repo.Name, pr.Number, c); err != nil {
				return err
			}
			if c.CreatedAt.After(newest) {
				newest = c.CreatedAt
			}
		}
	}
	if newest.After(since) {
		return d.store.SetCommentCursor(ctx, repo.Name, newest.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// commentMessage is the payload of a "comment/<pr>/<key>" forge message.
type commentMessage struct {
	PR   int    `json:"pr"`
	Body string `json:"body"`
}

// Reply posts body as a new comment on pull request pr of repo, through
// the forge outbox (a forge outage delays it, never loses it). key makes
// the message unique (the command's own key); the comment carries
// Landform's marker, so it is never read as a command.
func (d *Daemon) Reply(ctx context.Context, repo string, pr int, key, body string) error {
	r, ok := d.repo(repo)
	if !ok || r.Forge == nil || d.forgeOutbox == nil || pr <= 0 {
		return nil
	}
	payload, err := json.Marshal(commentMessage{PR: pr, Body: landformMarker + "reply -->\n" + body})
	if err != nil {
		return err
	}
	if err := d.forgeOutbox.EnqueueForge(ctx, repo, "comment/"+strconv.Itoa(pr)+"/"+key, payload); err != nil {
		return err
	}
	d.wakeLoop(LoopForge, repo)
	return nil
}

// prRef returns the head ref of pull request pr among refs.
func prRef(refs map[string]string, pr int) (string, bool) {
	for _, ref := range []string{pullPrefix + strconv.Itoa(pr) + "/head", mrPrefix + strconv.Itoa(pr) + "/head"} {
		if _, ok := refs[ref]; ok {
			return ref, true
		}
	}
	return "", false
}

// Replan queues plans of pull request pr's head in repo: of workspaces,
// or of every workspace its change affects when none is named. Older
// unapplied plans of those workspaces on the pull request are superseded.
func (d *Daemon) Replan(ctx context.Context, repo string, pr int, workspaces []string) ([]*landform.Run, error) {
	r, ok := d.repo(repo)
	if !ok {
		return nil, landform.Errorf(landform.ENOTFOUND, "repository %q is not watched", repo)
	}
	refs, defaultBranch, err := r.Source.Refs(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing refs: %w", err)
	}
	ref, ok := prRef(refs, pr)
	if !ok || !r.PullRequests {
		return nil, landform.Errorf(landform.ENOTFOUND, "pull request %d of %s is not open or not watched", pr, repo)
	}
	head := refs[ref]
	if err := r.Source.Fetch(ctx, []string{ref}); err != nil {
		return nil, err
	}
	log := d.logger.With("repo", repo)
	if len(workspaces) == 0 {
		if err := d.processRef(ctx, r, ref, "", head, refs, defaultBranch, log); err != nil {
			return nil, err
		}
		return d.store.ListRuns(ctx, landform.RunFilter{Repo: repo, Ref: ref, Commit: head, States: []landform.RunState{landform.StateQueued}})
	}
	holder, _ := pullRequest(ref)
	prInfo := prOf(ref, d.pullRequests(ctx, r))
	author := d.commitAuthor(ctx, r, head, log)
	runs := make([]*landform.Run, 0, len(workspaces))
	for _, name := range workspaces {
		t, err := r.Source.Target(ctx, head, name)
		if err != nil {
			return nil, err
		}
		run := d.planRun(ctx, r, ref, holder, head, t)
		run.PR, run.CommitAuthor = prInfo, author
		runs = append(runs, run)
	}
	superseded, err := d.store.QueueRuns(ctx, repo, ref, head, runs)
	if err != nil {
		return nil, err
	}
	for _, run := range runs {
		d.emit(Event{Kind: EventRunQueued, Repo: repo, Run: run})
	}
	if err := d.ledgerRecord(ctx, r, superseded...); err != nil {
		return runs, err
	}
	if err := d.enqueueForge(ctx, r, ref, head, d.deletedBy(repo, ref, head), runs...); err != nil {
		log.Error("forge: queueing the preview and statuses failed", "err", err)
	}
	d.wakeWorkers()
	return runs, nil
}

// UnlockPullRequest releases pull request pr's locks in repo: of
// workspaces, or all of them when none is named. It returns how many it
// released.
func (d *Daemon) UnlockPullRequest(ctx context.Context, repo string, pr int, workspaces []string) (int, error) {
	r, ok := d.repo(repo)
	if !ok {
		return 0, landform.Errorf(landform.ENOTFOUND, "repository %q is not watched", repo)
	}
	locks, err := d.store.ListLocks(ctx, repo)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, l := range locks {
		ref, isPR := refFor(l.Holder)
		if !isPR || !strings.HasSuffix(strings.TrimSuffix(ref, "/head"), "/"+strconv.Itoa(pr)) {
			continue
		}
		if len(workspaces) > 0 && !slices.Contains(workspaces, l.Workspace) {
			continue
		}
		if err := d.store.ReleaseLock(ctx, repo, l.Workspace, l.Holder); err != nil {
			return n, err
		}
		n++
	}
	if n > 0 {
		d.invalidateLocks()
		d.emit(Event{Kind: EventLocksReleased, Repo: r.Name, Holder: fmt.Sprintf("pr/%d", pr), Count: n})
		d.wakeLoop(LoopPoll, repo) // the next round unblocks who waited
	}
	return n, nil
}

// PullRequestRuns returns the newest run of each workspace at the newest
// planned head of pull request pr of repo, by workspace, with their
// approvals.
func (d *Daemon) PullRequestRuns(ctx context.Context, repo string, pr int) ([]*landform.Run, error) {
	var all []*landform.Run
	for _, ref := range []string{pullPrefix + strconv.Itoa(pr) + "/head", mrPrefix + strconv.Itoa(pr) + "/head"} {
		runs, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: repo, Ref: ref, Kind: landform.RunPlan, Limit: 2000})
		if err != nil {
			return nil, err
		}
		all = append(all, runs...)
	}
	if len(all) == 0 {
		return nil, nil
	}
	head := all[0].Commit
	var cur []*landform.Run
	for _, r := range all {
		if r.Commit == head {
			cur = append(cur, r)
		}
	}
	out := latestPerWorkspace(cur)
	for _, r := range out {
		approvals, err := d.store.ListApprovals(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		if len(approvals) > 0 {
			r.Approvals = approvals
		}
	}
	return out, nil
}

// ChatActions are the daemon's actions as chat-ops commands take them
// (chatops.Actions).
type ChatActions struct {
	D *Daemon
	// IsOwner says who owns the policies (may override a deny).
	IsOwner func(who string) bool
}

// Run returns run id.
func (c ChatActions) Run(ctx context.Context, id string) (*landform.Run, error) {
	run, err := c.D.store.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	approvals, err := c.D.store.ListApprovals(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(approvals) > 0 {
		run.Approvals = approvals
	}
	return run, nil
}

// Approve records by's approval of run runID.
func (c ChatActions) Approve(ctx context.Context, runID, by, channel string) (*landform.Run, error) {
	return c.D.Approve(ctx, ApprovalRequest{RunID: runID, By: by, Channel: channel})
}

// OverridePolicy records a policy owner's override of run runID's deny.
func (c ChatActions) OverridePolicy(ctx context.Context, runID, by, reason string) (*landform.Run, error) {
	run, err := OverridePolicy(ctx, c.D.store, Override{RunID: runID, By: by, IsOwner: c.IsOwner, Reason: reason, Now: c.D.now()})
	if err != nil {
		return run, err
	}
	return run, c.D.announce(ctx, run)
}

// Apply starts the apply of run runID.
func (c ChatActions) Apply(ctx context.Context, runID, by, channel string) (*landform.Run, error) {
	run, _, err := c.D.Apply(ctx, ApplyRequest{RunID: runID, By: by, Channel: channel})
	return run, err
}

// Plan queues plans of pull request pr's head.
func (c ChatActions) Plan(ctx context.Context, repo string, pr int, workspaces []string) ([]*landform.Run, error) {
	return c.D.Replan(ctx, repo, pr, workspaces)
}

// Unlock releases pull request pr's locks.
func (c ChatActions) Unlock(ctx context.Context, repo string, pr int, workspaces []string) (int, error) {
	return c.D.UnlockPullRequest(ctx, repo, pr, workspaces)
}

// PullRequestRuns returns the newest runs of pull request pr's head.
func (c ChatActions) PullRequestRuns(ctx context.Context, repo string, pr int) ([]*landform.Run, error) {
	return c.D.PullRequestRuns(ctx, repo, pr)
}

// StartApply starts the apply of run runID; done is closed once its
// outcome is recorded.
func (c ChatActions) StartApply(ctx context.Context, runID, by, channel string) (*landform.Run, <-chan struct{}, error) {
	return c.D.Apply(ctx, ApplyRequest{RunID: runID, By: by, Channel: channel})
}
