package runner

import (
	"github.com/landform/landform"
	"slices"
	"testing"
	"time"
)

func TestPollBackoffCapsAtTenMinutes(t *testing.T) {
	for _, tc := range []struct {
		interval time.Duration
		failures int
		want     time.Duration
	}{
		{time.Minute, 1, 2 * time.Minute},
		{time.Minute, 40, 10 * time.Minute},
		{time.Hour, 2, time.Hour}, // an interval above the cap is the cap
	} {
		got := pollBackoff(tc.interval, tc.failures)
		if got < tc.want-tc.want/10 || got > tc.want+tc.want/10 {
			t.Errorf("pollBackoff(%s, %d) = %s, want %s ±10%%", tc.interval, tc.failures, got, tc.want)
		}
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
		{WatchedRepo{Repo: landform.Repo{Branches: []string{"dev", "gone"}}}, "main", []string{"refs/heads/dev"}},
		{WatchedRepo{Repo: landform.Repo{PullRequests: true}}, "main", []string{"refs/heads/main", "refs/merge-requests/2/head", "refs/pull/9/head", "refs/pull/10/head"}},
		{WatchedRepo{}, "", nil},
	} {
		if got := watchedRefs(tc.repo, refs, tc.def); !slices.Equal(got, tc.want) {
			t.Errorf("watchedRefs(%+v, %q) = %v, want %v", tc.repo, tc.def, got, tc.want)
		}
	}
}
