package github

import (
	"context"
	"net/http"

	"github.com/landform/landform/forge"
)

// IsTeamMember asks GitHub for user's membership of team (GET
// /orgs/{org}/teams/{team_slug}/memberships/{username}); team is
// "org/slug", or "slug" for a team of the repository's owner. A membership
// in state "active" is a member; "pending" (invited, not yet joined) is
// not. GitHub answers 404 alike for a team it does not have, a user not
// in it, and a secret team the token may not see: all three are (false,
// nil), so the token needs the organization's members (read) permission
// (read:org for a classic token) to find secret teams' members. Returns
// EINVALID for a team name that cannot be one (forge.SplitTeam).
func (c *Client) IsTeamMember(ctx context.Context, team, user string) (bool, error) {
	org, slug, err := forge.SplitTeam(team, c.owner)
	if err != nil {
		return false, err
	}
	if !forge.ValidName(user) {
		return false, nil
	}
	m, resp, err := c.gh.Teams.GetTeamMembershipBySlug(ctx, org, slug, user)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return false, nil
		}
		return false, c.fail(resp, err, "reading the membership of %s in team %s/%s", user, org, slug)
	}
	return m.GetState() == "active", nil
}
