package runner

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
)

// fakePolicy is approval rules the test sets: approvers and teams by name.
type fakePolicy struct {
	mu    sync.Mutex
	rules landform.ApprovalRules
	teams map[string][]string // "team:x" → members
}

func newFakePolicy(approvers ...string) *fakePolicy {
	return &fakePolicy{rules: landform.ApprovalRules{Approvers: approvers, Required: 1,
		Requirements: landform.DefaultApplyRequirements, Mode: landform.ApplyBeforeMerge}, teams: map[string][]string{}}
}

func (p *fakePolicy) set(f func(*landform.ApprovalRules)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.rules)
}

func (p *fakePolicy) Rules(context.Context, *landform.Run) (landform.ApprovalRules, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.rules
	r.Approvers = slices.Clone(r.Approvers)
	return r, nil
}

func (p *fakePolicy) IsMember(_ context.Context, _ *landform.Run, who string, list []string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range list {
		if e == who || slices.Contains(p.teams[e], who) {
			return true, nil
		}
	}
	return false, nil
}

func (p *fakePolicy) IsAuthor(run *landform.Run, who string) bool {
	return run.PR.Author == who || run.CommitAuthor == who+"@example.com"
}

// fakeApplier applies by counting, or as the test says.
type fakeApplier struct {
	mu      sync.Mutex
	applied map[string]int // workspace → applies
	plans   []string       // the plan files' contents applied
	err     error
	block   chan struct{} // when set, each apply waits for it
}

func newFakeApplier() *fakeApplier { return &fakeApplier{applied: map[string]int{}} }

func (a *fakeApplier) Apply(ctx context.Context, job ApplyJob) (*ApplyOutput, error) {
	a.mu.Lock()
	block, err := a.block, a.err
	a.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	b, rerr := os.ReadFile(job.PlanFile)
	plan := string(b)
	a.mu.Lock()
	defer a.mu.Unlock()
	if rerr != nil {
		return nil, rerr
	}
	a.applied[job.Workspace.Name]++
	a.plans = append(a.plans, plan)
	return &ApplyOutput{Output: "applied " + plan, Summary: "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."}, nil
}

func (a *fakeApplier) count(ws string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.applied[ws]
}

func (a *fakeApplier) fail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.err = err
}

// applyHarness is a daemon watching one repository "infra" with pull
// requests, a fake forge, the policy and the applier.
func applyHarness(t *testing.T, pol *fakePolicy, ap *fakeApplier, prs ...landform.PullRequest) (*harness, *fakeSource, *fakeForge) {
	t.Helper()
	src := newFakeSource(map[string]string{mainRef: "m1"})
	f := newFakeForge(prs...)
	h := newHarnessWith(t, harnessConfig{opts: []Option{WithApplier(ap)}, dopts: []DaemonOption{WithApprovalPolicy(pol)}}, forgeRepo(src, f))
	return h, src, f
}

// planPR pushes commit as the head of pull request 7, affecting ws, and
// returns its finished run.
func planPR(h *harness, src *fakeSource, ev Event, commit, ws string) (*landform.Run, Event) {
	h.t.Helper()
	src.affect(commit, ws)
	src.setRef("refs/pull/7/head", commit)
	ev = h.round(ev)
	return h.finished(ws), ev
}

func approve(h *harness, id, by string) (*landform.Run, error) {
	return h.d.Approve(context.Background(), ApprovalRequest{RunID: id, By: by, Channel: landform.ChannelComment})
}

// applyAndWait asks for the apply of id and waits for its outcome.
func applyAndWait(t *testing.T, h *harness, id, by string) (*landform.Run, error) {
	t.Helper()
	run, done, err := h.d.Apply(context.Background(), ApplyRequest{RunID: id, By: by, Channel: landform.ChannelAPI})
	if err != nil {
		return run, err
	}
	select {
	case <-done:
	case <-time.After(failsafe):
		t.Fatal("the apply did not finish")
	}
	return h.db.GetRun(context.Background(), id)
}

func TestApproveThenApply(t *testing.T) {
	pol, ap := newFakePolicy("carol", "alice"), newFakeApplier()
	h, src, f := applyHarness(t, pol, ap, landform.PullRequest{Number: 7, Author: "alice", BaseBranch: "main", Mergeable: landform.MergeableYes})
	h.start()
	ev := h.polled("infra")
	run, _ := planPR(h, src, ev, "p1", "app")
	if run.State != landform.StatePlanned {
		t.Fatalf("plan: %s", run.State)
	}

	// Applying before any approval is refused, and applies nothing.
	if _, _, err := h.d.Apply(t.Context(), ApplyRequest{RunID: run.ID, By: "carol", Channel: landform.ChannelAPI}); landform.ErrorCode(err) != landform.ECONFLICT ||
		!strings.Contains(err.Error(), "not approved: 0 of 1 approvals") {
		t.Fatalf("apply before approval: %v", err)
	}
	// A non-approver, then the author (self-approval is off): refused, recorded.
	if _, err := approve(h, run.ID, "mallory"); landform.ErrorCode(err) != landform.EUNAUTHORIZED || !strings.Contains(err.Error(), "not one of its approvers") {
		t.Fatalf("non-approver: %v", err)
	}
	if _, err := approve(h, run.ID, "alice"); landform.ErrorCode(err) != landform.EUNAUTHORIZED || !strings.Contains(err.Error(), "their own change") {
		t.Fatalf("author: %v", err)
	}
	got, err := approve(h, run.ID, "carol")
	if err != nil || got.State != landform.StateApproved {
		t.Fatalf("approver: %v, %+v", err, got)
	}
	approvals, _ := h.db.ListApprovals(t.Context(), run.ID)
	var log []string
	for _, a := range approvals {
		log = append(log, fmt.Sprintf("%s:%v", a.By, a.Approved))
		if a.Commit != "p1" || a.PlanSHA256 != run.PlanSHA256 {
			t.Errorf("approval %+v not bound to the run's commit and plan", a)
		}
	}
	if want := []string{"mallory:false", "alice:false", "carol:true"}; !slices.Equal(log, want) {
		t.Errorf("approvals recorded: %v, want %v", log, want)
	}

	done, err := applyAndWait(t, h, run.ID, "carol")
	if err != nil || done.State != landform.StateApplied || ap.count("app") != 1 {
		t.Fatalf("apply: %v, %+v, applied %d times", err, done, ap.count("app"))
	}
	if done.Apply.By != "carol" || done.Apply.Channel != landform.ChannelAPI || !strings.HasPrefix(done.Apply.Summary, "Apply complete!") {
		t.Errorf("apply result: %+v", done.Apply)
	}
	if ap.plans[0] != "plan of app" {
		t.Errorf("applied plan file %q, want the stored plan", ap.plans[0])
	}
	// Applied: a second apply applies nothing.
	if _, _, err := h.d.Apply(t.Context(), ApplyRequest{RunID: run.ID, By: "carol", Channel: landform.ChannelAPI}); landform.ErrorCode(err) != landform.ECONFLICT {
		t.Errorf("second apply: %v", err)
	}
	if e := h.flushForge("status/p1/app"); e.Err != nil {
		t.Fatal(e.Err)
	}
	if st := f.status("p1/app"); st != landform.StateApplied {
		t.Errorf("status: %s, want applied", st)
	}
	if l := h.locks("infra"); !slices.Equal(l, []string{"app=pr/7"}) {
		t.Errorf("locks after a pull request's apply: %v, want it kept until merge", l)
	}
}

func TestConcurrentAppliesApplyOnce(t *testing.T) {
	pol, ap := newFakePolicy(), newFakeApplier()
	ap.block = make(chan struct{})
	h, src, _ := applyHarness(t, pol, ap, landform.PullRequest{Number: 7, Author: "alice"})
	h.start()
	run, _ := planPR(h, src, h.polled("infra"), "p1", "app")
	if _, err := approve(h, run.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		started   []<-chan struct{}
		conflicts int
	)
	for range 50 {
		wg.Go(func() {
			_, done, err := h.d.Apply(context.Background(), ApplyRequest{RunID: run.ID, By: "carol", Channel: landform.ChannelAPI})
			mu.Lock()
			defer mu.Unlock()
			switch landform.ErrorCode(err) {
			case "":
				started = append(started, done)
			case landform.ECONFLICT:
				conflicts++
			default:
				t.Errorf("apply: %v", err)
			}
		})
	}
	wg.Wait()
	close(ap.block)
	if len(started) != 1 || conflicts != 49 {
		t.Fatalf("50 concurrent applies: %d started, %d conflicts", len(started), conflicts)
	}
	<-started[0]
	if n := ap.count("app"); n != 1 {
		t.Errorf("terraform apply ran %d times", n)
	}
}

func TestApplyRefusesSupersededAndTamperedPlans(t *testing.T) {
	pol, ap := newFakePolicy(), newFakeApplier()
	h, src, _ := applyHarness(t, pol, ap, landform.PullRequest{Number: 7, Author: "alice"})
	h.start()
	ev := h.polled("infra")
	run, ev := planPR(h, src, ev, "p1", "app")
	if _, err := approve(h, run.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	// The head moves after the approval, before a poll saw it: the old
	// approval applies nothing, and the run is superseded.
	src.setRef("refs/pull/7/head", "p2")
	_, _, err := h.d.Apply(t.Context(), ApplyRequest{RunID: run.ID, By: "carol", Channel: landform.ChannelCLI})
	if landform.ErrorCode(err) != landform.ECONFLICT || !strings.Contains(err.Error(), "superseded") {
		t.Fatalf("apply after a push: %v", err)
	}
	if got, _ := h.db.GetRun(t.Context(), run.ID); got.State != landform.StateSuperseded {
		t.Errorf("run after a push: %s, want superseded", got.State)
	}

	// A tampered artifact: the stored plan no longer hashes to the
	// approved sha256.
	src.affect("p2", "app")
	ev = h.round(ev)
	run2 := h.finished("app")
	if _, err := approve(h, run2.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	// Someone with the plan store's directory rewrites the artifact,
	// manifest and all: the store reads it as whole, the sha256 bound to
	// the approval refuses it.
	if err := os.RemoveAll(filepath.Join(h.plansDir, run2.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.d.Runner.plans.Put(t.Context(), run2.ID, &landform.PlanArtifact{Plan: []byte("destroy everything"), JSON: []byte("{}")}); err != nil {
		t.Fatal(err)
	}
	done, err := applyAndWait(t, h, run2.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if done.State != landform.StateApplyFailed || !strings.Contains(done.Apply.Error, "not the approved") || ap.count("app") != 0 {
		t.Errorf("tampered plan: %s %+v, applied %d", done.State, done.Apply, ap.count("app"))
	}
}

func TestStalePlanIsPlannedAgain(t *testing.T) {
	pol, ap := newFakePolicy(), newFakeApplier()
	h, src, _ := applyHarness(t, pol, ap, landform.PullRequest{Number: 7, Author: "alice"})
	h.start()
	run, _ := planPR(h, src, h.polled("infra"), "p1", "app")
	if _, err := approve(h, run.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	ap.fail(fmt.Errorf("terraform apply in app: Error: Saved plan is stale: %w", landform.ErrStalePlan))
	done, err := applyAndWait(t, h, run.ID, "carol")
	if err != nil {
		t.Fatal(err)
	}
	if done.State != landform.StateStale || done.Apply.Replan == "" {
		t.Fatalf("stale apply: %s %+v", done.State, done.Apply)
	}
	replan := h.finished("app")
	if replan.ID != done.Apply.Replan || replan.State != landform.StatePlanned || replan.Commit != "p1" {
		t.Errorf("re-plan: %+v, want run %s planned at p1", replan, done.Apply.Replan)
	}
	// The fresh plan needs its own approval.
	if _, _, err := h.d.Apply(t.Context(), ApplyRequest{RunID: replan.ID, By: "carol", Channel: landform.ChannelAPI}); landform.ErrorCode(err) != landform.ECONFLICT {
		t.Errorf("apply of the unapproved re-plan: %v", err)
	}
}

func TestApplyRequirements(t *testing.T) {
	pol, ap := newFakePolicy(), newFakeApplier()
	h, src, f := applyHarness(t, pol, ap, landform.PullRequest{Number: 7, Author: "alice", Mergeable: landform.MergeableNo})
	h.start()
	run, _ := planPR(h, src, h.polled("infra"), "p1", "app")
	if _, err := approve(h, run.ID, "carol"); err != nil {
		t.Fatal(err)
	}
	pol.set(func(r *landform.ApprovalRules) { r.Requirements = append(r.Requirements, landform.RequireMergeable) })
	if _, _, err := h.d.Apply(t.Context(), ApplyRequest{RunID: run.ID, By: "carol"}); landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "not mergeable") {
		t.Errorf("unmergeable: %v", err)
	}
	pol.set(func(r *landform.ApprovalRules) { r.Mode = landform.ApplyOnMerge })
	if _, _, err := h.d.Apply(t.Context(), ApplyRequest{RunID: run.ID, By: "carol"}); landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "on merge") {
		t.Errorf("on_merge from the pull request: %v", err)
	}
	pol.set(func(r *landform.ApprovalRules) { r.Mode = landform.ApplyBeforeMerge })
	f.mu.Lock()
	f.prs[0].Mergeable = landform.MergeableYes
	f.mu.Unlock()
	if done, err := applyAndWait(t, h, run.ID, "carol"); err != nil || done.State != landform.StateApplied {
		t.Errorf("mergeable: %v %+v", err, done)
	}
}

func TestRequiredApprovalsFromPolicies(t *testing.T) {
	pol, ap := newFakePolicy(), newFakeApplier()
	pol.teams["team:dba"] = []string{"dana", "erin"}
	h, src, _ := applyHarness(t, pol, ap, landform.PullRequest{Number: 7, Author: "alice"})
	h.start()
	run, _ := planPR(h, src, h.polled("infra"), "p1", "app")
	run.Policy = &landform.PolicyResult{RequireApprovals: []landform.ApprovalRequirement{{Count: 2, From: []string{"team:dba"}, Package: "landform.destroy_approvals"}}}
	if err := h.db.UpdateRun(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		by   string
		want landform.RunState
	}{{"carol", landform.StateAwaitingApproval}, {"carol", landform.StateAwaitingApproval}, {"dana", landform.StateAwaitingApproval}, {"erin", landform.StateApproved}} {
		got, err := approve(h, run.ID, step.by)
		if err != nil || got.State != step.want {
			t.Fatalf("approval by %s: %v, %s; want %s", step.by, err, got.State, step.want)
		}
	}
}
