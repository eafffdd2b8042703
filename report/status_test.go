package report_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
)

func TestCommitStatus(t *testing.T) {
	run := func(state landform.RunState, edit ...func(*landform.Run)) *landform.Run {
		r := &landform.Run{ID: "42", Workspace: "envs/prod", Commit: "abc", State: state, Summary: landform.PlanSummary{Add: 2, Destroy: 1}}
		for _, e := range edit {
			e(r)
		}
		return r
	}
	for _, tc := range []struct {
		run   *landform.Run
		state landform.StatusState
		desc  string
	}{
		{run(landform.StateQueued), landform.StatusPending, "queued"},
		{run(landform.StateQueued, func(r *landform.Run) { r.BlockedBy = "pr/7" }), landform.StatusPending, "waiting for the lock held by pr/7"},
		{run(landform.StateRunning), landform.StatusPending, "planning"},
		{run(landform.StatePlanned), landform.StatusSuccess, "plan +2 ~0 -1 ±0 (planned)"},
		{run(landform.StateNoChanges), landform.StatusSuccess, "no changes"},
		{run(landform.StateErrored, func(r *landform.Run) { r.Error = "Error: Invalid reference\n\n  on main.tf line 3" }), landform.StatusFailure, "error: Error: Invalid reference"},
	} {
		got := report.CommitStatus(tc.run, "https://landform.example.com/")
		if got.State != tc.state || got.Description != tc.desc || got.Context != "landform/plan: envs/prod" || got.SHA != "abc" ||
			got.TargetURL != "https://landform.example.com/runs/42" {
			t.Errorf("%s: %+v, want %s %q", tc.run.State, got, tc.state, tc.desc)
		}
	}
	long := run(landform.StateErrored, func(r *landform.Run) { r.Error = strings.Repeat("é", 300) })
	if d := report.CommitStatus(long, "").Description; utf8.RuneCountInString(d) != 140 || !strings.HasSuffix(d, "…") {
		t.Errorf("long description: %d runes", utf8.RuneCountInString(d))
	}
	if u := report.CommitStatus(long, "").TargetURL; u != "" {
		t.Errorf("a link without external_url: %q", u)
	}
}
