package demo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/landform/landform"
)

// The demo's waits on its daemon, through the API. Each takes stopped, the
// daemon's end when it runs in this process (nil otherwise), and gives up
// when it ends.

// ApplyTimeout bounds one apply of the example's plans.
const ApplyTimeout = 10 * time.Minute

// WaitForBaseline waits until the daemon has taken the tracked branch's
// head as its baseline (it plans what later commits change), and returns
// that commit.
func WaitForBaseline(ctx context.Context, c *Client, stopped <-chan error, timeout time.Duration) (string, error) {
	var head string
	err := WaitUntil(ctx, stopped, timeout, func() (bool, error) {
		r, err := c.Repo(ctx)
		head = r.Head
		if errors.Is(err, ErrUnreachable) {
			return false, nil // its HTTP server is not listening yet
		}
		return head != "", err
	})
	return head, err
}

// WaitForPlans waits until the daemon has processed commit of the tracked
// branch and planned every workspace it touches, and returns those plan
// runs, oldest first.
func WaitForPlans(ctx context.Context, c *Client, stopped <-chan error, commit string, timeout time.Duration) ([]*landform.Run, error) {
	var runs []*landform.Run
	err := WaitUntil(ctx, stopped, timeout, func() (bool, error) {
		r, err := c.Repo(ctx)
		if err != nil || r.Head != commit {
			return false, err
		}
		all, err := c.PlanRuns(ctx)
		if err != nil {
			return false, err
		}
		runs = runs[:0]
		for _, r := range all {
			if r.Commit == commit {
				runs = append(runs, r)
			}
		}
		for _, r := range runs {
			if !r.State.Terminal() {
				return false, nil
			}
		}
		return len(runs) > 0, nil
	})
	slices.Reverse(runs)
	return runs, err
}

// NeedsApproval reports whether run's plan waits for an approval: it
// changes something and nothing stopped it.
func NeedsApproval(run *landform.Run) bool {
	return run.State == landform.StatePlanned || run.State == landform.StateAwaitingApproval
}

// ApplyHooks are told what becomes of the runs ApplyWhenApproved watches.
type ApplyHooks struct {
	// Approved: the run is approved, and the demo starts its apply.
	Approved func(run *landform.Run)
	// Done: the run is finished with: applied, failed to apply, or out
	// of the demo's hands (superseded, stale, applied by someone else).
	Done func(run *landform.Run)
}

// ApplyWhenApproved watches runs (plans waiting for an approval, see
// NeedsApproval) until each is finished with, and applies each as the
// demo user as soon as someone approves it: with `landform approve`, or
// on the dashboard. It returns the runs as they ended, in runs' order.
// An apply someone else started (the dashboard's Apply button) is watched
// to its end instead.
func ApplyWhenApproved(ctx context.Context, c *Client, stopped <-chan error, runs []*landform.Run, h ApplyHooks) ([]*landform.Run, error) {
	final := make([]*landform.Run, len(runs))
	announced := map[string]bool{}
	err := WaitUntil(ctx, stopped, 0, func() (bool, error) {
		pending := 0
		for i, r := range runs {
			if final[i] != nil {
				continue
			}
			run, err := c.Run(ctx, r.ID)
			if err != nil {
				return false, err
			}
			switch run.State {
			case landform.StatePlanned, landform.StateAwaitingApproval, landform.StateApplying:
				pending++
				continue
			case landform.StateApproved:
				if !announced[run.ID] && h.Approved != nil {
					h.Approved(run)
				}
				announced[run.ID] = true
				applied, err := c.Apply(ctx, run.ID, ApplyTimeout)
				if landform.ErrorCode(err) == landform.ECONFLICT {
					pending++ // started by someone else, or the workspace is busy: look again
					continue
				}
				if err != nil {
					return false, fmt.Errorf("applying run %s: %w", run.ID, err)
				}
				if !applied.State.Terminal() {
					pending++
					continue
				}
				run = applied
			}
			final[i] = run
			if h.Done != nil {
				h.Done(run)
			}
		}
		return pending == 0, nil
	})
	return final, err
}

// ApproveAll approves, as the demo user, each of runs that needs it
// (the demo's --yes).
func ApproveAll(ctx context.Context, c *Client, runs []*landform.Run) error {
	for _, r := range runs {
		if !NeedsApproval(r) {
			continue
		}
		if _, err := c.Approve(ctx, r.ID); err != nil {
			return fmt.Errorf("approving run %s: %w", r.ID, err)
		}
	}
	return nil
}

// WaitForDrift waits for the first drift report that has every workspace
// of the tracked branch's head, each checked after since (a whole sweep
// after the edit, so that the report tells one moment), and in which e.Workspace reports e: the resource
// changed or deleted outside Terraform. It returns that report and its
// summary. A check of e.Workspace that failed after since is an error.
func WaitForDrift(ctx context.Context, c *Client, stopped <-chan error, e Edit, since time.Time, timeout time.Duration) (*landform.DriftReport, string, error) {
	var (
		rep     *landform.DriftReport
		summary string
	)
	err := WaitUntil(ctx, stopped, timeout, func() (bool, error) {
		repo, err := c.Repo(ctx)
		if err != nil {
			return false, err
		}
		r, s, err := c.Drift(ctx)
		if err != nil {
			return false, err
		}
		rep, summary = r, s
		fresh, found := len(r.Workspaces) > 0 && len(r.Workspaces) >= repo.Workspaces, false
		for _, w := range r.Workspaces {
			if !w.CheckedAt.After(since) {
				fresh = false
				continue
			}
			if w.Workspace != e.Workspace {
				continue
			}
			if w.Error != "" {
				return false, fmt.Errorf("the drift check of %s (run %s) failed: %s", w.Workspace, w.RunID, w.Error)
			}
			for _, res := range w.Resources {
				if res.Address == e.Address && (res.Kind == landform.DriftChanged || res.Kind == landform.DriftDeleted) {
					found = true
				}
			}
		}
		return fresh && found, nil
	})
	return rep, summary, err
}

// WaitForLedgerDrift waits for a drift report that found drift on the
// ledger branch of the bare repository bare, and returns its commit: "hash
// subject".
func WaitForLedgerDrift(ctx context.Context, bare string, stopped <-chan error, timeout time.Duration) (string, error) {
	var found string
	err := WaitUntil(ctx, stopped, timeout, func() (bool, error) {
		out, err := Git(ctx, bare, "log", "--format=%h %s", landform.DefaultLedgerBranch)
		if err != nil {
			return false, nil // no ledger branch yet
		}
		for _, line := range strings.Split(out, "\n") {
			_, subject, _ := strings.Cut(line, " ")
			if strings.HasPrefix(subject, "Drift ") && strings.Contains(subject, " workspaces drifted") && !strings.Contains(subject, ": 0 of ") {
				found = line
				return true, nil
			}
		}
		return false, nil
	})
	return found, err
}
