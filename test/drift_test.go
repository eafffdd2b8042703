package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/test/giteatest"
	"github.com/landform/landform/test/tftest"
)

// driftWorkspace is envs/a: one bucket with a tag, its state in the test
// cloud.
func driftWorkspace(cloud string) string {
	return fmt.Sprintf(`terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
  backend "local" { path = "%s/state/a.tfstate" }
}
provider "testcloud" {}
resource "testcloud_bucket" "logs" {
  name = "drift-logs"
  tags = { env = "prod" }
}
`, cloud)
}

// editBucket changes the stored bucket named name in the test cloud, as
// someone editing it by hand in the cloud's console would.
func editBucket(t *testing.T, cloud, name string, edit func(map[string]any)) {
	t.Helper()
	dir := filepath.Join(cloud, "bucket")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var obj map[string]any
		if err := json.Unmarshal(data, &obj); err != nil || obj["name"] != name {
			continue
		}
		edit(obj)
		out, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("no bucket %s in the test cloud", name)
}

// driftIssue returns the open state and body of the repository's drift
// issue, found by its marker; ok false when there is none.
func driftIssue(t *testing.T, g *giteatest.Server) (open bool, body string, ok bool) {
	t.Helper()
	for _, is := range g.Issues(t, "infra") {
		if strings.Contains(is.Body, "<!-- landform:drift -->") {
			return is.State == "open", is.Body, true
		}
	}
	return false, "", false
}

// TestDriftSweepOnGitea: a daemon sweeping every 10 s finds a bucket edited
// outside Terraform: a drift run with the attribute that moved, a ledger
// commit, the repository's drift issue opened on Gitea; with remediation:
// plan, a plan that puts it back waits for approval, is approved and
// applied, and the next check is clean, which closes the issue.
func TestDriftSweepOnGitea(t *testing.T) {
	t.Parallel()
	g := giteatest.Start(t)
	g.CreateRepo(t, "infra")
	dataDir := t.TempDir()
	repoURL := strings.Replace(g.CloneURL("infra"), "admin:"+g.Token()+"@", "", 1)
	cfg := daemonConfig(t, dataDir, fmt.Sprintf(`  - name: infra
    url: %s
    poll_interval: 1s
    auth: {token_env: GITEA_TOKEN, username: admin}
    forge: {kind: gitea, url: %s, token_env: GITEA_TOKEN}
`, repoURL, g.URL()),
		"  sandbox_paths: {read_write: [{{cloud}}]}",
		"approvals: {approvers: [carol]}",
		"api: {tokens: [{identity: carol, token_env: CAROL_API_TOKEN}]}",
		"drift: {schedule: \"@every 10s\", remediation: plan}")
	cloud := cloudOf(t, cfg)
	env := []string{"CAROL_API_TOKEN=" + approveAPIToken, "LANDFORM_TOKEN=" + approveAPIToken}
	work := tftest.NewGitRepo(t)
	work.Write(map[string]string{"README.md": "# infra\n"}).Commit("initial")
	work.Git("push", g.CloneURL("infra"), "main")
	d := startDaemon(t, cfg, dataDir, append(env, "GITEA_TOKEN="+g.Token())...)
	d.waitLog(60*time.Second, "watching branch", "infra")

	// The bucket is created through Landform: planned, approved, applied.
	work.Write(map[string]string{"envs/a/main.tf": driftWorkspace(cloud)}).Commit("a bucket")
	work.Git("push", g.CloneURL("infra"), "main")
	head := strings.TrimSpace(work.Git("rev-parse", "HEAD"))
	runs := d.waitRuns(3*time.Minute, "the plan", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Kind == "plan" && r.Commit == head && r.State == "planned" })) == 1
	})
	plan := runsOf(runs, func(r daemonRun) bool { return r.Kind == "plan" && r.Commit == head })[0]
	api := "http://" + d.listenAddr()
	landformCode(t, 0, env, "approve", plan.ID, "--server", api)
	landformCode(t, 0, env, "apply", plan.ID, "--server", api)

	// A clean check first: no issue.
	d.waitRuns(time.Minute, "a clean drift check", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Kind == "drift" && r.Commit == head && r.State == "no_changes" })) > 0
	})
	if _, _, ok := driftIssue(t, g); ok {
		t.Fatal("a drift issue for a clean repository")
	}

	// Someone edits the bucket's tag in the cloud.
	editBucket(t, cloud, "drift-logs", func(o map[string]any) { o["tags"] = map[string]any{"env": "hacked"} })
	var body string
	waitFor(t, time.Minute, "the drift issue opened", func() bool {
		open, b, ok := driftIssue(t, g)
		body = b
		return ok && open && strings.Contains(b, "testcloud_bucket.logs")
	})
	for _, want := range []string{"1 of 1 workspaces drifted", "tags.env", "hacked", "landform approve"} {
		if !strings.Contains(body, want) {
			t.Errorf("the drift issue lacks %q:\n%s", want, body)
		}
	}
	var drift struct {
		Drift struct {
			Drifted      bool      `json:"drifted"`
			DriftedSince time.Time `json:"drifted_since"`
			Resources    []struct {
				Address, Kind string
				Attributes    []struct{ Path string }
			} `json:"resources"`
			Remediation string `json:"remediation_run"`
		} `json:"drift"`
		ID string `json:"id"`
	}
	all := d.runs()
	drifted := runsOf(all, func(r daemonRun) bool { return r.Kind == "drift" && r.State == "planned" })
	if len(drifted) == 0 {
		t.Fatalf("no drifted check among %s", toJSON(all))
	}
	landformJSON(t, 0, &drift, "--data-dir", dataDir, "show", drifted[len(drifted)-1].ID, "--json")
	if !drift.Drift.Drifted || len(drift.Drift.Resources) != 1 || drift.Drift.Resources[0].Kind != "changed" ||
		len(drift.Drift.Resources[0].Attributes) == 0 || drift.Drift.Resources[0].Attributes[0].Path != "tags.env" || drift.Drift.Remediation == "" {
		t.Fatalf("the drift run: %+v", drift)
	}

	// The ledger has the report.
	waitFor(t, time.Minute, "the drift report on the ledger", func() bool {
		ledger := t.TempDir()
		if _, err := gitOutput(ledger, "clone", "-q", "--branch", "landform/ledger", g.CloneURL("infra"), "."); err != nil {
			return false
		}
		matches, _ := filepath.Glob(filepath.Join(ledger, "drift", "*", "envs", "a.md"))
		if len(matches) == 0 {
			return false
		}
		data, err := os.ReadFile(matches[0])
		return err == nil && strings.Contains(string(data), "tags.env")
	})

	// Remediation: the plan that puts the tag back waits for carol's
	// approval, then applies; the next check is clean and closes the issue.
	remedy := drift.Drift.Remediation
	d.waitRuns(2*time.Minute, "the remediation plan", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.ID == remedy && r.State == "planned" })) == 1
	})
	landformCode(t, 0, env, "approve", remedy, "--server", api)
	if out := landformCode(t, 0, env, "apply", remedy, "--server", api); !strings.Contains(out, "0 added, 1 changed") {
		t.Errorf("the remediation's apply: %s", out)
	}
	waitFor(t, 2*time.Minute, "the drift issue closed", func() bool {
		open, _, ok := driftIssue(t, g)
		return ok && !open
	})
}
