package chatops

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{" \t\n ", nil},
		{"a b", []string{"a", "b"}},
		{"  a \t b\n", []string{"a", "b"}},
		{"a\u00a0b", []string{"a", "b"}},
		{"'a b'", []string{"a b"}},
		{`"a b"`, []string{"a b"}},
		{`a\ b`, []string{"a b"}},
		{`''`, []string{""}},
		{`"" ''`, []string{"", ""}},
		{`a''b`, []string{"ab"}},
		{`'it'\''s'`, []string{"it's"}},
		{`"it's"`, []string{"it's"}},
		{`'a\b'`, []string{`a\b`}},
		{`'a"b'`, []string{`a"b`}},
		{`"a\"b"`, []string{`a"b`}},
		{`"a\\b"`, []string{`a\b`}},
		{`"\$x \` + "`" + `"`, []string{"$x `"}},
		{`"a\nb"`, []string{`a\nb`}},
		{"\"a\\\nb\"", []string{"ab"}},
		{"a\\\nb", []string{"ab"}},
		{"a \\\n b", []string{"a", "b"}},
		{`\'`, []string{"'"}},
		{`\\`, []string{`\`}},
		{`\é`, []string{"é"}},
		{"'a\nb'", []string{"a\nb"}},
		{"\xff \"\xfe\"", []string{"\xff", "\xfe"}},
		{"$HOME `id` *", []string{"$HOME", "`id`", "*"}},
	} {
		got, err := splitWords(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got)\n%s", tc.in, diff)
		}
	}
	for _, in := range []string{`'`, `a'b`, `"`, `"a\"`, `a\`, `"a" \`, `'a'"b`} {
		if got, err := splitWords(in); err == nil {
			t.Errorf("%q: %q, want an error", in, got)
		}
	}
}

func TestQuoteWord(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "''"},
		{"42", "42"},
		{"envs/prod@blue", "envs/prod@blue"},
		{"-w", "-w"},
		{"a b", "'a b'"},
		{"$x", "'$x'"},
		{`a"b`, `'a"b'`},
		{"it's", `"it's"`},
		{"it's $5 \"`\\", `"it's \$5 \"\` + "`" + `\\"`},
		{"é", "'é'"},
		{"a\nb", "'a\nb'"},
	} {
		if got := quoteWord(tc.in); got != tc.want {
			t.Errorf("quoteWord(%q) = %s, want %s", tc.in, got, tc.want)
		}
		words, err := splitWords(quoteWord(tc.in))
		if err != nil || len(words) != 1 || words[0] != tc.in {
			t.Errorf("%q quoted reads back as %q, %v", tc.in, words, err)
		}
		if q := quoteWord(tc.in); len(q) > 2*len(tc.in)+2 {
			t.Errorf("%q quoted is %d bytes", tc.in, len(q))
		}
	}
}

func TestQuoteShort(t *testing.T) {
	long := strings.Repeat("é", 30) // 60 bytes
	got := quoteShort(long)
	if want := `"` + strings.Repeat("é", 20) + `…"`; got != want {
		t.Errorf("quoteShort = %s, want %s", got, want)
	}
	if got := quoteShort("a\nb"); got != `"a\nb"` {
		t.Errorf("quoteShort = %s", got)
	}
}
