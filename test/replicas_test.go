package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/internal/pgtest"
	"github.com/landform/landform/internal/s3test"
	plans3 "github.com/landform/landform/planstore/s3"
	"github.com/landform/landform/test/tftest"
)

const replicaToken = "replica-test-token-8d2f"

// apiRunsAll lists every run through the REST API of the daemon at addr,
// following the pages.
func apiRunsAll(t *testing.T, addr string) []daemonRun {
	t.Helper()
	var all []daemonRun
	path := "/api/v1/runs?limit=500"
	for path != "" {
		code, body := apiGet(t, addr, "GET", path, replicaToken)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		var page struct {
			Runs []daemonRun `json:"runs"`
			Next string      `json:"next"`
		}
		if err := json.Unmarshal([]byte(body), &page); err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Runs...)
		path = ""
		if page.Next != "" {
			path = "/api/v1/runs?limit=500&before=" + url.QueryEscape(page.Next)
		}
	}
	return all
}

// Two replicas on one PostgreSQL database and one S3 bucket: every commit
// is planned once, every approved plan applied once whichever replica is
// asked, and when the polling replica is killed the other polls within the
// lease's TTL, losing no run and leaking no lock.
func TestReplicas(t *testing.T) {
	t.Parallel()
	dsn := pgtest.NewDatabase(t)
	s3 := s3test.Start(t)
	bucket := s3.Bucket(t, "plans")
	const ttl = 4 * time.Second

	srv := tftest.StartGitServer(t)
	repos := []string{"r1", "r2", "r3", "r4", "r5"}
	work := map[string]*pushRepo{}
	var repoLines string
	for _, name := range repos {
		srv.NewBare(name)
		files := infraFiles()
		files["README.md"] = "# " + name + "\n" // commits of one repository only
		work[name] = newPushRepo(t, srv.URL(name), files)
		repoLines += repoYAML(name, srv.URL(name), "ledger: false")
	}
	extra := []string{
		"store: {kind: postgres, dsn_env: LANDFORM_DATABASE_URL, lease_ttl: " + ttl.String() + "}",
		fmt.Sprintf("plans: {kind: s3, bucket: %s, region: %s, endpoint: %s, path_style: true, encryption_key_env: LANDFORM_PLAN_KEY}", bucket, s3.Region, s3.Endpoint),
		"approvals: {approvers: [alice], allow_self_approval: true}",
		"api: {tokens: [{identity: alice, role: approver, token_env: REPLICA_TOKEN}]}",
	}
	dirA, dirB := t.TempDir(), t.TempDir()
	cfgA := daemonConfig(t, dirA, repoLines, extra...)
	text, err := os.ReadFile(cfgA)
	if err != nil {
		t.Fatal(err)
	}
	cfgB := filepath.Join(t.TempDir(), "landform.yaml")
	if err := os.WriteFile(cfgB, []byte(strings.Replace(string(text), "data_dir: "+dirA, "data_dir: "+dirB, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(s3.Env(), "LANDFORM_DATABASE_URL="+dsn, "LANDFORM_PLAN_KEY="+plans3.NewKey(), "REPLICA_TOKEN="+replicaToken)
	a := startDaemon(t, cfgA, dirA, env...)
	a.waitLog(30*time.Second, "this replica polls now")
	b := startDaemon(t, cfgB, dirB, env...)
	addrA, addrB := a.listenAddr(), b.listenAddr()
	for _, addr := range []string{addrA, addrB} {
		waitFor(t, 30*time.Second, "both replicas ready", func() bool {
			code, _ := apiGet(t, addr, "GET", "/readyz", "")
			return code == 200
		})
	}
	// The replica that does not poll shows the poller's polling.
	for _, name := range repos {
		waitFor(t, 30*time.Second, "the baseline of "+name, func() bool {
			code, body := apiGet(t, addrB, "GET", "/api/v1/repos/"+name, replicaToken)
			return code == 200 && strings.Contains(body, `"head":"`)
		})
	}

	// 20 commits across 5 repositories, each touching one workspace:
	// each is planned exactly once, whichever replica's worker took it.
	type change struct{ repo, commit, workspace string }
	var changes []change
	for i := range 4 {
		for _, name := range repos {
			ws := []string{"a", "b"}[i%2]
			sha := work[name].change("refs/heads/main", map[string]string{
				"envs/" + ws + "/main.tf": fmt.Sprintf("resource \"terraform_data\" %q { input = \"%s-round-%d\" }\n", ws, ws, i),
			})
			changes = append(changes, change{name, sha, "envs/" + ws})
		}
		// The next round waits for these to be queued: a newer commit
		// would supersede a plan still queued.
		waitFor(t, 60*time.Second, fmt.Sprintf("the runs of round %d", i), func() bool {
			runs := apiRunsAll(t, addrA)
			for _, c := range changes {
				if len(runsOf(runs, func(r daemonRun) bool { return r.Repo == c.repo && r.Commit == c.commit })) == 0 {
					return false
				}
			}
			return true
		})
	}
	var runs []daemonRun
	waitFor(t, 3*time.Minute, "every plan finished", func() bool {
		runs = apiRunsAll(t, addrB)
		for _, r := range runs {
			if r.State == "queued" || r.State == "running" {
				return false
			}
		}
		return len(runs) >= len(changes)
	})
	for _, c := range changes {
		of := runsOf(runs, func(r daemonRun) bool { return r.Repo == c.repo && r.Commit == c.commit })
		if len(of) != 1 || of[0].Workspace != c.workspace {
			t.Errorf("commit %s of %s: runs %s, want one plan of %s", c.commit[:8], c.repo, toJSON(of), c.workspace)
		}
	}
	for _, r := range runs {
		if r.State == "errored" {
			t.Errorf("run %s errored: %s", r.ID, r.Error)
		}
	}
	// The other replica lists the workspaces at the head the poller saw
	// (fetching it for itself).
	if code, body := apiGet(t, addrB, "GET", "/api/v1/repos/r1/workspaces", replicaToken); code != 200 ||
		!strings.Contains(body, `"name":"envs/a","dir":"envs/a","at_head":true`) {
		t.Errorf("r1's workspaces on the replica that does not poll: %d %s", code, body)
	}
	both := strings.Contains(a.logs.String(), "msg=running kind=plan") && strings.Contains(b.logs.String(), "msg=running kind=plan")
	t.Logf("%d runs; both replicas planned: %v", len(runs), both)

	// The newest plan of each repository: approved on one replica, then
	// 200 apply requests spread over both: each applied once.
	var newest []daemonRun
	for _, name := range repos {
		for _, r := range runs { // newest first
			if r.Repo == name && (r.State == "awaiting_approval" || r.State == "planned") {
				newest = append(newest, r)
				break
			}
		}
	}
	if len(newest) != len(repos) {
		t.Fatalf("awaiting approval: %s", toJSON(newest))
	}
	// A dashboard open on b hears of the approvals made on a.
	eventsB := watchEvents(t, addrB, replicaToken)
	for i, r := range newest {
		addr := []string{addrA, addrB}[i%2]
		if code, body := apiGet(t, addr, "POST", "/api/v1/runs/"+r.ID+"/approve", replicaToken); code != 200 {
			t.Fatalf("approve %s: %d %s", r.ID, code, body)
		}
	}
	waitFor(t, 30*time.Second, "b's pages told of the approval made on a", func() bool {
		return strings.Contains(eventsB.String(), `"run":"`+newest[0].ID+`","workspace":"`+newest[0].Workspace+`","kind":"plan","state":"approved"`)
	})
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		codes = map[string]map[int]int{}
	)
	for i := range 200 {
		r := newest[i%len(newest)]
		addr := []string{addrA, addrB}[i/len(newest)%2]
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/runs/"+r.ID+"/apply", nil)
			req.Header.Set("Authorization", "Bearer "+replicaToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			if codes[r.ID] == nil {
				codes[r.ID] = map[int]int{}
			}
			codes[r.ID][resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, r := range newest {
		if c := codes[r.ID]; c[http.StatusAccepted] != 1 || c[http.StatusConflict] != 200/len(newest)-1 {
			t.Errorf("applies of run %s answered %v, want one 202 and the rest 409", r.ID, c)
		}
	}
	waitFor(t, 2*time.Minute, "every approved plan applied", func() bool {
		runs = apiRunsAll(t, addrA)
		for _, r := range newest {
			if len(runsOf(runs, func(x daemonRun) bool { return x.ID == r.ID && x.State == "applied" })) != 1 {
				return false
			}
		}
		return true
	})
	for _, r := range newest {
		n := strings.Count(a.logs.String()+b.logs.String(), "msg=applying repo="+r.Repo+" workspace="+r.Workspace+" run="+r.ID+" ")
		if n != 1 {
			t.Errorf("terraform apply of run %s started %d times", r.ID, n)
		}
	}

	// kill -9 the poller: the other replica polls within the TTL.
	poller, other, otherAddr := a, b, addrB
	if !strings.Contains(a.logs.String(), "this replica polls now") || strings.Contains(a.logs.String(), "this replica stopped polling") {
		poller, other, otherAddr = b, a, addrA
	}
	poller.signal(syscall.SIGKILL)
	<-poller.done
	killed := time.Now()
	sha := work["r1"].change("refs/heads/main", map[string]string{"envs/b/main.tf": `resource "terraform_data" "b" { input = "after the kill" }` + "\n"})
	other.waitLog(ttl+30*time.Second, "this replica polls now")
	waitFor(t, ttl+30*time.Second, "the commit pushed after the kill queued by the other replica", func() bool {
		return len(runsOf(apiRunsAll(t, otherAddr), func(r daemonRun) bool { return r.Commit == sha })) == 1
	})
	t.Logf("the other replica queued the commit %s after the kill (TTL %s)", time.Since(killed).Round(100*time.Millisecond), ttl)
	waitFor(t, 2*time.Minute, "no run left running", func() bool {
		for _, r := range apiRunsAll(t, otherAddr) {
			if r.State == "queued" || r.State == "running" || r.State == "applying" {
				return false
			}
		}
		return true
	})
	code, body := apiGet(t, otherAddr, "GET", "/api/v1/locks", replicaToken)
	var locks struct {
		Locks []struct{ Repo, Workspace, Holder, RunID string } `json:"locks"`
	}
	if err := json.Unmarshal([]byte(body), &locks); code != 200 || err != nil {
		t.Fatalf("locks: %d %s", code, body)
	}
	final := apiRunsAll(t, otherAddr)
	for _, l := range locks.Locks {
		held := runsOf(final, func(r daemonRun) bool { return r.ID == l.RunID && r.State == "awaiting_approval" })
		if len(held) != 1 {
			t.Errorf("lock %+v is held for no plan awaiting approval: leaked", l)
		}
	}
}

// watchEvents reads the dashboard's server-sent events (GET /events) of
// the daemon at addr into the returned buffer until the test ends; it
// returns once the stream is open.
func watchEvents(t *testing.T, addr, token string) *syncBuffer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events: %d", resp.StatusCode)
	}
	buf := &syncBuffer{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(buf, resp.Body)
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close(); <-done })
	return buf
}
