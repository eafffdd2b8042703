package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/landform/landform/runner"
	"github.com/landform/landform/server"
)

func TestHealthz(t *testing.T) {
	statuses := []runner.RepoStatus{{Repo: "infra", Polls: 3}}
	srv := httptest.NewServer(server.New(func() []runner.RepoStatus { return statuses }, slog.New(slog.DiscardHandler)))
	defer srv.Close()

	get := func() server.Health {
		t.Helper()
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		var h server.Health
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := get(); h.Status != "ok" || len(h.Repos) != 1 || h.Repos[0].Polls != 3 {
		t.Errorf("healthy: %+v", h)
	}
	statuses = append(statuses, runner.RepoStatus{Repo: "gone", LastError: "listing refs: connection refused", Failures: 2})
	if h := get(); h.Status != "degraded" || h.Repos[1].LastError == "" {
		t.Errorf("with a failing repo: %+v", h)
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
