package forge

import (
	"strings"

	"github.com/landform/landform"
)

// Teams: the approvers of a workspace may name a group of the forge as
// "team:ORG/NAME" (landform.ApprovalRules.Approvers); Client.IsTeamMember
// asks the forge whether someone is in it. The names go into API paths, so
// they are checked here, once for every forge, before any request.

// SplitTeam splits team, "org/name", into the organization and the team's
// name; a name without a slash is a team of defaultOrg (the repository's
// owner). It returns EINVALID unless both parts are names a forge can
// have (see ValidName) and team has at most one slash. GitLab's groups
// nest and do not use it (see forge/gitlab).
func SplitTeam(team, defaultOrg string) (org, name string, err error) {
	org, name, ok := strings.Cut(team, "/")
	if !ok {
		org, name = defaultOrg, team
	}
	if !ValidName(org) || !ValidName(name) {
		return "", "", landform.Errorf(landform.EINVALID, "team %q: want ORG/NAME, each of letters, digits, '-', '_' and '.'", team)
	}
	return org, name, nil
}

// maxName bounds a name: GitHub's logins have at most 39 characters,
// Gitea's names 40, GitLab's paths 255, team names 255.
const maxName = 255

// ValidName reports whether s can be the name of a user, an organization,
// a group or a team on every forge Landform speaks to: 1 to 255 ASCII
// letters, digits, '-', '_' and '.', and neither "." nor "..". A name that
// is not valid names nobody: it is never sent to the forge (where it could
// change the path of a request).
func ValidName(s string) bool {
	if s == "" || len(s) > maxName || s == "." || s == ".." {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
