package test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/landform/landform/test/tftest"
)

// TestDemo runs the README's main job as `make demo` does, without a
// person (--yes): the daemon plans a pushed commit, the plans are approved
// through the API and applied, the test cloud is edited outside Terraform
// and a drift check reports it, on the API and on the ledger branch.
func TestDemo(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	dataDir := t.TempDir()
	res := landform(t, "--data-dir", dataDir, "demo", "--yes", "--listen", "127.0.0.1:0", "--drift-every", "3s",
		"--terraform-cli-config", tools.MirrorConfig(t), "--terraform-binary", tools.Terraform)
	out := res.Stdout + res.Stderr
	if res.Code != 0 {
		log, _ := os.ReadFile(filepath.Join(dataDir, "demo", "daemon.log"))
		t.Fatalf("demo --yes: exit %d\n%s\n%s\ndaemon log:\n%s", res.Code, res.Stdout, res.Stderr, log)
	}

	// What a person is told: the dashboard, the token, the commands.
	for _, re := range []string{
		`export LANDFORM_TOKEN=lf_[a-z0-9]+`,
		`approve \d+ --server http://127\.0\.0\.1:\d+ --token-env LANDFORM_TOKEN`,
		`http://127\.0\.0\.1:\d+/runs/\d+ +envs/prod`,
		`sign in at http://127\.0\.0\.1:\d+/signin`,
		`Run \d+ \(envs/prod\) applied \(asked by demo via api\): Apply complete!`,
		`(?m)^ +envs/prod +drifted`,
		`tags\.retention: "90d" → "7d"`,
		`The dashboard's drift page: http://127\.0\.0\.1:\d+/repos/infra/drift`,
		`(?m)^    [0-9a-f]{7,} Drift infra \d{4}-\d\d-\d\d: 1 of 3 workspaces drifted`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("the demo's output lacks %s:\n%s", re, out)
		}
	}
	if strings.Contains(out, "global/dns  planned") {
		t.Error("the demo planned a workspace its change does not touch")
	}

	// The runs: both plans applied, drift checks beside them.
	var doc struct {
		Runs []struct {
			Workspace, Kind, State string
		} `json:"runs"`
	}
	landformJSON(t, 0, &doc, "--data-dir", dataDir, "runs", "--json")
	applied, drift := map[string]bool{}, 0
	for _, r := range doc.Runs {
		if r.Kind == "plan" && r.State == "applied" {
			applied[r.Workspace] = true
		}
		if r.Kind == "drift" {
			drift++
		}
	}
	if !applied["envs/prod"] || !applied["envs/staging"] || len(applied) != 2 {
		t.Errorf("applied plans: %v, want envs/prod and envs/staging", applied)
	}
	if drift == 0 {
		t.Error("no drift run stored")
	}

	// The ledger branch holds the drift report that found the edit.
	bare := filepath.Join(dataDir, "demo", "remotes", "infra.git")
	files := tftest.Git(t, bare, "ls-tree", "-r", "--name-only", "landform/ledger")
	path := regexp.MustCompile(`(?m)^drift/\d{4}-\d\d-\d\d/envs/prod\.json$`).FindString(files)
	if path == "" {
		t.Fatalf("no drift report of envs/prod on the ledger:\n%s", files)
	}
	// Each sweep of the day rewrites the file; the edit stays (the demo
	// remediates nothing), so the last one still reports it.
	var rec struct {
		Drifted   bool `json:"drifted"`
		Resources []struct {
			Address string `json:"address"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(tftest.Git(t, bare, "show", "landform/ledger:"+path)), &rec); err != nil {
		t.Fatal(err)
	}
	if !rec.Drifted || len(rec.Resources) == 0 || rec.Resources[0].Address != "module.app.module.network.testcloud_bucket.flow_logs" {
		t.Errorf("the ledger's drift record of envs/prod: %+v", rec)
	}

	// The token is the owner's only; the session is gone with the demo.
	wantMode(t, filepath.Join(dataDir, "demo", "token"), 0o600)
	if _, err := os.Stat(filepath.Join(dataDir, "demo", "session.json")); !os.IsNotExist(err) {
		t.Errorf("the session file outlives the demo: %v", err)
	}
}

// TestDemoDriftWithoutDemo: `demo drift` with no demo running says so and
// how to start one, whether no demo ever ran or one stopped.
func TestDemoDriftWithoutDemo(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	res := landform(t, "--data-dir", dataDir, "demo", "drift")
	if res.Code != 1 || !strings.Contains(res.Stderr, "no demo is running in "+dataDir) || !strings.Contains(res.Stderr, "landform demo") {
		t.Errorf("demo drift, no demo ever: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}

	// A session left behind by a demo that is gone.
	if err := os.MkdirAll(filepath.Join(dataDir, "demo"), 0o700); err != nil {
		t.Fatal(err)
	}
	session := `{"url": "http://127.0.0.1:1", "token_file": "` + filepath.Join(dataDir, "demo", "token") + `", "pid": 1}`
	if err := os.WriteFile(filepath.Join(dataDir, "demo", "session.json"), []byte(session), 0o600); err != nil {
		t.Fatal(err)
	}
	res = landform(t, "--data-dir", dataDir, "demo", "drift")
	if res.Code != 1 || !strings.Contains(res.Stderr, "no demo is running") || !strings.Contains(res.Stderr, "stopped") {
		t.Errorf("demo drift, a stale session: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
}

// TestDemoPlanOnly: the short demo plans the change's workspaces with the
// CLI, and only those.
func TestDemoPlanOnly(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	dataDir := t.TempDir()
	res := landform(t, "--data-dir", dataDir, "demo", "--plan-only", "--terraform-cli-config", tools.MirrorConfig(t), "--terraform-binary", tools.Terraform)
	if res.Code != 0 {
		t.Fatalf("demo --plan-only: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	for _, want := range []string{
		"envs/prod      module: modules/network",
		"envs/staging   module: modules/network",
		"[2/2] envs/",
		"planned",
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("demo output lacks %q:\n%s", want, res.Stderr)
		}
	}
	if strings.Contains(res.Stderr, "global/dns  planned") {
		t.Error("the demo planned a workspace its change does not touch")
	}
	var doc planDoc
	landformJSON(t, 0, &doc, "--data-dir", dataDir, "runs", "--json")
	if len(doc.Runs) != 2 {
		t.Errorf("%d runs stored, want 2", len(doc.Runs))
	}
}
