package gitlab

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/landform/landform"
)

func TestIsTeamMember(t *testing.T) {
	f := newFake(t)
	// users.json has john_smith (1, active) and jack_smith (2, blocked);
	// reporter (3) and maintainer (4) are john_smith renamed.
	var all []map[string]any
	if err := json.Unmarshal(fixture(t, "users.json"), &all); err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]int{"reporter": 3, "maintainer": 4} {
		u := maps.Clone(all[0])
		u["id"], u["username"] = id, name
		all = append(all, u)
	}
	f.mux.HandleFunc("GET /api/v4/users", func(w http.ResponseWriter, r *http.Request) {
		out := []map[string]any{}
		for _, u := range all {
			if strings.EqualFold(u["username"].(string), r.URL.Query().Get("username")) { // as GitLab compares them
				out = append(out, u)
			}
		}
		b, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		reply(http.StatusOK, b)(w, r)
	})
	notFound := reply(http.StatusNotFound, []byte(`{"message":"404 Not found"}`))
	member := func(change func(m map[string]any)) http.HandlerFunc {
		return reply(http.StatusOK, variant(t, "member.json", func(v any) { change(obj(v)) }))
	}
	f.mux.HandleFunc("GET /api/v4/groups/{group}/members/all/{id}", func(w http.ResponseWriter, r *http.Request) {
		group, id := r.PathValue("group"), r.PathValue("id")
		switch {
		case group == "secret":
			reply(http.StatusForbidden, []byte(`{"message":"403 Forbidden"}`))(w, r)
		case group == "infra/sre" && id == "1", group == "infra" && id == "1":
			member(func(map[string]any) {})(w, r)
		case group == "infra/sre" && id == "2":
			member(func(m map[string]any) { m["id"], m["username"], m["state"] = 2, "jack_smith", "blocked" })(w, r)
		case group == "infra/sre" && id == "3":
			member(func(m map[string]any) { m["id"], m["username"], m["access_level"] = 3, "reporter", 20 })(w, r)
		case group == "infra/sre" && id == "4":
			member(func(m map[string]any) { m["id"], m["username"], m["access_level"] = 4, "maintainer", 40 })(w, r)
		default:
			notFound(w, r)
		}
	})
	c := f.client(t)
	for _, tc := range []struct {
		team, user string
		want       bool
	}{
		{"infra/sre", "john_smith", true},
		{"infra/sre", "John_Smith", true},
		{"infra", "john_smith", true},        // a top-level group
		{"infra/sre", "maintainer", true},    // more than Developer
		{"infra/sre", "reporter", false},     // less than Developer
		{"infra/sre", "jack_smith", false},   // blocked
		{"infra/other", "john_smith", false}, // 404: no such group, or not in it
		{"infra/sre", "nobody", false},       // GitLab knows no such user
		{"infra/sre", "no body", false},      // no request
	} {
		got, err := c.IsTeamMember(t.Context(), tc.team, tc.user)
		if err != nil || got != tc.want {
			t.Errorf("IsTeamMember(%q, %q) = %v, %v; want %v", tc.team, tc.user, got, err, tc.want)
		}
	}
	if _, err := c.IsTeamMember(t.Context(), "secret", "john_smith"); landform.ErrorCode(err) != landform.EUNAUTHORIZED {
		t.Errorf("IsTeamMember of a group the token may not read: %v, want EUNAUTHORIZED", err)
	}
	for _, team := range []string{"", "infra/", "infra/../x", "in fra", strings.Repeat("g/", 20) + "g"} {
		if _, err := c.IsTeamMember(t.Context(), team, "john_smith"); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("IsTeamMember(%q): %v, want EINVALID", team, err)
		}
	}

	reqs := f.requests()
	if len(reqs) != 17 {
		t.Fatalf("%d requests, want 17 (two per lookup of a known user, one for an unknown one): %+v", len(reqs), reqs)
	}
	if r := reqs[0]; r.Path != "/api/v4/users" || r.Query.Get("username") != "john_smith" || r.Token != token {
		t.Errorf("first request %+v, want GET /api/v4/users?username=john_smith with the token", r)
	}
	if r := reqs[1]; r.Path != "/api/v4/groups/infra%2Fsre/members/all/1" || len(r.Query) != 0 {
		t.Errorf("second request %s?%s, want the group's path escaped", r.Path, url.Values(r.Query).Encode())
	}
}
