package main

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/modules"
	"github.com/landform/landform/report"
	"github.com/landform/landform/runner"
)

// repoSource adapts a watched repository — the git clone, its repo config,
// its Terraform configuration and its ledger — to runner.Source. The clone
// is opened on first use, so an unreachable remote at start-up is a failed
// poll (retried with backoff), not a failed daemon.
type repoSource struct {
	settings config.RepoSettings
	open     func(ctx context.Context) (*gitrepo.Repo, error)
	cache    *modules.Cache

	mu    sync.Mutex
	repo  *gitrepo.Repo
	snaps map[string]*snapshot // by commit, a few recent ones
	order []string
}

var _ runner.Source = (*repoSource)(nil)

// maxSnapshots bounds the parsed commits a source keeps.
const maxSnapshots = 16

func (s *repoSource) git(ctx context.Context) (*gitrepo.Repo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo != nil {
		return s.repo, nil
	}
	repo, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	s.repo = repo
	return repo, nil
}

// Close closes the clone, if it was opened.
func (s *repoSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repo == nil {
		return nil
	}
	return s.repo.Close()
}

func (s *repoSource) Refs(ctx context.Context) (map[string]string, string, error) {
	repo, err := s.git(ctx)
	if err != nil {
		return nil, "", err
	}
	refs, err := repo.ListRemoteRefs(ctx)
	if err != nil {
		return nil, "", err
	}
	// A remote without a HEAD has no default branch: only configured
	// branches are watched then.
	def, err := repo.DefaultBranch(ctx)
	if err != nil && landform.ErrorCode(err) != landform.ENOTFOUND {
		return nil, "", err
	}
	return refs, def, nil
}

func (s *repoSource) Fetch(ctx context.Context, refs []string) error {
	repo, err := s.git(ctx)
	if err != nil {
		return err
	}
	return repo.Fetch(ctx, refs...)
}

func (s *repoSource) MergeBase(ctx context.Context, a, b string) (string, error) {
	repo, err := s.git(ctx)
	if err != nil {
		return "", err
	}
	return repo.MergeBase(a, b)
}

func (s *repoSource) ExportPaths(ctx context.Context, commit, dir string, paths []string) error {
	repo, err := s.git(ctx)
	if err != nil {
		return err
	}
	return repo.ExportPaths(ctx, commit, dir, paths)
}

// snapshot returns the parsed configuration of commit, from the recent
// ones when it has it.
func (s *repoSource) snapshot(ctx context.Context, commit string) (*snapshot, error) {
	s.mu.Lock()
	snap := s.snaps[commit]
	s.mu.Unlock()
	if snap != nil {
		return snap, nil
	}
	repo, err := s.git(ctx)
	if err != nil {
		return nil, err
	}
	snap, err = loadSnapshot(ctx, repo, commit, s.cache)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.snaps == nil {
		s.snaps = map[string]*snapshot{}
	}
	if _, ok := s.snaps[commit]; !ok {
		s.snaps[commit] = snap
		s.order = append(s.order, commit)
		if len(s.order) > maxSnapshots {
			delete(s.snaps, s.order[0])
			s.order = s.order[1:]
		}
	}
	return snap, nil
}

func (s *repoSource) Changes(ctx context.Context, base, head string) ([]runner.Target, []string, error) {
	repo, err := s.git(ctx)
	if err != nil {
		return nil, nil, err
	}
	headSnap, err := s.snapshot(ctx, head)
	if err != nil {
		return nil, nil, err
	}
	var baseIndex *modules.Index
	var changed []string
	if base != "" {
		baseSnap, err := s.snapshot(ctx, base)
		switch {
		case landform.ErrorCode(err) == landform.EINVALID:
			// The base commit's own configuration is broken (that commit
			// was reported): plan every workspace of head.
		case err != nil:
			return nil, nil, err
		default:
			baseIndex = baseSnap.Index
		}
		if changed, err = repo.ChangedPaths(base, head); err != nil {
			return nil, nil, err
		}
	}
	var (
		targets []runner.Target
		deleted []string
	)
	for _, af := range modules.AffectedBy(baseIndex, headSnap.Index, changed) {
		if slices.Contains(af.Reasons, modules.ReasonDeleted) {
			deleted = append(deleted, af.Workspace.Name)
			continue
		}
		targets = append(targets, target(headSnap, af.Workspace))
	}
	return targets, deleted, nil
}

func (s *repoSource) Target(ctx context.Context, commit, name string) (runner.Target, error) {
	snap, err := s.snapshot(ctx, commit)
	if err != nil {
		return runner.Target{}, err
	}
	ws, ok := snap.Index.Workspace(name)
	if !ok {
		return runner.Target{}, landform.Errorf(landform.ENOTFOUND, "no workspace %q at %s", name, shortSHA(commit))
	}
	return target(snap, ws), nil
}

func (s *repoSource) Record(ctx context.Context, runs []*landform.Run) error {
	repo, err := s.git(ctx)
	if err != nil {
		return err
	}
	var files []gitrepo.LedgerFile
	for _, run := range runs {
		for _, f := range report.LedgerFiles(run) {
			files = append(files, gitrepo.LedgerFile{Path: f.Path, Data: f.Data})
		}
	}
	_, err = repo.WriteLedger(ctx, s.settings.LedgerBranch, gitrepo.Signature{}, []gitrepo.LedgerEntry{{Message: report.LedgerMessage(runs), Files: files}})
	if err != nil {
		return fmt.Errorf("writing %d runs to ledger branch %s: %w", len(runs), s.settings.LedgerBranch, err)
	}
	return nil
}
