package config

import "testing"

func TestSuggest(t *testing.T) {
	known := []string{"name", "dir", "workspace", "terraform_version", "when_modified", "var_files", "env"}
	for _, tc := range []struct{ name, want string }{
		{"dri", "dir"},                             // transposition
		{"DIR", "dir"},                             // case
		{"var_file", "var_files"},                  // deletion
		{"terraform-version", "terraform_version"}, // substitution
		{"whenmodified", "when_modified"},          // insertion
		{"workspaces", "workspace"},
		{"tags", ""},
		{"terraform", ""},
	} {
		if got := suggest(tc.name, known); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "abc", 3}, {"abc", "abc", 0},
		{"abc", "acb", 1}, {"kitten", "sitting", 3}, {"ca", "abc", 3},
	} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
