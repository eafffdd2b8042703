package forge

import (
	"strings"
	"testing"

	"github.com/landform/landform"
)

func TestSplitTeam(t *testing.T) {
	for _, tc := range []struct{ team, org, name string }{
		{"acme/platform", "acme", "platform"},
		{"platform", "owner", "platform"},
		{"Acme.io/sre_team-2", "Acme.io", "sre_team-2"},
	} {
		org, name, err := SplitTeam(tc.team, "owner")
		if err != nil || org != tc.org || name != tc.name {
			t.Errorf("SplitTeam(%q) = %q, %q, %v; want %q, %q", tc.team, org, name, err, tc.org, tc.name)
		}
	}
	for _, team := range []string{"", "/", "acme/", "/platform", "a/b/c", "acme/..", "../platform", "acme/plat form",
		"acme/plat?x=1", "acme/plat#x", "acme/%2e%2e", "acme/émile", strings.Repeat("x", 256)} {
		if _, _, err := SplitTeam(team, "owner"); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("SplitTeam(%q): %v, want EINVALID", team, err)
		}
	}
	// A default organization that cannot be one (no owner) makes a bare
	// name invalid too.
	if _, _, err := SplitTeam("platform", ""); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("SplitTeam without an owner: %v, want EINVALID", err)
	}
}

func TestValidName(t *testing.T) {
	for _, s := range []string{"alice", "a", "Bob-1", "x_y.z", "...", strings.Repeat("x", 255)} {
		if !ValidName(s) {
			t.Errorf("ValidName(%q) = false", s)
		}
	}
	for _, s := range []string{"", ".", "..", "a/b", "a b", "a@b", "a\nb", "ü", strings.Repeat("x", 256)} {
		if ValidName(s) {
			t.Errorf("ValidName(%q) = true", s)
		}
	}
}
