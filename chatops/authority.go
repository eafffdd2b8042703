package chatops

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"sync"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
)

// DefaultBranch gives a repository's default branch: its head commit and
// tree, as the remote has them now (source.Repo implements it).
type DefaultBranch interface {
	DefaultBranchFS(ctx context.Context) (commit string, fsys fs.FS, err error)
}

// TeamChecker answers whether a user is a member of one of the forge's
// teams ("org/slug", or a GitLab group's path); forge clients implement
// it.
type TeamChecker interface {
	IsTeamMember(ctx context.Context, team, user string) (bool, error)
}

// Authority says who may approve a run's plan and what its apply needs,
// from the server config and each repository's .landform.yaml as its
// default branch has it (runner.ApprovalPolicy); and who a Slack user is
// and which repository a Slack channel's commands refer to. It is safe
// for concurrent use.
type Authority struct {
	cfg   *config.Server
	repos map[string]DefaultBranch
	teams func(repo string) TeamChecker

	localTeams map[string][]string // lower-case team name → members
	identities map[string]config.Identity
	slackUsers map[string]string // Slack user ID → identity

	mu sync.Mutex
	// cache keeps each repository's config as read from the latest
	// default-branch commit seen (or the error reading it).
	cache map[string]repoConfig
}

type repoConfig struct {
	commit string
	cfg    *config.Repo
	err    error
}

// NewAuthority returns the Authority of cfg. repos are the watched
// repositories by name, whose default branches hold their approval
// overrides (a repository without an entry has none); teams returns a
// repository's forge's TeamChecker, nil when it has no forge (teams itself
// may be nil: no forge anywhere).
func NewAuthority(cfg *config.Server, repos map[string]DefaultBranch, teams func(repo string) TeamChecker) *Authority {
	a := &Authority{
		cfg:        cfg,
		repos:      repos,
		teams:      teams,
		localTeams: map[string][]string{},
		identities: map[string]config.Identity{},
		slackUsers: map[string]string{},
		cache:      map[string]repoConfig{},
	}
	for name, members := range cfg.Teams {
		a.localTeams[strings.ToLower(name)] = members
	}
	for name, id := range cfg.Identities {
		a.identities[strings.ToLower(name)] = id
		for _, u := range id.Slack {
			a.slackUsers[u] = name
		}
	}
	return a
}

// Rules returns the approval rules of run's workspace (see
// config.Server.ApprovalRules), with the repository's overrides read from
// its default branch as the remote has it now — never from the run's own
// commit, so that a pull request cannot weaken the rules that gate it.
// The repository config is read once per default-branch commit. An error
// reaching the default branch, and a default-branch .landform.yaml that
// does not load (EINVALID, naming the file, line and field), are errors:
// the rules fail closed, never falling back to weaker ones.
func (a *Authority) Rules(ctx context.Context, run *landform.Run) (landform.ApprovalRules, error) {
	repoCfg, err := a.repoConfig(ctx, run.Repo)
	if err != nil {
		return landform.ApprovalRules{}, err
	}
	return a.cfg.ApprovalRules(run.Repo, run.Workspace, repoCfg), nil
}

// repoConfig returns repo's config as its default branch has it now, nil
// for a repository without a DefaultBranch.
func (a *Authority) repoConfig(ctx context.Context, repo string) (*config.Repo, error) {
	src, ok := a.repos[repo]
	if !ok || src == nil {
		return nil, nil
	}
	commit, fsys, err := src.DefaultBranchFS(ctx)
	if err != nil {
		return nil, fmt.Errorf("approval rules of %s: reading its default branch: %w", repo, err)
	}
	a.mu.Lock()
	cached, ok := a.cache[repo]
	a.mu.Unlock()
	if ok && cached.commit == commit {
		return cached.cfg, cached.err
	}
	rc := repoConfig{commit: commit}
	if rc.cfg, rc.err = config.LoadRepo(fsys, a.cfg.RepoOptions()); rc.err != nil {
		rc.cfg = nil
		rc.err = wrapCode(rc.err, "approval rules of %s: %s at %s (its default branch)", repo, config.RepoFile, landform.ShortSHA(commit))
	}
	a.mu.Lock()
	a.cache[repo] = rc
	a.mu.Unlock()
	return rc.cfg, rc.err
}

// wrapCode wraps err with a message, keeping its code.
func wrapCode(err error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if code := landform.ErrorCode(err); code != landform.EINTERNAL {
		return &landform.Error{Code: code, Message: msg + ": " + landform.ErrorMessage(err), Err: err}
	}
	return fmt.Errorf("%s: %w", msg, err)
}

// IsMember reports whether identity is in list (approvers, or a policy's
// require_approvals from): an entry equal to it (ignoring case), or a
// member of a "team:NAME" entry's team — a team of the server config's
// teams, or else (a name with a "/", or one teams does not have) a team of
// run's repository's forge, asked through its TeamChecker (none: not a
// member). Local entries are checked before any forge is asked. A forge's
// error is returned only when no other entry says yes.
func (a *Authority) IsMember(ctx context.Context, run *landform.Run, identity string, list []string) (bool, error) {
	if identity == "" {
		return false, nil
	}
	var forgeTeams []string
	for _, e := range list {
		team, isTeam := strings.CutPrefix(e, config.TeamPrefix)
		if !isTeam {
			if strings.EqualFold(e, identity) {
				return true, nil
			}
			continue
		}
		members, local := a.localTeams[strings.ToLower(team)]
		if local && !strings.Contains(team, "/") {
			if containsFold(members, identity) {
				return true, nil
			}
			continue
		}
		forgeTeams = append(forgeTeams, team)
	}
	if len(forgeTeams) == 0 || a.teams == nil {
		return false, nil
	}
	repo := ""
	if run != nil {
		repo = run.Repo
	}
	checker := a.teams(repo)
	if checker == nil {
		return false, nil
	}
	var firstErr error
	for _, team := range forgeTeams {
		ok, err := checker.IsTeamMember(ctx, team, identity)
		if err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("asking the forge of %s whether %s is in team %s: %w", repo, identity, team, err)
			}
			continue
		}
		if ok {
			return true, nil
		}
	}
	return false, firstErr
}

// IsAuthor reports whether identity authored run's change: it opened the
// pull request (logins compared ignoring case), or the commit's author
// email is identity itself or one of identity's emails in the server
// config's identities (compared ignoring case).
func (a *Authority) IsAuthor(run *landform.Run, identity string) bool {
	if identity == "" || run == nil {
		return false
	}
	if run.PR.Author != "" && strings.EqualFold(run.PR.Author, identity) {
		return true
	}
	if run.CommitAuthor == "" {
		return false
	}
	if strings.EqualFold(run.CommitAuthor, identity) {
		return true
	}
	return containsFold(a.identities[strings.ToLower(identity)].Emails, run.CommitAuthor)
}

// SlackIdentity returns the identity of the Slack user userID (from the
// server config's identities); false when none has it.
func (a *Authority) SlackIdentity(userID string) (string, bool) {
	id, ok := a.slackUsers[userID]
	return id, ok
}

// SlackRepo returns the repository a slash command typed in the Slack
// channel channelID refers to; false when the channel has none.
func (a *Authority) SlackRepo(channelID string) (string, bool) {
	repo, ok := a.cfg.Slack.Channels[channelID]
	return repo, ok
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
