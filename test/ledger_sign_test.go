package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/test/tftest"
)

// TestDaemonSignsLedgerCommits: with ledger.signing_key_file, every ledger
// commit the daemon pushes verifies with git (an SSH signature here).
func TestDaemonSignsLedgerCommits(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is needed to make the test's key (openssh-client)")
	}
	keys := t.TempDir()
	key := filepath.Join(keys, "ledger")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "landform@test", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	allowed := filepath.Join(keys, "allowed_signers")
	if err := os.WriteFile(allowed, []byte(`landform@test namespaces="git" `+string(pub)), 0o644); err != nil {
		t.Fatal(err)
	}

	w := &watchedInfra{srv: tftest.StartGitServer(t), dataDir: t.TempDir()}
	w.bare = w.srv.NewBare("infra")
	w.work = newPushRepo(t, w.srv.URL("infra"), infraFiles())
	w.config = daemonConfig(t, w.dataDir, repoYAML("infra", w.srv.URL("infra")), "ledger: {signing_key_file: "+key+"}")
	w.d = startDaemon(t, w.config, w.dataDir)
	w.d.waitLog(30*time.Second, "watching branch", "infra")

	w.work.change("refs/heads/main", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "a2" }` + "\n"})
	w.work.change("refs/heads/main", map[string]string{"envs/b/main.tf": `resource "terraform_data" "b" { input = "b2" }` + "\n"})
	var commits []string
	waitFor(t, 2*time.Minute, "both runs on the ledger", func() bool {
		out, err := gitOutput(w.bare, "ls-tree", "-r", "--name-only", "landform/ledger")
		if err != nil || strings.Count(out, ".json") < 2 {
			return false
		}
		list, err := gitOutput(w.bare, "rev-list", "landform/ledger")
		commits = strings.Fields(list)
		return err == nil
	})
	for _, c := range commits {
		cmd := exec.Command("git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", c)
		cmd.Dir = w.bare
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `Good "git" signature for landform@test`) {
			t.Errorf("ledger commit %s does not verify: %v\n%s", c[:12], err, out)
		}
	}
}
