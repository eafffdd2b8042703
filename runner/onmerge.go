package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// Apply on merge: once a pull request merges, the merge commit is planned
// on its branch like any push. When the workspace applies on merge and an
// approved plan of a pull request that the new commit contains exists, the
// two plans' resource changes are compared — addresses, actions and
// planned values. Equal: the approvals carry over to the merge commit's
// plan, which is applied. Different: the pull request is told what
// differs, and the new plan waits for approvals like any other.

// onMerge runs after run, a plan of a branch, finished planned.
func (d *Daemon) onMerge(ctx context.Context, repo WatchedRepo, run *landform.Run) error {
	if d.approvals == nil || run.State != landform.StatePlanned {
		return nil
	}
	if _, isPR := pullRequest(run.Ref); isPR {
		return nil
	}
	rules, err := d.approvals.Rules(ctx, run)
	if err != nil || rules.Mode != landform.ApplyOnMerge {
		return err
	}
	approved, err := d.store.ListRuns(ctx, landform.RunFilter{Repo: run.Repo, Workspace: run.Workspace, Kind: landform.RunPlan,
		States: []landform.RunState{landform.StateApproved}})
	if err != nil {
		return err
	}
	var merged *landform.Run
	for _, c := range approved { // newest first
		if _, isPR := pullRequest(c.Ref); !isPR {
			continue
		}
		mb, err := repo.Source.MergeBase(ctx, c.Commit, run.Commit)
		if err == nil && mb == c.Commit {
			merged = c
			break
		}
	}
	if merged == nil {
		return nil // a push of its own: it waits for approvals
	}
	log := d.logger.With("repo", run.Repo, "workspace", run.Workspace, "run", run.ID, "approved_run", merged.ID)
	// The pull request's plan is done with either way: the merge commit's
	// plan is the one that may apply.
	if sup, err := d.store.TransitionRun(ctx, merged.ID, []landform.RunState{landform.StateApproved}, func(x *landform.Run) error {
		x.State = landform.StateSuperseded
		return nil
	}); err == nil {
		_ = d.ledgerRecord(ctx, repo, sup)
	} else {
		return nil // applied or superseded meanwhile
	}
	// Merged: the pull request's lock of the workspace has no reason left
	// (the branch's plan takes over).
	if err := d.store.ReleaseLock(ctx, run.Repo, run.Workspace, lockHolder(merged)); err != nil {
		return err
	}
	d.invalidateLocks()
	diff, err := d.compareChanges(ctx, merged, run)
	if err != nil {
		return err
	}
	if len(diff) > 0 {
		log.Info("on merge: the merge commit's plan differs from the approved one: asking again", "differences", len(diff))
		body := fmt.Sprintf("The merge commit %s planned `%s` differently from the approved run %s, so its approval does not carry over. Run %s needs an approval (`landform approve %s`). What differs:\n\n%s",
			landform.ShortSHA(run.Commit), run.Workspace, merged.ID, run.ID, run.ID, "- "+strings.Join(diff, "\n- "))
		return d.Reply(ctx, run.Repo, merged.PR.Number, "onmerge-"+run.ID, body)
	}
	approvals, err := d.store.ListApprovals(ctx, merged.ID)
	if err != nil {
		return err
	}
	tally, err := TallyApprovals(ctx, d.approvals, merged, approvals, rules)
	if err != nil || !tally.Satisfied() {
		return err
	}
	for _, who := range tally.Approvers {
		if err := d.store.AddApproval(ctx, &landform.Approval{RunID: run.ID, By: who, Channel: landform.ChannelOnMerge,
			Commit: run.Commit, PlanSHA256: run.PlanSHA256, Approved: true, At: d.now().UTC(),
			Reason: fmt.Sprintf("carried over from run %s of pull request %d: the merge commit's plan makes the same changes", merged.ID, merged.PR.Number)}); err != nil {
			return err
		}
	}
	settled, err := settleApprovals(ctx, d.store, d.approvals, run.ID, rules)
	if err != nil {
		return err
	}
	if settled.State != landform.StateApproved {
		return nil
	}
	*run = *settled
	log.Info("on merge: the approval carries over; applying")
	if _, _, err := d.Apply(ctx, ApplyRequest{RunID: run.ID, By: strings.Join(tally.Approvers, ","), Channel: landform.ChannelOnMerge}); err != nil {
		return fmt.Errorf("applying on merge: %w", err)
	}
	return nil
}

// compareChanges lists how the resource changes of b's plan differ from
// a's: addresses, actions and planned values. Empty when equal.
func (d *Daemon) compareChanges(ctx context.Context, a, b *landform.Run) ([]string, error) {
	ca, err := d.changesOf(ctx, a)
	if err != nil {
		return nil, err
	}
	cb, err := d.changesOf(ctx, b)
	if err != nil {
		return nil, err
	}
	return diffChanges(ca, cb), nil
}

// resourceChange is what on-merge compares of one resource change.
type resourceChange struct {
	Actions []string
	After   any
	Unknown any
}

// changesOf reads the resource changes of run's stored plan.
func (d *Daemon) changesOf(ctx context.Context, run *landform.Run) (map[string]resourceChange, error) {
	art, err := d.plans.Get(ctx, run.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the plan of run %s: %w", run.ID, err)
	}
	return planChanges(art.JSON)
}

// planChanges reads the resource changes of a plan's JSON by address,
// leaving out no-ops and reads.
func planChanges(planJSON []byte) (map[string]resourceChange, error) {
	var p struct {
		ResourceChanges []struct {
			Address string `json:"address"`
			Change  struct {
				Actions      []string `json:"actions"`
				After        any      `json:"after"`
				AfterUnknown any      `json:"after_unknown"`
			} `json:"change"`
		} `json:"resource_changes"`
	}
	dec := json.NewDecoder(bytes.NewReader(planJSON))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("reading the plan's JSON: %w", err)
	}
	out := map[string]resourceChange{}
	for _, rc := range p.ResourceChanges {
		if slices.Equal(rc.Change.Actions, []string{"no-op"}) || slices.Equal(rc.Change.Actions, []string{"read"}) {
			continue
		}
		out[rc.Address] = resourceChange{Actions: rc.Change.Actions, After: rc.Change.After, Unknown: rc.Change.AfterUnknown}
	}
	return out, nil
}

// diffChanges says how b differs from a, one line per resource.
func diffChanges(a, b map[string]resourceChange) []string {
	var addrs []string
	for k := range a {
		addrs = append(addrs, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			addrs = append(addrs, k)
		}
	}
	slices.Sort(addrs)
	var out []string
	for _, addr := range addrs {
		x, inA := a[addr]
		y, inB := b[addr]
		switch {
		case !inB:
			out = append(out, fmt.Sprintf("`%s`: %s in the approved plan, unchanged now", addr, strings.Join(x.Actions, ", ")))
		case !inA:
			out = append(out, fmt.Sprintf("`%s`: %s now, not in the approved plan", addr, strings.Join(y.Actions, ", ")))
		case !slices.Equal(x.Actions, y.Actions):
			out = append(out, fmt.Sprintf("`%s`: %s now, %s in the approved plan", addr, strings.Join(y.Actions, ", "), strings.Join(x.Actions, ", ")))
		case !reflect.DeepEqual(x.After, y.After) || !reflect.DeepEqual(x.Unknown, y.Unknown):
			out = append(out, fmt.Sprintf("`%s`: planned values differ", addr))
		}
	}
	return out
}
