package report

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCutRunesIsTruncateRunes(t *testing.T) {
	for _, s := range []string{"", "a", "abc", "abcd", "éèê", strings.Repeat("é", 100), "a\xffb\xfe", "\xff\xff\xff\xff"} {
		for n := 1; n <= 6; n++ {
			got := cutRunes(s, n)
			if utf8.ValidString(s) && got != truncateRunes(s, n) {
				t.Errorf("cutRunes(%q, %d) = %q, truncateRunes says %q", s, n, got, truncateRunes(s, n))
			}
			if c := utf8.RuneCountInString(got); c > n && c > utf8.RuneCountInString(s) {
				t.Errorf("cutRunes(%q, %d) = %q: %d runes", s, n, got, c)
			}
		}
	}
}
