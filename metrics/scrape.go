package metrics

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/landform/landform"
)

// RunCounter counts the stored runs (store/sqlite's DB).
type RunCounter interface {
	// CountRuns returns how many runs there are of each kind in each
	// state; pairs with none may be left out.
	CountRuns(ctx context.Context) ([]landform.RunCount, error)
}

// DriftReader reads drift reports (runner.Views).
type DriftReader interface {
	// DriftReport returns repo's drift as its newest finished check of
	// each workspace found it; a repository never checked has a report
	// without workspaces.
	DriftReport(ctx context.Context, repo string) (*landform.DriftReport, error)
}

// DriftFunc is a function that is a DriftReader: wiring can read through
// a daemon made after the metrics (whose events they observe).
type DriftFunc func(ctx context.Context, repo string) (*landform.DriftReport, error)

// DriftReport calls f.
func (f DriftFunc) DriftReport(ctx context.Context, repo string) (*landform.DriftReport, error) {
	return f(ctx, repo)
}

// scrapeTimeout bounds how long one scrape may read its sources.
const scrapeTimeout = 5 * time.Second

// The drift resource kinds and workspace statuses always reported (zero
// when none), so that a count that falls to zero reads zero.
var (
	driftKinds    = []string{landform.DriftChanged, landform.DriftDeleted, landform.DriftUnapplied}
	driftStatuses = []string{"clean", "drifted", "unapplied", "error"}
)

var (
	runsDesc = prometheus.NewDesc("landform_runs",
		"Runs in the store, by kind and state, read at each scrape; a pair seen once stays, at zero when no run is left in it.",
		[]string{"kind", "state"}, nil)
	queueDesc = prometheus.NewDesc("landform_queue_depth",
		"Runs queued (waiting for a worker or for a workspace lock), read from the store at each scrape.",
		nil, nil)
	pollLagDesc = prometheus.NewDesc("landform_poll_lag_seconds",
		"Seconds since the repository's last poll round ended (absent until its first round ends).",
		[]string{"repo"}, nil)
	pollFailuresDesc = prometheus.NewDesc("landform_poll_failures",
		"Poll rounds of the repository failed in a row (0 after a round that succeeded).",
		[]string{"repo"}, nil)
	driftResourcesDesc = prometheus.NewDesc("landform_drift_resources",
		"Resources of the repository's newest drift checks, by kind: changed or deleted outside Terraform, or code not applied.",
		[]string{"repo", "kind"}, nil)
	driftWorkspacesDesc = prometheus.NewDesc("landform_drift_workspaces",
		"Workspaces of the repository by the status of their newest drift check: clean, drifted, unapplied (code not applied, no drift) or error.",
		[]string{"repo", "status"}, nil)
	driftCheckedDesc = prometheus.NewDesc("landform_drift_last_check_timestamp_seconds",
		"When the repository's newest drift check ended, in Unix seconds (absent before its first check).",
		[]string{"repo"}, nil)
)

// runKey is a kind and a state of runs.
type runKey struct {
	kind  landform.RunKind
	state landform.RunState
}

// snapshot is what one scrape read.
type snapshot struct {
	at time.Time
	// runs are the run counts (nil: not read), queued the runs queued.
	runs   map[runKey]int
	queued int
	// statuses are the repositories' statuses, drift their reports (a
	// repository whose report could not be read is absent).
	statuses []runnerStatus
	drift    map[string]*landform.DriftReport
}

// runnerStatus is what a scrape keeps of a runner.RepoStatus.
type runnerStatus struct {
	repo     string
	lastPoll time.Time
	polled   bool
	failures int
}

// scrapeCollector serves the metrics read at scrape time: refresh reads
// the sources, Collect reports what the last refresh read.
type scrapeCollector struct {
	src    Sources
	drift  *driftCache // nil: no drift source
	errors *prometheus.CounterVec

	refreshing sync.Mutex      // one refresh at a time
	seen       map[runKey]bool // run pairs seen so far; guarded by refreshing
	mu         sync.Mutex      // guards snap
	snap       snapshot
}

func newScrapeCollector(src Sources) *scrapeCollector {
	c := &scrapeCollector{
		src: src,
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "landform_scrape_errors_total",
			Help: "Scrapes that could not read a source (runs: the store's run counts; drift: a repository's drift report); its metrics are left out of that scrape.",
		}, []string{"source"}),
		seen: map[runKey]bool{},
	}
	if src.Drift != nil {
		c.drift = &driftCache{read: src.Drift.DriftReport, now: src.Now, entries: map[string]driftEntry{}, gen: map[string]uint64{}}
	}
	return c
}

// refresh reads the sources for a scrape.
func (c *scrapeCollector) refresh(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, scrapeTimeout)
	defer cancel()
	c.refreshing.Lock()
	defer c.refreshing.Unlock()

	s := snapshot{at: c.src.Now()}
	if c.src.Runs != nil {
		counts, err := c.src.Runs.CountRuns(ctx)
		if err != nil {
			c.failed("runs", err)
		} else {
			s.runs = map[runKey]int{}
			for k := range c.seen {
				s.runs[k] = 0
			}
			for _, rc := range counts {
				k := runKey{rc.Kind, rc.State}
				c.seen[k] = true
				s.runs[k] += rc.Count
				if rc.State == landform.StateQueued {
					s.queued += rc.Count
				}
			}
		}
	}
	if c.src.Statuses != nil {
		for _, st := range c.src.Statuses() {
			s.statuses = append(s.statuses, runnerStatus{repo: st.Repo, lastPoll: st.LastPoll, polled: st.Polls > 0, failures: st.Failures})
		}
	}
	if c.drift != nil {
		s.drift = map[string]*landform.DriftReport{}
		for _, st := range s.statuses {
			rep, err := c.drift.get(ctx, st.repo)
			if err != nil {
				c.failed("drift", fmt.Errorf("repository %s: %w", st.repo, err))
				continue
			}
			s.drift[st.repo] = rep
		}
	}
	c.mu.Lock()
	c.snap = s
	c.mu.Unlock()
}

// failed counts and logs a source a scrape could not read.
func (c *scrapeCollector) failed(source string, err error) {
	c.errors.WithLabelValues(source).Inc()
	c.src.Logger.Warn("metrics: a scrape could not read its source; its metrics are left out", "source", source, "err", err)
}

// Describe implements prometheus.Collector.
func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{runsDesc, queueDesc, pollLagDesc, pollFailuresDesc, driftResourcesDesc, driftWorkspacesDesc, driftCheckedDesc} {
		ch <- d
	}
	c.errors.Describe(ch)
}

// Collect implements prometheus.Collector: what the last refresh read.
func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	s := c.snap
	c.mu.Unlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}

	if s.runs != nil {
		keys := slices.SortedFunc(maps.Keys(s.runs), func(a, b runKey) int {
			return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.state, b.state))
		})
		for _, k := range keys {
			gauge(runsDesc, float64(s.runs[k]), string(k.kind), string(k.state))
		}
		gauge(queueDesc, float64(s.queued))
	}
	for _, st := range s.statuses {
		if st.polled {
			gauge(pollLagDesc, max(0, s.at.Sub(st.lastPoll).Seconds()), st.repo)
		}
		gauge(pollFailuresDesc, float64(st.failures), st.repo)
		rep, ok := s.drift[st.repo]
		if !ok {
			continue
		}
		resources := map[string]int{}
		workspaces := map[string]int{}
		for i := range rep.Workspaces {
			w := &rep.Workspaces[i]
			for _, k := range driftKinds {
				resources[k] += w.Count(k)
			}
			workspaces[w.Status()]++
		}
		for _, k := range driftKinds {
			gauge(driftResourcesDesc, float64(resources[k]), st.repo, k)
		}
		for _, status := range driftStatuses {
			gauge(driftWorkspacesDesc, float64(workspaces[status]), st.repo, status)
		}
		if !rep.CheckedAt.IsZero() {
			gauge(driftCheckedDesc, float64(rep.CheckedAt.UnixMilli())/1000, st.repo)
		}
	}
	c.errors.Collect(ch)
}

// driftCache keeps each repository's drift report for DriftTTL, or until
// a drift check of the repository ends.
type driftCache struct {
	read func(ctx context.Context, repo string) (*landform.DriftReport, error)
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]driftEntry
	// gen counts the invalidations of each repository: a report read
	// while one happened may predate it and is not kept.
	gen map[string]uint64
}

type driftEntry struct {
	report *landform.DriftReport
	at     time.Time
}

// get returns repo's report, read now unless a fresh one is kept.
func (c *driftCache) get(ctx context.Context, repo string) (*landform.DriftReport, error) {
	c.mu.Lock()
	e, ok := c.entries[repo]
	gen := c.gen[repo]
	c.mu.Unlock()
	if ok && c.now().Sub(e.at) < DriftTTL {
		return e.report, nil
	}
	rep, err := c.read(ctx, repo)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen[repo] == gen {
		c.entries[repo] = driftEntry{report: rep, at: c.now()}
	}
	c.mu.Unlock()
	return rep, nil
}

// invalidate makes the next get of repo read its report again.
func (c *driftCache) invalidate(repo string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, repo)
	c.gen[repo]++
}
