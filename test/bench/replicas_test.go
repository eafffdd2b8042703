package bench_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/landform/landform/internal/pgtest"
	"github.com/landform/landform/internal/s3test"
	plans3 "github.com/landform/landform/planstore/s3"
	"github.com/landform/landform/test/tftest"
)

// replicaWorkspaces is how many workspaces one commit of the replica
// benchmark touches: the work both sides share.
const replicaWorkspaces = 24

const replicaBenchToken = "bench-token-5b1e"

var benchListen = regexp.MustCompile(`msg="landform serving".* listen=(\S+)`)

// BenchmarkReplicas measures issue 15's scale-out: plans per minute of one
// `landform serve` against two replicas of it on one PostgreSQL database
// and one S3 bucket (versitygw), on this machine, for the same work: a
// commit touching 24 workspaces of terraform_data. Each replica has one
// worker (parallel: 1), so the second replica doubles the workers; the
// machine has two cores, which the two replicas' terraform processes
// share. A round starts the daemons on a fresh database and bucket,
// waits until one polls, pushes the commit and times until every plan is
// recorded (through the REST API). Reported: the medians of the rounds'
// wall times ("one-ms", "two-ms"), plans per minute of each
// ("one-plans-min", "two-plans-min") and their ratio ("ratio", two ÷
// one; 2.0 would be perfect scaling).
//
// Each round takes tens of seconds: run it with -benchtime 3x or so.
func BenchmarkReplicas(b *testing.B) {
	bin := landformBinary(b)
	tools := tftest.Load(b)
	s3 := s3test.Start(b)
	round := 0
	sideOf := func(replicas int) func() (sample, error) {
		return func() (sample, error) {
			round++
			return replicaRound(b, bin, tools, s3, replicas, round)
		}
	}
	times := rotate(b, []side{{"one", sideOf(1)}, {"two", sideOf(2)}}, func(i int, s side, d sample) {
		fmt.Fprintf(os.Stderr, "replicas, round %d of %d: %s %.0f ms (%.1f plans/min)\n", i+1, b.N, s.name, ms(d.wall), plansPerMinute(d.wall))
	})
	one, two := medians(times["one"]), medians(times["two"])
	b.ReportMetric(ms(one.wall), "one-ms")
	b.ReportMetric(ms(two.wall), "two-ms")
	b.ReportMetric(plansPerMinute(one.wall), "one-plans-min")
	b.ReportMetric(plansPerMinute(two.wall), "two-plans-min")
	b.ReportMetric(plansPerMinute(two.wall)/plansPerMinute(one.wall), "ratio")
}

func plansPerMinute(d time.Duration) float64 { return replicaWorkspaces / d.Minutes() }

// replicaRound runs one round with n replicas: fresh database, bucket and
// repository; it times the push to the last plan recorded.
func replicaRound(b *testing.B, bin string, tools *tftest.Tools, s3 *s3test.Server, n, round int) (sample, error) {
	dsn := pgtest.NewDatabase(b)
	bucket := s3.Bucket(b, fmt.Sprintf("plans-%d", round))
	srv := tftest.StartGitServer(b)
	srv.NewBare("infra")
	files := map[string]string{}
	for i := range replicaWorkspaces {
		files[fmt.Sprintf("ws/w%02d/main.tf", i)] = fmt.Sprintf("resource \"terraform_data\" \"x\" { input = \"%d-0\" }\n", i)
	}
	work := tftest.NewGitRepo(b)
	work.Write(files).Commit("initial")
	work.Git("push", "--quiet", srv.URL("infra"), "HEAD:refs/heads/main")

	cliConfig := tools.MirrorConfig(b)
	env := append(os.Environ(), s3.Env()...)
	env = append(env, "LANDFORM_DATABASE_URL="+dsn, "LANDFORM_PLAN_KEY="+plans3.NewKey(), "BENCH_TOKEN="+replicaBenchToken)
	var addrs []string
	for i := range n {
		dir := fixtureDir(b, "replica")
		cfg := fmt.Sprintf(`data_dir: %s
listen: 127.0.0.1:0
parallel: 1
ledger: false
store: {kind: postgres, dsn_env: LANDFORM_DATABASE_URL}
plans: {kind: s3, bucket: %s, region: %s, endpoint: %s, path_style: true, encryption_key_env: LANDFORM_PLAN_KEY}
api: {tokens: [{identity: bench, role: viewer, token_env: BENCH_TOKEN}]}
terraform: {cli_config: %s, binaries: [%s]}
repos:
  - {name: infra, url: %s, poll_interval: 1s}
`, dir, bucket, s3.Region, s3.Endpoint, cliConfig, tools.Terraform, srv.URL("infra"))
		path := filepath.Join(dir, "landform.yaml")
		if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
			return sample{}, err
		}
		logs := &strings.Builder{} // written by the reader below only until it has the address
		cmd := exec.Command(bin, "serve", "--config", path)
		cmd.Env = env
		out, err := cmd.StderrPipe()
		if err != nil {
			return sample{}, err
		}
		if err := cmd.Start(); err != nil {
			return sample{}, err
		}
		lines := make(chan string, 1)
		go func() {
			buf := make([]byte, 64<<10)
			sent := false
			for {
				k, err := out.Read(buf)
				logs.WriteString(string(buf[:k]))
				if m := benchListen.FindStringSubmatch(logs.String()); m != nil && !sent {
					lines <- m[1]
					sent = true
				}
				if err != nil {
					if !sent {
						close(lines)
					}
					return
				}
			}
		}()
		defer func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() }()
		addr, ok := <-lines
		if !ok {
			return sample{}, fmt.Errorf("replica %d did not start:\n%s", i, logs.String())
		}
		addrs = append(addrs, addr)
	}
	// The baseline: main polled once by whoever polls.
	if err := waitUntil(60*time.Second, func() (bool, error) {
		body, err := benchGet(addrs[0], "/api/v1/repos/infra")
		return strings.Contains(body, `"head":"`), err
	}); err != nil {
		return sample{}, fmt.Errorf("the baseline: %w", err)
	}
	for i := range replicaWorkspaces {
		files[fmt.Sprintf("ws/w%02d/main.tf", i)] = fmt.Sprintf("resource \"terraform_data\" \"x\" { input = \"%d-%d\" }\n", i, round)
	}
	work.Write(files).Commit("change every workspace")
	return timed(func() error {
		work.Git("push", "--quiet", srv.URL("infra"), "HEAD:refs/heads/main")
		return waitUntil(10*time.Minute, func() (bool, error) {
			body, err := benchGet(addrs[len(addrs)-1], "/api/v1/runs?state=planned&limit=500")
			if err != nil {
				return false, err
			}
			var page struct {
				Runs []struct{ ID string } `json:"runs"`
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				return false, err
			}
			return len(page.Runs) == replicaWorkspaces, nil
		})
	})
}

func benchGet(addr, path string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+replicaBenchToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// waitUntil polls cond every 50 ms until it holds or timeout passes.
func waitUntil(timeout time.Duration, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s (last error: %v)", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
