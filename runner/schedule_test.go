package runner

import (
	"slices"
	"testing"
	"time"
)

func TestBackoffDoublesAndCaps(t *testing.T) {
	within := func(got, want time.Duration) bool {
		return got >= want-want/10 && got <= want+want/10
	}
	for _, tc := range []struct {
		interval time.Duration
		failures int
		want     time.Duration
	}{
		{time.Minute, 0, time.Minute},
		{time.Minute, 1, 2 * time.Minute},
		{time.Minute, 3, 8 * time.Minute},
		{time.Minute, 4, 10 * time.Minute}, // capped
		{time.Minute, 40, 10 * time.Minute},
		{time.Hour, 2, time.Hour}, // an interval above the cap is the cap
		{time.Second, 5, 32 * time.Second},
	} {
		for range 20 {
			if got := backoff(tc.interval, tc.failures); !within(got, tc.want) {
				t.Errorf("backoff(%s, %d) = %s, want %s ±10%%", tc.interval, tc.failures, got, tc.want)
				break
			}
		}
	}
}

func TestJitterSpreads(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 50 {
		d := jitter(10 * time.Second)
		if d < 9*time.Second || d > 11*time.Second {
			t.Fatalf("jitter(10s) = %s", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("jitter gave only %d distinct delays in 50 draws", len(seen))
	}
}

func TestPullRequestRefs(t *testing.T) {
	for ref, want := range map[string]string{
		"refs/pull/12/head":          "pr/12",
		"refs/merge-requests/3/head": "mr/3",
		"refs/pull/12/merge":         "",
		"refs/heads/main":            "",
		"refs/pull/1/2/head":         "",
		"refs/merge-requests//head":  "",
	} {
		got, ok := pullRequest(ref)
		if got != want || ok != (want != "") {
			t.Errorf("pullRequest(%q) = %q, %v; want %q", ref, got, ok, want)
		}
		if want != "" {
			if back, ok := refFor(got); !ok || back != ref {
				t.Errorf("refFor(%q) = %q, want %q", got, back, ref)
			}
		}
	}
}

func TestWatchedRefs(t *testing.T) {
	refs := map[string]string{
		"HEAD": "a", "refs/heads/main": "a", "refs/heads/dev": "b", "refs/heads/landform/ledger": "c",
		"refs/pull/10/head": "d", "refs/pull/9/head": "e", "refs/merge-requests/2/head": "f",
	}
	for _, tc := range []struct {
		repo WatchedRepo
		def  string
		want []string
	}{
		{WatchedRepo{}, "main", []string{"refs/heads/main"}},
		{WatchedRepo{Branches: []string{"dev", "gone"}}, "main", []string{"refs/heads/dev"}},
		{WatchedRepo{PullRequests: true}, "main", []string{"refs/heads/main", "refs/merge-requests/2/head", "refs/pull/9/head", "refs/pull/10/head"}},
		{WatchedRepo{}, "", nil},
	} {
		if got := watchedRefs(tc.repo, refs, tc.def); !slices.Equal(got, tc.want) {
			t.Errorf("watchedRefs(%+v, %q) = %v, want %v", tc.repo, tc.def, got, tc.want)
		}
	}
}

func TestExportPathsUnion(t *testing.T) {
	a := Target{Paths: []string{"envs/a", "modules/m"}}
	b := Target{Paths: []string{"envs/b"}}
	if got := exportPaths([]Target{a, b}); !slices.Equal(got, []string{"envs/a", "modules/m", "envs/b"}) {
		t.Errorf("union = %v", got)
	}
	if got := exportPaths([]Target{a, {}}); got != nil {
		t.Errorf("a target needing everything gave %v, want nil", got)
	}
}
