// Package server is Landform's HTTP side: the daemon's health (/healthz,
// with the polling status of every watched repository) and, with
// WithWebhooks, the forges' webhooks (/webhooks/{kind}). Chat-ops
// endpoints, the REST API and the web page come here.
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/landform/landform/runner"
)

// healthTimeout bounds how long /healthz may take to ask the daemon (which
// asks its store).
const healthTimeout = 5 * time.Second

// New returns the HTTP handler. health reports the daemon's health
// (runner.Daemon.Health).
//
// GET /healthz answers the JSON of runner.Health:
//
//	{"status": "ok" | "degraded", "reasons": ["infra: ledger writes fail …", …], "repos": [{…}, …]}
//
// with HTTP 200 either way: the daemon answering is what "alive" means,
// and a liveness probe that restarts a daemon whose remote is down or
// whose disk is full fixes nothing and drops the retries in progress.
// Monitoring reads "status" and "reasons" (one line per problem, also
// logged by the daemon when it happens).
//
// Options add endpoints: WithWebhooks.
func New(health func(context.Context) runner.Health, logger *slog.Logger, opts ...Option) http.Handler {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), healthTimeout)
		defer cancel()
		h := health(ctx)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if err := json.NewEncoder(w).Encode(h); err != nil {
			logger.Debug("writing /healthz", "err", err)
		}
	})
	if o.webhooks != nil {
		o.webhooks.mount(mux, logger)
	}
	return mux
}

// Option configures the handler New returns.
type Option func(*options)

type options struct {
	webhooks *webhooks
}
