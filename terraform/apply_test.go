package terraform

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landform/landform"
)

// TestApplySavedPlan: Engine.Apply applies exactly a saved plan (moved to
// another file, as the runner does with the stored artifact) and returns
// terraform's summary; applying it again, after the state moved, is
// ErrStalePlan.
func TestApplySavedPlan(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	dir := workspaceDir(t, map[string]string{
		"main.tf": `terraform {
  backend "local" { path = "state/a.tfstate" }
}
resource "terraform_data" "a" { input = "x" }
resource "terraform_data" "b" { input = "y" }
`,
	})
	res, err := e.Plan(testContext(t), PlanRequest{Dir: dir, Name: "envs/a"})
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(t.TempDir(), "approved.tfplan")
	if err := os.WriteFile(saved, res.Artifact.Plan, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := e.Apply(testContext(t), PlanRequest{Dir: dir, Name: "envs/a"}, saved)
	if err != nil {
		t.Fatal(err)
	}
	if out.Summary != "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." {
		t.Errorf("summary %q; output:\n%s", out.Summary, out.Output)
	}
	if _, err := os.Stat(filepath.Join(dir, "state", "a.tfstate")); err != nil {
		t.Errorf("no state after the apply: %v", err)
	}
	// A plan made on that state, applied twice: the second time the state
	// has moved under it. (A plan made on no state at all is not checked
	// by terraform: Landform's state machine never applies one twice.)
	if err := os.WriteFile(filepath.Join(dir, "c.tf"), []byte(`resource "terraform_data" "c" { input = "z" }`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = e.Plan(testContext(t), PlanRequest{Dir: dir, Name: "envs/a"})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(saved, res.Artifact.Plan, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Apply(testContext(t), PlanRequest{Dir: dir, Name: "envs/a"}, saved); err != nil {
		t.Fatal(err)
	}
	_, err = e.Apply(testContext(t), PlanRequest{Dir: dir, Name: "envs/a"}, saved)
	if !errors.Is(err, landform.ErrStalePlan) || !strings.Contains(err.Error(), "stale") {
		t.Errorf("applying the same plan again: %v, want ErrStalePlan", err)
	}
}

func TestApplySummary(t *testing.T) {
	for out, want := range map[string]string{
		"terraform_data.a: Creating...\n\nApply complete! Resources: 1 added, 0 changed, 0 destroyed.\n\nOutputs:\n": "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.",
		"nothing": "",
	} {
		if got := ApplySummary(out); got != want {
			t.Errorf("ApplySummary(%q) = %q, want %q", out, got, want)
		}
	}
}
