package bench

import (
	"context"
	"fmt"
	"slices"

	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/internal/analysis"
	"github.com/landform/landform/modules"
)

// The benchmarks time the composition the CLI runs (internal/analysis).

// Snapshot is one commit's configuration: the repo config and the
// workspace index.
type Snapshot = analysis.Snapshot

// LoadSnapshot reads .landform.yaml and the Terraform configuration of
// commit, with cache (which may be nil) shared between loads.
func LoadSnapshot(ctx context.Context, repo *gitrepo.Repo, commit string, cache *modules.Cache) (*Snapshot, error) {
	return analysis.Load(ctx, repo, commit, cache)
}

// Affected lists the workspaces the change baseRev..headRev touches, as
// `landform affected` does. A nil cache means a new one, as the CLI makes
// on a repository it has not read before; a daemon passes the cache that
// already holds base.
func Affected(ctx context.Context, repo *gitrepo.Repo, baseRev, headRev string, cache *modules.Cache) ([]modules.Affected, error) {
	_, _, aff, err := analysis.Affected(ctx, repo, cache, baseRev, headRev)
	return aff, err
}

// AffectedFrom is the daemon's case: base was loaded before (with cache),
// and a new head arrives on an open repository: resolve it, list the
// changed paths, load head with the same cache, compare.
func AffectedFrom(ctx context.Context, repo *gitrepo.Repo, base *Snapshot, headRev string, cache *modules.Cache) ([]modules.Affected, error) {
	headSHA, err := repo.Resolve(headRev)
	if err != nil {
		return nil, err
	}
	changed, err := repo.ChangedPaths(base.Commit, headSHA)
	if err != nil {
		return nil, err
	}
	head, err := LoadSnapshot(ctx, repo, headSHA, cache)
	if err != nil {
		return nil, err
	}
	return modules.AffectedBy(base.Index, head.Index, changed), nil
}

// CheckAffected returns an error unless aff lists exactly the workspaces
// whose dirs are want (sorted), each for the one reason that it calls the
// module at mod.
func CheckAffected(aff []modules.Affected, want []string, mod string) error {
	reason := modules.ReasonModule + mod
	got := make([]string, 0, len(aff))
	for _, a := range aff {
		got = append(got, a.Workspace.Dir)
		if !slices.Equal(a.Reasons, []string{reason}) {
			return fmt.Errorf("%s affected for %q, want only %q", a.Workspace.Dir, a.Reasons, reason)
		}
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%d workspaces affected, want %d:\n got %v\nwant %v", len(got), len(want), got, want)
	}
	return nil
}
