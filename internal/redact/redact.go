// Package redact is Landform's one redaction: every text that leaves a run
// for the store, the ledger, logs, the CLI or (later) a pull request
// comment passes through a Redactor first. It masks the values Landform
// itself handed to terraform (environment values, tokens), the operator's
// configured patterns, and the values a plan marks sensitive; and it bounds
// the size of error text.
package redact

import (
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/landform/landform/internal/runes"
)

// Mask replaces every redacted value.
const Mask = "***"

// MinLen is the shortest value masked: shorter ones ("1", "true", "us")
// would mask ordinary words everywhere and protect nothing.
const MinLen = 4

// Redactor masks known secret values and patterns in text. The zero value
// and nil mask nothing. A Redactor is immutable and safe for concurrent use.
type Redactor struct {
	values   []string // longest first, so a secret containing another is masked whole
	patterns []*regexp.Regexp
}

// New returns a Redactor masking values (those shorter than MinLen, after
// trimming white space, are ignored) and every match of patterns.
func New(values []string, patterns ...*regexp.Regexp) *Redactor {
	return (&Redactor{}).With(values...).WithPatterns(patterns...)
}

// With returns a Redactor that also masks values.
func (r *Redactor) With(values ...string) *Redactor {
	out := r.clone()
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < MinLen || slices.Contains(out.values, v) {
			continue
		}
		out.values = append(out.values, v)
	}
	slices.SortStableFunc(out.values, func(a, b string) int { return len(b) - len(a) })
	return out
}

// WithPatterns returns a Redactor that also masks every match of patterns.
func (r *Redactor) WithPatterns(patterns ...*regexp.Regexp) *Redactor {
	out := r.clone()
	for _, p := range patterns {
		if p != nil {
			out.patterns = append(out.patterns, p)
		}
	}
	return out
}

func (r *Redactor) clone() *Redactor {
	if r == nil {
		return &Redactor{}
	}
	return &Redactor{values: slices.Clone(r.values), patterns: slices.Clone(r.patterns)}
}

// String returns s with every known value and pattern match masked.
func (r *Redactor) String(s string) string {
	if r == nil || s == "" {
		return s
	}
	for _, v := range r.values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	for _, p := range r.patterns {
		s = p.ReplaceAllString(s, Mask)
	}
	return s
}

// Bytes is String for a byte slice.
func (r *Redactor) Bytes(b []byte) []byte {
	if r == nil || len(r.values) == 0 && len(r.patterns) == 0 {
		return b
	}
	return []byte(r.String(string(b)))
}

// MaxError bounds the error text stored for a run.
const MaxError = 16 << 10

// Bound returns s cut to at most n bytes (at a rune boundary), with a note
// saying how much was cut.
func Bound(s string, n int) string {
	if len(s) <= n {
		return s
	}
	kept := runes.Prefix(s, n)
	return kept + "\n… (" + strconv.Itoa(len(s)-len(kept)) + " more bytes not kept)"
}
