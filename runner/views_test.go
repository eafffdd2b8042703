package runner

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
)

func TestViews(t *testing.T) {
	ctx := context.Background()
	src := &driftSource{fakeSource: newFakeSource(map[string]string{"refs/heads/main": "c1"}), ws: []string{"app", "net"}}
	h := newHarnessWith(t, harnessConfig{opts: []Option{WithRedactor(redact.New([]string{"hunter2"}))}},
		repo("infra", src, func(r *landform.Repo) { r.Branches = []string{"main"}; r.URL = "git://127.0.0.1/infra" }))
	db, v := h.db, &Views{D: h.d}
	if err := db.SetLastProcessed(ctx, "infra", "refs/heads/main", "c1"); err != nil {
		t.Fatal(err)
	}
	at := h.clk.now()
	mk := func(ws string, kind landform.RunKind, state landform.RunState, min int, edit ...func(*landform.Run)) *landform.Run {
		r := &landform.Run{Repo: "infra", Workspace: ws, Dir: ws, Kind: kind, State: state, Commit: "c1", Ref: "refs/heads/main",
			CreatedAt: at.Add(time.Duration(min) * time.Minute)}
		for _, e := range edit {
			e(r)
		}
		if err := db.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	drift := func(drifted bool, min int) func(*landform.Run) {
		return func(r *landform.Run) {
			r.Drift = &landform.WorkspaceDrift{Repo: "infra", Workspace: r.Workspace, Drifted: drifted, CheckedAt: at.Add(time.Duration(min) * time.Minute),
				Resources: []landform.DriftedResource{}}
			if drifted {
				r.Drift.Resources = []landform.DriftedResource{{Address: "testcloud_bucket.b", Kind: landform.DriftChanged}}
			}
		}
	}
	applied := mk("app", landform.RunPlan, landform.StateApplied, 1, func(r *landform.Run) { r.Apply = &landform.ApplyResult{By: "alice"} })
	plan := mk("app", landform.RunPlan, landform.StateAwaitingApproval, 2)
	mk("net", landform.RunDrift, landform.StateNoChanges, 3, drift(false, 3))
	mk("net", landform.RunDrift, landform.StatePlanned, 4, drift(true, 4))
	mk("net", landform.RunDrift, landform.StatePlanned, 5, drift(true, 5))
	mk("net", landform.RunDrift, landform.StateRunning, 6) // not finished: not the newest check
	mk("old", landform.RunPlan, landform.StateNoChanges, 0)
	if err := db.AcquireLock(ctx, landform.Lock{Repo: "infra", Workspace: "app", Holder: "branch/main", RunID: plan.ID}); err != nil {
		t.Fatal(err)
	}

	repos, err := v.Repos(ctx)
	if err != nil || len(repos) != 1 {
		t.Fatalf("Repos = %+v, %v", repos, err)
	}
	if r := repos[0]; r.Repo != "infra" || r.Branch != "main" || r.Head != "c1" || r.Workspaces != 2 || r.URL != "git://127.0.0.1/infra" {
		t.Errorf("Repos[0] = %+v", r)
	}

	ws, err := v.Workspaces(ctx, "infra")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, w := range ws {
		names = append(names, w.Name)
	}
	if strings.Join(names, " ") != "app net old" {
		t.Fatalf("workspaces %v, want app net old", names)
	}
	app, net, old := ws[0], ws[1], ws[2]
	if !app.AtHead || app.LastPlan == nil || app.LastPlan.ID != plan.ID || app.LastApply == nil || app.LastApply.ID != applied.ID ||
		app.Lock == nil || app.Lock.Holder != "branch/main" || app.Drift != nil {
		t.Errorf("app = %s", toJSON(t, app))
	}
	// Drifted since the first of the drifted checks after the last clean one.
	if !net.AtHead || net.Drift == nil || !net.Drift.Drifted || !net.Drift.CheckedAt.Equal(at.Add(5*time.Minute)) ||
		!net.Drift.DriftedSince.Equal(at.Add(4*time.Minute)) || net.LastPlan != nil {
		t.Errorf("net = %s", toJSON(t, net))
	}
	if old.AtHead || old.LastPlan == nil {
		t.Errorf("old = %s", toJSON(t, old))
	}
	if _, err := v.Workspaces(ctx, "nope"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("Workspaces(unknown) = %v", err)
	}

	rep, err := v.DriftReport(ctx, "infra")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Workspaces) != 1 || rep.Workspaces[0].Workspace != "net" || !rep.CheckedAt.Equal(at.Add(5*time.Minute)) ||
		!strings.HasPrefix(rep.Summary(), "1 of 1 workspaces drifted") {
		t.Errorf("DriftReport = %s (%s)", toJSON(t, rep), rep.Summary())
	}

	// The plan JSON is served masked: the config's secrets and what the
	// plan marks sensitive; never the binary plan.
	planJSON := `{"variables":{"pw":{"value":"s3cr\"et"}},"configuration":{"root_module":{"variables":{"pw":{"sensitive":true}}}},` +
		`"resource_changes":[{"change":{"after":{"token":"hunter2"}}}]}`
	if _, err := h.d.plans.Put(ctx, plan.ID, &landform.PlanArtifact{Plan: []byte("binary"), JSON: []byte(planJSON), Text: "text"}); err != nil {
		t.Fatal(err)
	}
	a, err := v.Plan(ctx, plan.ID)
	if err != nil {
		t.Fatal(err)
	}
	if a.Plan != nil || a.Text != "text" || !json.Valid(a.JSON) || strings.Contains(string(a.JSON), "hunter2") || strings.Contains(string(a.JSON), `s3cr\"et`) {
		t.Errorf("Plan = %+v (JSON %s)", a, a.JSON)
	}
	if _, err := v.Plan(ctx, "999"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("Plan(unknown run) = %v", err)
	}
	if _, err := v.Plan(ctx, applied.ID); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("Plan(a run without one) = %v", err)
	}

	l, err := v.UnlockWorkspace(ctx, "infra", "app")
	if err != nil || l.Holder != "branch/main" {
		t.Fatalf("UnlockWorkspace = %+v, %v", l, err)
	}
	if _, err := v.UnlockWorkspace(ctx, "infra", "app"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("UnlockWorkspace again = %v", err)
	}
	if _, err := v.UnlockWorkspace(ctx, "nope", "app"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("UnlockWorkspace(unknown repo) = %v", err)
	}
}

func toJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
