package test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkGiteaPreviewLatency measures, on a real Gitea, the time from
// `git push` of a pull request's branch to Landform's preview comment
// showing the pushed commit planned: with webhooks (the daemon polls only
// every hour) and with polling alone (every 10 s; each push waits a random
// part of the interval first, untimed, so that pushes do not fall in step
// with the polls). Each iteration pushes one commit that changes one
// workspace. It reports the medians of the latency and of its parts —
// git push itself, push to the run queued (notice), queued to started, the run itself
// (export, init, plan, show: the run's start to end), its end to the
// comment seen — and the latency over the run's time:
//
//	go test -run '^$' -bench GiteaPreviewLatency -benchtime 10x ./test/
func BenchmarkGiteaPreviewLatency(b *testing.B) {
	for _, mode := range []struct {
		name, poll string
		webhook    bool
	}{
		{"webhook", "1h", true},
		{"polling-10s", "10s", false},
	} {
		b.Run(mode.name, func(b *testing.B) {
			s := newGiteaScene(b, mode.poll, nil)
			s.preview(2*time.Minute, s.work.Head(), "envs/a") // the first poll, at start
			if mode.webhook {
				s.gitea.AddWebhook(b, s.repo, "http://"+s.d.listenAddr()+"/webhooks/gitea", hookSecret)
			}
			parts := map[string][]time.Duration{}
			b.ResetTimer()
			for i := range b.N {
				s.work.Write(map[string]string{"envs/a/main.tf": workspaceFile("a", fmt.Sprintf("resource \"terraform_data\" \"n%d\" {}\n", i))}).
					Commit(fmt.Sprintf("push %d", i))
				if !mode.webhook {
					b.StopTimer()
					time.Sleep(time.Duration(rand.Int64N(int64(10 * time.Second))))
					b.StartTimer()
				}
				start := time.Now()
				s.work.Git("push", s.gitea.CloneURL(s.repo), "feature")
				parts["git-push"] = append(parts["git-push"], time.Since(start))
				head := s.work.Head()
				s.previewFast(3*time.Minute, head)
				seen := time.Now()
				run := s.runOf(head, "envs/a")
				parts["push-to-comment"] = append(parts["push-to-comment"], seen.Sub(start))
				parts["notice"] = append(parts["notice"], run.CreatedAt.Sub(start))
				parts["queued"] = append(parts["queued"], run.StartedAt.Sub(run.CreatedAt))
				parts["run"] = append(parts["run"], run.FinishedAt.Sub(run.StartedAt))
				parts["publish"] = append(parts["publish"], seen.Sub(run.FinishedAt))
			}
			b.StopTimer()
			for name, ds := range parts {
				b.ReportMetric(float64(median(ds).Milliseconds()), name+"-ms")
			}
			b.ReportMetric(float64(median(parts["push-to-comment"]))/float64(median(parts["run"])), "x-run")
		})
	}
}

// previewFast is preview with a short poll of Gitea's API (20 ms), so the
// measurement is not the wait's granularity.
func (s *giteaScene) previewFast(timeout time.Duration, commit string) {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, c := range s.gitea.Comments(s.t, s.repo, s.pr) {
			if strings.Contains(c.Body, previewMark) && strings.Contains(c.Body, commit[:12]) &&
				strings.Contains(c.Body, "| `envs/a` | 📝 planned |") {
				return
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no preview of %s after %s", commit[:12], timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// benchRun is a run's times as `landform runs --json` gives them.
type benchRun struct {
	Workspace  string    `json:"workspace"`
	Commit     string    `json:"commit"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
}

// runOf returns the run of workspace at commit.
func (s *giteaScene) runOf(commit, workspace string) benchRun {
	s.t.Helper()
	var doc struct {
		Runs []benchRun `json:"runs"`
	}
	landformJSON(s.t, 0, &doc, "--data-dir", s.d.dataDir, "runs", "--json", "--limit", "20")
	for _, r := range doc.Runs {
		if r.Commit == commit && r.Workspace == workspace {
			return r
		}
	}
	s.t.Fatalf("no run of %s at %s", workspace, commit[:12])
	return benchRun{}
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
