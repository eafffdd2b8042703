package runes

import (
	"testing"
	"unicode/utf8"
)

func TestPrefix(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"abc", 5, "abc"},
		{"abc", 3, "abc"},
		{"abc", 2, "ab"},
		{"abc", 0, ""},
		{"abc", -1, ""},
		{"", 0, ""},
		{"éé", 3, "é"},  // é is 2 bytes: the second would be cut in half
		{"éé", 2, "é"},  //
		{"éé", 1, ""},   //
		{"a€b", 3, "a"}, // € is 3 bytes
		{"a€b", 4, "a€"},
		{"😀x", 3, ""},          // 4 bytes
		{"x\xffy", 2, "x\xff"}, // an invalid byte counts as one character
	} {
		got := Prefix(c.s, c.n)
		if got != c.want {
			t.Errorf("Prefix(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
		if utf8.ValidString(c.s) && !utf8.ValidString(got) {
			t.Errorf("Prefix(%q, %d) = %q splits a character", c.s, c.n, got)
		}
	}
}
