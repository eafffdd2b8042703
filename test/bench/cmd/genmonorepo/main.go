// Command genmonorepo writes the benchmarks' synthetic monorepo into a
// directory, for trying Landform on a large repository by hand:
//
//	go run ./test/bench/cmd/genmonorepo -dir /tmp/mono -change
//	landform affected --repo /tmp/mono --base HEAD~1 --head HEAD
//
// With -change it also commits a change to one mid-depth module, as the
// affected benchmark does, and prints the module and the workspaces that
// change affects.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/landform/landform/test/bench"
)

func main() {
	spec := bench.DefaultSpec()
	dir := flag.String("dir", "", "directory to write the repository into (empty or missing; required)")
	flag.IntVar(&spec.Workspaces, "workspaces", spec.Workspaces, "number of workspaces")
	flag.IntVar(&spec.Modules, "modules", spec.Modules, "number of local modules")
	flag.IntVar(&spec.Depth, "depth", spec.Depth, "module layers (longest chain of local module calls)")
	flag.Uint64Var(&spec.Seed, "seed", spec.Seed, "seed: the same flags give the same commit")
	change := flag.Bool("change", false, "also commit a change to one mid-depth module")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dir, spec, *change); err != nil {
		fmt.Fprintln(os.Stderr, "genmonorepo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, dir string, spec bench.Spec, change bool) error {
	start := time.Now()
	m, err := bench.GenerateMonorepo(ctx, dir, spec)
	if err != nil {
		return err
	}
	fmt.Printf("%s: %d workspaces, %d modules, %d files; commit %s (%s)\n",
		m.Dir, len(m.Workspaces), len(m.Modules), m.Files, m.Base, time.Since(start).Round(time.Millisecond))
	if !change {
		return nil
	}
	mod := m.PickModule(spec.Depth / 2)
	if mod == "" {
		return fmt.Errorf("no module of layer %d has callers", spec.Depth/2)
	}
	head, err := m.CommitModuleChange(ctx, mod, 1)
	if err != nil {
		return err
	}
	callers := m.Callers(mod)
	fmt.Printf("changed %s in commit %s: %d workspaces call it\n", mod, head, len(callers))
	for _, c := range callers {
		fmt.Println(" ", c)
	}
	return nil
}
