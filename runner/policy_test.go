package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
	"github.com/landform/landform/runner"
)

// policyFunc adapts a function to runner.Policies.
type policyFunc func(run *landform.Run, planJSON []byte) (*landform.PolicyResult, error)

func (f policyFunc) Evaluate(_ context.Context, run *landform.Run, planJSON []byte) (*landform.PolicyResult, error) {
	return f(run, planJSON)
}

func TestPoliciesJudgeEveryPlanWithChanges(t *testing.T) {
	planner := planFunc(func(_ context.Context, job runner.PlanJob) (*runner.PlanOutput, error) {
		changes := job.Workspace.Name != "quiet"
		return &runner.PlanOutput{
			Artifact: landform.PlanArtifact{Plan: []byte("p " + job.Workspace.Name), JSON: []byte(`{"w":"` + job.Workspace.Name + `"}`)},
			Changes:  changes,
		}, nil
	})
	var judged []string
	policies := policyFunc(func(run *landform.Run, planJSON []byte) (*landform.PolicyResult, error) {
		judged = append(judged, run.Workspace)
		if !strings.Contains(string(planJSON), run.Workspace) {
			t.Errorf("%s judged on another plan: %s", run.Workspace, planJSON)
		}
		switch run.Workspace {
		case "db":
			return &landform.PolicyResult{Deny: []landform.PolicyMessage{{Set: "builtin", Package: "landform.protect_types", Rule: "deny",
				Message: "testcloud_bucket.db (hunter2hunter2) would be destroyed"}}}, nil
		case "broken":
			return nil, errors.New("policies/bad.rego:3:5: rego_parse_error: unexpected eof token")
		case "warned":
			return &landform.PolicyResult{Warn: []landform.PolicyMessage{{Set: "team", Package: "landform.tags", Rule: "warn", Message: "no owner tag"}}}, nil
		}
		return &landform.PolicyResult{}, nil
	})
	r, db, _ := newRunner(t, planner, runner.WithPolicies(policies), runner.WithParallel(1),
		runner.WithRedactor(redact.New([]string{"hunter2hunter2"})))
	ctx := context.Background()
	ts := targets("app", "db", "broken", "warned", "quiet")
	runs, err := r.PlanBatch(ctx, source(ts...), runner.Batch{Repo: "infra", Commit: "c1", Ref: "main", Targets: ts}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, run := range runs {
		stored, err := db.GetRun(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch run.Workspace {
		case "app":
			if stored.State != landform.StatePlanned || stored.Policy == nil || stored.Policy.Denied() {
				t.Errorf("app: %s %+v", stored.State, stored.Policy)
			}
		case "db":
			if stored.State != landform.StatePolicyFailed || !stored.Policy.Denied() || stored.PlanSHA256 == "" {
				t.Errorf("db: %s %+v, want policy_failed with its plan kept", stored.State, stored.Policy)
			}
			if msg := stored.Policy.Deny[0].Message; strings.Contains(msg, "hunter2hunter2") {
				t.Errorf("a policy message kept a secret: %q", msg)
			}
		case "broken":
			if stored.State != landform.StateErrored || !strings.Contains(stored.Error, "policies/bad.rego:3:5") {
				t.Errorf("broken: %s %q, want errored naming the policy file and line", stored.State, stored.Error)
			}
		case "warned":
			if stored.State != landform.StatePlanned || len(stored.Policy.Warn) != 1 {
				t.Errorf("warned: %s %+v", stored.State, stored.Policy)
			}
		case "quiet":
			if stored.State != landform.StateNoChanges || stored.Policy != nil {
				t.Errorf("quiet: %s %+v, want no_changes and no verdict", stored.State, stored.Policy)
			}
		}
	}
	if strings.Contains(strings.Join(judged, " "), "quiet") {
		t.Errorf("judged a plan without changes: %v", judged)
	}
}

func TestOverridePolicyByAnOwnerOnly(t *testing.T) {
	ctx := context.Background()
	planner := planFunc(func(context.Context, runner.PlanJob) (*runner.PlanOutput, error) {
		return &runner.PlanOutput{Artifact: landform.PlanArtifact{Plan: []byte("p"), JSON: []byte("{}")}, Changes: true}, nil
	})
	deny := policyFunc(func(*landform.Run, []byte) (*landform.PolicyResult, error) {
		return &landform.PolicyResult{Deny: []landform.PolicyMessage{{Set: "builtin", Package: "landform.max_destroys", Rule: "deny", Message: "too many destroys"}}}, nil
	})
	r, db, _ := newRunner(t, planner, runner.WithPolicies(deny))
	ts := targets("db")
	runs, err := r.PlanBatch(ctx, source(ts...), runner.Batch{Repo: "infra", Commit: "c1", Ref: "main", Targets: ts}, nil)
	if err != nil || runs[0].State != landform.StatePolicyFailed {
		t.Fatalf("plan: %v, %+v", err, runs)
	}
	id := runs[0].ID
	owners := func(who string) bool { return who == "alice" }
	now := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)

	for _, tc := range []struct {
		o    runner.Override
		code string
	}{
		{runner.Override{RunID: id, By: "mallory", IsOwner: owners, Reason: "trust me", Now: now}, landform.EUNAUTHORIZED},
		{runner.Override{RunID: id, By: "alice", IsOwner: owners, Reason: "  ", Now: now}, landform.EINVALID},
		{runner.Override{RunID: "999", By: "alice", IsOwner: owners, Reason: "x", Now: now}, landform.ENOTFOUND},
	} {
		if _, err := runner.OverridePolicy(ctx, db, tc.o); landform.ErrorCode(err) != tc.code {
			t.Errorf("override by %q (%q): %v, want %s", tc.o.By, tc.o.Reason, err, tc.code)
		}
	}
	if stored, _ := db.GetRun(ctx, id); stored.State != landform.StatePolicyFailed || stored.Policy.Override != nil {
		t.Fatalf("refused overrides changed the run: %+v", stored)
	}

	run, err := runner.OverridePolicy(ctx, db, runner.Override{RunID: id, By: "alice", IsOwner: owners, Reason: "planned migration, see #42", Ledger: func(repo string) bool { return repo == "infra" }, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	stored, _ := db.GetRun(ctx, id)
	if stored.State != landform.StatePlanned || stored.Policy.Override == nil || stored.Policy.Override.By != "alice" ||
		stored.Policy.Override.Reason != "planned migration, see #42" || !stored.Policy.Override.At.Equal(now) || len(stored.Policy.Deny) != 1 {
		t.Errorf("after the override: %+v (returned %+v)", stored, run)
	}
	if ids, err := db.PendingLedger(ctx, "infra", 0); err != nil || len(ids) != 1 || ids[0] != id {
		t.Errorf("ledger outbox after the override: %v, %v", ids, err)
	}
	// Twice is refused: the run is no longer denied.
	if _, err := runner.OverridePolicy(ctx, db, runner.Override{RunID: id, By: "alice", IsOwner: owners, Reason: "again", Now: now}); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("second override: %v", err)
	}
}

func TestRetryLedger(t *testing.T) {
	ctx := context.Background()
	planner := planFunc(func(context.Context, runner.PlanJob) (*runner.PlanOutput, error) {
		return &runner.PlanOutput{Artifact: landform.PlanArtifact{Plan: []byte("p"), JSON: []byte("{}")}}, nil
	})
	r, db, _ := newRunner(t, planner)
	ts := targets("a")
	runs, err := r.PlanBatch(ctx, source(ts...), runner.Batch{Repo: "infra", Commit: "c1", Ref: "main", Targets: ts}, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := runs[0].ID
	if _, err := runner.RetryLedger(ctx, db, id); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("retry of a record not set aside: %v", err)
	}
	if err := db.EnqueueLedger(ctx, "infra", id); err != nil {
		t.Fatal(err)
	}
	if _, err := db.PendingLedger(ctx, "infra", 0); err != nil { // the writer took it
		t.Fatal(err)
	}
	if err := db.SetAsideLedger(ctx, "infra", id, `path ".git/x" refused`); err != nil {
		t.Fatal(err)
	}
	reason, err := runner.RetryLedger(ctx, db, id)
	if err != nil || reason != `path ".git/x" refused` {
		t.Fatalf("retry: %q, %v", reason, err)
	}
	if ids, _ := db.PendingLedger(ctx, "infra", 0); len(ids) != 1 || ids[0] != id {
		t.Errorf("pending after the retry: %v", ids)
	}
	if _, err := runner.RetryLedger(ctx, db, "999"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("retry of an unknown run: %v", err)
	}
}
