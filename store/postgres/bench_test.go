package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/pgtest"
	"github.com/landform/landform/store/postgres"
	"github.com/landform/landform/store/sqlite"
	"github.com/landform/landform/store/storetest"
)

// queueStore is what the claim benchmark needs of a store.
type queueStore interface {
	CreateRun(ctx context.Context, r *landform.Run) error
	UpdateRun(ctx context.Context, r *landform.Run) error
	ClaimRun(ctx context.Context, owner string) (*landform.Run, error)
	QueueRuns(ctx context.Context, repo, ref, commit string, runs []*landform.Run) ([]*landform.Run, error)
	ListRuns(ctx context.Context, f landform.RunFilter) ([]*landform.Run, error)
}

// The claim benchmark's queue: claimRepos × claimWorkspaces workspaces,
// claimQueued runs queued in each (1,000 in all), claimHistory finished
// runs behind them, and the first claimBusy workspaces of each repo busy
// (a run running), their queued runs the oldest: every claim passes over
// them (200 runs) before it finds one it may take.
const (
	claimRepos      = 10
	claimWorkspaces = 25
	claimQueued     = 4
	claimBusy       = 5
	claimHistory    = 10_000
)

var claimBase = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// fillQueue writes the benchmark's queue into s.
func fillQueue(ctx context.Context, s queueStore) error {
	commit := "0123456789abcdef0123456789abcdef01234567"
	at := claimBase
	next := func() time.Time { at = at.Add(time.Millisecond); return at }
	// The history: finished plans, on main, one QueueRuns per repo.
	for repo := range claimRepos {
		var runs []*landform.Run
		for i := range claimHistory / claimRepos {
			r := storetest.NewRun(fmt.Sprint("repo-", repo), fmt.Sprint("ws-", i%claimWorkspaces))
			r.State, r.CreatedAt = landform.StateNoChanges, next()
			r.StartedAt, r.FinishedAt = r.CreatedAt, r.CreatedAt.Add(time.Second)
			runs = append(runs, r)
		}
		if _, err := s.QueueRuns(ctx, runs[0].Repo, runs[0].Ref, commit, runs); err != nil {
			return err
		}
	}
	// The queue: one pull request per queued run of a workspace (so that
	// none supersedes another), the busy workspaces' runs first.
	for q := range claimQueued {
		for repo := range claimRepos {
			ref := fmt.Sprintf("refs/pull/%d/head", q)
			var runs []*landform.Run
			for ws := range claimWorkspaces {
				r := storetest.NewRun(fmt.Sprint("repo-", repo), fmt.Sprint("ws-", ws))
				r.Ref, r.CreatedAt = ref, claimBase.Add(-time.Hour+time.Duration(q*claimWorkspaces+ws)*time.Second)
				if ws >= claimBusy {
					r.CreatedAt = next()
				}
				runs = append(runs, r)
			}
			if _, err := s.QueueRuns(ctx, runs[0].Repo, ref, commit, runs); err != nil {
				return err
			}
		}
	}
	for repo := range claimRepos {
		for ws := range claimBusy {
			r := storetest.NewRun(fmt.Sprint("repo-", repo), fmt.Sprint("ws-", ws))
			r.State, r.Owner, r.CreatedAt, r.StartedAt = landform.StateRunning, "elsewhere", next(), at
			if err := s.CreateRun(ctx, r); err != nil {
				return err
			}
		}
	}
	queued, err := s.ListRuns(ctx, landform.RunFilter{States: []landform.RunState{landform.StateQueued}})
	if err != nil {
		return err
	}
	if len(queued) != claimRepos*claimWorkspaces*claimQueued {
		return fmt.Errorf("%d runs queued, want %d", len(queued), claimRepos*claimWorkspaces*claimQueued)
	}
	return nil
}

// claimOnce claims a run, timed, then (untimed) finishes it and queues
// another of its workspace, last in line: the queue stays at 1,000.
func claimOnce(ctx context.Context, s queueStore) (time.Duration, error) {
	start := time.Now()
	r, err := s.ClaimRun(ctx, "bench")
	d := time.Since(start)
	if err != nil {
		return 0, err
	}
	if r == nil {
		return 0, fmt.Errorf("nothing claimed")
	}
	var ws int
	if _, err := fmt.Sscanf(r.Workspace, "ws-%d", &ws); err != nil || ws < claimBusy {
		return 0, fmt.Errorf("claimed run %s of busy workspace %s", r.ID, r.Workspace)
	}
	r.State, r.FinishedAt = landform.StatePlanned, r.StartedAt.Add(time.Second)
	if err := s.UpdateRun(ctx, r); err != nil {
		return 0, err
	}
	again := storetest.NewRun(r.Repo, r.Workspace)
	again.Ref = r.Ref
	return d, s.CreateRun(ctx, again)
}

// BenchmarkClaim measures ClaimRun's latency with 1,000 runs queued (200
// of them in busy workspaces, ahead of the rest) over 10,000 finished
// ones, on SQLite (a file on disk, the driver's default synchronous mode)
// and on PostgreSQL (a durable cluster: fsync and synchronous_commit on,
// its data on the same disk, over TCP on loopback), alternating, in one
// process:
//
//   - one: one claim at a time;
//   - eight: eight claims at once, on one SQLite handle, and on two
//     PostgreSQL stores (two replicas' pools) four each.
//
// Each reports the median and 90th percentile wall time of a claim on
// each store and the ratio PostgreSQL / SQLite of the medians.
//
//	go test -run '^$' -bench Claim -benchtime 200x ./store/postgres/
func BenchmarkClaim(b *testing.B) {
	ctx := b.Context()
	if _, err := pgtest.BinDir(); err != nil { // as NewDatabase: fail, or skip under -short
		if testing.Short() {
			b.Skip(err)
		}
		b.Fatal(err)
	}
	cluster, err := pgtest.Start(ctx, pgtest.Options{Durable: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cluster.Stop() })
	dsn, err := cluster.CreateDatabase(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	var pg [2]*postgres.DB
	for i := range pg {
		if pg[i], err = postgres.Open(ctx, dsn); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pg[i].Close() })
	}
	path := filepath.Join(b.TempDir(), "landform.db")
	lite, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { lite.Close() })
	b.Logf("SQLite synchronous=%s; PostgreSQL %s, durable, in %s", sqliteSynchronous(b, path), cluster.Version, cluster.Dir)

	sides := []claimSide{{"sqlite", []queueStore{lite}}, {"postgres", []queueStore{pg[0], pg[1]}}}
	for _, side := range sides {
		start := time.Now()
		if err := fillQueue(ctx, side.stores[0]); err != nil {
			b.Fatalf("%s: %v", side.name, err)
		}
		if side.name == "postgres" {
			// As autovacuum would within a minute of such writes: the
			// planner's statistics of the runs table.
			analyze(b, dsn)
		}
		// A claim through each handle outside the measurements, to warm
		// caches, connections and plans.
		for _, s := range side.stores {
			if _, err := claimOnce(ctx, s); err != nil {
				b.Fatalf("%s: %v", side.name, err)
			}
		}
		b.Logf("%s: queue of 1,000 over 10,000 finished runs written in %s", side.name, time.Since(start).Round(time.Millisecond))
	}
	b.Run("one", func(b *testing.B) { benchClaims(b, sides, 1) })
	b.Run("eight", func(b *testing.B) { benchClaims(b, sides, 8) })
}

// claimSide is a store the claim benchmark measures, through one or more
// handles.
type claimSide struct {
	name   string
	stores []queueStore
}

// benchClaims runs rounds of n claims at once on each side in turn (the
// first side alternating), the i-th through side.stores[i%len], and
// reports their latencies.
func benchClaims(b *testing.B, sides []claimSide, n int) {
	ctx := b.Context()
	times := map[string][]time.Duration{}
	round := 0
	for b.Loop() {
		for k := range sides {
			side := sides[(round+k)%len(sides)]
			ds, errs := make([]time.Duration, n), make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { ds[i], errs[i] = claimOnce(ctx, side.stores[i%len(side.stores)]) })
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				b.Fatalf("%s: %v", side.name, err)
			}
			times[side.name] = append(times[side.name], ds...)
		}
		round++
	}
	lm, pm := quantile(times["sqlite"], 0.5), quantile(times["postgres"], 0.5)
	b.ReportMetric(ms(lm), "sqlite-ms")
	b.ReportMetric(ms(quantile(times["sqlite"], 0.9)), "sqlite-p90-ms")
	b.ReportMetric(ms(pm), "postgres-ms")
	b.ReportMetric(ms(quantile(times["postgres"], 0.9)), "postgres-p90-ms")
	b.ReportMetric(float64(pm)/float64(lm), "x-sqlite")
}

// analyze runs ANALYZE on the database of dsn.
func analyze(b *testing.B, dsn string) {
	conn, err := pgx.Connect(b.Context(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(b.Context())
	if _, err := conn.Exec(b.Context(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// sqliteSynchronous reads the synchronous mode a new connection to the
// SQLite file gets, as the store's connections do.
func sqliteSynchronous(b *testing.B, path string) string {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var mode string
	if err := db.QueryRowContext(b.Context(), "PRAGMA synchronous").Scan(&mode); err != nil {
		b.Fatal(err)
	}
	return map[string]string{"0": "OFF", "1": "NORMAL", "2": "FULL", "3": "EXTRA"}[mode] + " (" + mode + ")"
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[int(q*float64(len(s)-1)+0.5)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
