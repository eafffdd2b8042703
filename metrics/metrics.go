// Package metrics is the daemon's Prometheus metrics, served at /metrics
// (docs/metrics.md lists each one).
//
// Two kinds of metric live here. What the daemon does is counted as it
// happens, from its events (Observe, the function given to
// runner.WithEvents) and from the webhook endpoint (WebhookDelivered, given
// to server.WithWebhookObserver): runs finished and their durations, poll
// rounds, ledger writes, forge messages, webhook deliveries. What the
// daemon holds is read when Prometheus scrapes, through the small
// interfaces of Sources: runs by kind and state and the queue (the store),
// poll lag and failures (the daemon's statuses), drift (the newest drift
// reports, cached).
//
// Labels stay few: kinds, states, results, forge kinds and the names of
// the configured repositories; never a run ID, a commit or a workspace.
package metrics

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/landform/landform"
	"github.com/landform/landform/runner"
)

// Metrics is the daemon's metrics, in a registry of their own (with the Go
// runtime's and the process's).
type Metrics struct {
	reg    *prometheus.Registry
	scrape *scrapeCollector
	logger *slog.Logger

	runsFinished *prometheus.CounterVec
	runDuration  *prometheus.HistogramVec
	polls        *prometheus.CounterVec
	ledger       *prometheus.CounterVec
	forgeMsgs    *prometheus.CounterVec
	webhooks     *prometheus.CounterVec
}

// Sources is what Metrics reads when it is scraped. A nil source leaves
// its metrics out.
type Sources struct {
	// Runs counts the stored runs (store/sqlite's DB): landform_runs and
	// landform_queue_depth.
	Runs RunCounter
	// Statuses returns every watched repository's status
	// (runner.Daemon.Statuses): landform_poll_lag_seconds and
	// landform_poll_failures. The repositories it names are those whose
	// drift is read.
	Statuses func() []runner.RepoStatus
	// Drift reads a repository's newest drift report (runner.Views):
	// landform_drift_*. A report is read again at a scrape once it is
	// DriftTTL old, or once the repository reports a drift sweep or a
	// drift run ends (Observe).
	Drift DriftReader
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger logs what a scrape could not read (default: discard).
	Logger *slog.Logger
}

// DriftTTL is how long a drift report read at a scrape serves the next
// scrapes, unless a drift check ends first.
const DriftTTL = time.Minute

// RunDurationBuckets are the buckets of landform_run_duration_seconds, in
// seconds: from a one-second no-op plan to an hour-long apply.
var RunDurationBuckets = []float64{1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800, 3600}

// Results of the event counters.
const (
	resultOK     = "ok"
	resultFailed = "failed"
)

// New returns the metrics of a daemon that src describes.
func New(src Sources) *Metrics {
	if src.Now == nil {
		src.Now = time.Now
	}
	if src.Logger == nil {
		src.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Metrics{
		reg:    prometheus.NewRegistry(),
		logger: src.Logger,
		runsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landform_runs_finished_total",
			Help: "Runs that ended, by kind and final state; an apply counts as kind apply with the state it left the run in.",
		}, []string{"kind", "state"}),
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "landform_run_duration_seconds",
			Help:    "How long runs ran (plans and drift checks from start to end, applies from terraform apply's start to its end), by kind and final state; runs that never started are not timed.",
			Buckets: RunDurationBuckets,
		}, []string{"kind", "state"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landform_polls_total",
			Help: "Poll rounds ended, by repository and result (ok, failed).",
		}, []string{"repo", "result"}),
		ledger: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landform_ledger_writes_total",
			Help: "Ledger commits attempted, by repository and result (ok, failed).",
		}, []string{"repo", "result"}),
		forgeMsgs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landform_forge_messages_total",
			Help: "Forge messages (pull request previews, commit statuses) sent, by repository and result (ok, failed).",
		}, []string{"repo", "result"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landform_webhook_deliveries_total",
			Help: "Webhook deliveries received, by forge kind and result (accepted, ignored, duplicate, bad_request, unauthorized, forbidden, too_large, unknown_forge).",
		}, []string{"forge", "result"}),
	}
	m.scrape = newScrapeCollector(src)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.runsFinished, m.runDuration, m.polls, m.ledger, m.forgeMsgs, m.webhooks,
		m.scrape,
	)
	return m
}

// Registry returns the registry of the metrics, for tests and for
// whatever else would add its own.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in Prometheus' formats (the text format
// unless the scraper asks for another). Each request reads the scrape-time
// sources with its context, bounded by scrapeTimeout; a source that fails
// leaves its metrics out of that answer, counts in
// landform_scrape_errors_total and is logged, and the rest is served.
func (m *Metrics) Handler() http.Handler {
	serve := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(m.logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.scrape.refresh(r.Context())
		serve.ServeHTTP(w, r)
	})
}

// Observe counts what a daemon event says (give it to runner.WithEvents,
// alone or among other functions): finished runs and applies with their
// durations, poll rounds, ledger writes and forge messages; a drift
// sweep reported, or a drift run finished, makes the next scrape read that
// repository's drift again. It takes a lock for a moment and does no I/O.
func (m *Metrics) Observe(e runner.Event) {
	switch e.Kind {
	case runner.EventRunFinished:
		if e.Run == nil {
			return
		}
		m.finished(string(e.Run.Kind), e.Run.State, e.Run.Duration())
		if e.Run.Kind == landform.RunDrift {
			m.scrape.drift.invalidate(e.Repo)
		}
	case runner.EventApplyFinished:
		if e.Run == nil {
			return
		}
		var d time.Duration
		if a := e.Run.Apply; a != nil && !a.StartedAt.IsZero() && !a.FinishedAt.IsZero() {
			d = a.FinishedAt.Sub(a.StartedAt)
		}
		m.finished(string(landform.RunApply), e.Run.State, d)
	case runner.EventPolled:
		m.polls.WithLabelValues(e.Repo, result(e.Err)).Inc()
	case runner.EventLedgerWritten:
		m.ledger.WithLabelValues(e.Repo, result(e.Err)).Inc()
	case runner.EventForgeDelivered:
		m.forgeMsgs.WithLabelValues(e.Repo, result(e.Err)).Inc()
	case runner.EventDriftReported:
		m.scrape.drift.invalidate(e.Repo)
	}
}

// finished counts a run of kind that ended in state after d (zero: it
// never started, and is not timed).
func (m *Metrics) finished(kind string, state landform.RunState, d time.Duration) {
	m.runsFinished.WithLabelValues(kind, string(state)).Inc()
	if d > 0 {
		m.runDuration.WithLabelValues(kind, string(state)).Observe(d.Seconds())
	}
}

// WebhookDelivered counts a webhook delivery of forge (a forge kind, or
// "unknown") that ended with result (give it to
// server.WithWebhookObserver).
func (m *Metrics) WebhookDelivered(forge, result string) {
	m.webhooks.WithLabelValues(forge, result).Inc()
}

func result(err error) string {
	if err != nil {
		return resultFailed
	}
	return resultOK
}
