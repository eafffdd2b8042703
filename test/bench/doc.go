// Package bench holds Landform's benchmarks of the core pipeline and what
// they need: GenerateMonorepo writes a synthetic infrastructure monorepo
// (thousands of workspaces calling layers of local modules) into a real git
// repository, and Affected replays, in-process, how `landform affected`
// composes gitrepo, config and modules.
//
// The benchmarks run only with -bench (see `make bench`); each prints its
// result next to a baseline measured in the same run, and the ratio. Their
// results, with the commands that made them, are in docs/benchmarks.md.
package bench
