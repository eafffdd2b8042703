package test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// /metrics and /readyz of a real daemon: the text parses with Prometheus'
// parser, and the finished-runs counter and the duration histogram move
// when a pushed commit's plan finishes.

// metricsOf GETs the daemon's /metrics and parses it.
func (d *daemon) metricsOf() (map[string]*dto.MetricFamily, error) {
	resp, err := http.Get("http://" + d.listenAddr() + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s: %s", resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("/metrics does not parse: %w\n%s", err, body)
	}
	return fams, nil
}

// mustMetrics is metricsOf, failing the test on an error.
func (d *daemon) mustMetrics() map[string]*dto.MetricFamily {
	d.t.Helper()
	fams, err := d.metricsOf()
	if err != nil {
		d.t.Fatal(err)
	}
	return fams
}

// metricSeries returns the series of family name whose labels include
// the pairs given (name, value, …), nil when there is none.
func metricSeries(fams map[string]*dto.MetricFamily, name string, labels ...string) *dto.Metric {
	for _, m := range fams[name].GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		match := true
		for i := 0; i+1 < len(labels); i += 2 {
			match = match && got[labels[i]] == labels[i+1]
		}
		if match {
			return m
		}
	}
	return nil
}

// metricValue returns a counter's or gauge's value, 0 when absent (a
// counter not incremented yet), and whether the series is there.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	m := metricSeries(fams, name, labels...)
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

// readyz asks the daemon's /readyz.
func (d *daemon) readyz() (int, map[string]string) {
	d.t.Helper()
	resp, err := http.Get("http://" + d.listenAddr() + "/readyz")
	if err != nil {
		d.t.Fatalf("/readyz: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]string
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		d.t.Fatalf("/readyz: %s: %v", resp.Status, err)
	}
	return resp.StatusCode, body
}

func TestDaemonMetricsMoveWhenARunFinishes(t *testing.T) {
	t.Parallel()
	w := watchInfra(t, infraFiles(), "ledger: false")
	d := w.d

	// Ready once the repository polled (and the store answers).
	d.waitPolls("infra", 1)
	if code, body := d.readyz(); code != http.StatusOK || body["status"] != "ready" {
		t.Fatalf("/readyz after a poll round: %d %v", code, body)
	}

	before := d.mustMetrics()
	planned := []string{"kind", "plan", "state", "planned"}
	finished0, _ := metricValue(before, "landform_runs_finished_total", planned...)
	if lag, ok := metricValue(before, "landform_poll_lag_seconds", "repo", "infra"); !ok || lag < 0 || lag > 60 {
		t.Errorf("landform_poll_lag_seconds{repo=infra} = %g (present %v), want a few seconds", lag, ok)
	}
	for _, name := range []string{"landform_queue_depth", "landform_poll_failures", "go_goroutines", "process_resident_memory_bytes"} {
		if _, ok := before[name]; !ok {
			t.Errorf("no %s in /metrics", name)
		}
	}

	sha := w.work.change("refs/heads/main", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "a2" }` + "\n"})
	runs := d.waitRuns(60*time.Second, "the plan of the pushed commit to finish", func(rs []daemonRun) bool {
		return len(rs) > 0 && rs[0].State != "queued" && rs[0].State != "running"
	})
	if runs[0].Commit != sha || runs[0].State != "planned" {
		t.Fatalf("runs = %s, want a planned run at %s", toJSON(runs), sha)
	}

	// The run is recorded before its end is reported: wait for the
	// counter, every scrape parsing.
	var after map[string]*dto.MetricFamily
	waitFor(t, 30*time.Second, "landform_runs_finished_total{kind=plan,state=planned} to move", func() bool {
		after = d.mustMetrics()
		v, _ := metricValue(after, "landform_runs_finished_total", planned...)
		return v == finished0+1
	})
	hist := metricSeries(after, "landform_run_duration_seconds", planned...).GetHistogram()
	if hist.GetSampleCount() != 1 || hist.GetSampleSum() <= 0 {
		t.Errorf("landform_run_duration_seconds{plan,planned}: %d samples, sum %g; want one, above zero", hist.GetSampleCount(), hist.GetSampleSum())
	}
	if n, _ := metricValue(after, "landform_runs", planned...); n != 1 {
		t.Errorf("landform_runs{plan,planned} = %g, want 1", n)
	}
	if polls, _ := metricValue(after, "landform_polls_total", "repo", "infra", "result", "ok"); polls < 2 {
		t.Errorf("landform_polls_total{infra,ok} = %g, want at least the rounds before and after the push", polls)
	}
	if code, body := d.readyz(); code != http.StatusOK {
		t.Errorf("/readyz after the run: %d %v", code, body)
	}
}
