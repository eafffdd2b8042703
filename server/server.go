// Package server is Landform's HTTP side. For now it serves the daemon's
// health: /healthz, with the polling status of every watched repository.
// Webhooks, chat-ops endpoints, the REST API and the web page come here.
package server

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/landform/landform/runner"
)

// Health is what /healthz answers.
type Health struct {
	// Status is "ok" when every repository's last poll succeeded, else
	// "degraded". The daemon itself answering is what "alive" means, so
	// the HTTP status is 200 either way.
	Status string              `json:"status"`
	Repos  []runner.RepoStatus `json:"repos"`
}

// New returns the HTTP handler. status reports the repositories' health.
func New(status func() []runner.RepoStatus, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		h := Health{Status: "ok", Repos: status()}
		for _, s := range h.Repos {
			if s.LastError != "" {
				h.Status = "degraded"
			}
		}
		w.Header().Set("Content-Type", "application/json")
		if err := json.NewEncoder(w).Encode(h); err != nil {
			logger.Debug("writing /healthz", "err", err)
		}
	})
	return mux
}
