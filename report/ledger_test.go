package report_test

import (
	"encoding/json"
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
