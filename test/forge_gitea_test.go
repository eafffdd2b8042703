package test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/test/giteatest"
	"github.com/landform/landform/test/tftest"
)

// A pull request on a real Gitea: the daemon plans it, keeps one preview
// comment up to date and sets a status per workspace; a webhook makes it
// plan before the next poll; a forged one is refused; a comment that cannot
// be posted while Gitea is down is posted once it is back.

const (
	hookSecret  = "landform-hook-secret"
	previewMark = "<!-- landform:preview:0 -->"
)

// giteaScene is a Gitea with a repository, its working copy, a pull request
// and a daemon watching it.
type giteaScene struct {
	t     testing.TB
	gitea *giteatest.Server
	repo  string
	work  *tftest.GitRepo
	pr    int
	d     *daemon
	cloud string
}

func workspaceFile(name, extra string) string {
	return fmt.Sprintf(`resource "terraform_data" "%s" {
  input = "%s"
}
%s`, name, name, extra)
}

// newGiteaScene pushes two workspaces to main, a change of envs/a to a
// branch, opens a pull request of it and starts a daemon that polls every
// pollEvery.
func newGiteaScene(t testing.TB, pollEvery string, files map[string]string, extra ...string) *giteaScene {
	t.Helper()
	g := giteatest.Start(t)
	s := &giteaScene{t: t, gitea: g, repo: "infra"}
	g.CreateRepo(t, s.repo)
	s.work = tftest.NewGitRepo(t)
	base := map[string]string{
		"envs/a/main.tf": workspaceFile("a", ""),
		"envs/b/main.tf": workspaceFile("b", ""),
	}
	s.work.Write(base).Commit("initial")
	s.work.Git("push", g.CloneURL(s.repo), "main")
	s.work.Git("checkout", "-b", "feature")
	change := map[string]string{"envs/a/main.tf": workspaceFile("a", `resource "terraform_data" "a2" {}`+"\n")}
	for k, v := range files {
		change[k] = v
	}
	s.work.Write(change).Commit("change a")
	s.work.Git("push", g.CloneURL(s.repo), "feature")
	s.pr = g.CreatePullRequest(t, s.repo, "feature", "main", "Change envs/a")

	dataDir := t.TempDir()
	repoURL := strings.Replace(g.CloneURL(s.repo), "admin:"+g.Token()+"@", "", 1)
	cfg := daemonConfig(t, dataDir, fmt.Sprintf(`  - name: infra
    url: %s
    poll_interval: %s
    pull_requests: true
    auth: {token_env: GITEA_TOKEN, username: admin}
    forge:
      kind: gitea
      url: %s
      token_env: GITEA_TOKEN
      webhook_secret_env: HOOK_SECRET
`, repoURL, pollEvery, g.URL()), append(extra, "external_url: https://landform.example.com")...)
	s.cloud = cloudOf(t, cfg)
	s.d = startDaemon(t, cfg, dataDir, "GITEA_TOKEN="+g.Token(), "HOOK_SECRET="+hookSecret)
	return s
}

// cloudOf returns the TESTCLOUD_ROOT a daemon config gives terraform.
func cloudOf(t testing.TB, cfg string) string {
	t.Helper()
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "TESTCLOUD_ROOT: "); ok {
			return v
		}
	}
	t.Fatal("no TESTCLOUD_ROOT in the daemon config")
	return ""
}

// preview waits until the pull request has Landform's preview comment for
// commit (its short SHA in the heading) showing every workspace of ws
// planned, and returns it.
func (s *giteaScene) preview(timeout time.Duration, commit string, ws ...string) giteatest.Comment {
	s.t.Helper()
	var found giteatest.Comment
	waitFor(s.t, timeout, fmt.Sprintf("the preview of %s with %v planned", commit[:12], ws), func() bool {
		for _, c := range s.gitea.Comments(s.t, s.repo, s.pr) {
			if !strings.Contains(c.Body, previewMark) || !strings.Contains(c.Body, commit[:12]) {
				continue
			}
			all := true
			for _, w := range ws {
				all = all && strings.Contains(c.Body, "| `"+w+"` | 📝 planned |")
			}
			if all {
				found = c
				return true
			}
		}
		return false
	})
	return found
}

func (s *giteaScene) previews() int {
	n := 0
	for _, c := range s.gitea.Comments(s.t, s.repo, s.pr) {
		if strings.Contains(c.Body, previewMark) {
			n++
		}
	}
	return n
}

func TestGiteaPullRequestPreviewAndStatuses(t *testing.T) {
	t.Parallel()
	s := newGiteaScene(t, "1s", nil)
	head := s.work.Head()
	c := s.preview(2*time.Minute, head, "envs/a")
	for _, want := range []string{"Landform plan for #", "`envs/a`", "planned", "+2 ~0 -0 ±0", "landform approve", "https://landform.example.com/runs/"} {
		if !strings.Contains(c.Body, want) {
			t.Errorf("preview lacks %q:\n%s", want, c.Body)
		}
	}
	if strings.Contains(c.Body, "envs/b") {
		t.Errorf("the preview shows envs/b, which the pull request does not touch:\n%s", c.Body)
	}
	// The run carries the pull request as the forge describes it.
	var doc struct {
		Runs []struct {
			Workspace   string `json:"workspace"`
			PullRequest struct {
				Number     int    `json:"number"`
				Author     string `json:"author"`
				BaseBranch string `json:"base_branch"`
			} `json:"pull_request"`
		} `json:"runs"`
	}
	landformJSON(t, 0, &doc, "--data-dir", s.d.dataDir, "runs", "--json")
	if len(doc.Runs) == 0 || doc.Runs[0].PullRequest.Number != s.pr || doc.Runs[0].PullRequest.Author != s.gitea.Admin() ||
		doc.Runs[0].PullRequest.BaseBranch != "main" {
		t.Errorf("runs --json: %+v, want pull request #%d by %s onto main", doc.Runs, s.pr, s.gitea.Admin())
	}
	waitFor(t, time.Minute, "a success status of envs/a", func() bool {
		for _, st := range s.gitea.Statuses(t, s.repo, head) {
			if st.Context == "landform/plan: envs/a" && st.State == "success" && strings.HasPrefix(st.TargetURL, "https://landform.example.com/runs/") {
				return true
			}
		}
		return false
	})

	// Another push: the same comment is edited and says what changed.
	s.work.Write(map[string]string{"envs/b/main.tf": workspaceFile("b", `resource "terraform_data" "b2" {}`+"\n")}).Commit("change b")
	s.work.Git("push", s.gitea.CloneURL(s.repo), "feature")
	head2 := s.work.Head()
	c2 := s.preview(2*time.Minute, head2, "envs/a", "envs/b")
	if c2.ID != c.ID {
		t.Errorf("a new comment (%d) instead of editing %d", c2.ID, c.ID)
	}
	if n := s.previews(); n != 1 {
		t.Errorf("%d preview comments, want 1", n)
	}
	if !strings.Contains(c2.Body, "Since `"+head[:12]+"`") || !strings.Contains(c2.Body, "`envs/b` (new)") {
		t.Errorf("the edited preview does not say what changed since %s:\n%s", head[:12], c2.Body)
	}
}

func TestGiteaWebhookTriggersThePlanAndForgeriesAreRefused(t *testing.T) {
	t.Parallel()
	// Polls every hour: only a webhook can make the daemon see a push.
	s := newGiteaScene(t, "1h", nil)
	first := s.preview(2*time.Minute, s.work.Head(), "envs/a") // the first poll, at start
	addr := s.d.listenAddr()
	polls := s.d.polls("infra")

	// A forged delivery is refused and triggers nothing.
	body := []byte(`{"ref":"refs/heads/feature","repository":{"full_name":"admin/infra"}}`)
	mac := hmac.New(sha256.New, []byte("not-the-secret"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/gitea", bytes.NewReader(body))
	req.Header.Set("X-Gitea-Event", "push")
	req.Header.Set("X-Gitea-Delivery", "forged-1")
	req.Header.Set("X-Gitea-Signature", hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("forged delivery: HTTP %d, want 401", resp.StatusCode)
	}
	if n := s.d.polls("infra"); n != polls {
		t.Errorf("a forged delivery triggered a poll (%d → %d)", polls, n)
	}

	// Gitea's own, signed delivery of a push plans it before the next poll.
	s.gitea.AddWebhook(t, s.repo, "http://"+addr+"/webhooks/gitea", hookSecret)
	s.work.Write(map[string]string{"envs/b/main.tf": workspaceFile("b", `resource "terraform_data" "b3" {}`+"\n")}).Commit("change b")
	s.work.Git("push", s.gitea.CloneURL(s.repo), "feature")
	c := s.preview(2*time.Minute, s.work.Head(), "envs/a", "envs/b")
	if c.ID != first.ID {
		t.Errorf("after the webhook: comment %d (first %d):\n%s", c.ID, first.ID, c.Body)
	}
}

func TestGiteaOutageDelaysThePreviewNeverLosesIt(t *testing.T) {
	t.Parallel()
	// envs/slow reads a data source that blocks for a few seconds: Gitea
	// is stopped while its plan runs.
	slow := `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
provider "testcloud" {}
data "testcloud_hang" "h" {
  name    = "outage"
  seconds = 4
}
resource "terraform_data" "after" {
  input = data.testcloud_hang.h.name
}
`
	// The provider writes its marker in the test cloud's directory: the
	// operator lets the sandbox see it.
	s := newGiteaScene(t, "1s", map[string]string{"envs/slow/main.tf": slow}, "  sandbox_paths: {read_write: [{{cloud}}]}")
	marker := filepath.Join(s.cloud, "hang", "outage.json")
	waitFor(t, 2*time.Minute, "the slow plan to start", func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
	s.gitea.Stop()
	s.d.waitLog(2*time.Minute, "forge: delivery failed")
	runs := s.d.waitRuns(time.Minute, "the slow plan to finish", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Workspace == "envs/slow" && r.State == "planned" })) == 1
	})
	if len(runs) == 0 {
		t.Fatal("no runs")
	}
	s.gitea.Restart(t)
	s.preview(3*time.Minute, s.work.Head(), "envs/a", "envs/slow")
}

// TestGiteaCanariesReachNoOutlet: a secret in a testcloud_secret value, a
// value matched by a redact pattern and the value of an environment
// variable Landform passes to terraform appear in no comment, status,
// ledger file or log line — including through an errored plan's message.
func TestGiteaCanariesReachNoOutlet(t *testing.T) {
	t.Parallel()
	const (
		secretCanary = "canary-secret-value-31337"
		redactCanary = "CANARY2-8675309"
		envCanary    = "canary-env-value-4242"
	)
	provider := `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
provider "testcloud" {}
`
	files := map[string]string{
		"envs/secret/main.tf": provider + `resource "testcloud_secret" "s" {
  name  = "db-password"
  value = "` + secretCanary + `"
}
`,
		"envs/a/main.tf": workspaceFile("a", `resource "terraform_data" "r" { input = "`+redactCanary+`" }
variable "canary" { type = string }
resource "terraform_data" "e" { input = var.canary }
`),
		"envs/broken/main.tf": `variable "canary" { type = string }
output "x" { value = file("missing-${var.canary}.txt") }
`,
	}
	s := newGiteaScene(t, "1s", files,
		"  pass_env: [TF_VAR_canary]", // inside terraform: (after its env)
		"redact: ['CANARY2-[0-9]+']",
		"ledger: true")
	s.d.signal(syscall.SIGKILL) // restarted with the canary in its environment
	<-s.d.done
	s.d = startDaemon(t, s.d.config, s.d.dataDir, "GITEA_TOKEN="+s.gitea.Token(), "HOOK_SECRET="+hookSecret, "TF_VAR_canary="+envCanary)
	head := s.work.Head()
	s.preview(2*time.Minute, head, "envs/a", "envs/secret")
	// The errored workspace and the ledger: wait for their outcome too.
	waitFor(t, time.Minute, "the status of envs/broken", func() bool {
		for _, st := range s.gitea.Statuses(t, s.repo, head) {
			if st.Context == "landform/plan: envs/broken" && st.State == "failure" {
				return true
			}
		}
		return false
	})
	ledger := t.TempDir()
	waitFor(t, 2*time.Minute, "the ledger branch on Gitea", func() bool {
		_, err := gitOutput(".", "clone", "--quiet", "--branch", "landform/ledger", s.gitea.CloneURL(s.repo), filepath.Join(ledger, "l"))
		return err == nil
	})

	var outlets []string
	for _, c := range s.gitea.Comments(t, s.repo, s.pr) {
		outlets = append(outlets, "comment: "+c.Body)
	}
	for _, st := range s.gitea.Statuses(t, s.repo, head) {
		outlets = append(outlets, "status: "+st.Description+" "+st.TargetURL)
	}
	err := filepath.WalkDir(filepath.Join(ledger, "l"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		outlets = append(outlets, "ledger "+p+": "+string(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	outlets = append(outlets, "log: "+s.d.logs.String())
	var sawBroken, sawRedacted bool
	for _, o := range outlets {
		for _, canary := range []string{secretCanary, redactCanary, envCanary} {
			if i := strings.Index(o, canary); i >= 0 {
				t.Errorf("canary %q in %s: …%s…", canary, o[:min(len(o), 40)], o[max(0, i-300):min(len(o), i+100)])
			}
		}
		sawBroken = sawBroken || strings.Contains(o, "envs/broken") && strings.Contains(o, "missing-")
		sawRedacted = sawRedacted || strings.Contains(o, "***")
	}
	if !sawBroken || !sawRedacted {
		t.Errorf("the outlets do not show the errored plan (%v) or a mask (%v): the test looked at nothing", sawBroken, sawRedacted)
	}
}
