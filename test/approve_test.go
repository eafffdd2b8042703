package test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/test/giteatest"
	"github.com/landform/landform/test/tftest"
)

// Approvals, chat-ops and apply on a real Gitea, with real terraform and
// the testcloud provider, the daemon polling comments (no webhook): a
// non-approver and the author are refused, an approver's approval lets
// "landform apply" apply exactly the approved plan; a plan the state moved
// under is stale and planned again; a push supersedes an approval; every
// ledger commit is signed.

const approveAPIToken = "carol-api-token-3f1c9e"

// approveWorkspace is envs/a with a state file in the test cloud, and the
// buckets named.
func approveWorkspace(cloud string, buckets ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
  backend "local" { path = "%s/state/a.tfstate" }
}
provider "testcloud" {}
`, cloud)
	for _, name := range buckets {
		fmt.Fprintf(&b, "resource \"testcloud_bucket\" %q { name = %q }\n", name, name)
	}
	return b.String()
}

// bucketExists reports whether the test cloud holds a bucket named name.
func bucketExists(t testing.TB, cloud, name string) bool {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(cloud, "bucket"))
	if err != nil {
		return false
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(cloud, "bucket", e.Name()))
		if err == nil && strings.Contains(string(data), `"`+name+`"`) {
			return true
		}
	}
	return false
}

// sshSigningKey makes an SSH signing key and an allowed-signers file that
// trusts it for principal.
func sshSigningKey(t testing.TB, principal string) (key, allowed string) {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is needed to make the test's key (openssh-client)")
	}
	dir := t.TempDir()
	key = filepath.Join(dir, "key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", principal, "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	allowed = filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte(principal+` namespaces="git" `+string(pub)), 0o644); err != nil {
		t.Fatal(err)
	}
	return key, allowed
}

// approveScene is the Gitea, the repository and the daemon.
type approveScene struct {
	t      *testing.T
	g      *giteatest.Server
	work   *tftest.GitRepo
	d      *daemon
	cloud  string
	pr     int
	tokens map[string]string // Gitea user → token
}

// comment posts body on the pull request as who.
func (s *approveScene) comment(who, body string) {
	s.t.Helper()
	s.g.CommentAs(s.t, s.tokens[who], "infra", s.pr, body)
}

// waitReply waits for Landform's reply to who containing every part.
func (s *approveScene) waitReply(who string, parts ...string) string {
	s.t.Helper()
	var found string
	waitFor(s.t, 90*time.Second, fmt.Sprintf("a reply to %s with %q", who, parts), func() bool {
		for _, c := range s.g.Comments(s.t, "infra", s.pr) {
			if !strings.Contains(c.Body, "<!-- landform:reply -->") || !strings.Contains(c.Body, "@"+who+":") {
				continue
			}
			all := true
			for _, p := range parts {
				all = all && strings.Contains(c.Body, p)
			}
			if all {
				found = c.Body
				return true
			}
		}
		return false
	})
	return found
}

// waitRun waits for a run of ref in state and returns it.
func (s *approveScene) waitRun(what, ref, commit, state string) daemonRun {
	s.t.Helper()
	runs := s.d.waitRuns(3*time.Minute, what, func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Ref == ref && r.Commit == commit && r.State == state })) > 0
	})
	return runsOf(runs, func(r daemonRun) bool { return r.Ref == ref && r.Commit == commit && r.State == state })[0]
}

func (s *approveScene) state(id string) string {
	s.t.Helper()
	for _, r := range s.d.runs() {
		if r.ID == id {
			return r.State
		}
	}
	s.t.Fatalf("no run %s", id)
	return ""
}

func TestApprovalsAndApplyOnGitea(t *testing.T) {
	t.Parallel()
	g := giteatest.Start(t)
	s := &approveScene{t: t, g: g, tokens: map[string]string{"admin": g.Token()}}
	for _, u := range []string{"carol", "mallory"} {
		s.tokens[u] = g.CreateUser(t, u)
	}
	g.CreateRepo(t, "infra")
	key, allowed := sshSigningKey(t, "landform@test")

	dataDir := t.TempDir()
	repoURL := strings.Replace(g.CloneURL("infra"), "admin:"+g.Token()+"@", "", 1)
	cfg := daemonConfig(t, dataDir, fmt.Sprintf(`  - name: infra
    url: %s
    poll_interval: 1s
    pull_requests: true
    lock_policy: apply
    auth: {token_env: GITEA_TOKEN, username: admin}
    forge: {kind: gitea, url: %s, token_env: GITEA_TOKEN}
`, repoURL, g.URL()),
		"  sandbox_paths: {read_write: [{{cloud}}]}",
		"ledger: {signing_key_file: "+key+"}",
		"approvals: {approvers: [carol, admin], allow_self_approval: false}",
		"api: {tokens: [{identity: carol, token_env: CAROL_API_TOKEN}]}",
		"external_url: https://landform.example.com")
	s.cloud = cloudOf(t, cfg)

	s.work = tftest.NewGitRepo(t)
	s.work.Write(map[string]string{"envs/a/main.tf": approveWorkspace(s.cloud)}).Commit("initial")
	s.work.Git("push", g.CloneURL("infra"), "main")
	s.d = startDaemon(t, cfg, dataDir, "GITEA_TOKEN="+g.Token(), "CAROL_API_TOKEN="+approveAPIToken)
	s.d.waitLog(60*time.Second, "watching branch", "infra")

	s.work.Git("checkout", "-b", "feature")
	s.work.Write(map[string]string{"envs/a/main.tf": approveWorkspace(s.cloud, "pr-bucket")}).Commit("add pr-bucket")
	s.work.Git("push", g.CloneURL("infra"), "feature")
	head := strings.TrimSpace(s.work.Git("rev-parse", "HEAD"))
	s.pr = g.CreatePullRequest(t, "infra", "feature", "main", "Add a bucket")
	prRef := fmt.Sprintf("refs/pull/%d/head", s.pr)
	plan := s.waitRun("the pull request's plan", prRef, head, "planned")

	// A non-approver, then the author (self-approval is off): refused,
	// answered on the pull request, recorded.
	s.comment("mallory", "landform approve "+plan.ID)
	s.waitReply("mallory", "mallory may not approve", "not one of its approvers")
	s.comment("admin", "Looks fine to me.\n\nlandform approve "+plan.ID)
	s.waitReply("admin", "their own change")
	s.comment("carol", "landform aprove "+plan.ID)
	s.waitReply("carol", "unknown command", "landform approve RUN")
	if st := s.state(plan.ID); st != "planned" {
		t.Fatalf("after refused approvals the run is %s", st)
	}

	// An approver.
	s.comment("carol", "landform approve "+plan.ID)
	s.waitReply("carol", "approved by carol", "landform apply "+plan.ID)
	show := landformCode(t, 0, nil, "--data-dir", dataDir, "show", plan.ID)
	for _, want := range []string{"approved", "refused: mallory via comment", "refused: admin via comment", "approved by carol via comment"} {
		if !strings.Contains(show, want) {
			t.Errorf("show lacks %q:\n%s", want, show)
		}
	}

	// Meanwhile main moves the same state: a push straight to main is
	// planned and waits for an approval like any other; carol approves it
	// through the API and applies it with the CLI through the daemon.
	s.work.Git("checkout", "main")
	s.work.Write(map[string]string{"envs/a/main.tf": approveWorkspace(s.cloud, "main-bucket")}).Commit("add main-bucket")
	s.work.Git("push", g.CloneURL("infra"), "main")
	mainHead := strings.TrimSpace(s.work.Git("rev-parse", "HEAD"))
	mainPlan := s.waitRun("main's plan", "refs/heads/main", mainHead, "planned")
	api := "http://" + s.d.listenAddr()
	out := landformCode(t, 1, []string{"LANDFORM_TOKEN=" + approveAPIToken}, "apply", mainPlan.ID, "--server", api)
	if !strings.Contains(out, "not approved") {
		t.Errorf("apply before approval: %s", out)
	}
	landformCode(t, 0, []string{"LANDFORM_TOKEN=" + approveAPIToken}, "approve", mainPlan.ID, "--server", api)
	out = landformCode(t, 0, []string{"LANDFORM_TOKEN=" + approveAPIToken}, "apply", mainPlan.ID, "--server", api)
	if !strings.Contains(out, "applied — Apply complete! Resources: 1 added") || !bucketExists(t, s.cloud, "main-bucket") {
		t.Fatalf("apply of main's plan: %s", out)
	}

	// The pull request's approved plan was made before that state: its
	// apply is refused as stale, and a fresh plan is posted.
	s.work.Git("checkout", "feature")
	s.comment("carol", "landform apply")
	s.waitReply("carol", "applying, asked by carol")
	s.d.waitRuns(2*time.Minute, "the stale apply", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.ID == plan.ID && r.State == "stale" })) == 1
	})
	if bucketExists(t, s.cloud, "pr-bucket") {
		t.Fatal("a stale plan applied something")
	}
	replan := s.waitRun("the fresh plan", prRef, head, "planned")
	if replan.ID == plan.ID {
		t.Fatal("no fresh plan")
	}

	// The fresh plan needs its own approval; then it applies.
	s.comment("carol", "landform approve all")
	s.waitReply("carol", "run "+replan.ID+": approved by carol")
	s.comment("carol", "landform apply")
	s.d.waitRuns(2*time.Minute, "the apply of the fresh plan", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.ID == replan.ID && r.State == "applied" })) == 1
	})
	if !bucketExists(t, s.cloud, "pr-bucket") {
		t.Fatal("applied, but pr-bucket is not in the cloud")
	}
	waitFor(t, time.Minute, "the apply status and the preview", func() bool {
		applyOK := false
		for _, st := range g.Statuses(t, "infra", head) {
			if st.Context == "landform/apply: envs/a" && st.State == "success" {
				applyOK = true
			}
		}
		preview := false
		for _, c := range g.Comments(t, "infra", s.pr) {
			if strings.Contains(c.Body, previewMark) && strings.Contains(c.Body, "carol") && strings.Contains(c.Body, "Apply complete!") {
				preview = true
			}
		}
		return applyOK && preview
	})

	// A push after an approval: the approval applies nothing.
	s.work.Write(map[string]string{"envs/a/main.tf": approveWorkspace(s.cloud, "pr-bucket", "second")}).Commit("add second")
	s.work.Git("push", g.CloneURL("infra"), "feature")
	head2 := strings.TrimSpace(s.work.Git("rev-parse", "HEAD"))
	second := s.waitRun("the plan of the second push", prRef, head2, "planned")
	landformCode(t, 0, []string{"LANDFORM_TOKEN=" + approveAPIToken}, "approve", second.ID, "--server", api)
	s.work.Write(map[string]string{"envs/a/main.tf": approveWorkspace(s.cloud, "pr-bucket", "third")}).Commit("add third instead")
	s.work.Git("push", g.CloneURL("infra"), "feature")
	out = landformCode(t, 1, []string{"LANDFORM_TOKEN=" + approveAPIToken}, "apply", second.ID, "--server", api)
	if !strings.Contains(out, "superseded") || bucketExists(t, s.cloud, "second") {
		t.Errorf("apply after a push: %s", out)
	}

	// The ledger: every commit signed, the approvals and the apply recorded.
	ledger := t.TempDir()
	gitRun(t, "", "clone", "-q", "--branch", "landform/ledger", g.CloneURL("infra"), ledger)
	var record struct {
		Approvals []struct {
			By       string `json:"by"`
			Channel  string `json:"channel"`
			Approved bool   `json:"approved"`
		} `json:"approvals"`
		Apply struct {
			By      string `json:"by"`
			Summary string `json:"summary"`
		} `json:"apply"`
		State string `json:"state"`
	}
	waitFor(t, time.Minute, "the applied run on the ledger", func() bool {
		gitRun(t, ledger, "pull", "-q")
		data, err := os.ReadFile(filepath.Join(ledger, "runs", "envs", "a", replan.ID+".json"))
		return err == nil && json.Unmarshal(data, &record) == nil && record.State == "applied"
	})
	if len(record.Approvals) != 1 || record.Approvals[0].By != "carol" || !strings.HasPrefix(record.Apply.Summary, "Apply complete!") {
		t.Errorf("ledger record: %+v", record)
	}
	commits := strings.Fields(gitRun(t, ledger, "rev-list", "HEAD"))
	if len(commits) < 5 {
		t.Errorf("only %d ledger commits", len(commits))
	}
	for _, c := range commits {
		out, err := gitVerify(ledger, allowed, c)
		if err != nil || !strings.Contains(out, `Good "git" signature for landform@test`) {
			t.Errorf("ledger commit %s does not verify: %v\n%s", c[:12], err, out)
		}
	}
	// A commit signed with another key is reported as such.
	other, _ := sshSigningKey(t, "mallory@test")
	gitRun(t, ledger, "-c", "user.name=mallory", "-c", "user.email=mallory@test", "-c", "gpg.format=ssh", "-c", "user.signingkey="+other,
		"commit", "-q", "-S", "--allow-empty", "-m", "forged ledger entry")
	forged := strings.TrimSpace(gitRun(t, ledger, "rev-parse", "HEAD"))
	if out, err := gitVerify(ledger, allowed, forged); err == nil || !strings.Contains(out, "No principal matched") {
		t.Errorf("a commit signed with another key verified: %v\n%s", err, out)
	}
}

// gitVerify runs git verify-commit with the allowed signers.
func gitVerify(dir, allowed, commit string) (string, error) {
	cmd := exec.Command("git", "-c", "gpg.format=ssh", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", commit)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// gitRun runs git in dir and returns its output, failing the test on error.
func gitRun(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// landformCode runs landform with env added, requires exit code want, and
// returns its stdout and stderr together.
func landformCode(t testing.TB, want int, env []string, args ...string) string {
	t.Helper()
	res := landformIn(t, "", env, args...)
	if res.Code != want {
		t.Fatalf("landform %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, res.Code, want, res.Stdout, res.Stderr)
	}
	return res.Stdout + res.Stderr
}
