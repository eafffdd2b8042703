package test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform/test/giteatest"
	"github.com/landform/landform/test/tftest"
)

// Apply on merge on a real Gitea: an approved pull request whose merge
// commit plans the same changes is applied without a new approval; one
// whose merge commit plans differently (main moved meanwhile) asks again.
// Fifty concurrent apply requests of one approved plan apply it once.
func TestApplyOnMergeOnGitea(t *testing.T) {
	t.Parallel()
	g := giteatest.Start(t)
	s := &approveScene{t: t, g: g, tokens: map[string]string{"admin": g.Token()}}
	s.tokens["carol"] = g.CreateUser(t, "carol")
	g.CreateRepo(t, "infra")
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
		"approvals: {approvers: [carol], apply: on_merge}",
		"api: {tokens: [{identity: carol, token_env: CAROL_API_TOKEN}]}")
	s.cloud = cloudOf(t, cfg)
	env := []string{"CAROL_API_TOKEN=" + approveAPIToken, "LANDFORM_TOKEN=" + approveAPIToken}
	s.work = tftest.NewGitRepo(t)
	s.work.Write(map[string]string{"envs/a/main.tf": prefixWorkspace(s.cloud, "v1")}).Commit("initial")
	s.work.Git("push", g.CloneURL("infra"), "main")
	s.d = startDaemon(t, cfg, dataDir, append(env, "GITEA_TOKEN="+g.Token())...)
	s.d.waitLog(60*time.Second, "watching branch", "infra")

	// A pull request, approved; applying it from the pull request is
	// refused: it applies on merge.
	s.work.Git("checkout", "-b", "one")
	s.work.Write(map[string]string{"envs/a/main.tf": prefixWorkspace(s.cloud, "v1", "merged-bucket")}).Commit("one")
	s.work.Git("push", g.CloneURL("infra"), "one")
	head := strings.TrimSpace(s.work.Git("rev-parse", "HEAD"))
	s.pr = g.CreatePullRequest(t, "infra", "one", "main", "One bucket")
	plan := s.waitRun("the plan", fmt.Sprintf("refs/pull/%d/head", s.pr), head, "planned")
	s.comment("carol", "landform approve "+plan.ID)
	s.waitReply("carol", "approved by carol")
	api := "http://" + s.d.listenAddr()
	if out := landformCode(t, 1, env, "apply", plan.ID, "--server", api); !strings.Contains(out, "applies on merge") {
		t.Errorf("apply from the pull request: %s", out)
	}

	// Merged: main's plan of the merge commit makes the same changes, so
	// the approval carries over and it applies.
	g.MergePullRequest(t, "infra", s.pr)
	merged := s.d.waitRuns(3*time.Minute, "the merge commit applied", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.Ref == "refs/heads/main" && r.State == "applied" })) == 1
	})
	id := runsOf(merged, func(r daemonRun) bool { return r.Ref == "refs/heads/main" && r.State == "applied" })[0].ID
	if !bucketExists(t, s.cloud, "merged-bucket") {
		t.Fatal("applied on merge, but the bucket is not there")
	}
	show := landformCode(t, 0, nil, "--data-dir", dataDir, "show", id)
	if !strings.Contains(show, "approved by carol via on_merge") {
		t.Errorf("the carried approval:\n%s", show)
	}

	// A second pull request adds a bucket named after a local of main.tf,
	// and is approved. Main then changes that local (and adds a bucket of
	// its own, applied by fifty concurrent requests: once). The merge
	// commit plans the pull request's bucket under another name than was
	// approved: asked again.
	s.work.Git("fetch", "-q", g.CloneURL("infra"), "main")
	s.work.Git("checkout", "-q", "-B", "two", "FETCH_HEAD")
	s.work.Write(map[string]string{"envs/a/two.tf": `resource "testcloud_bucket" "two" { name = "${local.prefix}-two" }` + "\n"}).Commit("two")
	s.work.Git("push", g.CloneURL("infra"), "two")
	head2 := strings.TrimSpace(s.work.Git("rev-parse", "HEAD"))
	s.pr = g.CreatePullRequest(t, "infra", "two", "main", "Two")
	plan2 := s.waitRun("the second plan", fmt.Sprintf("refs/pull/%d/head", s.pr), head2, "planned")
	s.comment("carol", "landform approve "+plan2.ID)
	s.waitReply("carol", "approved by carol")

	s.work.Git("checkout", "-q", "-B", "side", "FETCH_HEAD")
	s.work.Write(map[string]string{"envs/a/main.tf": prefixWorkspace(s.cloud, "v2", "merged-bucket", "main-only")}).Commit("main: v2, main-only")
	s.work.Git("push", g.CloneURL("infra"), "side:main")
	mainHead := strings.TrimSpace(s.work.Git("rev-parse", "HEAD"))
	direct := s.waitRun("main's own plan", "refs/heads/main", mainHead, "planned")
	landformCode(t, 0, env, "approve", direct.ID, "--server", api)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[int]int{}
	)
	for range 50 {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, api+"/api/v1/runs/"+direct.ID+"/apply", nil)
			req.Header.Set("Authorization", "Bearer "+approveAPIToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[http.StatusAccepted] != 1 || codes[http.StatusConflict] != 49 {
		t.Errorf("50 concurrent applies answered %v, want one 202 and 49 409", codes)
	}
	s.d.waitRuns(2*time.Minute, "main's plan applied", func(rs []daemonRun) bool {
		return len(runsOf(rs, func(r daemonRun) bool { return r.ID == direct.ID && r.State == "applied" })) == 1
	})
	if n := strings.Count(s.d.logs.String(), "msg=applying repo=infra workspace=envs/a run="+direct.ID+" "); n != 1 {
		t.Errorf("terraform apply of run %s started %d times", direct.ID, n)
	}
	if !bucketExists(t, s.cloud, "main-only") {
		t.Error("main's plan applied, but main-only is not in the cloud")
	}

	g.MergePullRequest(t, "infra", s.pr)
	waitFor(t, 2*time.Minute, "the pull request told the merge plan differs", func() bool {
		for _, c := range g.Comments(t, "infra", s.pr) {
			if strings.Contains(c.Body, "differently from the approved run "+plan2.ID) && strings.Contains(c.Body, "testcloud_bucket.two") {
				return true
			}
		}
		return false
	})
	if bucketExists(t, s.cloud, "v1-two") || bucketExists(t, s.cloud, "v2-two") {
		t.Error("a merge plan that differs from the approved one was applied")
	}
}

// prefixWorkspace is approveWorkspace with a local prefix.
func prefixWorkspace(cloud, prefix string, buckets ...string) string {
	return approveWorkspace(cloud, buckets...) + fmt.Sprintf("locals { prefix = %q }\n", prefix)
}
