package config

import (
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
	"github.com/landform/landform/modules"
)

// ApprovalSettings are the approval settings one level of the
// configuration gives (the server config's top level, one of its repos, a
// repository's .landform.yaml, or a workspace entry of any of them). Every
// field is optional: one that is not set keeps what the levels below give
// (see Server.ApprovalRules).
//
//	approvers: [alice, "team:platform", "team:org/slug"]   # default: anyone may approve
//	required_approvals: 2                                  # at least 1, default 1
//	allow_self_approval: false                             # default false
//	apply_requirements: [approved, policies_passed]        # default landform.DefaultApplyRequirements
//	apply: before_merge                                    # or on_merge, default before_merge
type ApprovalSettings struct {
	// Approvers are identities and teams ("team:NAME" for a team of the
	// server config's teams, "team:org/slug" for one of the forge), each
	// once (logins compared ignoring case). Nil when not set; empty, not
	// nil, when set to [] (anyone may approve).
	Approvers []string
	// RequiredApprovals is at least 1; 0 when not set.
	RequiredApprovals int
	// AllowSelfApproval is nil when not set.
	AllowSelfApproval *bool
	// ApplyRequirements are values of landform.ApplyRequirements, each
	// once. Nil when not set; empty, not nil, when set to [].
	ApplyRequirements []string
	// Apply is one of landform.ApplyModes; "" when not set.
	Apply string
}

// Approvals is an approvals section: settings for every workspace, and
// workspace entries that override them for the workspaces they match.
//
//	approvals:
//	  required_approvals: 1
//	  workspaces:
//	    - match: "envs/prod/**"     # a glob of workspace names
//	      approvers: ["team:sre"]
//	      required_approvals: 2
type Approvals struct {
	ApprovalSettings
	// Workspaces are the workspace entries, in file order, no two with the
	// same glob. The first entry whose glob matches a workspace's name
	// applies to it, and no other.
	Workspaces []WorkspaceApprovals
}

// WorkspaceApprovals is an approvals section's entry for the workspaces
// whose names match a glob.
type WorkspaceApprovals struct {
	// Match is a glob of workspace names as modules.MatchGlob matches them
	// ("envs/prod/**"; a workspace of a non-default Terraform workspace is
	// named "dir@workspace"), cleaned.
	Match string
	ApprovalSettings
}

// DefaultApprovalRules are the approval rules where nothing is configured:
// anyone may approve, one approval, not one's own change, the default
// apply requirements, applied before merge.
func DefaultApprovalRules() landform.ApprovalRules {
	return landform.ApprovalRules{
		Required:     1,
		Requirements: slices.Clone(landform.DefaultApplyRequirements),
		Mode:         landform.ApplyBeforeMerge,
	}
}

// ApprovalRules returns the approval rules of the workspace named
// workspace of the repository named repo, with repoCfg the repository's
// config as its default branch has it (nil: no repository overrides; the
// caller must never pass a pull request's own config, which would let it
// weaken the gates that judge it).
//
// The levels apply field by field, the most specific that sets a field
// winning:
//
//  1. repoCfg's workspace entry (the first whose glob matches workspace)
//  2. repoCfg's approvals
//  3. the server config's repo entry's workspace entry
//  4. the server config's repo entry's approvals
//  5. the server config's top-level workspace entry
//  6. the server config's top-level approvals
//  7. DefaultApprovalRules
//
// The result shares no memory with s or repoCfg.
func (s *Server) ApprovalRules(repo, workspace string, repoCfg *Repo) landform.ApprovalRules {
	r := DefaultApprovalRules()
	s.Approvals.overrideFor(workspace, &r)
	if rs := s.repoSettings(repo); rs != nil {
		rs.Approvals.overrideFor(workspace, &r)
	}
	if repoCfg != nil {
		repoCfg.Approvals.overrideFor(workspace, &r)
	}
	return r
}

// repoSettings returns the repo named name, nil when there is none.
func (s *Server) repoSettings(name string) *RepoSettings {
	for i := range s.Repos {
		if s.Repos[i].Name == name {
			return &s.Repos[i]
		}
	}
	return nil
}

// Match returns the first workspace entry of a whose glob matches
// workspace. Globs that do not compile (never in an Approvals the parsers
// made) match nothing.
func (a Approvals) Match(workspace string) (WorkspaceApprovals, bool) {
	return firstMatch(a.Workspaces, func(w WorkspaceApprovals) string { return w.Match }, workspace)
}

// firstMatch returns the first of entries whose glob (glob gives it)
// matches workspace: the one rule of every per-workspace override. Globs
// that do not compile (never in what the parsers made) match nothing.
func firstMatch[T any](entries []T, glob func(T) string, workspace string) (T, bool) {
	for _, e := range entries {
		if ok, err := modules.MatchGlob(glob(e), workspace); err == nil && ok {
			return e, true
		}
	}
	var zero T
	return zero, false
}

// overrideFor overrides r with a's settings, then with those of its entry
// for workspace.
func (a Approvals) overrideFor(workspace string, r *landform.ApprovalRules) {
	a.ApprovalSettings.override(r)
	if w, ok := a.Match(workspace); ok {
		w.ApprovalSettings.override(r)
	}
}

// override sets the fields of r that o sets.
func (o ApprovalSettings) override(r *landform.ApprovalRules) {
	if o.Approvers != nil {
		r.Approvers = slices.Clone(o.Approvers)
	}
	if o.RequiredApprovals > 0 {
		r.Required = o.RequiredApprovals
	}
	if o.AllowSelfApproval != nil {
		r.AllowSelf = *o.AllowSelfApproval
	}
	if o.ApplyRequirements != nil {
		r.Requirements = slices.Clone(o.ApplyRequirements)
	}
	if o.Apply != "" {
		r.Mode = o.Apply
	}
}

var (
	approvalsFields          = []string{"approvers", "required_approvals", "allow_self_approval", "apply_requirements", "apply", "workspaces"}
	workspaceApprovalsFields = []string{"match", "approvers", "required_approvals", "allow_self_approval", "apply_requirements", "apply"}
)

// approverAt is an approvers entry and where it is in the file, for the
// checks that need the rest of the file (the teams, the repo's forge).
type approverAt struct {
	value, path string
	node        *yaml.Node
}

// decodeApprovals decodes the approvals section n at path p, and returns
// its approvers entries with their places.
func decodeApprovals(d *decoder, p string, n *yaml.Node) (Approvals, []approverAt) {
	var (
		a    Approvals
		refs []approverAt
	)
	d.object(n, p, approvalsFields, func(name, fp string, _, v *yaml.Node) {
		if name != "workspaces" {
			refs = append(refs, decodeApprovalSetting(d, name, fp, v, &a.ApprovalSettings)...)
			return
		}
		d.globEntries(v, fp, workspaceApprovalsFields, nil, func(string) (func(string, string, *yaml.Node), func(string, bool)) {
			var w WorkspaceApprovals
			return func(name, wp string, v *yaml.Node) {
					refs = append(refs, decodeApprovalSetting(d, name, wp, v, &w.ApprovalSettings)...)
				}, func(match string, ok bool) {
					if ok {
						w.Match = match
						a.Workspaces = append(a.Workspaces, w)
					}
				}
		})
	})
	return a, refs
}

// decodeApprovalSetting decodes the field name (any of ApprovalSettings')
// at fp into s, and returns its approvers entries with their places.
func decodeApprovalSetting(d *decoder, name, fp string, v *yaml.Node, s *ApprovalSettings) []approverAt {
	var refs []approverAt
	switch name {
	case "approvers":
		list := []string{}
		seen := map[string]string{} // lower case → path
		ok := d.list(v, fp, func(_ int, ip string, item *yaml.Node) {
			str, ok := d.str(item, ip)
			if !ok {
				return
			}
			if msg := checkApprover(str); msg != "" {
				d.errorf(item, ip, "%s", msg)
				return
			}
			key := strings.ToLower(str)
			if first, dup := seen[key]; dup {
				d.errorf(item, ip, "%q is listed already (%s)", str, first)
				return
			}
			seen[key] = ip
			list = append(list, str)
			refs = append(refs, approverAt{str, ip, item})
		})
		if ok {
			s.Approvers = list
		}
	case "required_approvals":
		if n, ok := d.integer(v, fp); ok {
			if n < 1 {
				d.errorf(v, fp, "must be at least 1, got %d", n)
			} else {
				s.RequiredApprovals = n
			}
		}
	case "allow_self_approval":
		if b, ok := d.boolean(v, fp); ok {
			s.AllowSelfApproval = &b
		}
	case "apply_requirements":
		list := []string{}
		seen := map[string]string{}
		ok := d.list(v, fp, func(_ int, ip string, item *yaml.Node) {
			str, ok := d.str(item, ip)
			if !ok {
				return
			}
			if msg := checkOneOf("apply requirement", str, landform.ApplyRequirements); msg != "" {
				d.errorf(item, ip, "%s", msg)
				return
			}
			if first, dup := seen[str]; dup {
				d.errorf(item, ip, "%q is listed already (%s)", str, first)
				return
			}
			seen[str] = ip
			list = append(list, str)
		})
		if ok {
			s.ApplyRequirements = list
		}
	case "apply":
		if str, ok := d.str(v, fp); ok {
			if msg := checkOneOf("apply mode", str, landform.ApplyModes); msg != "" {
				d.errorf(v, fp, "%s", msg)
			} else {
				s.Apply = str
			}
		}
	}
	return refs
}

// checkOneOf says what is wrong with s as one of known, a what.
func checkOneOf(what, s string, known []string) string {
	if slices.Contains(known, s) {
		return ""
	}
	want := orList(known)
	if sug := suggest(s, known); sug != "" {
		return fmt.Sprintf("unknown %s %q, did you mean %q? (want %s)", what, s, sug, want)
	}
	return fmt.Sprintf("unknown %s %q (want %s)", what, s, want)
}

// orList writes "a, b or c".
func orList(items []string) string {
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// TeamPrefix starts an approvers entry that names a team.
const TeamPrefix = landform.TeamPrefix

// checkApprover says what is wrong with s as an approvers entry: an
// identity, or TeamPrefix and a team.
func checkApprover(s string) string {
	if name, ok := strings.CutPrefix(s, TeamPrefix); ok {
		return checkTeamRef(s, name)
	}
	return checkIdentity(s)
}

// checkIdentity says what is wrong with s as a Landform identity: a forge
// login, or the name a Slack user or an API token maps to.
func checkIdentity(s string) string { return landform.IdentityProblem(s) }

// checkTeamRef says what is wrong with name, the team of the approvers
// entry s: a name of teams, or a forge's team ("org/slug", or a GitLab
// group's path).
func checkTeamRef(s, name string) string {
	const want = `want "team:NAME" (one of teams) or "team:org/slug" (a team of the forge)`
	if name == "" {
		return fmt.Sprintf("%q names no team; %s", s, want)
	}
	for _, seg := range strings.Split(name, "/") {
		if !teamName.MatchString(seg) || seg == "." || seg == ".." {
			return fmt.Sprintf(`invalid team %q: %s, with letters, digits, ".", "_" and "-"`, s, want)
		}
	}
	return ""
}

// teamName is the rule of the names of teams, and of each part of a
// forge's team.
var teamName = repoName

// checkTeams reports the approvers entries that name a team no one can
// ask about: one that is not in teams (a forge's team) where there is no
// forge — in a repo's approvals, the repo has none; in the top-level
// approvals (top), no repo has one.
func checkTeams(d *decoder, teams map[string][]string, top []approverAt, decls []*repoDecl) {
	forgeTeam := func(a approverAt) (string, bool) {
		name, ok := strings.CutPrefix(a.value, TeamPrefix)
		return name, ok && (strings.Contains(name, "/") || !hasTeam(teams, name))
	}
	anyForge := false
	for _, r := range decls {
		anyForge = anyForge || r.forge
		if r.forge {
			continue
		}
		for _, a := range r.approvers {
			if name, ok := forgeTeam(a); ok {
				d.errorf(a.node, a.path, "team %q is not one of teams, and this repo has no forge to ask who is in it", name)
			}
		}
	}
	if anyForge {
		return
	}
	for _, a := range top {
		if name, ok := forgeTeam(a); ok {
			d.errorf(a.node, a.path, "team %q is not one of teams, and no repo has a forge to ask who is in it", name)
		}
	}
}
