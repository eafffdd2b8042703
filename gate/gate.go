// Package gate is the policy gate every plan passes through: it joins the
// server config's policy sets, the policies package's evaluation and each
// repository's default branch (where a repository's own policies are read,
// so that a pull request cannot change the rules that judge it) into the
// runner's Policies.
package gate

import (
	"context"
	"fmt"
	"io/fs"
	"sync"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/modules"
	"github.com/landform/landform/policies"
)

// DefaultBranch gives a repository's default branch: its head commit and
// tree, as the remote has them now (source.Repo implements it).
type DefaultBranch interface {
	DefaultBranchFS(ctx context.Context) (commit string, fsys fs.FS, err error)
}

// Gate evaluates the configured policy sets that apply to a run's
// workspace. It is safe for concurrent use.
type Gate struct {
	sets  []configured
	repos map[string]DefaultBranch

	mu sync.Mutex
	// cache keeps each repository set as compiled for the latest
	// default-branch commit seen.
	cache map[repoSetKey]repoSet
}

type configured struct {
	cfg config.PolicySet
	set *policies.Set // nil for a repo source: compiled per repository
}

type repoSetKey struct{ repo, set string }

type repoSet struct {
	commit string
	set    *policies.Set // nil: the repository has no policies
	err    error
}

// New compiles the built-in and directory sets of cfg now: one that does
// not compile is an EINVALID error naming its file and line, so the daemon
// does not start with broken rules. repos are the watched repositories by
// name, for the sets whose source is the repository.
func New(cfg config.Policies, repos map[string]DefaultBranch) (*Gate, error) {
	g := &Gate{repos: repos, cache: map[repoSetKey]repoSet{}}
	for _, c := range cfg.Sets {
		var modules map[string]string
		switch c.Source {
		case config.PolicyRepo:
			g.sets = append(g.sets, configured{cfg: c})
			continue
		case config.PolicyBuiltin:
			modules = policies.Builtin()
		default:
			var err error
			if modules, err = policies.LoadDir(dirFS(c.Source), "."); err != nil {
				return nil, landform.Errorf(landform.EINVALID, "%s: %w", c, err)
			}
		}
		set, err := policies.NewSet(c.Name, modules, c.Params, c.Enforcement)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c, err)
		}
		g.sets = append(g.sets, configured{cfg: c, set: set})
	}
	return g, nil
}

// Empty reports whether g has no policy set at all.
func (g *Gate) Empty() bool { return len(g.sets) == 0 }

// Evaluate judges run's plan with every set whose workspaces match run's
// workspace (runner.Policies); nil when none does. A repository set is
// read from the repository's default branch as it is now. Errors (a
// repository policy that does not compile, an evaluation error, the
// default branch out of reach) fail the run: policies fail closed.
func (g *Gate) Evaluate(ctx context.Context, run *landform.Run, planJSON []byte) (*landform.PolicyResult, error) {
	var sets []*policies.Set
	for _, c := range g.sets {
		ok, err := applies(c.cfg, run.Workspace)
		if err != nil || !ok {
			continue // patterns were checked by the config
		}
		set := c.set
		if c.cfg.Source == config.PolicyRepo {
			if set, err = g.repoSet(ctx, run.Repo, c.cfg); err != nil {
				return nil, err
			}
		}
		if set != nil {
			sets = append(sets, set)
		}
	}
	if len(sets) == 0 {
		return nil, nil
	}
	return policies.NewEvaluator(sets...).Evaluate(ctx, run, planJSON)
}

func applies(c config.PolicySet, workspace string) (bool, error) {
	if len(c.Workspaces) == 0 {
		return true, nil
	}
	for _, p := range c.Workspaces {
		if ok, err := modules.MatchGlob(p, workspace); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// repoSet returns repo's policy set c as its default branch has it now,
// compiled once per commit; nil when it has no policies.
func (g *Gate) repoSet(ctx context.Context, repo string, c config.PolicySet) (*policies.Set, error) {
	src, ok := g.repos[repo]
	if !ok {
		return nil, landform.Errorf(landform.ENOTFOUND, "policy set %s: repository %s is not watched", c.Name, repo)
	}
	commit, fsys, err := src.DefaultBranchFS(ctx)
	if err != nil {
		return nil, fmt.Errorf("policy set %s: reading %s's default branch: %w", c.Name, repo, err)
	}
	key := repoSetKey{repo, c.Name}
	g.mu.Lock()
	cached, ok := g.cache[key]
	g.mu.Unlock()
	if ok && cached.commit == commit {
		return cached.set, cached.err
	}
	rs := repoSet{commit: commit}
	modules, err := policies.LoadDir(fsys, config.RepoPolicyDir)
	switch {
	case landform.ErrorCode(err) == landform.ENOTFOUND: // no policies on the default branch
	case err != nil:
		rs.err = fmt.Errorf("policy set %s: %s of %s at %s: %w", c.Name, config.RepoPolicyDir, repo, landform.ShortSHA(commit), err)
	case len(modules) > 0:
		if rs.set, err = policies.NewSet(c.Name, prefixed(modules), c.Params, c.Enforcement); err != nil {
			rs.err = fmt.Errorf("%s of %s at %s: %w", config.RepoPolicyDir, repo, landform.ShortSHA(commit), err)
		}
	}
	g.mu.Lock()
	g.cache[key] = rs
	g.mu.Unlock()
	return rs.set, rs.err
}

// prefixed names each module by its path in the repository, for messages.
func prefixed(modules map[string]string) map[string]string {
	out := make(map[string]string, len(modules))
	for name, src := range modules {
		out[config.RepoPolicyDir+"/"+name] = src
	}
	return out
}

// Offline returns the sets of p that can be evaluated without the
// repositories (the built-in and directory ones), plus each of dirs as a
// set of its own enforced with deny, and the names of the repository sets
// it left out: what `landform policy eval` judges a plan with.
func Offline(p config.Policies, dirs []string) (config.Policies, []string) {
	var out config.Policies
	var left []string
	for _, s := range p.Sets {
		if s.Source == config.PolicyRepo {
			left = append(left, s.Name)
			continue
		}
		out.Sets = append(out.Sets, s)
	}
	for _, d := range dirs {
		out.Sets = append(out.Sets, config.PolicySet{Name: d, Source: d, Enforcement: landform.EnforceDeny})
	}
	return out, left
}
