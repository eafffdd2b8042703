package gitlab

import (
	"context"
	"net/http"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
)

// maxGroupDepth bounds the segments of a group path: GitLab nests groups
// at most 20 deep.
const maxGroupDepth = 20

// IsTeamMember reports whether user is a member of the GitLab group team,
// its full path ("infra" for a top-level group, "infra/sre" for a
// subgroup), directly or through an ancestor group, with at least the
// Developer role (access level 30): Guests, Reporters and Minimal access
// members can read a project but not change it, and approving its changes
// is changing it. A user GitLab calls anything but "active" (blocked,
// deactivated) is not a member.
//
// It makes two requests: GET /users?username=USER for the user's ID (a
// user GitLab does not know is not a member), then GET
// /groups/:path/members/all/:user_id, where 404 (no such group, one the
// token may not see, or a user not in it) is not a member. Returns
// EINVALID for a path that cannot be a group's.
func (c *Client) IsTeamMember(ctx context.Context, team, user string) (bool, error) {
	if !validGroupPath(team) {
		return false, landform.Errorf(landform.EINVALID, "gitlab: team %q is not a group path (group/subgroup)", team)
	}
	if !forge.ValidName(user) {
		return false, nil
	}
	id, err := c.userID(ctx, user)
	if err != nil || id == 0 {
		return false, err
	}
	m, resp, err := c.api.GroupMembers.GetInheritedGroupMember(team, id, gl.WithContext(ctx))
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return false, nil
		}
		return false, c.fail(resp, err, "reading the membership of %s in group %s", user, team)
	}
	return m.State == "active" && m.AccessLevel >= gl.DeveloperPermissions, nil
}

// userID is the ID of the GitLab user whose username is user (GitLab
// compares them regardless of case), 0 when there is none.
func (c *Client) userID(ctx context.Context, user string) (int64, error) {
	users, resp, err := c.api.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(user)}, gl.WithContext(ctx))
	if err != nil {
		return 0, c.fail(resp, err, "looking up user %s", user)
	}
	for _, u := range users {
		if strings.EqualFold(u.Username, user) {
			return u.ID, nil
		}
	}
	return 0, nil
}

// validGroupPath reports whether p is a group's full path: 1 to
// maxGroupDepth names (forge.ValidName) separated by slashes.
func validGroupPath(p string) bool {
	parts := strings.Split(p, "/")
	if len(parts) > maxGroupDepth {
		return false
	}
	for _, s := range parts {
		if !forge.ValidName(s) {
			return false
		}
	}
	return true
}
