package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/landform/landform"
	"github.com/landform/landform/metrics"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/store/sqlite"
)

// The adapters the daemon wires are the sources.
var (
	_ metrics.RunCounter  = (*sqlite.DB)(nil)
	_ metrics.DriftReader = (*runner.Views)(nil)
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)

// world is a store with runs, the views of a daemon watching "infra" on
// it, and the statuses a scrape reads.
type world struct {
	db    *sqlite.DB
	views *runner.Views
	clk   *clock

	mu       sync.Mutex
	statuses []runner.RepoStatus
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{clk: &clock{t: t0}}
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "landform.db"), sqlite.WithClock(w.clk.now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	w.db = db
	d := runner.NewDaemon(runner.New(db, nil, nil), db, []runner.WatchedRepo{{Repo: landform.Repo{Name: "infra", PollInterval: time.Minute}}})
	w.views = &runner.Views{D: d}
	return w
}

func (w *world) setStatuses(s ...runner.RepoStatus) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.statuses = s
}

func (w *world) getStatuses() []runner.RepoStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.statuses
}

// sources are the world's, with drift read through dr (nil: the views).
func (w *world) sources(dr metrics.DriftReader) metrics.Sources {
	if dr == nil {
		dr = w.views
	}
	return metrics.Sources{Runs: w.db, Statuses: w.getStatuses, Drift: dr, Now: w.clk.now}
}

// run stores a run of kind in state.
func (w *world) run(t *testing.T, kind landform.RunKind, state landform.RunState, workspace string, edit ...func(*landform.Run)) *landform.Run {
	t.Helper()
	r := &landform.Run{Repo: "infra", Workspace: workspace, Dir: workspace, Commit: "c1", Ref: "refs/heads/main", Kind: kind, State: state}
	for _, e := range edit {
		e(r)
	}
	if err := w.db.CreateRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

// checked makes a drift run a finished check at at that found resources.
func checked(at time.Time, drifted bool, kinds ...string) func(*landform.Run) {
	return func(r *landform.Run) {
		r.StartedAt, r.FinishedAt = at.Add(-time.Minute), at
		res := []landform.DriftedResource{}
		for i, k := range kinds {
			res = append(res, landform.DriftedResource{Address: "test_object.o" + string(rune('a'+i)), Kind: k, Action: "update"})
		}
		r.Drift = &landform.WorkspaceDrift{Repo: r.Repo, Workspace: r.Workspace, Dir: r.Dir, Commit: r.Commit, Drifted: drifted, Resources: res, CheckedAt: at}
	}
}

// scrape GETs /metrics from h and parses it with Prometheus' text parser.
func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("/metrics: %s %q\n%s", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, body)
	}
	return fams
}

// find returns the metric of family name with the label pairs given
// (name, value, …), nil when there is none.
func find(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) != len(labels)/2 {
			continue
		}
		match := true
		for i := 0; i < len(labels); i += 2 {
			match = match && got[labels[i]] == labels[i+1]
		}
		if match {
			return m
		}
	}
	return nil
}

// value returns the value of a counter or gauge, and whether it is there.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	m := find(fams, name, labels...)
	switch {
	case m == nil:
		return 0, false
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	}
	return 0, false
}

// want checks the values of series: "name label value …" → value.
func want(t *testing.T, fams map[string]*dto.MetricFamily, name string, v float64, labels ...string) {
	t.Helper()
	got, ok := value(fams, name, labels...)
	if !ok {
		t.Errorf("%s%v: absent, want %g", name, labels, v)
	} else if got != v {
		t.Errorf("%s%v = %g, want %g", name, labels, got, v)
	}
}

func absent(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) {
	t.Helper()
	if got, ok := value(fams, name, labels...); ok {
		t.Errorf("%s%v = %g, want absent", name, labels, got)
	}
}

func TestScrapeReadsTheStoreAndTheDaemon(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	w.run(t, landform.RunPlan, landform.StatePlanned, "a")
	w.run(t, landform.RunPlan, landform.StatePlanned, "b")
	queued := w.run(t, landform.RunPlan, landform.StateQueued, "c")
	w.run(t, landform.RunDrift, landform.StateQueued, "a")
	// The newest drift checks of infra: net drifted (two changed, one
	// deleted), dns clean, app with code not applied; an older check of
	// dns found drift, which is no longer what counts.
	w.run(t, landform.RunDrift, landform.StatePlanned, "dns", checked(t0.Add(-3*time.Hour), true, landform.DriftChanged))
	w.run(t, landform.RunDrift, landform.StatePlanned, "net", checked(t0.Add(-2*time.Hour), true, landform.DriftChanged, landform.DriftDeleted, landform.DriftChanged))
	w.run(t, landform.RunDrift, landform.StateNoChanges, "dns", checked(t0.Add(-time.Hour), false))
	w.run(t, landform.RunDrift, landform.StatePlanned, "app", checked(t0.Add(-90*time.Minute), false, landform.DriftUnapplied))
	// infra polled 90s ago; ghost (which the views do not know: its
	// drift cannot be read) has never polled and failed twice.
	w.setStatuses(
		runner.RepoStatus{Repo: "infra", LastPoll: t0.Add(-90 * time.Second), Polls: 3},
		runner.RepoStatus{Repo: "ghost", Failures: 2},
	)
	m := metrics.New(w.sources(nil))
	fams := scrape(t, m.Handler())

	want(t, fams, "landform_runs", 2, "kind", "plan", "state", "planned")
	want(t, fams, "landform_runs", 1, "kind", "plan", "state", "queued")
	want(t, fams, "landform_runs", 1, "kind", "drift", "state", "queued")
	want(t, fams, "landform_runs", 3, "kind", "drift", "state", "planned")
	want(t, fams, "landform_runs", 1, "kind", "drift", "state", "no_changes")
	absent(t, fams, "landform_runs", "kind", "plan", "state", "errored")
	want(t, fams, "landform_queue_depth", 2)

	want(t, fams, "landform_poll_lag_seconds", 90, "repo", "infra")
	absent(t, fams, "landform_poll_lag_seconds", "repo", "ghost")
	want(t, fams, "landform_poll_failures", 0, "repo", "infra")
	want(t, fams, "landform_poll_failures", 2, "repo", "ghost")

	want(t, fams, "landform_drift_resources", 2, "repo", "infra", "kind", "changed")
	want(t, fams, "landform_drift_resources", 1, "repo", "infra", "kind", "deleted")
	want(t, fams, "landform_drift_resources", 1, "repo", "infra", "kind", "unapplied")
	want(t, fams, "landform_drift_workspaces", 1, "repo", "infra", "status", "drifted")
	want(t, fams, "landform_drift_workspaces", 1, "repo", "infra", "status", "clean")
	want(t, fams, "landform_drift_workspaces", 1, "repo", "infra", "status", "unapplied")
	want(t, fams, "landform_drift_workspaces", 0, "repo", "infra", "status", "error")
	want(t, fams, "landform_drift_last_check_timestamp_seconds", float64(t0.Add(-time.Hour).Unix()), "repo", "infra")
	if n := len(fams["landform_drift_resources"].GetMetric()); n != 3 {
		t.Errorf("%d landform_drift_resources series, want infra's 3 only", n)
	}
	want(t, fams, "landform_scrape_errors_total", 1, "source", "drift")

	// Types as documented; the runtime's and the process's metrics too.
	for name, typ := range map[string]dto.MetricType{
		"landform_runs": dto.MetricType_GAUGE, "landform_queue_depth": dto.MetricType_GAUGE,
		"landform_poll_lag_seconds": dto.MetricType_GAUGE, "landform_scrape_errors_total": dto.MetricType_COUNTER,
		"go_goroutines": dto.MetricType_GAUGE, "process_cpu_seconds_total": dto.MetricType_COUNTER,
	} {
		if f, ok := fams[name]; !ok || f.GetType() != typ || f.GetHelp() == "" {
			t.Errorf("family %s: %v, want a documented %s", name, f, typ)
		}
	}

	// The queued plan ran: its pair reads zero rather than vanishing, the
	// queue is shorter, the lag grew.
	queued.State, queued.StartedAt, queued.FinishedAt = landform.StateErrored, t0, t0.Add(time.Second)
	if err := w.db.UpdateRun(ctx, queued); err != nil {
		t.Fatal(err)
	}
	w.clk.advance(30 * time.Second)
	fams = scrape(t, m.Handler())
	want(t, fams, "landform_runs", 0, "kind", "plan", "state", "queued")
	want(t, fams, "landform_runs", 1, "kind", "plan", "state", "errored")
	want(t, fams, "landform_queue_depth", 1)
	want(t, fams, "landform_poll_lag_seconds", 120, "repo", "infra")
	want(t, fams, "landform_scrape_errors_total", 2, "source", "drift")
}

func TestFinishedRunsMoveTheCounterAndTheHistogram(t *testing.T) {
	w := newWorld(t)
	m := metrics.New(w.sources(nil))
	h := m.Handler()
	fams := scrape(t, h)
	absent(t, fams, "landform_runs_finished_total", "kind", "plan", "state", "planned")

	plan := &landform.Run{ID: "7", Repo: "infra", Workspace: "a", Kind: landform.RunPlan, State: landform.StatePlanned,
		StartedAt: t0, FinishedAt: t0.Add(42 * time.Second)}
	m.Observe(runner.Event{Kind: runner.EventRunQueued, Repo: "infra", Run: plan}) // not a finish
	m.Observe(runner.Event{Kind: runner.EventRunFinished, Repo: "infra", Run: plan})
	applied := *plan
	applied.State = landform.StateApplied
	applied.Apply = &landform.ApplyResult{StartedAt: t0.Add(time.Hour), FinishedAt: t0.Add(time.Hour + 5*time.Minute)}
	m.Observe(runner.Event{Kind: runner.EventApplyFinished, Repo: "infra", Run: &applied})
	// Superseded in the queue: counted, never started, not timed.
	dropped := &landform.Run{ID: "8", Repo: "infra", Workspace: "b", Kind: landform.RunPlan, State: landform.StateSuperseded}
	m.Observe(runner.Event{Kind: runner.EventRunFinished, Repo: "infra", Run: dropped})
	m.Observe(runner.Event{Kind: runner.EventPolled, Repo: "infra"})
	m.Observe(runner.Event{Kind: runner.EventPolled, Repo: "infra", Err: errors.New("connection refused")})
	m.Observe(runner.Event{Kind: runner.EventPolled, Repo: "infra"})
	m.Observe(runner.Event{Kind: runner.EventLedgerWritten, Repo: "infra", Count: 2})
	m.Observe(runner.Event{Kind: runner.EventForgeDelivered, Repo: "infra", Err: errors.New("502")})
	m.WebhookDelivered("gitea", "accepted")
	m.WebhookDelivered("gitea", "accepted")
	m.WebhookDelivered("unknown", "unknown_forge")

	fams = scrape(t, h)
	want(t, fams, "landform_runs_finished_total", 1, "kind", "plan", "state", "planned")
	want(t, fams, "landform_runs_finished_total", 1, "kind", "apply", "state", "applied")
	want(t, fams, "landform_runs_finished_total", 1, "kind", "plan", "state", "superseded")
	want(t, fams, "landform_polls_total", 2, "repo", "infra", "result", "ok")
	want(t, fams, "landform_polls_total", 1, "repo", "infra", "result", "failed")
	want(t, fams, "landform_ledger_writes_total", 1, "repo", "infra", "result", "ok")
	want(t, fams, "landform_forge_messages_total", 1, "repo", "infra", "result", "failed")
	want(t, fams, "landform_webhook_deliveries_total", 2, "forge", "gitea", "result", "accepted")
	want(t, fams, "landform_webhook_deliveries_total", 1, "forge", "unknown", "result", "unknown_forge")

	if f := fams["landform_run_duration_seconds"]; f.GetType() != dto.MetricType_HISTOGRAM {
		t.Fatalf("landform_run_duration_seconds: %v, want a histogram", f)
	}
	for _, tt := range []struct {
		kind, state string
		sum         float64
		le          float64 // the smallest bucket that holds it
	}{
		{"plan", "planned", 42, 60},
		{"apply", "applied", 300, 300},
	} {
		m := find(fams, "landform_run_duration_seconds", "kind", tt.kind, "state", tt.state)
		if m == nil {
			t.Errorf("no duration of %s %s", tt.kind, tt.state)
			continue
		}
		hist := m.GetHistogram()
		if hist.GetSampleCount() != 1 || hist.GetSampleSum() != tt.sum {
			t.Errorf("%s %s: %d samples, sum %g; want 1, %g", tt.kind, tt.state, hist.GetSampleCount(), hist.GetSampleSum(), tt.sum)
		}
		for _, b := range hist.GetBucket() {
			wantCount := uint64(0)
			if b.GetUpperBound() >= tt.le {
				wantCount = 1
			}
			if b.GetCumulativeCount() != wantCount {
				t.Errorf("%s %s: bucket le=%g holds %d, want %d", tt.kind, tt.state, b.GetUpperBound(), b.GetCumulativeCount(), wantCount)
			}
		}
	}
	if m := find(fams, "landform_run_duration_seconds", "kind", "plan", "state", "superseded"); m != nil {
		t.Errorf("a run that never started was timed: %v", m)
	}
}

// countingDrift counts the reads of the drift reports.
type countingDrift struct {
	metrics.DriftReader
	mu    sync.Mutex
	reads int
}

func (c *countingDrift) DriftReport(ctx context.Context, repo string) (*landform.DriftReport, error) {
	c.mu.Lock()
	c.reads++
	c.mu.Unlock()
	return c.DriftReader.DriftReport(ctx, repo)
}

func (c *countingDrift) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}

func TestDriftIsReadAgainWhenACheckEndsOrTheCacheExpires(t *testing.T) {
	w := newWorld(t)
	w.setStatuses(runner.RepoStatus{Repo: "infra"})
	w.run(t, landform.RunDrift, landform.StatePlanned, "net", checked(t0.Add(-time.Hour), true, landform.DriftChanged))
	cd := &countingDrift{DriftReader: w.views}
	m := metrics.New(w.sources(cd))
	h := m.Handler()

	fams := scrape(t, h)
	want(t, fams, "landform_drift_resources", 1, "repo", "infra", "kind", "changed")
	scrape(t, h)
	if n := cd.count(); n != 1 {
		t.Fatalf("two scrapes read the drift %d times, want once", n)
	}

	// A sweep found more: reported, read at the next scrape.
	w.run(t, landform.RunDrift, landform.StatePlanned, "net", checked(t0, true, landform.DriftChanged, landform.DriftDeleted))
	fams = scrape(t, h)
	want(t, fams, "landform_drift_resources", 1, "repo", "infra", "kind", "changed") // cached
	want(t, fams, "landform_drift_resources", 0, "repo", "infra", "kind", "deleted")
	m.Observe(runner.Event{Kind: runner.EventDriftReported, Repo: "infra", Count: 1})
	fams = scrape(t, h)
	want(t, fams, "landform_drift_resources", 1, "repo", "infra", "kind", "deleted")
	if n := cd.count(); n != 2 {
		t.Errorf("drift read %d times, want twice", n)
	}

	// A drift run that ends on its own (not a sweep) does the same.
	fixed := w.run(t, landform.RunDrift, landform.StateNoChanges, "net", checked(t0.Add(time.Minute), false))
	m.Observe(runner.Event{Kind: runner.EventRunFinished, Repo: "infra", Run: fixed})
	fams = scrape(t, h)
	want(t, fams, "landform_drift_resources", 0, "repo", "infra", "kind", "deleted")
	want(t, fams, "landform_drift_workspaces", 1, "repo", "infra", "status", "clean")
	if n := cd.count(); n != 3 {
		t.Errorf("drift read %d times, want 3", n)
	}

	// Otherwise it is read again once DriftTTL old.
	w.clk.advance(metrics.DriftTTL - time.Second)
	scrape(t, h)
	if n := cd.count(); n != 3 {
		t.Errorf("drift read %d times before the cache expired, want 3", n)
	}
	w.clk.advance(time.Second)
	scrape(t, h)
	if n := cd.count(); n != 4 {
		t.Errorf("drift read %d times after the cache expired, want 4", n)
	}
}

func TestScrapeServesTheRestWhenTheStoreFails(t *testing.T) {
	w := newWorld(t)
	w.setStatuses(runner.RepoStatus{Repo: "infra", LastPoll: t0, Polls: 1})
	m := metrics.New(metrics.Sources{Runs: w.db, Statuses: w.getStatuses, Now: w.clk.now})
	if err := w.db.Close(); err != nil {
		t.Fatal(err)
	}
	fams := scrape(t, m.Handler())
	if _, ok := fams["landform_runs"]; ok {
		t.Error("landform_runs served without a store")
	}
	if _, ok := fams["landform_queue_depth"]; ok {
		t.Error("landform_queue_depth served without a store")
	}
	want(t, fams, "landform_scrape_errors_total", 1, "source", "runs")
	want(t, fams, "landform_poll_lag_seconds", 0, "repo", "infra")
	if _, ok := fams["landform_drift_resources"]; ok {
		t.Error("drift served without a drift source")
	}
}
