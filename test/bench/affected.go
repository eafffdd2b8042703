package bench

import (
	"context"
	"fmt"
	"slices"

	"github.com/landform/landform/modules"
	"github.com/landform/landform/source"
)

// The benchmarks time source.Repo.Changes: the one "affected → targets"
// that the CLI and the daemon call.

// Open opens the repository in dir as the CLI does, with a new parse cache.
func Open(ctx context.Context, dir string) (*source.Repo, error) {
	return source.Open(ctx, dir, nil)
}

// Affected lists the workspaces the change baseRev..headRev touches, as
// `landform affected` and the daemon do: on a repository opened before,
// whose parse cache and snapshots hold what earlier calls read.
func Affected(ctx context.Context, repo *source.Repo, baseRev, headRev string) ([]modules.Affected, error) {
	c, err := repo.Changes(ctx, baseRev, headRev)
	if err != nil {
		return nil, err
	}
	return c.Affected, nil
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
