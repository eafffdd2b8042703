package report

import (
	"cmp"
	"html"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The Markdown of plan previews, which GitHub, GitLab and Gitea render
// alike (CommonMark with GFM tables and raw <details>). Every value that
// comes from a repository — workspace names, resource addresses,
// terraform's plan and errors — is untrusted. It goes into an inline code
// span (code), a table cell (cell), the text of an HTML element (htmlText)
// or a fenced code block (fence and codeLines), never into Markdown as it
// is: it can neither mention anyone, nor link, nor open or close a block.

func runeLen(s string) int { return utf8.RuneCountInString(s) }

// code renders s as an inline code span on one line: control characters
// are quoted (Field), and the delimiter is a backtick run longer than any
// in s.
func code(s string) string {
	s = Field(s)
	delim := strings.Repeat("`", longestRun(s, '`')+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return delim + s + delim
}

// cell makes s safe in a GFM table cell: a pipe would end the cell, even
// inside a code span, unless it is escaped.
func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// htmlText renders s as the text of an HTML element such as <summary>,
// where Markdown is not parsed.
func htmlText(s string) string { return html.EscapeString(Field(s)) }

// link renders a Markdown link to dest, a URL Landform built (not
// repository content); the characters that would end the destination are
// percent-encoded.
func link(text, dest string) string {
	return "[" + text + "](" + linkDest.Replace(dest) + ")"
}

var linkDest = strings.NewReplacer(" ", "%20", "(", "%28", ")", "%29", "<", "%3C", ">", "%3E", "\n", "", "\r", "")

// maxTextRun is the longest run of backticks codeLines leaves whole, which
// bounds the fence (a plan with a longer run is hostile or absurd).
const maxTextRun = 15

// fence returns the fence of a code block holding lines: a backtick run
// longer than any in them (at least three), so that no line can close the
// block (CommonMark: a closing fence is at least as long as the opening
// one). Lines must come from codeLines.
func fence(lines []string) string {
	n := 0
	for _, l := range lines {
		n = max(n, longestRun(l, '`'))
	}
	return strings.Repeat("`", max(3, n+1))
}

// zwsp is a zero-width space: it breaks a tag or a backtick run without
// changing what a reader sees.
const zwsp = "\u200b"

var (
	// blockTag matches the tags that could close the <details> around a
	// code block if a renderer took the block's content for HTML.
	blockTag = regexp.MustCompile(`(?i)</?\s*(details|summary)`)
	longRun  = regexp.MustCompile("`{" + strconv.Itoa(maxTextRun+1) + ",}")
)

// codeLines splits untrusted text into the lines of a fenced code block
// (a final newline does not start a line). Invalid UTF-8 is replaced; the
// tags of <details> and <summary> get a zero-width space after "<", and a
// run of more than maxTextRun backticks one every maxTextRun backticks.
// Both are belt and braces: the fence (see fence) already keeps every line
// inside the block, where no HTML is parsed.
func codeLines(text string) []string {
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = blockTag.ReplaceAllStringFunc(text, func(tag string) string { return "<" + zwsp + tag[1:] })
	text = longRun.ReplaceAllStringFunc(text, breakRun)
	return strings.Split(strings.TrimSuffix(text, "\n"), "\n")
}

func breakRun(run string) string {
	var b strings.Builder
	for i := 0; i < len(run); i += maxTextRun {
		if i > 0 {
			b.WriteString(zwsp)
		}
		b.WriteString(run[i:min(len(run), i+maxTextRun)])
	}
	return b.String()
}

func longestRun(s string, c byte) int {
	longest, n := 0, 0
	for i := range len(s) {
		if s[i] != c {
			n = 0
			continue
		}
		n++
		longest = max(longest, n)
	}
	return longest
}

// truncateRunes cuts s to at most n runes, the last of them "…" when it
// is cut.
func truncateRunes(s string, n int) string {
	if runeLen(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// capList joins items with sep: as many as fit in maxItems and maxRunes,
// then "and N more" for the rest.
func capList(items []string, sep string, maxItems, maxRunes int) string {
	var b strings.Builder
	shown := 0
	for _, it := range items {
		if shown == maxItems || shown > 0 && runeLen(b.String())+runeLen(it) > maxRunes {
			break
		}
		if shown > 0 {
			b.WriteString(sep)
		}
		b.WriteString(it)
		shown++
	}
	if rest := len(items) - shown; rest > 0 {
		b.WriteString(sep + "and " + strconv.Itoa(rest) + " more")
	}
	return b.String()
}

// compareAddresses orders resource addresses as terraform lists them, a
// run of digits by its number: aws_instance.web[2] before
// aws_instance.web[10].
func compareAddresses(a, b string) int {
	return cmp.Or(compareNatural(a, b), strings.Compare(a, b))
}

func compareNatural(a, b string) int {
	for a != "" && b != "" {
		da, db := leadingDigits(a), leadingDigits(b)
		if da == "" || db == "" {
			if a[0] != b[0] {
				return cmp.Compare(a[0], b[0])
			}
			a, b = a[1:], b[1:]
			continue
		}
		na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
		if c := cmp.Or(cmp.Compare(len(na), len(nb)), strings.Compare(na, nb)); c != 0 {
			return c
		}
		a, b = a[len(da):], b[len(db):]
	}
	return cmp.Compare(len(a), len(b))
}

func leadingDigits(s string) string {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	return s[:i]
}
