package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

// The daemon judges every plan with policies: a built-in from the server
// config and the repository's own, read from its default branch only.

const teamPolicy = `package landform.team

deny contains "terraform_data.forbidden is not allowed here" if {
	some rc in input.plan.resource_changes
	rc.address == "terraform_data.forbidden"
}
`

func policyInfra(t *testing.T) (*watchedInfra, string) {
	t.Helper()
	files := map[string]string{
		"envs/db/main.tf":                   `resource "terraform_data" "db" { input = "v1" }` + "\n",
		"envs/app/main.tf":                  `resource "terraform_data" "app" { input = "v1" }` + "\n",
		".landform/policies/team.rego":      teamPolicy,
		".landform/policies/team_test.rego": "package landform.team_test\n\ntest_nothing if true\n",
	}
	w := &watchedInfra{srv: tftest.StartGitServer(t), dataDir: t.TempDir()}
	w.bare = w.srv.NewBare("infra")
	w.work = newPushRepo(t, w.srv.URL("infra"), files)
	w.config = daemonConfig(t, w.dataDir, repoYAML("infra", w.srv.URL("infra"), "pull_requests: true"), `policies:
  owners: [alice]
  sets:
    - name: guard
      source: builtin
      workspaces: ["envs/db"]
      params:
        forbid_addresses: {addresses: ["terraform_data.db"]}
    - name: team
      source: repo`)
	w.d = startDaemon(t, w.config, w.dataDir)
	w.d.waitLog(30*time.Second, "watching branch", "infra")
	return w, w.config
}

func TestDaemonPoliciesDenyRecordAndOverride(t *testing.T) {
	t.Parallel()
	w, cfg := policyInfra(t)
	d := w.d

	// A change to the protected address is denied by the built-in.
	sha := w.work.change("refs/heads/main", map[string]string{"envs/db/main.tf": `resource "terraform_data" "db" { input = "v2" }` + "\n"})
	runs := d.waitRuns(time.Minute, "the db plan judged", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Commit == sha && r.State == "policy_failed" })) == 1
	})
	denied := runsOf(runs, func(r daemonRun) bool { return r.Commit == sha })[0]

	// The ledger record names the rule.
	waitFor(t, time.Minute, "the ledger record of the denied run", func() bool {
		out, err := gitOutput(w.bare, "show", fmt.Sprintf("landform/ledger:runs/envs/db/%s.md", denied.ID))
		return err == nil && strings.Contains(out, "landform.forbid_addresses") && strings.Contains(out, "terraform_data.db")
	})

	// `policy eval` on the stored plan JSON decides the same.
	planFile := filepath.Join(t.TempDir(), "plan.json")
	res := landform(t, "--data-dir", w.dataDir, "show", denied.ID, "--plan-json")
	if res.Code != 0 || os.WriteFile(planFile, []byte(res.Stdout), 0o644) != nil {
		t.Fatalf("show --plan-json: exit %d\n%s", res.Code, res.Stderr)
	}
	var decision struct {
		Allowed bool     `json:"allowed"`
		Deny    []string `json:"deny"`
	}
	landformJSON(t, 2, &decision, "policy", "eval", "--plan", planFile, "--config", cfg, "--workspace", "envs/db", "--json")
	if decision.Allowed || len(decision.Deny) != 1 || !strings.Contains(decision.Deny[0], "landform.forbid_addresses") {
		t.Errorf("policy eval: %+v", decision)
	}

	// Only a policy owner may override it, with a reason; the override
	// reaches the ledger.
	if res := landform(t, "--data-dir", w.dataDir, "approve", denied.ID, "--override-policy", "trust me", "--as", "mallory", "--config", cfg); res.Code != 1 ||
		!strings.Contains(res.Stderr, "not a policy owner") {
		t.Errorf("override by mallory: exit %d\n%s", res.Code, res.Stderr)
	}
	if res := landform(t, "--data-dir", w.dataDir, "approve", denied.ID, "--override-policy", "planned migration", "--as", "alice", "--config", cfg); res.Code != 0 {
		t.Fatalf("override by alice: exit %d\n%s", res.Code, res.Stderr)
	}
	var shown struct {
		State  string `json:"state"`
		Policy struct {
			Override struct {
				By     string `json:"by"`
				Reason string `json:"reason"`
			} `json:"override"`
		} `json:"policy"`
	}
	landformJSON(t, 0, &shown, "--data-dir", w.dataDir, "show", denied.ID, "--json")
	if shown.State != "planned" || shown.Policy.Override.By != "alice" || shown.Policy.Override.Reason != "planned migration" {
		t.Errorf("after the override: %+v", shown)
	}
	waitFor(t, time.Minute, "the override in the ledger", func() bool {
		out, err := gitOutput(w.bare, "show", fmt.Sprintf("landform/ledger:runs/envs/db/%s.md", denied.ID))
		return err == nil && strings.Contains(out, "**overridden** by alice") && strings.Contains(out, "planned migration")
	})
}

func TestDaemonRepoPoliciesComeFromTheDefaultBranch(t *testing.T) {
	t.Parallel()
	w, _ := policyInfra(t)
	d := w.d

	// A pull request that adds the forbidden resource and, in the same
	// commit, deletes the rule: the rule of the default branch judges it.
	w.work.Git("checkout", "-q", "-b", "sneaky")
	prSHA := w.work.change("refs/pull/1/head", map[string]string{
		"envs/app/main.tf":             `resource "terraform_data" "app" { input = "v1" }` + "\n" + `resource "terraform_data" "forbidden" {}` + "\n",
		".landform/policies/team.rego": "package landform.team\n\nwarn contains \"rules relaxed\" if true\n",
	})
	runs := d.waitRuns(time.Minute, "the pull request's plan judged", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool {
			return r.Commit == prSHA && r.Workspace == "envs/app" && r.State != "queued" && r.State != "running"
		})) == 1
	})
	run := runsOf(runs, func(r daemonRun) bool { return r.Commit == prSHA && r.Workspace == "envs/app" })[0]
	if run.State != "policy_failed" {
		t.Fatalf("the pull request's run is %s (%s), want policy_failed by the default branch's rule", run.State, run.Error)
	}
	var shown struct {
		Policy struct {
			Deny []struct {
				Set     string `json:"set"`
				Message string `json:"message"`
			} `json:"deny"`
		} `json:"policy"`
	}
	landformJSON(t, 0, &shown, "--data-dir", w.dataDir, "show", run.ID, "--json")
	if b, _ := json.Marshal(shown); !strings.Contains(string(b), "terraform_data.forbidden is not allowed here") {
		t.Errorf("the verdict: %s", b)
	}

	// A broken policy on the default branch fails the next plan with its
	// file and line: it never passes silently.
	w.work.Git("checkout", "-q", "main")
	sha := w.work.change("refs/heads/main", map[string]string{
		".landform/policies/broken.rego": "package landform.broken\n\ndeny contains msg if {\n",
		"envs/app/main.tf":               `resource "terraform_data" "app" { input = "v3" }` + "\n",
	})
	runs = d.waitRuns(time.Minute, "the plan after the broken policy", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Commit == sha && r.State == "errored" })) == 1
	})
	broken := runsOf(runs, func(r daemonRun) bool { return r.Commit == sha })[0]
	if !strings.Contains(broken.Error, ".landform/policies/broken.rego:") {
		t.Errorf("the error of a run judged by a broken policy does not name its file and line:\n%s", broken.Error)
	}
}

func TestPolicyTestCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, src := range map[string]string{
		"team.rego":      teamPolicy,
		"team_test.rego": "package landform.team_test\n\nimport data.landform.team\n\ntest_denies if {\n\tcount(team.deny) == 1 with input as {\"plan\": {\"resource_changes\": [{\"address\": \"terraform_data.forbidden\"}]}}\n}\n\ntest_wrong if {\n\tcount(team.deny) == 2 with input as {\"plan\": {\"resource_changes\": []}}\n}\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res := landform(t, "policy", "test", dir)
	if res.Code != 1 || !strings.Contains(res.Stdout, "test_denies: PASS") || !strings.Contains(res.Stdout, "test_wrong: FAIL") {
		t.Errorf("policy test: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}

func TestValidateCompilesPolicies(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bad.rego"), []byte("package landform.bad\n\ndeny contains msg if {\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := daemonConfig(t, t.TempDir(), repoYAML("infra", "https://git.example.com/org/infra.git"),
		"policies:\n  sets:\n    - {name: guard, source: builtin}\n    - {name: local, source: 'dir:"+dir+"'}")
	res := landform(t, "validate", "--config", cfg)
	if res.Code != 1 || !strings.Contains(res.Stderr, "bad.rego:") {
		t.Errorf("validate with a broken policy: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}
