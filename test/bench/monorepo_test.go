package bench_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/landform/landform/modules"
	"github.com/landform/landform/test/bench"
)

// smallSpec is small enough for every `go test` run.
var smallSpec = bench.Spec{Workspaces: 150, Modules: 24, Depth: 4, Seed: 7}

func TestGenerateMonorepo(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, err := bench.GenerateMonorepo(ctx, filepath.Join(t.TempDir(), "repo"), smallSpec)
	if err != nil {
		t.Fatal(err)
	}

	// The counts and the depth asked for.
	if len(m.Workspaces) != smallSpec.Workspaces || len(m.Modules) != smallSpec.Modules {
		t.Errorf("%d workspaces and %d modules, want %d and %d", len(m.Workspaces), len(m.Modules), smallSpec.Workspaces, smallSpec.Modules)
	}
	depth := 0
	for _, ws := range m.Workspaces {
		if n := len(ws.Calls); n < 1 || n > 3 {
			t.Errorf("%s calls %d modules, want 1 to 3", ws.Dir, n)
		}
		depth = max(depth, m.ChainDepth(ws.Dir))
	}
	if depth != smallSpec.Depth {
		t.Errorf("longest module chain %d, want %d", depth, smallSpec.Depth)
	}

	// One commit, every object packed.
	if n, err := bench.Git(ctx, m.Dir, "rev-list", "--count", "HEAD"); err != nil || n != "1" {
		t.Errorf("rev-list --count HEAD = %q, %v; want 1", n, err)
	}
	counts, err := bench.Git(ctx, m.Dir, "count-objects", "-v")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(counts, "count: 0\n") || !strings.Contains(counts, "\npacks: 1\n") {
		t.Errorf("objects not packed:\n%s", counts)
	}
	files, err := bench.Git(ctx, m.Dir, "ls-tree", "-r", "--name-only", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Split(files, "\n")); n != m.Files {
		t.Errorf("%d files in HEAD, Files = %d", n, m.Files)
	}

	// Landform discovers exactly the generated workspaces, with the
	// generated module graph.
	repo, err := bench.Open(ctx, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	snap, err := repo.Snapshot(ctx, m.Base)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, ws := range snap.Index.Workspaces() {
		got = append(got, ws.Dir)
		if err := snap.Index.Err(ws.Dir); err != nil {
			t.Errorf("%s: %v", ws.Dir, err)
		}
		if g, w := snap.Index.Modules(ws.Dir), m.Reach(ws.Dir); !slices.Equal(g, w) {
			t.Errorf("%s: Modules = %v, generated %v", ws.Dir, g, w)
		}
	}
	for _, ws := range m.Workspaces {
		want = append(want, ws.Dir)
	}
	if !slices.Equal(got, want) {
		t.Errorf("discovered %d workspaces, generated %d; first discovered %v", len(got), len(want), got[:min(3, len(got))])
	}
	for _, mod := range m.Modules {
		if err := snap.Index.Err(mod.Dir); err != nil {
			t.Errorf("%s: %v", mod.Dir, err)
		}
	}
}

func TestGenerateMonorepoIsDeterministic(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	spec := bench.Spec{Workspaces: 20, Modules: 8, Depth: 3, Seed: 3}
	a, err := bench.GenerateMonorepo(ctx, filepath.Join(t.TempDir(), "a"), spec)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bench.GenerateMonorepo(ctx, filepath.Join(t.TempDir(), "b"), spec)
	if err != nil {
		t.Fatal(err)
	}
	if a.Base != b.Base {
		t.Errorf("same spec, commits %s and %s", a.Base, b.Base)
	}
	spec.Seed++
	c, err := bench.GenerateMonorepo(ctx, filepath.Join(t.TempDir(), "c"), spec)
	if err != nil {
		t.Fatal(err)
	}
	if c.Base == a.Base {
		t.Error("another seed gave the same commit")
	}
}

func TestGenerateMonorepoRejectsBadSpecs(t *testing.T) {
	t.Parallel()
	for _, spec := range []bench.Spec{
		{Workspaces: 0, Modules: 4, Depth: 2},
		{Workspaces: 5, Modules: 1, Depth: 2},
		{Workspaces: 5, Modules: 4, Depth: 0},
	} {
		if _, err := bench.GenerateMonorepo(context.Background(), t.TempDir(), spec); err == nil {
			t.Errorf("%+v: no error", spec)
		}
	}
}

// TestAffectedOneModule checks, on a small repo, what the benchmark checks
// on the big one: a commit to a mid-depth module affects exactly the
// workspaces that call it, transitively, each for that module alone, in
// the CLI's composition and in the daemon's.
func TestAffectedOneModule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m, err := bench.GenerateMonorepo(ctx, filepath.Join(t.TempDir(), "repo"), smallSpec)
	if err != nil {
		t.Fatal(err)
	}
	mod := m.PickModule(smallSpec.Depth / 2)
	if mod == "" {
		t.Fatal("no mid-depth module has callers")
	}
	want := m.Callers(mod)
	if len(want) == 0 || len(want) == len(m.Workspaces) {
		t.Fatalf("module %s has %d callers of %d workspaces", mod, len(want), len(m.Workspaces))
	}
	head, err := m.CommitModuleChange(ctx, mod, 1)
	if err != nil {
		t.Fatal(err)
	}
	repo, err := bench.Open(ctx, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()

	check := func(name string, aff []modules.Affected) {
		t.Helper()
		if err := bench.CheckAffected(aff, want, mod); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	aff, err := bench.Affected(ctx, repo, m.Base, head)
	if err != nil {
		t.Fatal(err)
	}
	check("cold", aff)

	// The daemon's case: base was read before, head arrives.
	daemon, err := bench.Open(ctx, m.Dir)
	if err != nil {
		t.Fatal(err)
	}
	defer daemon.Close()
	if _, err := daemon.Snapshot(ctx, m.Base); err != nil {
		t.Fatal(err)
	}
	aff, err = bench.Affected(ctx, daemon, m.Base, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	check("daemon", aff)
}
