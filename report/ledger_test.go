package report_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
)

func TestLedgerFiles(t *testing.T) {
	start := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	run := &landform.Run{
		ID: "42", Repo: "infra", Workspace: "envs/prod@blue", Dir: "envs/prod",
		Commit: "0123456789abcdef0123456789abcdef01234567", Ref: "refs/pull/7/head",
		Kind: landform.RunPlan, State: landform.StatePlanned,
		Summary: landform.PlanSummary{Add: 3, Replace: 1}, PlanSHA256: strings.Repeat("ab", 32),
		CreatedAt: start, StartedAt: start.Add(time.Second), FinishedAt: start.Add(3 * time.Second),
	}
	files := report.LedgerFiles(run)
	if len(files) != 2 || files[0].Path != "runs/envs/prod@blue/42.md" || files[1].Path != "runs/envs/prod@blue/42.json" {
		t.Fatalf("paths: %v, %v", files[0].Path, files[1].Path)
	}
	var rec report.RunRecord
	if err := json.Unmarshal(files[1].Data, &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Commit != run.Commit || rec.State != landform.StatePlanned || rec.Summary != run.Summary ||
		rec.PlanSHA256 != run.PlanSHA256 || rec.DurationMS != 2000 {
		t.Errorf("record: %+v", rec)
	}
	md := string(files[0].Data)
	for _, want := range []string{"# Run 42: plan envs/prod@blue — planned", "3 to add, 0 to change, 0 to destroy, 1 to replace", run.PlanSHA256} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestLedgerPathStaysInRuns(t *testing.T) {
	for _, tc := range []struct{ ws, id, want string }{
		{"envs/prod", "1", "runs/envs/prod/1"},
		{"envs/prod@blue", "7", "runs/envs/prod@blue/7"},
		{".", "1", "runs/_/1"},
		{".@blue", "1", "runs/.@blue/1"},
		// Names CheckWorkspaceName refuses are never used as they are,
		// nor rewritten into another workspace's directory.
		{"../../etc", "1", "runs/-invalid/1"},
		{"/abs/x", "1", "runs/-invalid/1"},
		{"", "1", "runs/-invalid/1"},
		{".git/hooks", "1", "runs/-invalid/1"},
		{"a/.GIT/b", "1", "runs/-invalid/1"},
		{"x\ny", "1", "runs/-invalid/1"},
		{"-rf", "1", "runs/-invalid/1"},
		{"a/3.md", "1", "runs/-invalid/1"},
		// Run IDs that are not plain names are hex-encoded.
		{"app", "../x", "runs/app/id-2e2e2f78"},
		{"app", "", "runs/app/id-"},
	} {
		got := report.LedgerPath(&landform.Run{ID: tc.id, Workspace: tc.ws})
		if got != tc.want {
			t.Errorf("LedgerPath(%q, %q) = %q, want %q", tc.ws, tc.id, got, tc.want)
		}
		for _, ext := range []string{".md", ".json"} {
			if err := landform.CheckTreePath(got + ext); err != nil {
				t.Errorf("LedgerPath(%q, %q): %v", tc.ws, tc.id, err)
			}
		}
	}
}

// FuzzLedgerPath checks that a run's ledger files always have paths the
// ledger writer accepts, and that a valid workspace name is used as it is.
func FuzzLedgerPath(f *testing.F) {
	for _, ws := range []string{"envs/prod", "envs/prod@blue", ".", "../../etc", ".git/hooks", "a/.GIT/b", "-rf", "x\ny", "a/1.md"} {
		f.Add(ws, "1")
	}
	f.Fuzz(func(t *testing.T, ws, id string) {
		run := &landform.Run{ID: id, Workspace: ws}
		p := report.LedgerPath(run)
		for _, file := range report.LedgerFiles(run) {
			if err := landform.CheckTreePath(file.Path); err != nil {
				t.Fatalf("LedgerPath(%q, %q): %v", ws, id, err)
			}
		}
		if landform.CheckWorkspaceName(ws) == nil && ws != "." && !strings.HasPrefix(p, "runs/"+ws+"/") {
			t.Fatalf("LedgerPath(%q, %q) = %q: the valid name was rewritten", ws, id, p)
		}
	})
}

func TestLedgerMessage(t *testing.T) {
	runs := []*landform.Run{
		{ID: "1", Kind: landform.RunPlan, Workspace: "a", State: landform.StatePlanned, Commit: "abc"},
		{ID: "2", Kind: landform.RunPlan, Workspace: "b", State: landform.StateErrored, Commit: "abc"},
	}
	if got := report.LedgerMessage(runs[:1]); got != "plan a: planned at abc (run 1)" {
		t.Errorf("single: %q", got)
	}
	if got := report.LedgerMessage(runs); !strings.HasPrefix(got, "2 runs\n\n- run 1: plan a: planned") {
		t.Errorf("batch: %q", got)
	}
}

func TestLedgerFilesOfAPolicyVerdict(t *testing.T) {
	at := time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC)
	run := &landform.Run{
		ID: "7", Repo: "infra", Workspace: "envs/prod", Dir: "envs/prod", Commit: "abc", Kind: landform.RunPlan,
		State: landform.StatePlanned, CreatedAt: at,
		Policy: &landform.PolicyResult{
			Deny:     []landform.PolicyMessage{{Set: "guard", Package: "landform.protect_types", Rule: "deny", Message: "testcloud_bucket.logs: destroy of a protected resource type (testcloud_bucket)"}},
			Override: &landform.PolicyOverride{By: "alice", Reason: "planned migration", At: at},
		},
	}
	files := report.LedgerFiles(run)
	md := string(files[0].Data)
	for _, want := range []string{"## Policies", "landform.protect_types: testcloud_bucket.logs: destroy", "**overridden** by alice", "planned migration"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	var rec report.RunRecord
	if err := json.Unmarshal(files[1].Data, &rec); err != nil || rec.Policy == nil || rec.Policy.Override.By != "alice" || len(rec.Policy.Deny) != 1 {
		t.Errorf("record: %+v, %v", rec.Policy, err)
	}
}

func TestLedgerFilesOfAnApply(t *testing.T) {
	at := time.Date(2026, 11, 29, 18, 40, 0, 0, time.FixedZone("CET", 3600))
	sha := strings.Repeat("ab", 32)
	output := "terraform_data.a: Creating...\nterraform_data.a: Creation complete after 0s [id=1]\n```\n</details>\n" +
		strings.Repeat("x", 20<<10) + "\n\nApply complete! Resources: 1 added, 0 changed, 0 destroyed.\n"
	run := &landform.Run{
		ID: "42", Repo: "infra", Workspace: "envs/prod", Dir: "envs/prod", Commit: "0123456789abcdef0123456789abcdef01234567",
		Kind: landform.RunPlan, State: landform.StateApplied, Summary: landform.PlanSummary{Add: 1}, PlanSHA256: sha,
		CommitAuthor: "dev@example.com", CreatedAt: at,
		Approvals: []*landform.Approval{
			{ID: "1", RunID: "42", By: "mallory|x", Channel: landform.ChannelComment, Commit: "0123456789abcdef0123456789abcdef01234567",
				PlanSHA256: sha, Reason: "mallory may not approve: not one of its approvers", At: at},
			{ID: "2", RunID: "42", By: "alice", Channel: landform.ChannelSlack, Commit: "0123456789abcdef0123456789abcdef01234567",
				PlanSHA256: sha, Approved: true, Reason: "checked with the DBA", At: at.Add(time.Minute)},
		},
		Apply: &landform.ApplyResult{By: "alice", Channel: landform.ChannelComment,
			RequestedAt: at.Add(2 * time.Minute), StartedAt: at.Add(2 * time.Minute), FinishedAt: at.Add(2*time.Minute + 1500*time.Millisecond),
			Summary: "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.", Output: output},
	}
	files := report.LedgerFiles(run)
	var rec report.RunRecord
	if err := json.Unmarshal(files[1].Data, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec.Approvals) != 2 || rec.Approvals[0].Approved || rec.Approvals[0].Reason != run.Approvals[0].Reason ||
		!rec.Approvals[1].Approved || rec.Approvals[1].By != "alice" || rec.Approvals[1].Channel != "slack" ||
		rec.Approvals[1].PlanSHA256 != sha || rec.Approvals[1].Commit != run.Commit || rec.Approvals[1].At.Location() != time.UTC {
		t.Errorf("approvals recorded: %+v", rec.Approvals)
	}
	ap := rec.Apply
	if ap == nil || ap.By != "alice" || ap.Summary != run.Apply.Summary || !ap.FinishedAt.Equal(run.Apply.FinishedAt) ||
		ap.RequestedAt.Location() != time.UTC || rec.CommitAuthor != "dev@example.com" {
		t.Fatalf("apply recorded: %+v", ap)
	}
	if len(ap.Output) > 17<<10 || !strings.HasPrefix(ap.Output, "terraform_data.a: Creating...") || !strings.Contains(ap.Output, "truncated") {
		t.Errorf("the apply output is not bounded: %d bytes", len(ap.Output))
	}
	if run.Apply.Output != output || run.Approvals[0].At.Location() == time.UTC {
		t.Errorf("LedgerFiles changed the run")
	}
	md := string(files[0].Data)
	for _, want := range []string{
		"# Run 42: plan envs/prod — applied",
		"## Approvals",
		"| 2026-11-29T17:40:00Z | `mallory\\|x` | `comment` | **refused** | `mallory may not approve: not one of its approvers` | `0123456789abcdef0123456789abcdef01234567` | `" + sha + "` |",
		"| 2026-11-29T17:41:00Z | `alice` | `slack` | approved | `checked with the DBA` |",
		"## Apply",
		"| requested by | `alice` via `comment` |",
		"| finished | 2026-11-29T17:42:01Z (1.5s) |",
		"| summary | `Apply complete! Resources: 1 added, 0 changed, 0 destroyed.` |",
		"### Apply output\n\n````\nterraform_data.a: Creating...",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md[:min(len(md), 3000)])
		}
	}
}

func TestLedgerMessageSaysWhatHappened(t *testing.T) {
	approvals := []*landform.Approval{
		{By: "mallory", Approved: false}, {By: "alice", Approved: true}, {By: "bob", Approved: true}, {By: "alice", Approved: true},
	}
	apply := func(edit func(*landform.ApplyResult)) *landform.ApplyResult {
		ap := &landform.ApplyResult{By: "alice", Channel: landform.ChannelSlack}
		edit(ap)
		return ap
	}
	for _, tc := range []struct {
		run  landform.Run
		want string
	}{
		{landform.Run{State: landform.StateAwaitingApproval}, "awaiting approval"},
		{landform.Run{State: landform.StateAwaitingApproval, Approvals: approvals[:2]}, "awaiting approval (approved by alice)"},
		{landform.Run{State: landform.StateApproved, Approvals: approvals}, "approved by alice, bob"},
		{landform.Run{State: landform.StateApplying, Approvals: approvals, Apply: apply(func(*landform.ApplyResult) {})},
			"applying, requested by alice"},
		{landform.Run{State: landform.StateApplied, Apply: apply(func(a *landform.ApplyResult) {
			a.Summary = "Apply complete! Resources: 1 added, 0 changed, 0 destroyed."
		})}, "applied: Apply complete! Resources: 1 added, 0 changed, 0 destroyed."},
		{landform.Run{State: landform.StateApplyFailed, Apply: apply(func(a *landform.ApplyResult) {
			a.Error = "Error: creating bucket: AccessDenied\n\nmore"
		})}, "apply failed: Error: creating bucket: AccessDenied"},
		{landform.Run{State: landform.StateStale, Apply: apply(func(a *landform.ApplyResult) { a.Replan = "43" })},
			"stale, nothing applied; re-planned as run 43"},
		{landform.Run{State: landform.StateStale}, "stale"},
		{landform.Run{State: landform.StatePlanned, Approvals: approvals}, "planned"},
	} {
		r := tc.run
		r.ID, r.Kind, r.Workspace, r.Commit = "42", landform.RunPlan, "envs/prod", "0123456789abcdef"
		want := "plan envs/prod: " + tc.want + " at 0123456789ab (run 42)"
		if got := report.LedgerMessage([]*landform.Run{&r}); got != want {
			t.Errorf("%s: %q, want %q", r.State, got, want)
		}
	}
	many := &landform.Run{ID: "7", Kind: landform.RunPlan, Workspace: "w", State: landform.StateApproved}
	for i := range 8 {
		many.Approvals = append(many.Approvals, &landform.Approval{By: "approver\n" + strconv.Itoa(i), Approved: true})
	}
	if got := report.LedgerMessage([]*landform.Run{many, many}); !strings.Contains(got,
		"- run 7: plan w: approved by approver 0, approver 1, approver 2, approver 3, approver 4 and 3 more at \n") {
		t.Errorf("batch: %q", got)
	}
}
