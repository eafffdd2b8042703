package chatops

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// Actions are what commands do, wherever they were typed: the daemon's
// approvals, applies, plans and locks (runner.ChatActions implements
// them).
type Actions interface {
	// Run returns a run; ENOTFOUND for an unknown one.
	Run(ctx context.Context, id string) (*landform.Run, error)
	// Approve records by's approval of run runID.
	Approve(ctx context.Context, runID, by, channel string) (*landform.Run, error)
	// OverridePolicy records a policy owner's override of a deny.
	OverridePolicy(ctx context.Context, runID, by, reason string) (*landform.Run, error)
	// Apply starts the apply of run runID's plan (it goes on in the
	// background; its result reaches the pull request and the ledger).
	Apply(ctx context.Context, runID, by, channel string) (*landform.Run, error)
	// Plan queues plans of pull request pr's head: of workspaces, or of
	// every workspace it affects.
	Plan(ctx context.Context, repo string, pr int, workspaces []string) ([]*landform.Run, error)
	// Unlock releases pull request pr's locks: of workspaces, or all.
	Unlock(ctx context.Context, repo string, pr int, workspaces []string) (int, error)
	// PullRequestRuns returns the newest run of each workspace at pull
	// request pr's head.
	PullRequestRuns(ctx context.Context, repo string, pr int) ([]*landform.Run, error)
}

// Request is one command as a channel received it.
type Request struct {
	// Channel is where it came from (landform.ChannelComment, …).
	Channel string
	// Identity is who typed it, as Landform knows them (a forge login, or
	// what a Slack user ID or an API token maps to); "" is refused.
	Identity string
	// Repo is the repository the channel is about ("" when it does not
	// say, as a Slack channel mapped to none); a run of another
	// repository is refused.
	Repo string
	// PR is the pull request the command was typed on, 0 for none.
	PR int
	// Text is the comment's body (Channel comment) or the command's text
	// (Slack's text, with or without the leading "landform").
	Text string
}

// Reply is what to answer.
type Reply struct {
	// Command is whether the text held a command at all: a comment
	// without one gets no reply.
	Command bool
	// Text is the answer, in Markdown (Slack's mrkdwn reads it).
	Text string
	// OK is false when the command was refused or failed, in full or in
	// part.
	OK bool
	// PullRequests are the pull requests of the runs the command named
	// (a Slack command's reply is posted on them too), each once.
	PullRequests []PullRequestRef
}

// PullRequestRef names a pull request of a repository.
type PullRequestRef struct {
	Repo string
	PR   int
}

// Dispatch reads req's command and does it with a. Unknown or malformed
// commands are answered with the correct usage; refusals with the
// reason.
func Dispatch(ctx context.Context, a Actions, req Request) Reply {
	var (
		cmd Command
		err error
	)
	if req.Channel == landform.ChannelComment {
		var ok bool
		if cmd, ok, err = ParseComment(req.Text); !ok && err == nil {
			return Reply{}
		}
	} else {
		cmd, err = ParseText(req.Text)
	}
	if err != nil {
		var ue *UsageError
		if asUsage(err, &ue) {
			return Reply{Command: true, Text: fmt.Sprintf("⚠️ %s\n\n```\n%s```", ue.Error(), ue.Usage())}
		}
		return Reply{Command: true, Text: "⚠️ " + err.Error()}
	}
	if cmd.Verb == VerbHelp {
		return Reply{Command: true, OK: true, Text: "```\n" + Usage(cmd.Topic) + "```"}
	}
	if strings.TrimSpace(req.Identity) == "" {
		return Reply{Command: true, Text: "⛔ Landform does not know who you are here: nothing was done (map your Slack user in identities, or use an API token)"}
	}
	d := dispatcher{a: a, req: req}
	switch cmd.Verb {
	case VerbPlan:
		return d.plan(ctx, cmd)
	case VerbApprove:
		return d.approve(ctx, cmd)
	case VerbApply:
		return d.apply(ctx, cmd)
	case VerbUnlock:
		return d.unlock(ctx, cmd)
	}
	return Reply{Command: true, Text: fmt.Sprintf("⚠️ unknown command %q\n\n```\n%s```", cmd.Verb, Usage(""))}
}

type dispatcher struct {
	a   Actions
	req Request
}

func asUsage(err error, ue **UsageError) bool {
	u, ok := err.(*UsageError)
	if ok {
		*ue = u
	}
	return ok
}

// needPR refuses a command that acts on a pull request outside one.
func (d dispatcher) needPR(verb Verb) (Reply, bool) {
	if d.req.PR > 0 && d.req.Repo != "" {
		return Reply{}, true
	}
	return Reply{Command: true, Text: fmt.Sprintf("⚠️ `landform %s` without a run ID acts on a pull request: comment it on the pull request (or name a run)", verb)}, false
}

// run reads run id and refuses one of another repository or pull request
// than the channel's.
func (d dispatcher) run(ctx context.Context, id string) (*landform.Run, error) {
	run, err := d.a.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	if d.req.Repo != "" && run.Repo != d.req.Repo {
		return nil, landform.Errorf(landform.EUNAUTHORIZED, "run %s is of repository %s, not %s: approve and apply it from its own repository", id, run.Repo, d.req.Repo)
	}
	if d.req.PR > 0 && run.PR.Number != d.req.PR {
		return nil, landform.Errorf(landform.EUNAUTHORIZED, "run %s is not a plan of this pull request", id)
	}
	return run, nil
}

func (d dispatcher) plan(ctx context.Context, cmd Command) Reply {
	if r, ok := d.needPR(cmd.Verb); !ok {
		return r
	}
	runs, err := d.a.Plan(ctx, d.req.Repo, d.req.PR, cmd.Workspaces)
	if err != nil {
		return failed("planning", err)
	}
	if len(runs) == 0 {
		return Reply{Command: true, OK: true, Text: "Nothing to plan: this pull request's head affects no workspace."}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "🔄 Planning %d workspace(s) at the pull request's head:\n", len(runs))
	for _, r := range runs {
		fmt.Fprintf(&b, "- run %s `%s`\n", r.ID, r.Workspace)
	}
	return Reply{Command: true, OK: true, Text: b.String()}
}

func (d dispatcher) approve(ctx context.Context, cmd Command) Reply {
	ids := cmd.Runs
	if cmd.All {
		if r, ok := d.needPR(cmd.Verb); !ok {
			return r
		}
		runs, err := d.a.PullRequestRuns(ctx, d.req.Repo, d.req.PR)
		if err != nil {
			return failed("listing the pull request's runs", err)
		}
		for _, r := range runs {
			if r.State == landform.StatePlanned || r.State == landform.StateAwaitingApproval {
				ids = append(ids, r.ID)
			}
		}
		if len(ids) == 0 {
			return Reply{Command: true, OK: true, Text: "Nothing to approve: no plan of this pull request's head awaits approval."}
		}
	}
	return d.each(ctx, ids, func(id string) (string, error) {
		if cmd.OverridePolicy != "" {
			run, err := d.a.OverridePolicy(ctx, id, d.req.Identity, cmd.OverridePolicy)
			if err != nil {
				return "", err
			}
			return fmt.Sprintf("policy deny overridden by %s (%s); now %s", d.req.Identity, cmd.OverridePolicy, run.State), nil
		}
		run, err := d.a.Approve(ctx, id, d.req.Identity, d.req.Channel)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("approved by %s; now **%s**%s", d.req.Identity, run.State, nextStep(run)), nil
	})
}

// nextStep tells what comes after an approval.
func nextStep(run *landform.Run) string {
	if run.State == landform.StateApproved {
		return fmt.Sprintf(" — apply with `landform apply %s`", run.ID)
	}
	return ""
}

func (d dispatcher) apply(ctx context.Context, cmd Command) Reply {
	ids := cmd.Runs
	if len(ids) == 0 {
		if r, ok := d.needPR(cmd.Verb); !ok {
			return r
		}
		runs, err := d.a.PullRequestRuns(ctx, d.req.Repo, d.req.PR)
		if err != nil {
			return failed("listing the pull request's runs", err)
		}
		for _, r := range runs {
			if len(cmd.Workspaces) > 0 && !slices.Contains(cmd.Workspaces, r.Workspace) {
				continue
			}
			if r.State == landform.StateApproved || len(cmd.Workspaces) > 0 {
				ids = append(ids, r.ID)
			}
		}
		if len(ids) == 0 {
			return Reply{Command: true, OK: true, Text: "Nothing to apply: no approved plan at this pull request's head (approve one with `landform approve RUN`)."}
		}
	}
	return d.each(ctx, ids, func(id string) (string, error) {
		if _, err := d.a.Apply(ctx, id, d.req.Identity, d.req.Channel); err != nil {
			return "", err
		}
		return fmt.Sprintf("applying, asked by %s: the result follows on the pull request and in the ledger", d.req.Identity), nil
	})
}

func (d dispatcher) unlock(ctx context.Context, cmd Command) Reply {
	if r, ok := d.needPR(cmd.Verb); !ok {
		return r
	}
	n, err := d.a.Unlock(ctx, d.req.Repo, d.req.PR, cmd.Workspaces)
	if err != nil {
		return failed("unlocking", err)
	}
	return Reply{Command: true, OK: true, Text: fmt.Sprintf("🔓 Released %d lock(s) of this pull request.", n)}
}

// each does f for every run ID and answers a line per run.
func (d dispatcher) each(ctx context.Context, ids []string, f func(id string) (string, error)) Reply {
	out := Reply{Command: true, OK: true}
	var b strings.Builder
	for _, id := range ids {
		run, err := d.run(ctx, id)
		var msg string
		if err == nil {
			if pr := (PullRequestRef{Repo: run.Repo, PR: run.PR.Number}); pr.PR > 0 && !slices.Contains(out.PullRequests, pr) {
				out.PullRequests = append(out.PullRequests, pr)
			}
			msg, err = f(id)
		}
		if err != nil {
			out.OK = false
			fmt.Fprintf(&b, "- ⛔ run %s: %s\n", id, strings.TrimPrefix(landform.ErrorMessage(err), "run "+id+": "))
			continue
		}
		fmt.Fprintf(&b, "- ✅ run %s: %s\n", id, msg)
	}
	out.Text = b.String()
	return out
}

// failed answers a command that failed as a whole.
func failed(what string, err error) Reply {
	return Reply{Command: true, Text: fmt.Sprintf("⛔ %s failed: %s", what, landform.ErrorMessage(err))}
}

// Replier posts a reply on pull request pr of repo; key makes it unique.
type Replier func(ctx context.Context, repo string, pr int, key, body string) error

// OnComment returns the handler of pull request comments (the daemon's
// CommentHandler): it does the comment's command as the comment's author
// and replies on the pull request, quoting the command. Comments without
// a command get no reply.
func OnComment(a Actions, reply Replier, logf func(msg string, args ...any)) func(ctx context.Context, repo string, pr int, c landform.Comment) {
	return func(ctx context.Context, repo string, pr int, c landform.Comment) {
		r := Dispatch(ctx, a, Request{Channel: landform.ChannelComment, Identity: c.Author, Repo: repo, PR: pr, Text: c.Body})
		if !r.Command {
			return
		}
		body := fmt.Sprintf("@%s: %s", c.Author, r.Text)
		if err := reply(ctx, repo, pr, fmt.Sprintf("c%d", c.ID), body); err != nil && logf != nil {
			logf("chat-ops: queueing the reply failed", "repo", repo, "pr", pr, "comment", c.ID, "err", err)
		}
	}
}
