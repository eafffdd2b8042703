package report_test

import (
	"strings"
	"testing"
	"time"
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

func TestApplyCommitStatus(t *testing.T) {
	at := time.Date(2026, 11, 29, 18, 40, 0, 0, time.UTC)
	run := func(state landform.RunState, ap *landform.ApplyResult) *landform.Run {
		return &landform.Run{ID: "42", Workspace: "envs/prod", Commit: "abc", State: state, Apply: ap,
			Summary: landform.PlanSummary{Add: 1}, Error: "Error: from the run"}
	}
	asked := func(edit ...func(*landform.ApplyResult)) *landform.ApplyResult {
		ap := &landform.ApplyResult{By: "alice", Channel: landform.ChannelSlack, RequestedAt: at}
		for _, e := range edit {
			e(ap)
		}
		return ap
	}
	for _, tc := range []struct {
		name  string
		run   *landform.Run
		state landform.StatusState
		desc  string
	}{
		{"applying", run(landform.StateApplying, asked()), landform.StatusPending, "applying, requested by alice"},
		{"applied", run(landform.StateApplied, asked(func(a *landform.ApplyResult) {
			a.Summary = "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."
		})), landform.StatusSuccess, "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."},
		{"applied without a summary", run(landform.StateApplied, asked()), landform.StatusSuccess, "applied"},
		{"failed", run(landform.StateApplyFailed, asked(func(a *landform.ApplyResult) {
			a.Error = "Error: creating bucket: AccessDenied\n\n  with aws_s3_bucket.logs"
		})), landform.StatusFailure, "apply failed: Error: creating bucket: AccessDenied"},
		{"failed, the error on the run", run(landform.StateApplyFailed, asked()), landform.StatusFailure, "apply failed: Error: from the run"},
		{"stale", run(landform.StateStale, asked(func(a *landform.ApplyResult) { a.Replan, a.Error = "43", "Saved plan is stale" })),
			landform.StatusFailure, "plan stale, nothing applied; re-planned as run 43"},
		{"stale, not planned again", run(landform.StateStale, asked()), landform.StatusFailure, "plan stale, nothing applied"},
		{"interrupted", run(landform.StateInterrupted, asked()), landform.StatusError, "interrupted: Landform stopped during the apply"},
		{"refused", run(landform.StateApproved, asked(func(a *landform.ApplyResult) { a.Error = "the pull request cannot be merged" })),
			landform.StatusFailure, "apply refused: the pull request cannot be merged"},
		{"requested", run(landform.StateApproved, asked()), landform.StatusPending, "apply requested by alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			all := report.CommitStatuses(tc.run, "https://landform.example.com")
			if len(all) != 2 {
				t.Fatalf("%d statuses, want the plan's and the apply's", len(all))
			}
			// The plan's status says it was planned, whatever the apply did.
			if p := all[0]; p.Context != "landform/plan: envs/prod" || p.State != landform.StatusSuccess || p.Description != "plan +1 ~0 -0 ±0 (planned)" {
				t.Errorf("plan status %+v", p)
			}
			got := all[1]
			if got.Context != "landform/apply: envs/prod" || got.SHA != "abc" || got.State != tc.state || got.Description != tc.desc ||
				got.TargetURL != "https://landform.example.com/runs/42" {
				t.Errorf("apply status %+v, want %s %q", got, tc.state, tc.desc)
			}
		})
	}
	// Without an apply, one status: the plan's.
	if all := report.CommitStatuses(run(landform.StateApproved, nil), ""); len(all) != 1 || all[0].Description != "plan +1 ~0 -0 ±0 (approved)" {
		t.Errorf("statuses of a run without an apply: %+v", all)
	}
	if _, ok := report.ApplyCommitStatus(run(landform.StateApplied, nil), ""); ok {
		t.Errorf("an apply status for a run without an apply")
	}
}
