package github

import (
	"net/http"
	"testing"

	"github.com/landform/landform"
)

func TestIsTeamMember(t *testing.T) {
	f := newFake(t)
	notFound := reply(http.StatusNotFound, []byte(`{"message":"Not Found","documentation_url":"https://docs.github.com/rest/teams/members#get-team-membership-for-a-user"}`))
	f.mux.HandleFunc("GET /api/v3/orgs/{org}/teams/{slug}/memberships/{user}", func(w http.ResponseWriter, r *http.Request) {
		org, slug, user := r.PathValue("org"), r.PathValue("slug"), r.PathValue("user")
		switch {
		case org == "acme" && slug == "platform" && user == "octocat", org == owner && slug == "justice-league" && user == "octocat":
			reply(http.StatusOK, fixture(t, "team-membership.json"))(w, r)
		case org == "acme" && slug == "platform" && user == "invited":
			reply(http.StatusOK, variant(t, "team-membership.json", func(v any) {
				obj(v)["state"], obj(v)["role"] = "pending", "member"
			}))(w, r)
		case org == "acme" && slug == "secret":
			reply(http.StatusForbidden, []byte(`{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/teams/members#get-team-membership-for-a-user"}`))(w, r)
		default:
			notFound(w, r)
		}
	})
	c := f.client(t)
	for _, tc := range []struct {
		team, user string
		want       bool
	}{
		{"acme/platform", "octocat", true},
		{"justice-league", "octocat", true}, // a team of the repository's owner
		{"acme/platform", "invited", false}, // pending: not yet a member
		{"acme/platform", "hubot", false},   // 404: not in the team
		{"acme/no-such-team", "octocat", false},
		{"acme/platform", "not a login", false}, // no request
	} {
		got, err := c.IsTeamMember(t.Context(), tc.team, tc.user)
		if err != nil || got != tc.want {
			t.Errorf("IsTeamMember(%q, %q) = %v, %v; want %v", tc.team, tc.user, got, err, tc.want)
		}
	}
	if _, err := c.IsTeamMember(t.Context(), "acme/secret", "octocat"); landform.ErrorCode(err) != landform.EUNAUTHORIZED {
		t.Errorf("IsTeamMember of a team the token may not read: %v, want EUNAUTHORIZED", err)
	}
	if _, err := c.IsTeamMember(t.Context(), "acme/../repos", "octocat"); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("IsTeamMember of an invalid team: %v, want EINVALID", err)
	}

	var paths []string
	for _, r := range f.requests() {
		paths = append(paths, r.Method+" "+r.Path)
		if r.Auth != "Bearer "+token {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Auth)
		}
	}
	want := []string{
		"GET /api/v3/orgs/acme/teams/platform/memberships/octocat",
		"GET /api/v3/orgs/" + owner + "/teams/justice-league/memberships/octocat",
		"GET /api/v3/orgs/acme/teams/platform/memberships/invited",
		"GET /api/v3/orgs/acme/teams/platform/memberships/hubot",
		"GET /api/v3/orgs/acme/teams/no-such-team/memberships/octocat",
		"GET /api/v3/orgs/acme/teams/secret/memberships/octocat",
	}
	if len(paths) != len(want) {
		t.Fatalf("requests %q,\nwant %q", paths, want)
	}
	for i := range want {
		if paths[i] != want[i] {
			t.Errorf("request %d: %s, want %s", i, paths[i], want[i])
		}
	}
}
