package source

import (
	"context"
	"path"
	"slices"

	"github.com/landform/landform"
	"github.com/landform/landform/modules"
)

// Change is what a change from one commit to another touches.
type Change struct {
	// Base is nil for "no base" (plan everything) and for a base whose
	// own configuration is broken.
	Base, Head *Snapshot
	// Affected are the workspaces the change touches with the reasons,
	// sorted by name; deleted workspaces included.
	Affected []modules.Affected
	// Targets are the affected workspaces of Head to run, in Affected's
	// order.
	Targets []landform.Target
	// Deleted names the workspaces the change deleted: reported, never
	// planned.
	Deleted []string
}

// Changes returns what base..head affects. base "" means "no base": every
// workspace of head is a target. A base whose .landform.yaml is broken
// (that commit was reported as such) counts as no base too, so that the
// commit fixing it plans everything. Both are commits or revisions.
//
// Errors: EINVALID when head's own configuration is broken; gitrepo's for
// unknown revisions.
func (r *Repo) Changes(ctx context.Context, base, head string) (*Change, error) {
	headSHA, err := r.Resolve(ctx, head)
	if err != nil {
		return nil, err
	}
	var baseSHA string
	if base != "" {
		if baseSHA, err = r.Resolve(ctx, base); err != nil {
			return nil, err
		}
	}
	c := &Change{}
	var changed []string
	if baseSHA != "" {
		// Base first: head then re-parses only what changed.
		c.Base, err = r.Snapshot(ctx, baseSHA)
		switch {
		case landform.ErrorCode(err) == landform.EINVALID:
			c.Base = nil
		case err != nil:
			return nil, err
		}
		g, err := r.Git(ctx)
		if err != nil {
			return nil, err
		}
		if changed, err = g.ChangedPaths(baseSHA, headSHA); err != nil {
			return nil, err
		}
	}
	if c.Head, err = r.Snapshot(ctx, headSHA); err != nil {
		return nil, err
	}
	var baseIndex *modules.Index
	if c.Base != nil {
		baseIndex = c.Base.Index
	}
	c.Affected = modules.AffectedBy(baseIndex, c.Head.Index, changed)
	for _, af := range c.Affected {
		if slices.Contains(af.Reasons, modules.ReasonDeleted) {
			c.Deleted = append(c.Deleted, af.Workspace.Name)
			continue
		}
		c.Targets = append(c.Targets, c.Head.Target(af.Workspace))
	}
	return c, nil
}

// Target pairs a workspace of the snapshot with what its configuration
// requires and reads: its directory, local modules, the files its
// configuration reads, and its var files.
func (s *Snapshot) Target(ws landform.Workspace) landform.Target {
	paths := s.Index.Paths(ws.Dir)
	for _, vf := range ws.VarFiles {
		paths = append(paths, path.Join(ws.Dir, vf))
	}
	return landform.Target{Workspace: ws, RequiredVersions: s.Index.RequiredVersion(ws.Dir), Paths: paths}
}

// Targets returns every workspace of the snapshot as a target.
func (s *Snapshot) Targets() []landform.Target {
	var out []landform.Target
	for _, ws := range s.Index.Workspaces() {
		out = append(out, s.Target(ws))
	}
	return out
}

// Target returns the workspace named name at commit. ENOTFOUND when there
// is none.
func (r *Repo) Target(ctx context.Context, commit, name string) (landform.Target, error) {
	snap, err := r.Snapshot(ctx, commit)
	if err != nil {
		return landform.Target{}, err
	}
	ws, ok := snap.Index.Workspace(name)
	if !ok {
		return landform.Target{}, landform.Errorf(landform.ENOTFOUND, "no workspace %q at %s", name, landform.ShortSHA(commit))
	}
	return snap.Target(ws), nil
}

// selectNames keeps the targets named, in the order given. A name that is no
// workspace of snap is ENOTFOUND; one that exists but is not among targets
// (not affected) is left out.
func selectNames(targets []landform.Target, names []string, snap *Snapshot) ([]landform.Target, error) {
	var out []landform.Target
	for _, name := range names {
		i := slices.IndexFunc(targets, func(t landform.Target) bool { return t.Workspace.Name == name })
		if i >= 0 {
			out = append(out, targets[i])
			continue
		}
		if _, ok := snap.Index.Workspace(name); !ok {
			return nil, landform.Errorf(landform.ENOTFOUND, "no workspace %q at %s", name, landform.ShortSHA(snap.Commit))
		}
	}
	return out, nil
}

// Select is what a one-shot plan runs: with base, what base..head affects;
// without, every workspace at head. names, when given, narrow either to
// those workspaces (a name that is no workspace at head is ENOTFOUND; one
// the change did not affect is left out).
func (r *Repo) Select(ctx context.Context, base, head string, names []string) (*Change, error) {
	var (
		c   *Change
		err error
	)
	if base != "" {
		c, err = r.Changes(ctx, base, head)
	} else {
		c, err = r.All(ctx, head)
	}
	if err != nil {
		return nil, err
	}
	if len(names) > 0 {
		if c.Targets, err = selectNames(c.Targets, names, c.Head); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// All is every workspace at rev as targets (a Change without base that
// adds nothing and deletes nothing).
func (r *Repo) All(ctx context.Context, rev string) (*Change, error) {
	commit, err := r.Resolve(ctx, rev)
	if err != nil {
		return nil, err
	}
	snap, err := r.Snapshot(ctx, commit)
	if err != nil {
		return nil, err
	}
	c := &Change{Head: snap, Targets: snap.Targets()}
	for _, ws := range snap.Index.Workspaces() {
		c.Affected = append(c.Affected, modules.Affected{Workspace: ws})
	}
	return c, nil
}
