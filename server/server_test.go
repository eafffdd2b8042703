package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
	"github.com/landform/landform/store/sqlite"
)

func TestHealthz(t *testing.T) {
	health := runner.Health{Status: runner.HealthOK, Repos: []runner.RepoStatus{{Repo: "infra", Polls: 3}}}
	srv := httptest.NewServer(server.New(func(ctx context.Context) runner.Health {
		if _, ok := ctx.Deadline(); !ok {
			t.Error("the daemon is asked without a deadline")
		}
		return health
	}, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	get := func() (map[string]json.RawMessage, runner.Health) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d, want 200 whatever the health", resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		var raw map[string]json.RawMessage
		if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
			t.Fatal(err)
		}
		var h runner.Health
		b, _ := json.Marshal(raw)
		if err := json.Unmarshal(b, &h); err != nil {
			t.Fatal(err)
		}
		return raw, h
	}
	raw, h := get()
	if h.Status != "ok" || len(h.Repos) != 1 || h.Repos[0].Polls != 3 {
		t.Errorf("healthy: %+v", h)
	}
	if _, ok := raw["reasons"]; ok {
		t.Errorf("healthy with reasons: %s", raw["reasons"])
	}

	health = runner.Health{
		Status: runner.HealthDegraded,
		Reasons: []string{
			"infra: ledger writes fail (3 in a row); the runs stay in the outbox: pushing: connection refused",
			"infra: watched branch release is gone from the remote",
		},
		Repos: []runner.RepoStatus{{Repo: "infra", LedgerError: "pushing: connection refused", LedgerFailures: 3, MissingBranches: []string{"release"}}},
	}
	raw, h = get()
	if h.Status != "degraded" || !slices.Equal(h.Reasons, health.Reasons) {
		t.Errorf("degraded: %+v", h)
	}
	var repos []map[string]any
	if err := json.Unmarshal(raw["repos"], &repos); err != nil {
		t.Fatal(err)
	}
	if repos[0]["ledger_error"] != "pushing: connection refused" || repos[0]["ledger_failures"] != 3.0 || repos[0]["missing_branches"] == nil {
		t.Errorf("repo status JSON: %v", repos[0])
	}

	resp, err := http.Post(srv.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz: %d", resp.StatusCode)
	}
}

// A daemon's own health, served: a run running for seven hours makes it
// degraded, with the reason.
func TestHealthzOfADaemon(t *testing.T) {
	ctx := context.Background()
	start := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "landform.db"), sqlite.WithClock(func() time.Time { return start }))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	run := &landform.Run{Repo: "infra", Workspace: "app", Dir: "app", Commit: "c1", Kind: landform.RunPlan, State: landform.StateQueued}
	if err := db.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimRun(ctx, "test"); err != nil {
		t.Fatal(err)
	}
	r := runner.New(db, nil, nil, runner.WithClock(func() time.Time { return start.Add(7 * time.Hour) }))
	d := runner.NewDaemon(r, db, nil)
	srv := httptest.NewServer(server.New(d.Health, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h runner.Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || h.Status != "degraded" || len(h.Reasons) != 1 || !strings.Contains(h.Reasons[0], "run "+run.ID+" of app has been running for 7h0m0s") {
		t.Errorf("/healthz of a daemon with a run running for 7h: %d %+v", resp.StatusCode, h)
	}
}
