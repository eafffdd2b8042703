package gitea

import (
	"context"
	"net/http"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/landform/landform/forge"
)

// IsTeamMember reports whether user is a member of team, "org/name" or
// "name" for a team of the repository's owner. Gitea addresses a team's
// members by the team's ID: the client lists the organization's teams
// (GET /orgs/{org}/teams, every page) for the one named name (Gitea's team
// names are case-insensitive), then asks GET /teams/{id}/members/{user}:
// 200 is a member, 404 is not. An organization (or a user owner, which has
// no teams) or a team Gitea does not have is not a member either.
//
// The token's user must be an owner of the organization, or a site
// admin: Gitea lists an organization's teams only to its members (403 for
// others) and a team's members only to the team's members and the owners
// (403 for other members). Those answers are EUNAUTHORIZED errors, not
// "not a member". (The teams search, /orgs/{org}/teams/search, finds
// only the teams the token's user is in unless it is a site admin, so the
// client lists them.) Returns EINVALID for a team name that cannot be one
// (forge.SplitTeam).
func (c *Client) IsTeamMember(ctx context.Context, team, user string) (bool, error) {
	org, name, err := forge.SplitTeam(team, c.owner)
	if err != nil {
		return false, err
	}
	if !forge.ValidName(user) {
		return false, nil
	}
	id, err := c.teamID(ctx, org, name)
	if err != nil || id == 0 {
		return false, err
	}
	_, resp, err := c.api(ctx).GetTeamMember(id, user)
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return false, nil
		}
		return false, c.fail(resp, err, "reading the membership of %s in team %s/%s", user, org, name)
	}
	return true, nil
}

// teamID is the ID of team name of org, 0 when Gitea has no such team or
// organization.
func (c *Client) teamID(ctx context.Context, org, name string) (int64, error) {
	api := c.api(ctx)
	for page, n := 1, 0; page != 0; n++ {
		if n == maxPages {
			return 0, c.fail(nil, errNoPages, "listing the teams of %s", org)
		}
		teams, resp, err := api.ListOrgTeams(org, sdk.ListTeamsOptions{ListOptions: c.listOptions(page)})
		if err != nil {
			if resp != nil && resp.StatusCode == http.StatusNotFound {
				return 0, nil
			}
			return 0, c.fail(resp, err, "listing the teams of %s", org)
		}
		for _, t := range teams {
			if t != nil && strings.EqualFold(t.Name, name) {
				return t.ID, nil
			}
		}
		page = resp.NextPage
	}
	return 0, nil
}
