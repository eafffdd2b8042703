package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform/config"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/modules"
	"github.com/landform/landform/source"
	"github.com/landform/landform/test/bench"
)

// affectedFixture is the 2,000-workspace monorepo with one more commit,
// a change to one mid-depth module.
type affectedFixture struct {
	m          *bench.Monorepo
	module     string   // the changed module
	base, head string   // commits
	want       []string // dirs of the workspaces calling module, transitively
}

var (
	affectedOnce sync.Once
	affectedFix  *affectedFixture
	affectedErr  error
)

// getAffectedFixture generates the monorepo of bench.DefaultSpec once per
// process.
func getAffectedFixture(b *testing.B) *affectedFixture {
	b.Helper()
	affectedOnce.Do(func() {
		ctx := context.Background()
		dir := fixtureDir(b, "monorepo")
		spec := bench.DefaultSpec()
		m, err := bench.GenerateMonorepo(ctx, dir+"/repo", spec)
		if err != nil {
			affectedErr = err
			return
		}
		mod := m.PickModule(spec.Depth / 2)
		head, err := m.CommitModuleChange(ctx, mod, 1)
		if err != nil {
			affectedErr = err
			return
		}
		affectedFix = &affectedFixture{m: m, module: mod, base: m.Base, head: head, want: m.Callers(mod)}
	})
	if affectedErr != nil {
		b.Fatal(affectedErr)
	}
	return affectedFix
}

// gitDiff is the baseline of every affected benchmark: what git itself
// takes, as a process, to tell what changed.
func (f *affectedFixture) gitDiff(ctx context.Context) error {
	out, err := run(ctx, f.m.Dir, bench.GitEnv(), "git", "diff", "--name-only", f.base, f.head)
	if err != nil {
		return err
	}
	if got := strings.TrimSpace(string(out)); got != f.module+"/main.tf" {
		return fmt.Errorf("git diff printed %q", got)
	}
	return nil
}

// round is one measured round: prepare is untimed, subject and baseline
// are timed; rounds alternate which of the two runs first.
type round struct {
	prepare  func() error
	subject  func() error
	baseline func() error
}

// compare runs b.N rounds and reports the medians of subject ("ms", and
// its CPU time "cpu-ms") and baseline ("base-ms") and the ratio of the
// wall times ("x-base"). b's own timer (ns/op) counts the subject only.
// Every round starts from a collected heap, as a new process or an idle
// daemon does: the garbage of one round is not collected in the next.
func compare(b *testing.B, r round) {
	b.Helper()
	b.StopTimer()
	var subj, base []sample
	for i := 0; i < b.N; i++ {
		if r.prepare != nil {
			if err := r.prepare(); err != nil {
				b.Fatal(err)
			}
		}
		runtime.GC()
		for k := range 2 {
			if (i+k)%2 == 0 {
				s, err := timed(r.baseline)
				if err != nil {
					b.Fatal(err)
				}
				base = append(base, s)
				continue
			}
			b.StartTimer()
			s, err := timed(r.subject)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			subj = append(subj, s)
		}
	}
	s, bl := medians(subj), medians(base)
	b.ReportMetric(ms(s.wall), "ms")
	b.ReportMetric(ms(s.cpu), "cpu-ms")
	b.ReportMetric(ms(bl.wall), "base-ms")
	b.ReportMetric(float64(s.wall)/float64(bl.wall), "x-base")
}

// BenchmarkAffected measures `landform affected` for a commit that changes
// one mid-depth module of the 2,000-workspace monorepo (bench.DefaultSpec),
// against `git diff --name-only base head` run as a process:
//
//   - cold: in-process, as one CLI command does it: open the repository,
//     resolve both commits, list the changed paths, load base and head
//     with a new modules.Cache, compare;
//   - daemon: the repository is open and base was loaded with the cache
//     (untimed); resolve head, list the changed paths, load head, compare;
//   - cli: `landform affected --json` run as a process, and cli/GOGC=400
//     the same with the garbage collector running a quarter as often;
//   - walk and walk+read: references for the cold case: open the
//     repository and list every directory of head, and also read every
//     file modules.Load reads;
//
// Every case checks its result: exactly the workspaces calling the module,
// transitively, each for that module alone.
func BenchmarkAffected(b *testing.B) {
	ctx := context.Background()
	f := getAffectedFixture(b)
	b.Logf("%s: %d workspaces, %d modules, %d files; changed %s, called by %d workspaces",
		f.m.Dir, len(f.m.Workspaces), len(f.m.Modules), f.m.Files, f.module, len(f.want))
	baseline := func() error { return f.gitDiff(ctx) }
	check := func(aff []modules.Affected) error {
		if len(aff) != len(f.want) {
			return fmt.Errorf("%d workspaces affected, want %d", len(aff), len(f.want))
		}
		return nil
	}

	b.Run("cold", func(b *testing.B) {
		subject := func() error {
			repo, err := bench.Open(ctx, f.m.Dir)
			if err != nil {
				return err
			}
			defer repo.Close()
			aff, err := bench.Affected(ctx, repo, f.base, f.head)
			if err != nil {
				return err
			}
			return check(aff)
		}
		verify(b, f, func() ([]modules.Affected, error) {
			repo, err := bench.Open(ctx, f.m.Dir)
			if err != nil {
				return nil, err
			}
			defer repo.Close()
			return bench.Affected(ctx, repo, f.base, f.head)
		})
		compare(b, round{subject: subject, baseline: baseline})
	})

	b.Run("daemon", func(b *testing.B) {
		var repo *source.Repo
		// A new repository, cache and base snapshot for every round: the
		// daemon has read base before, but never head's objects nor its
		// changed directories.
		prepare := func() error {
			if repo != nil {
				repo.Close()
			}
			var err error
			if repo, err = bench.Open(ctx, f.m.Dir); err != nil {
				return err
			}
			base, err := repo.Resolve(ctx, f.base)
			if err != nil {
				return err
			}
			_, err = repo.Snapshot(ctx, base)
			return err
		}
		defer func() {
			if repo != nil {
				repo.Close()
			}
		}()
		subject := func() error {
			aff, err := bench.Affected(ctx, repo, f.base, f.head)
			if err != nil {
				return err
			}
			return check(aff)
		}
		verify(b, f, func() ([]modules.Affected, error) {
			if err := prepare(); err != nil {
				return nil, err
			}
			return bench.Affected(ctx, repo, f.base, f.head)
		})
		compare(b, round{prepare: prepare, subject: subject, baseline: baseline})
	})

	// The CLI keeps its parse cache in the data directory: "warm" runs
	// after an earlier command on the repo, "cold" empties the cache first.
	for _, cold := range []bool{false, true} {
		for _, gogc := range []string{"", "400"} {
			name := map[bool]string{false: "cli/warm", true: "cli/cold"}[cold]
			if gogc != "" {
				name += "/GOGC=" + gogc
			}
			b.Run(name, func(b *testing.B) { benchmarkAffectedCLI(b, f, gogc, cold) })
		}
	}

	for _, read := range []bool{false, true} {
		name := map[bool]string{false: "walk", true: "walk+read"}[read]
		b.Run(name, func(b *testing.B) {
			subject := func() error {
				repo, err := gitrepo.Open(ctx, f.m.Dir)
				if err != nil {
					return err
				}
				defer repo.Close()
				fsys, err := repo.FS(f.head)
				if err != nil {
					return err
				}
				dirs, err := walk(fsys, read)
				if err != nil {
					return err
				}
				if dirs < len(f.m.Workspaces)+len(f.m.Modules) {
					return fmt.Errorf("walked %d directories", dirs)
				}
				return nil
			}
			compare(b, round{subject: subject, baseline: baseline})
		})
	}
}

// benchmarkAffectedCLI runs `landform affected --json` as a process, with
// GOGC=gogc in its environment unless gogc is "", and with an empty parse
// cache when cold.
func benchmarkAffectedCLI(b *testing.B, f *affectedFixture, gogc string, cold bool) {
	ctx := context.Background()
	bin := landformBinary(b)
	data := fixtureDir(b, "data")
	args := []string{"--data-dir", data, "affected", "--repo", f.m.Dir, "--base", f.base, "--head", f.head, "--json"}
	env := os.Environ()
	if gogc != "" {
		env = append(env, "GOGC="+gogc)
	}
	var doc struct {
		Workspaces []struct {
			Dir     string   `json:"dir"`
			Reasons []string `json:"reasons"`
		} `json:"workspaces"`
	}
	verify(b, f, func() ([]modules.Affected, error) {
		out, err := run(ctx, "", env, bin, args...)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(out, &doc); err != nil {
			return nil, err
		}
		var aff []modules.Affected
		for _, w := range doc.Workspaces {
			a := modules.Affected{Reasons: w.Reasons}
			a.Workspace.Dir = w.Dir
			aff = append(aff, a)
		}
		return aff, nil
	})
	subject := func() error {
		out, err := run(ctx, "", env, bin, args...)
		if err != nil {
			return err
		}
		if n := strings.Count(string(out), `"dir":`); n != len(f.want) {
			return fmt.Errorf("landform affected listed %d workspaces, want %d", n, len(f.want))
		}
		return nil
	}
	r := round{subject: subject, baseline: func() error { return f.gitDiff(ctx) }}
	if cold {
		r.prepare = func() error { return os.RemoveAll(filepath.Join(data, "cache")) }
	}
	compare(b, r)
}

// verify runs the computation once, outside the measurements, and fails
// b unless it finds exactly the expected workspaces for the expected
// reason.
func verify(b *testing.B, f *affectedFixture, compute func() ([]modules.Affected, error)) {
	b.Helper()
	b.StopTimer()
	aff, err := compute()
	if err != nil {
		b.Fatal(err)
	}
	if err := bench.CheckAffected(aff, f.want, f.module); err != nil {
		b.Fatal(err)
	}
}

// walk lists every directory of fsys, and with read also reads every file
// modules.Load would read (.tf, .tf.json, .tofu, .tofu.json). It returns
// the number of directories.
func walk(fsys fs.ReadDirFS, read bool) (int, error) {
	dirs := 0
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return fs.SkipDir
			}
			dirs++
			return nil
		}
		if read && isConfig(d.Name()) {
			_, err = fs.ReadFile(fsys, p)
		}
		return err
	})
	return dirs, err
}

func isConfig(name string) bool {
	for _, ext := range []string{".tf", ".tf.json", ".tofu", ".tofu.json"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// BenchmarkAffectedPhases splits the cold case into its steps and reports
// the median of each ("<step>-ms"): where a one-shot `landform affected`
// spends its time.
func BenchmarkAffectedPhases(b *testing.B) {
	ctx := context.Background()
	f := getAffectedFixture(b)
	steps := []string{"open", "resolve", "diff", "base-config", "base-load", "head-config", "head-load", "affectedby"}
	times := map[string][]sample{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step := func(name string, fn func() error) {
			d, err := timed(fn)
			if err != nil {
				b.Fatal(err)
			}
			times[name] = append(times[name], d)
		}
		var (
			repo             *gitrepo.Repo
			baseSHA, headSHA string
			changed          []string
			cache            = modules.NewCache(0)
			baseIx, headIx   *modules.Index
		)
		step("open", func() (err error) { repo, err = gitrepo.Open(ctx, f.m.Dir); return err })
		step("resolve", func() (err error) {
			if baseSHA, err = repo.Resolve(f.base); err != nil {
				return err
			}
			headSHA, err = repo.Resolve(f.head)
			return err
		})
		step("diff", func() (err error) { changed, err = repo.ChangedPaths(baseSHA, headSHA); return err })
		// FS + config.LoadRepo, then modules.Load: the two halves of
		// source.Repo.Snapshot.
		load := func(prefix, sha string) (ix *modules.Index) {
			var (
				fsys *gitrepo.TreeFS
				cfg  *config.Repo
			)
			step(prefix+"-config", func() (err error) {
				if fsys, err = repo.FS(sha); err != nil {
					return err
				}
				cfg, err = config.LoadRepo(fsys, config.RepoOptions{})
				return err
			})
			step(prefix+"-load", func() (err error) {
				ix, err = modules.Load(ctx, fsys, modules.Options{Declared: cfg.Workspaces, Autodiscover: cfg.Autodiscover, Cache: cache})
				return err
			})
			return ix
		}
		baseIx = load("base", baseSHA)
		headIx = load("head", headSHA)
		var aff []modules.Affected
		step("affectedby", func() error { aff = modules.AffectedBy(baseIx, headIx, changed); return nil })
		if err := bench.CheckAffected(aff, f.want, f.module); err != nil {
			b.Fatal(err)
		}
		repo.Close()
	}
	b.StopTimer()
	var total time.Duration
	for _, s := range steps {
		m := medians(times[s]).wall
		total += m
		b.ReportMetric(ms(m), s+"-ms")
	}
	b.ReportMetric(ms(total), "sum-ms")
}
