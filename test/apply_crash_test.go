package test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

// hangWorkspace creates a bucket, then reads a testcloud_hang whose name is
// the bucket's ID: known only once the bucket exists, so terraform reads
// it during apply, and the apply blocks there.
func hangWorkspace(cloud string) string {
	return fmt.Sprintf(`terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
  backend "local" { path = "%s/state/crash.tfstate" }
}
provider "testcloud" {}
resource "testcloud_bucket" "x" { name = "crash-bucket" }
data "testcloud_hang" "h" {
  name    = testcloud_bucket.x.id
  seconds = 600
}
`, cloud)
}

// TestKilledWhileApplyingIsNeverRetried: a daemon killed (SIGKILL) while
// terraform applies leaves the run applying; the next start flags it
// interrupted and for a person, keeps the workspace lock, applies nothing
// again, and the ledger says so.
func TestKilledWhileApplyingIsNeverRetried(t *testing.T) {
	t.Parallel()
	srv := tftest.StartGitServer(t)
	bare := srv.NewBare("infra")
	dataDir := t.TempDir()
	cfg := daemonConfig(t, dataDir, repoYAML("infra", srv.URL("infra")),
		"  sandbox_paths: {read_write: [{{cloud}}]}",
		"api: {tokens: [{identity: carol, token_env: CAROL_API_TOKEN}]}")
	cloud := cloudOf(t, cfg)
	work := newPushRepo(t, srv.URL("infra"), map[string]string{"README.md": "# infra\n"})
	env := []string{"CAROL_API_TOKEN=" + approveAPIToken}
	d := startDaemon(t, cfg, dataDir, env...)
	d.waitLog(60*time.Second, "watching branch", "infra")

	// A push to main is planned and waits for an approval; carol
	// approves it on the local store, beside the daemon.
	head := work.change("refs/heads/main", map[string]string{"envs/crash/main.tf": hangWorkspace(cloud)})
	runs := d.waitRuns(3*time.Minute, "the plan", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Commit == head && r.State == "planned" })) == 1
	})
	id := runsOf(runs, func(r daemonRun) bool { return r.Commit == head })[0].ID
	landformCode(t, 0, env, "approve", id, "--as", "carol", "--config", cfg)

	// The apply starts through the API and blocks in the provider.
	req, err := http.NewRequest(http.MethodPost, "http://"+d.listenAddr()+"/api/v1/runs/"+id+"/apply", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+approveAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("apply: %s", resp.Status)
	}
	var marker struct {
		PID int `json:"pid"`
	}
	hangDir := filepath.Join(cloud, "hang")
	waitFor(t, 2*time.Minute, "terraform applying (the hang marker)", func() bool {
		entries, err := os.ReadDir(hangDir)
		if err != nil || len(entries) == 0 {
			return false
		}
		data, err := os.ReadFile(filepath.Join(hangDir, entries[0].Name()))
		return err == nil && json.Unmarshal(data, &marker) == nil && marker.PID > 0
	})

	d.signal(syscall.SIGKILL)
	d.wait(30 * time.Second)
	// The orphaned provider would block for ten minutes: end it, as a
	// person cleaning up after the crash would.
	_ = syscall.Kill(marker.PID, syscall.SIGKILL)
	markers, _ := os.ReadDir(hangDir)

	d2 := startDaemon(t, cfg, dataDir, env...)
	d2.waitLog(60*time.Second, "an apply was interrupted by a crash", "run="+id)
	got := d2.waitRuns(30*time.Second, "the run flagged", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.ID == id && r.State == "interrupted" })) == 1
	})
	run := runsOf(got, func(r daemonRun) bool { return r.ID == id })[0]
	if !strings.Contains(run.Error, "interrupted while applying") {
		t.Errorf("the interrupted apply says %q", run.Error)
	}
	locks := landformCode(t, 0, nil, "--data-dir", dataDir, "locks")
	if !strings.Contains(locks, "envs/crash") || !strings.Contains(locks, "branch/main") {
		t.Errorf("the workspace lock was not kept:\n%s", locks)
	}
	// Applying it again is refused: it is not approved any more.
	out := landformCode(t, 1, env, "apply", id, "--server", "http://"+d2.listenAddr(), "--token-env", "CAROL_API_TOKEN")
	if !strings.Contains(out, "interrupted") {
		t.Errorf("apply of the interrupted run: %s", out)
	}
	// The ledger records the interrupted apply; nothing applied again.
	waitFor(t, time.Minute, "the interrupted run on the ledger", func() bool {
		data, err := gitOutput(bare, "show", "landform/ledger:runs/envs/crash/"+id+".json")
		return err == nil && strings.Contains(data, `"state": "interrupted"`)
	})
	again, _ := os.ReadDir(hangDir)
	if len(again) != len(markers) {
		t.Errorf("terraform ran again after the restart: %d hang markers, %d before", len(again), len(markers))
	}
}

// TestApplyOnTheLocalStore: with no daemon running, approve and apply work
// on the local store (terraform runs in the CLI); the records reach the
// ledger when the daemon starts again; a second apply is refused.
func TestApplyOnTheLocalStore(t *testing.T) {
	t.Parallel()
	srv := tftest.StartGitServer(t)
	bare := srv.NewBare("infra")
	dataDir := t.TempDir()
	cfg := daemonConfig(t, dataDir, repoYAML("infra", srv.URL("infra")),
		"  sandbox_paths: {read_write: [{{cloud}}]}",
		"approvals: {approvers: [carol]}")
	cloud := cloudOf(t, cfg)
	work := newPushRepo(t, srv.URL("infra"), map[string]string{"README.md": "# infra\n"})
	d := startDaemon(t, cfg, dataDir)
	d.waitLog(60*time.Second, "watching branch", "infra")
	head := work.change("refs/heads/main", map[string]string{"envs/a/main.tf": approveWorkspace(cloud, "local-bucket")})
	runs := d.waitRuns(3*time.Minute, "the plan", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Commit == head && r.State == "planned" })) == 1
	})
	id := runsOf(runs, func(r daemonRun) bool { return r.Commit == head })[0].ID

	// While the daemon serves the data directory, a local apply is refused.
	if out := landformCode(t, 1, nil, "apply", id, "--as", "carol", "--config", cfg); !strings.Contains(out, "landform serve") {
		t.Errorf("local apply beside the daemon: %s", out)
	}
	d.signal(syscall.SIGTERM)
	d.wait(time.Minute)

	if out := landformCode(t, 1, nil, "approve", id, "--as", "mallory", "--config", cfg); !strings.Contains(out, "mallory may not approve") {
		t.Errorf("approve by a non-approver: %s", out)
	}
	landformCode(t, 0, nil, "approve", id, "--as", "carol", "--config", cfg)
	var doc struct {
		Run struct {
			State string `json:"state"`
			Apply struct {
				By      string `json:"by"`
				Channel string `json:"channel"`
				Summary string `json:"summary"`
			} `json:"apply"`
		} `json:"run"`
	}
	res := landformIn(t, "", nil, "apply", id, "--json", "--as", "carol", "--config", cfg)
	if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &doc) != nil || doc.Run.State != "applied" ||
		doc.Run.Apply.By != "carol" || doc.Run.Apply.Channel != "cli" || !strings.HasPrefix(doc.Run.Apply.Summary, "Apply complete!") {
		t.Fatalf("local apply: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	if !bucketExists(t, cloud, "local-bucket") {
		t.Fatal("applied, but the bucket is not in the cloud")
	}
	if out := landformCode(t, 1, nil, "apply", id, "--as", "carol", "--config", cfg); !strings.Contains(out, "applied already") {
		t.Errorf("second apply: %s", out)
	}

	// The daemon's next start writes the approval and the apply to the ledger.
	startDaemon(t, cfg, dataDir)
	waitFor(t, time.Minute, "the applied run on the ledger", func() bool {
		data, err := gitOutput(bare, "show", "landform/ledger:runs/envs/a/"+id+".json")
		return err == nil && strings.Contains(data, `"state": "applied"`) && strings.Contains(data, `"carol"`)
	})
}
