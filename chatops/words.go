package chatops

import (
	"errors"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/landform/landform/internal/runes"
)

// splitWords splits s into words as a POSIX shell does with its quoting,
// without any expansion:
//
//   - words are separated by white space (unicode.IsSpace: spaces, tabs,
//     newlines, and also the no-break spaces chat clients like to insert);
//   - 'single quotes' keep everything up to the next single quote as is;
//   - "double quotes" keep everything up to the next unescaped double quote,
//     where \" \\ \$ and \` stand for the second character, a backslash
//     before a newline removes both, and any other backslash is kept;
//   - outside quotes a backslash makes the next character literal, and a
//     backslash before a newline removes both;
//   - quoted pieces and unquoted ones next to each other make one word, and
//     a pair of quotes with nothing between them is an empty word.
//
// The error, for an unterminated quote or a trailing backslash, is a
// one-line reason.
func splitWords(s string) ([]string, error) {
	var (
		words  []string
		word   strings.Builder
		inWord bool
	)
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated ' quote")
			}
			word.WriteString(s[i+1 : i+1+j])
			inWord = true
			i += j + 2
		case c == '"':
			inWord = true
			i++
			closed := false
			for i < len(s) && !closed {
				switch c := s[i]; {
				case c == '"':
					closed = true
					i++
				case c == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`", s[i+1]) >= 0:
					word.WriteByte(s[i+1])
					i += 2
				case c == '\\' && i+1 < len(s) && s[i+1] == '\n':
					i += 2
				default:
					word.WriteByte(c)
					i++
				}
			}
			if !closed {
				return nil, errors.New(`unterminated " quote`)
			}
		case c == '\\':
			if i+1 == len(s) {
				return nil, errors.New("ends with a backslash")
			}
			if s[i+1] == '\n' {
				i += 2
				continue
			}
			_, size := utf8.DecodeRuneInString(s[i+1:])
			word.WriteString(s[i+1 : i+1+size])
			inWord = true
			i += 1 + size
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if unicode.IsSpace(r) {
				if inWord {
					words = append(words, word.String())
					word.Reset()
					inWord = false
				}
			} else {
				word.WriteString(s[i : i+size])
				inWord = true
			}
			i += size
		}
	}
	if inWord {
		words = append(words, word.String())
	}
	return words, nil
}

// quoteWord returns w as splitWords reads it back as one word: w itself
// when it is made of characters no shell treats specially; else w in
// single quotes when it holds none; else w in double quotes with a
// backslash before each " \ $ and `. A POSIX shell reads each form back
// the same way (but for an interactive bash's history expansion of "!" in
// double quotes). Quoted, a word is at most twice its length plus two.
func quoteWord(w string) string {
	switch {
	case w != "" && strings.IndexFunc(w, unsafeInWord) < 0:
		return w
	case !strings.Contains(w, "'"):
		return "'" + w + "'"
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(w); i++ {
		if strings.IndexByte("\"\\$`", w[i]) >= 0 {
			b.WriteByte('\\')
		}
		b.WriteByte(w[i])
	}
	b.WriteByte('"')
	return b.String()
}

func unsafeInWord(r rune) bool {
	switch {
	case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
		return false
	}
	return !strings.ContainsRune("_@%+=:,./-", r)
}

// maxQuoted bounds the bytes of a user's word repeated in an error message.
const maxQuoted = 40

// quoteShort quotes s for an error message (Go syntax, so control
// characters and invalid UTF-8 show escaped and the message stays one
// line), cut to about maxQuoted bytes.
func quoteShort(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	return strconv.Quote(runes.Prefix(s, maxQuoted) + "…")
}
