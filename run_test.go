package landform

import (
	"strings"
	"testing"
)

func TestOneLine(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"", 10, ""},
		{"  a\n\tb  c ", 10, "a b c"},
		{strings.Repeat("é", 5), 5, strings.Repeat("é", 5)},
		{strings.Repeat("é", 6), 5, strings.Repeat("é", 4) + "…"},
		{"no limit", 0, "no limit"},
	} {
		if got := OneLine(tc.in, tc.limit); got != tc.want {
			t.Errorf("OneLine(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}
