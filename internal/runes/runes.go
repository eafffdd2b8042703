// Package runes cuts text to a size in bytes without splitting a
// character: what a message, a report or a signal does with a value that
// may be long.
package runes

import "unicode/utf8"

// Prefix returns the longest prefix of s of at most n bytes that does not
// end inside a UTF-8 encoded character (s itself when it is short enough;
// "" for n ≤ 0).
func Prefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
