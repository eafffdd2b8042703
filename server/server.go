// Package server is Landform's HTTP side: the daemon's health (/healthz,
// with the polling status of every watched repository) and, with options,
// the forges' webhooks (/webhooks/{kind}, WithWebhooks; their pull request
// comments reach chat-ops with WithComments), Slack's slash commands
// (/chatops/slack, WithSlack), the REST API (/api/v1/…, WithAPI; see
// docs/api.md), the web dashboard (/, WithDashboard), /metrics
// (WithMetrics) and /readyz (WithReady); WithAuth says who requests are.
//
// Errors become HTTP statuses here, and only here: the root package's
// codes map to 404 (ENOTFOUND), 403 (EUNAUTHORIZED), 409 (ECONFLICT), 400
// (EINVALID) and 500 (anything else, logged; its details never leave the
// process).
package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"github.com/landform/landform"
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
// Options add endpoints: WithWebhooks (and WithComments), WithSlack,
// WithAPI. Options given twice: the last one counts.
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
		o.webhooks.comments = o.comments
		o.webhooks.mount(mux, logger)
	} else if o.comments != nil {
		logger.Warn("chat-ops: WithComments without WithWebhooks: no webhook delivers comments")
	}
	if o.slack != nil {
		o.slack.mount(mux, logger)
	}
	if o.api != nil {
		o.api.mount(mux, o.auth, logger)
	}
	if o.dashboard != nil {
		o.dashboard.mount(mux, o.auth, logger)
	}
	if o.metrics != nil {
		mux.Handle("GET /metrics", o.metrics)
	}
	if o.ready != nil {
		mountReady(mux, o.ready, logger)
	}
	return mux
}

// WithAuth says who requests are, for the API and the dashboard (see
// Auth). Without it, both refuse every request.
func WithAuth(a Auth) Option {
	return func(o *options) { o.auth = &a }
}

// WithMetrics serves h (Prometheus' handler of the daemon's metrics) at
// GET /metrics, open like /healthz: it names repositories and
// workspaces, never secrets.
func WithMetrics(h http.Handler) Option {
	return func(o *options) { o.metrics = h }
}

// WithReady serves GET /readyz: 200 {"status":"ready"} when ready returns
// nil, else 503 {"status":"not ready","reason":"…"}.
func WithReady(ready func(context.Context) error) Option {
	return func(o *options) { o.ready = ready }
}

// Option configures the handler New returns.
type Option func(*options)

type options struct {
	auth      *Auth
	dashboard *dashboard
	metrics   http.Handler
	ready     func(context.Context) error
	webhooks  *webhooks
	comments  func(ctx context.Context, repo string, pr int, c landform.Comment)
	slack     *slackCommands
	api       *api
}

// actionTimeout bounds what a request sets in motion (a chat-ops command,
// an approval, the start of an apply). Its context is detached from the
// request's: a client that hangs up does not cut an action in half.
const actionTimeout = 30 * time.Second

// detached returns a context that keeps r's values but not its
// cancellation, ending after actionTimeout.
func detached(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), actionTimeout)
}
