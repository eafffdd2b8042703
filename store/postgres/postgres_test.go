package postgres_test

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/pgtest"
	"github.com/landform/landform/runner"
	"github.com/landform/landform/store/postgres"
	"github.com/landform/landform/store/sqlite"
	"github.com/landform/landform/store/storetest"
)

var (
	_ runner.Store    = (*postgres.DB)(nil)
	_ storetest.Store = (*postgres.DB)(nil)
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// open opens the database of dsn, closed when the test ends.
func open(t testing.TB, dsn string, opts ...postgres.Option) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), dsn, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSuite: the store contract, each subtest on a database of its own.
func TestSuite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
		return open(t, pgtest.NewDatabase(t))
	})
}

// TestSameMethodsAsSQLite: the daemon and the CLI use a store through
// *sqlite.DB's methods; this store has every one of them, with the same
// signature, so that either can stand behind them.
func TestSameMethodsAsSQLite(t *testing.T) {
	want, got := reflect.TypeFor[*sqlite.DB](), reflect.TypeFor[*postgres.DB]()
	for i := range want.NumMethod() {
		m := want.Method(i)
		g, ok := got.MethodByName(m.Name)
		switch {
		case !ok:
			t.Errorf("*postgres.DB has no method %s %v", m.Name, m.Type)
		case g.Type.String() != strings.Replace(m.Type.String(), "*sqlite.DB", "*postgres.DB", 1):
			t.Errorf("method %s: %v, want %v", m.Name, g.Type, m.Type)
		}
	}
	if postgres.InterruptedApply != sqlite.InterruptedApply {
		t.Errorf("InterruptedApply differs from store/sqlite's")
	}
}

func TestOpenInvalid(t *testing.T) {
	for _, dsn := range []string{"", "postgres://a:b@%zz/db", "host=/tmp port=notaport"} {
		_, err := postgres.Open(t.Context(), dsn)
		if landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", dsn, err)
		}
		if err != nil && strings.Contains(err.Error(), ":b@") {
			t.Errorf("Open(%q) error quotes the password: %v", dsn, err)
		}
	}
}

// TestOpenUnreachable: no server is an error, not a hang, and the error
// does not quote the password.
func TestOpenUnreachable(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	closed := strings.Replace(dsn, "postgres@", "postgres:hunter2@", 1)
	closed = closed[:strings.LastIndex(closed, ":")] + ":1/none?sslmode=disable&connect_timeout=5"
	_, err := postgres.Open(t.Context(), closed)
	if err == nil {
		t.Fatal("Open of a closed port succeeded")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error quotes the password: %v", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	r := storetest.NewRun("infra", "net")
	if err := db.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = open(t, dsn)
	got, err := db.GetRun(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	storetest.CheckRun(t, got, r)
}

// TestRunIDFloorSurvivesReopen: the raised sequence is in the database.
func TestRunIDFloorSurvivesReopen(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	db := open(t, dsn)
	if err := db.EnsureNextRunID(t.Context(), 500); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = open(t, dsn)
	r := storetest.NewRun("infra", "net")
	if err := db.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if r.ID != "500" {
		t.Errorf("first run ID after EnsureNextRunID(500) and a reopen: %s, want 500", r.ID)
	}
}

// TestEnsureNextRunIDUnderInserts raises the run IDs while two replicas
// insert runs: no ID is handed out twice, and every run created after the
// raise returned has an ID at or above the floor.
func TestEnsureNextRunIDUnderInserts(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	dbs := []*postgres.DB{open(t, dsn), open(t, dsn)}
	const floor = 1_000_000
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		raised bool
		ids    []string
		errs   []error
	)
	stop := make(chan struct{})
	// created wakes the test after inserts; exited closes once every
	// inserter has returned (done, or failed).
	created, exited := make(chan struct{}, 1), make(chan struct{})
	for g := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				mu.Lock()
				after := raised
				mu.Unlock()
				r := storetest.NewRun("infra", fmt.Sprintf("ws-%d-%d", g, i))
				if err := dbs[g%2].CreateRun(t.Context(), r); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				var n int64
				fmt.Sscan(r.ID, &n)
				mu.Lock()
				ids = append(ids, r.ID)
				if after && n < floor {
					errs = append(errs, fmt.Errorf("run %s created after the raise to %d", r.ID, floor))
				}
				mu.Unlock()
				select {
				case created <- struct{}{}:
				default: // a wake-up is pending already
				}
			}
		})
	}
	go func() { wg.Wait(); close(exited) }()
	// awaitCreated waits until n runs were created.
	awaitCreated := func(n int) {
		for {
			mu.Lock()
			got := len(ids)
			mu.Unlock()
			if got >= n {
				return
			}
			select {
			case <-created:
			case <-exited:
				t.Fatalf("the inserters stopped after %d runs: %v", got, errs)
			}
		}
	}
	// Let the inserts get going, then raise.
	awaitCreated(50)
	if err := dbs[0].EnsureNextRunID(t.Context(), floor); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	raised = true
	mu.Unlock()
	awaitCreated(200)
	close(stop)
	<-exited
	for _, err := range errs {
		t.Error(err)
	}
	slices.Sort(ids)
	if n := len(slices.Compact(slices.Clone(ids))); n != len(ids) {
		t.Errorf("%d IDs handed out, %d unique", len(ids), n)
	}
}

// TestWithClock: run times follow the DB's clock, as in store/sqlite;
// leases do not — they expire by the database's clock, so a replica whose
// clock is a year ahead still sees another's lease held.
func TestWithClock(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	now := time.Date(2026, 11, 23, 12, 0, 0, 42, time.FixedZone("X", -7200))
	db := open(t, dsn, postgres.WithClock(func() time.Time { return now }))
	r := storetest.NewRun("infra", "net")
	if err := db.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if !r.CreatedAt.Equal(now) || r.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", r.CreatedAt, now)
	}
	claimed, err := db.ClaimRun(t.Context(), "w")
	if err != nil || claimed == nil || !claimed.StartedAt.Equal(now) {
		t.Errorf("ClaimRun = %+v, %v; want StartedAt %v", claimed, err, now)
	}

	ahead := open(t, dsn, postgres.WithClock(func() time.Time { return time.Now().AddDate(1, 0, 0) }))
	behind := open(t, dsn, postgres.WithClock(func() time.Time { return time.Now().AddDate(-1, 0, 0) }))
	if ok, err := behind.AcquireLease(t.Context(), "poll", "behind", time.Hour); err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	if h, err := ahead.LeaseHolder(t.Context(), "poll"); err != nil || h != "behind" {
		t.Errorf("LeaseHolder seen from a clock a year ahead = %q, %v; want behind", h, err)
	}
	if ok, err := ahead.AcquireLease(t.Context(), "poll", "ahead", time.Hour); err != nil || ok {
		t.Errorf("a replica whose clock is a year ahead took a held lease: %v, %v", ok, err)
	}
}

// TestTextSanitized: PostgreSQL's text refuses NUL bytes and invalid
// UTF-8, which terraform's output may hold; the error is kept, with
// U+FFFD in their place.
func TestTextSanitized(t *testing.T) {
	db := open(t, pgtest.NewDatabase(t))
	r := storetest.NewRun("infra", "net")
	r.Error = "bad\x00byte and \xff\xfe"
	if err := db.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetRun(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := "bad\uFFFDbyte and \uFFFD"; got.Error != want {
		t.Errorf("Error = %q, want %q", got.Error, want)
	}
}

// TestTwoReplicasClaim is the queue under two replicas: two stores (two
// connection pools) on one database, four workers each, drain a queue of
// 12 workspaces while an applier on each replica starts applies in the
// same workspaces. No run is claimed twice, no workspace ever has two runs
// running or applying, and each workspace's queue is claimed oldest first.
func TestTwoReplicasClaim(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	replicas := []*postgres.DB{open(t, dsn), open(t, dsn)}
	ctx := t.Context()
	const workspaces, each, applies = 12, 10, 4
	type ws struct{ repo, name string }
	var all []ws
	for i := range workspaces {
		all = append(all, ws{fmt.Sprint("repo", i%3), fmt.Sprint("w", i)})
	}
	order := map[ws][]string{}
	base := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for i := range each {
		for j, w := range all {
			r := storetest.NewRun(w.repo, w.name)
			r.CreatedAt = base.Add(time.Duration(i*workspaces+(workspaces-j)) * time.Second)
			if err := replicas[(i+j)%2].CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			order[w] = append(order[w], r.ID)
		}
	}
	var approved []*landform.Run
	for i := range applies {
		for _, w := range all {
			r := storetest.NewRun(w.repo, w.name)
			r.State, r.CreatedAt = landform.StateApproved, base.Add(-time.Duration(i+1)*time.Hour)
			if err := replicas[0].CreateRun(ctx, r); err != nil {
				t.Fatal(err)
			}
			approved = append(approved, r)
		}
	}

	var (
		mu       sync.Mutex
		busy     = map[ws]string{}
		claimed  = map[ws][]string{}
		problems []string
	)
	enter := func(who string, w ws, id string) {
		mu.Lock()
		defer mu.Unlock()
		if other := busy[w]; other != "" {
			problems = append(problems, fmt.Sprintf("%s took run %s of %v while run %s runs", who, id, w, other))
		}
		busy[w] = id
	}
	leave := func(w ws) {
		mu.Lock()
		defer mu.Unlock()
		delete(busy, w)
	}
	checkAlone := func(db *postgres.DB, w ws) error {
		running, err := db.ListRuns(ctx, landform.RunFilter{Repo: w.repo, Workspace: w.name,
			States: []landform.RunState{landform.StateRunning, landform.StateApplying}})
		if err != nil {
			return err
		}
		if len(running) != 1 {
			mu.Lock()
			problems = append(problems, fmt.Sprintf("%v has %d runs running or applying", w, len(running)))
			mu.Unlock()
		}
		return nil
	}

	worker := func(db *postgres.DB, owner string) error {
		for {
			r, err := db.ClaimRun(ctx, owner)
			if err != nil {
				return err
			}
			if r == nil {
				left, err := db.ListRuns(ctx, landform.RunFilter{States: []landform.RunState{landform.StateQueued}, Limit: 1})
				if err != nil {
					return err
				}
				if len(left) == 0 {
					return nil
				}
				time.Sleep(time.Millisecond) // the others' workspaces are busy
				continue
			}
			w := ws{r.Repo, r.Workspace}
			enter(owner, w, r.ID)
			mu.Lock()
			claimed[w] = append(claimed[w], r.ID)
			mu.Unlock()
			if err := checkAlone(db, w); err != nil {
				return err
			}
			leave(w)
			r.State, r.FinishedAt = landform.StatePlanned, r.StartedAt.Add(time.Second)
			if err := db.UpdateRun(ctx, r); err != nil {
				return err
			}
		}
	}
	applier := func(db *postgres.DB, runs []*landform.Run) error {
		for len(runs) > 0 {
			var retry []*landform.Run
			for _, r := range runs {
				got, err := db.TransitionRun(ctx, r.ID, []landform.RunState{landform.StateApproved}, func(x *landform.Run) error {
					x.State = landform.StateApplying
					return nil
				})
				if errors.Is(err, landform.ErrWorkspaceBusy) {
					retry = append(retry, r)
					continue
				}
				if err != nil {
					return err
				}
				w := ws{got.Repo, got.Workspace}
				enter("applier", w, got.ID)
				if err := checkAlone(db, w); err != nil {
					return err
				}
				leave(w)
				got.State = landform.StateApplied
				if err := db.UpdateRun(ctx, got); err != nil {
					return err
				}
			}
			runs = retry
			if len(runs) > 0 {
				time.Sleep(time.Millisecond) // their workspaces are busy
			}
		}
		return nil
	}

	var (
		wg   sync.WaitGroup
		errs = make([]error, 10)
	)
	for g := range 8 {
		wg.Go(func() { errs[g] = worker(replicas[g%2], fmt.Sprintf("replica-%d/worker-%d", g%2, g)) })
	}
	half := len(approved) / 2
	wg.Go(func() { errs[8] = applier(replicas[0], approved[:half]) })
	wg.Go(func() { errs[9] = applier(replicas[1], approved[half:]) })
	wg.Wait()
	for g, err := range errs {
		if err != nil {
			t.Errorf("goroutine %d: %v", g, err)
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
	for _, w := range all {
		if got, want := strings.Join(claimed[w], " "), strings.Join(order[w], " "); got != want {
			t.Errorf("%v: runs claimed in order %s, want %s (each once, oldest first)", w, got, want)
		}
	}
	left, err := replicas[0].ListRuns(ctx, landform.RunFilter{States: []landform.RunState{
		landform.StateQueued, landform.StateApproved, landform.StateRunning, landform.StateApplying}})
	if err != nil || len(left) != 0 {
		t.Errorf("%d runs left unfinished, %v", len(left), err)
	}
}

// TestRecoverOrphansTwoReplicas: two replicas recover a dead one's runs at
// the same moment; each run is recovered once.
func TestRecoverOrphansTwoReplicas(t *testing.T) {
	dsn := pgtest.NewDatabase(t)
	a, b := open(t, dsn), open(t, dsn)
	ctx := t.Context()
	const orphans = 20
	for i := range orphans {
		r := storetest.NewRun("infra", fmt.Sprint("ws", i))
		r.State, r.Owner = landform.StateRunning, "dead"
		if i%4 == 0 {
			r.State = landform.StateApplying
		}
		if err := a.CreateRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	type result struct {
		requeued, flagged []*landform.Run
		err               error
	}
	results := make([]result, 2)
	var wg sync.WaitGroup
	for i, db := range []*postgres.DB{a, b} {
		wg.Go(func() {
			self := fmt.Sprint("replica-", i)
			r := &results[i]
			r.requeued, r.flagged, r.err = db.RecoverOrphans(ctx, "replica/", self)
		})
	}
	wg.Wait()
	requeued, flagged := 0, 0
	for _, r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		requeued += len(r.requeued)
		flagged += len(r.flagged)
	}
	if requeued != 15 || flagged != 5 {
		t.Errorf("re-queued %d and flagged %d runs, want 15 and 5 (each once)", requeued, flagged)
	}
	queued, err := a.ListRuns(ctx, landform.RunFilter{States: []landform.RunState{landform.StateQueued}})
	if err != nil || len(queued) != 15 {
		t.Errorf("%d queued copies, %v; want 15", len(queued), err)
	}
}

// TestSuiteThroughPgBouncer: the store contract through PgBouncer in
// transaction pooling mode, which many deployments put in front of
// PostgreSQL. It holds because every lock the store takes is
// transaction-level (advisory locks included) and no connection setting
// outlives a transaction; pgx must be told not to use named prepared
// statements (default_query_exec_mode=exec in the DSN; PgBouncer 1.18,
// Debian 12's, has no prepared statement support).
func TestSuiteThroughPgBouncer(t *testing.T) {
	b := pgtest.NewBouncer(t, "transaction")
	storetest.Run(t, func(t *testing.T) storetest.Store {
		dsn, err := b.Route(pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		return open(t, dsn)
	})
}
