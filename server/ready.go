package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
)

// mountReady serves GET /readyz from ready.
func mountReady(mux *http.ServeMux, ready func(context.Context) error, logger *slog.Logger) {
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		body := map[string]string{"status": "ready"}
		status := http.StatusOK
		if err := ready(ctx); err != nil {
			status = http.StatusServiceUnavailable
			body = map[string]string{"status": "not ready", "reason": err.Error()}
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		if err := json.NewEncoder(w).Encode(body); err != nil {
			logger.Debug("writing /readyz", "err", err)
		}
	})
}
