package runner_test

import (
	"context"
	"errors"
	"strings"
	"testing"

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
