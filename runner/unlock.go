package runner

import (
	"context"

	"github.com/landform/landform"
)

// LockBreaker is what Unlock needs of a store.
type LockBreaker interface {
	ListLocks(ctx context.Context, repo string) ([]*landform.Lock, error)
	// ForceUnlock releases the lock of (repo, workspace) whoever holds it
	// and returns it; ENOTFOUND when there is none.
	ForceUnlock(ctx context.Context, repo, workspace string) (*landform.Lock, error)
}

// Unlock releases the lock of workspace in repo, whoever holds it, and
// returns the lock it released. repo "" means the one repository in which
// workspace is locked. Queued plans that waited for the lock are planned
// at the daemon's next poll.
//
// Errors: ENOTFOUND when the workspace is not locked; EINVALID, naming the
// repositories, when repo is "" and several hold a lock on a workspace of
// that name.
func Unlock(ctx context.Context, s LockBreaker, repo, workspace string) (*landform.Lock, error) {
	if repo == "" {
		locks, err := s.ListLocks(ctx, "")
		if err != nil {
			return nil, err
		}
		var repos []string
		for _, l := range locks {
			if l.Workspace == workspace {
				repos = append(repos, l.Repo)
			}
		}
		switch len(repos) {
		case 0:
			return nil, landform.Errorf(landform.ENOTFOUND, "workspace %s is not locked", workspace)
		case 1:
			repo = repos[0]
		default:
			return nil, landform.Errorf(landform.EINVALID, "workspace %s is locked in several repositories (%v): say which with --repo", workspace, repos)
		}
	}
	return s.ForceUnlock(ctx, repo, workspace)
}
