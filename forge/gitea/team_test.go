package gitea

import (
	"context"
	"testing"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
	"github.com/landform/landform/test/giteatest"
)

// testTeams: organization acme has the teams Owners (Gitea makes it),
// Platform (ada) and Readers (cora), and the repository acme/infra.
func testTeams(t *testing.T, s *giteatest.Server) {
	ctx := context.Background()
	admin := newClient(t, s, "teams", s.Token())
	api := admin.api(ctx)
	if _, _, err := api.CreateOrg(sdk.CreateOrgOption{Name: "acme", Visibility: sdk.VisibleTypePublic}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.CreateOrgRepo("acme", sdk.CreateRepoOption{Name: "infra"}); err != nil {
		t.Fatal(err)
	}
	team := func(name string, members ...string) {
		tm, _, err := api.CreateTeam("acme", sdk.CreateTeamOption{
			Name: name, Permission: sdk.AccessModeWrite, Units: []sdk.RepoUnitType{sdk.RepoUnitCode, sdk.RepoUnitPulls},
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if _, err := api.AddTeamMember(tm.ID, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.CreateUser(t, "ada")
	benToken := s.CreateUser(t, "ben")
	coraToken := s.CreateUser(t, "cora")
	team("Platform", "ada")
	team("Readers", "cora")

	orgClient := func(token string) *Client {
		c, err := New(Options{BaseURL: s.URL(), Token: token, Owner: "acme", Repo: "infra", Retry: forge.RetryOptions{Sleep: noSleep}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := orgClient(s.Token()) // a site admin sees every team
	for _, size := range []int{0, 1} {
		c.pageSize = size // 1: three pages of teams
		for _, tc := range []struct {
			team, user string
			want       bool
		}{
			{"acme/Platform", "ada", true},
			{"platform", "ada", true}, // a team of the repository's owner; names regardless of case
			{"acme/Platform", "cora", false},
			{"acme/Readers", "cora", true},
			{"acme/Platform", "nobody", false},     // no such user
			{"acme/Platform", "not a user", false}, // no request
			{"acme/no-such-team", "ada", false},
			{"no-such-org/Platform", "ada", false},
			{s.Admin() + "/Platform", "ada", false}, // a user, not an organization: no teams
		} {
			got, err := c.IsTeamMember(ctx, tc.team, tc.user)
			if err != nil || got != tc.want {
				t.Errorf("page size %d: IsTeamMember(%q, %q) = %v, %v; want %v", size, tc.team, tc.user, got, err, tc.want)
			}
		}
	}
	if got, err := admin.IsTeamMember(ctx, "Platform", "ada"); err != nil || got {
		t.Errorf("IsTeamMember of a team of a user's repository: %v, %v; want false", got, err)
	}
	if _, err := c.IsTeamMember(ctx, "acme/../Platform", "ada"); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("IsTeamMember of an invalid team: %v, want EINVALID", err)
	}

	// The token's user must see the team's members: someone outside the
	// organization cannot list its teams, a member outside the team
	// cannot list the team's members. Both are errors, not "no".
	if got, err := orgClient(benToken).IsTeamMember(ctx, "Platform", "ada"); landform.ErrorCode(err) != landform.EUNAUTHORIZED {
		t.Errorf("IsTeamMember with the token of a user outside the organization: %v, %v; want EUNAUTHORIZED", got, err)
	}
	if got, err := orgClient(coraToken).IsTeamMember(ctx, "Platform", "ada"); landform.ErrorCode(err) != landform.EUNAUTHORIZED {
		t.Errorf("IsTeamMember with the token of a member outside the team: %v, %v; want EUNAUTHORIZED", got, err)
	}
	if got, err := orgClient(coraToken).IsTeamMember(ctx, "Readers", "cora"); err != nil || !got {
		t.Errorf("IsTeamMember of cora's own team with her token: %v, %v; want true", got, err)
	}
}
