package chatops_test

import (
	"errors"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/landform/landform"
	"github.com/landform/landform/chatops"
)

// FuzzParseComment: whatever the comment, ParseComment and ParseText do not
// panic; an error is a one-line *UsageError with a usage; a command is
// valid, and its String reads back to the same command as a comment, as
// text and as arguments. Words split from the text, quoted and joined, split
// back to the same words.
func FuzzParseComment(f *testing.F) {
	for _, tc := range valid {
		f.Add("landform " + tc.text)
		f.Add("LGTM\n\n/Landform " + tc.text + "\nthanks")
	}
	for _, tc := range invalid {
		if len(tc.text) < 1000 {
			f.Add("landform " + tc.text)
		}
	}
	f.Add("```\nlandform apply 1\n```\nlandform apply 2")
	f.Add("~~~\n```\nlandform apply 1\n~~~\n   landform plan -w a")
	f.Add("```\n" + chatops.Usage("") + "```")
	f.Add("landform approve 42 --override-policy \"a\nb\"")
	f.Add("landform plan -w \"it's\" -w 'a\"b' -w a\\$b")

	f.Fuzz(func(t *testing.T, body string) {
		cmd, ok, err := chatops.ParseComment(body)
		switch {
		case !ok:
			if err != nil || !reflect.DeepEqual(cmd, chatops.Command{}) {
				t.Fatalf("not addressed, yet %+v, %v", cmd, err)
			}
		case err != nil:
			checkFuzzUsageError(t, cmd, err)
		default:
			checkRoundTrip(t, cmd)
		}

		cmd, err = chatops.ParseText(body)
		if err != nil {
			checkFuzzUsageError(t, cmd, err)
		} else {
			checkRoundTrip(t, cmd)
		}

		if words, err := chatops.SplitWords(body); err == nil {
			quoted := make([]string, len(words))
			for i, w := range words {
				quoted[i] = chatops.QuoteWord(w)
			}
			again, err := chatops.SplitWords(strings.Join(quoted, " "))
			if err != nil || !slices.Equal(words, again) {
				t.Fatalf("words %q, quoted %q, read back as %q, %v", words, quoted, again, err)
			}
		}
	})
}

func checkFuzzUsageError(t *testing.T, cmd chatops.Command, err error) {
	t.Helper()
	var ue *chatops.UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v (%T), not a *UsageError", err, err)
	}
	if !reflect.DeepEqual(cmd, chatops.Command{}) {
		t.Fatalf("a command %+v with the error %v", cmd, err)
	}
	msg := err.Error()
	if msg == "" || strings.ContainsAny(msg, "\r\n") || len(msg) > 2048 || !utf8.ValidString(msg) {
		t.Fatalf("error is not one short line: %q", msg)
	}
	if !strings.HasPrefix(ue.Usage(), "landform ") {
		t.Fatalf("usage %q", ue.Usage())
	}
	if landform.ErrorCode(err) != landform.EINVALID {
		t.Fatalf("code %q", landform.ErrorCode(err))
	}
}

// checkRoundTrip checks that cmd is valid and reads back from its String.
func checkRoundTrip(t *testing.T, cmd chatops.Command) {
	t.Helper()
	checkValid(t, cmd)
	s := cmd.String()
	again, ok, err := chatops.ParseComment(s)
	if !ok || err != nil || !reflect.DeepEqual(cmd, again) {
		t.Fatalf("%+v renders as %q, read back as a comment as %+v, %v, %v", cmd, s, again, ok, err)
	}
	text, found := strings.CutPrefix(s, "landform ")
	if !found {
		t.Fatalf("%q does not start with landform", s)
	}
	again, err = chatops.ParseText(text)
	if err != nil || !reflect.DeepEqual(cmd, again) {
		t.Fatalf("%+v renders as %q, read back as text as %+v, %v", cmd, s, again, err)
	}
	words, err := chatops.SplitWords(text)
	if err != nil {
		t.Fatal(err)
	}
	again, err = chatops.ParseArgs(words)
	if err != nil || !reflect.DeepEqual(cmd, again) {
		t.Fatalf("%+v renders as %q, read back as arguments as %+v, %v", cmd, s, again, err)
	}
}

// checkValid checks cmd against the grammar, independently of the parser.
func checkValid(t *testing.T, c chatops.Command) {
	t.Helper()
	runs, wss := len(c.Runs), len(c.Workspaces)
	if (c.Runs != nil && runs == 0) || (c.Workspaces != nil && wss == 0) {
		t.Fatalf("empty, non-nil slices: %#v", c)
	}
	for _, id := range c.Runs {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 1 || strconv.FormatInt(n, 10) != id || len(id) > 18 {
			t.Fatalf("run ID %q", id)
		}
	}
	for i, w := range c.Workspaces {
		if err := landform.CheckWorkspaceName(w); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(c.Workspaces[:i], w) {
			t.Fatalf("workspace %q twice", w)
		}
	}
	if wss > chatops.MaxWorkspaces {
		t.Fatalf("%d workspaces", wss)
	}
	if c.OverridePolicy != "" && (c.Verb != chatops.VerbApprove || runs != 1 ||
		strings.TrimSpace(c.OverridePolicy) == "" || len(c.OverridePolicy) > chatops.MaxReasonLen ||
		!utf8.ValidString(c.OverridePolicy) || strings.ContainsFunc(c.OverridePolicy, func(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) })) {
		t.Fatalf("override %q in %+v", c.OverridePolicy, c)
	}
	if c.Topic != "" && c.Verb != chatops.VerbHelp {
		t.Fatalf("topic in %+v", c)
	}
	ok := false
	switch c.Verb {
	case chatops.VerbPlan:
		ok = runs == 0 && !c.All
	case chatops.VerbApprove:
		ok = wss == 0 && (runs == 1) != c.All && runs <= 1
	case chatops.VerbApply:
		ok = !c.All && runs <= 1 && (runs == 0 || wss == 0)
	case chatops.VerbUnlock:
		ok = runs == 0 && !c.All && wss <= 1
	case chatops.VerbHelp:
		ok = runs == 0 && !c.All && wss == 0 &&
			slices.Contains([]chatops.Verb{"", chatops.VerbPlan, chatops.VerbApprove, chatops.VerbApply, chatops.VerbUnlock, chatops.VerbHelp}, c.Topic)
	}
	if !ok {
		t.Fatalf("invalid command %#v", c)
	}
}
