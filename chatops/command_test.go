package chatops_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/chatops"
)

// valid are commands in their text (after "landform"), what they read as,
// and their canonical rendering ("" when the text already is).
var valid = []struct {
	text      string
	want      chatops.Command
	canonical string
}{
	{"plan", chatops.Command{Verb: chatops.VerbPlan}, ""},
	{"plan -w envs/prod", chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"envs/prod"}}, ""},
	{"plan -w a -w=b --workspace c --workspace=d", chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"a", "b", "c", "d"}},
		"landform plan -w a -w b -w c -w d"},
	{"plan -w .", chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"."}}, ""},
	{"plan -w envs/prod@blue", chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"envs/prod@blue"}}, ""},
	{"plan -w b -w a", chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"b", "a"}}, ""},
	{`plan -w "it's"`, chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"it's"}}, `landform plan -w "it's"`},
	{`plan -w 'a$b'`, chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"a$b"}}, ""},
	{"plan -w é", chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"é"}}, "landform plan -w 'é'"},
	{"approve 42", chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"42"}}, ""},
	{"approve 999999999999999999", chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"999999999999999999"}}, ""},
	{"approve all", chatops.Command{Verb: chatops.VerbApprove, All: true}, ""},
	{"approve 42 --override-policy 'tested in staging'",
		chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"42"}, OverridePolicy: "tested in staging"}, ""},
	{`approve --override-policy="it's \$5, \"fine\"" 7`,
		chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"7"}, OverridePolicy: `it's $5, "fine"`},
		`landform approve 7 --override-policy "it's \$5, \"fine\""`},
	{`approve 7 --override-policy ok`, chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"7"}, OverridePolicy: "ok"}, ""},
	{`approve 7 --override-policy -x`, chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"7"}, OverridePolicy: "-x"}, ""},
	{"apply", chatops.Command{Verb: chatops.VerbApply}, ""},
	{"apply 42", chatops.Command{Verb: chatops.VerbApply, Runs: []string{"42"}}, ""},
	{"apply -w envs/prod --workspace envs/dev", chatops.Command{Verb: chatops.VerbApply, Workspaces: []string{"envs/prod", "envs/dev"}},
		"landform apply -w envs/prod -w envs/dev"},
	{"unlock", chatops.Command{Verb: chatops.VerbUnlock}, ""},
	{"unlock -w=envs/prod", chatops.Command{Verb: chatops.VerbUnlock, Workspaces: []string{"envs/prod"}}, "landform unlock -w envs/prod"},
	{"help", chatops.Command{Verb: chatops.VerbHelp}, ""},
	{"help approve", chatops.Command{Verb: chatops.VerbHelp, Topic: chatops.VerbApprove}, ""},
	{"help help", chatops.Command{Verb: chatops.VerbHelp, Topic: chatops.VerbHelp}, ""},
	// Quoting and white space.
	{`  approve   "42"  `, chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"42"}}, "landform approve 42"},
	{"\tapply\t'4'2", chatops.Command{Verb: chatops.VerbApply, Runs: []string{"42"}}, "landform apply 42"},
	{`plan -w env\s/pr"o"'d'`, chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"envs/prod"}}, "landform plan -w envs/prod"},
	{"apply\u00a042", chatops.Command{Verb: chatops.VerbApply, Runs: []string{"42"}}, "landform apply 42"},
	{"plan \\\n -w a", chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"a"}}, "landform plan -w a"},
}

func TestParseText(t *testing.T) {
	for _, tc := range valid {
		t.Run(tc.text, func(t *testing.T) {
			got, err := chatops.ParseText(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Fatalf("(-want +got)\n%s", diff)
			}
			canonical := tc.canonical
			if canonical == "" {
				canonical = "landform " + tc.text
			}
			if s := got.String(); s != canonical {
				t.Errorf("String() = %q, want %q", s, canonical)
			}
			// The canonical text reads back the same, as a comment and
			// as text.
			again, ok, err := chatops.ParseComment(got.String())
			if !ok || err != nil {
				t.Fatalf("ParseComment(%q) = %v, %v", got.String(), ok, err)
			}
			if diff := cmp.Diff(got, again); diff != "" {
				t.Errorf("round trip (-first +again)\n%s", diff)
			}
		})
	}
}

// invalid are texts (after "landform") that are usage errors, the command
// whose usage they get, and a piece of the reason.
var invalid = []struct {
	text   string
	verb   chatops.Verb
	reason string
}{
	{"", "", "no command"},
	{"   ", "", "no command"},
	{"deploy", "", `unknown command "deploy"`},
	{"Plan", "", `commands are lower case: "plan"`},
	{"-w a", "", `unknown command "-w"`},
	{"landform plan", "", `unknown command "landform"`},
	{"plan envs/prod", chatops.VerbPlan, `unexpected argument "envs/prod" (name workspaces with -w)`},
	{"plan -x", chatops.VerbPlan, `unknown flag "-x"`},
	{"plan -wenvs/prod", chatops.VerbPlan, `unknown flag "-wenvs/prod"`},
	{"plan --workspaces=a", chatops.VerbPlan, `unknown flag "--workspaces"`},
	{"plan --help", chatops.VerbPlan, `unknown flag "--help"`},
	{"plan -w", chatops.VerbPlan, "-w needs a value"},
	{"plan --workspace", chatops.VerbPlan, "--workspace needs a value"},
	{"plan -w ''", chatops.VerbPlan, `invalid workspace name "": empty`},
	{"plan -w=", chatops.VerbPlan, `invalid workspace name "": empty`},
	{"plan -w 'a b'", chatops.VerbPlan, "contains white space"},
	{"plan -w -x", chatops.VerbPlan, `invalid workspace name "-x": starts with "-"`},
	{"plan -w /etc", chatops.VerbPlan, "absolute"},
	{"plan -w a/../b", chatops.VerbPlan, `".." path element`},
	{"plan -w .git", chatops.VerbPlan, "reserved by git"},
	{"plan -w \"a\x01\"", chatops.VerbPlan, "control character"},
	{"plan -w " + strings.Repeat("a", 256), chatops.VerbPlan, "longer than 255 bytes"},
	{"plan -w a -w b -w a", chatops.VerbPlan, `workspace "a" given twice`},
	{"plan" + manyWorkspaces(101), chatops.VerbPlan, "more than 100 workspaces"},
	{"plan --override-policy x", chatops.VerbPlan, "plan takes no --override-policy"},
	{"plan 'a", chatops.VerbPlan, "unterminated ' quote"},
	{`plan -w "a`, chatops.VerbPlan, `unterminated " quote`},
	{`plan -w a\`, chatops.VerbPlan, "ends with a backslash"},
	{"approve", chatops.VerbApprove, "approve needs a run ID or all"},
	{"approve 0", chatops.VerbApprove, `"0" is not a run ID: run IDs start at 1`},
	{"approve 042", chatops.VerbApprove, `"042" is not a run ID: leading zero`},
	{"approve 1234567890123456789", chatops.VerbApprove, "more than 18 digits"},
	{"approve #42", chatops.VerbApprove, `"#42" is not a run ID: not a decimal number`},
	{"approve 4x", chatops.VerbApprove, "not a decimal number"},
	{"approve ４２", chatops.VerbApprove, "not a decimal number"},
	{"approve ''", chatops.VerbApprove, `"" is not a run ID: empty`},
	{"approve -5", chatops.VerbApprove, `unknown flag "-5"`},
	{"approve 42 42", chatops.VerbApprove, "run 42 given twice"},
	{"approve 42 43", chatops.VerbApprove, "approve takes one run, not 42 and 43"},
	{"approve all 42", chatops.VerbApprove, "approve takes a run or all, not both"},
	{"approve 42 all", chatops.VerbApprove, "approve takes a run or all, not both"},
	{"approve all all", chatops.VerbApprove, "all given twice"},
	{"approve all --override-policy x", chatops.VerbApprove, "name the run, not all"},
	{"approve 42 --override-policy ''", chatops.VerbApprove, "reason is empty"},
	{"approve 42 --override-policy '  '", chatops.VerbApprove, "reason is empty"},
	{"approve 42 --override-policy", chatops.VerbApprove, "--override-policy needs a value"},
	{"approve 42 --override-policy a --override-policy a", chatops.VerbApprove, "--override-policy given twice"},
	{"approve 42 --override-policy '" + strings.Repeat("x", 1025) + "'", chatops.VerbApprove, "reason is longer than 1024 bytes"},
	{"approve 42 --override-policy 'a\tb'", chatops.VerbApprove, "reason contains a control character (U+0009)"},
	{"approve 42 --override-policy \"a\xffb\"", chatops.VerbApprove, "reason is not valid UTF-8"},
	{"approve 42 -w a", chatops.VerbApprove, "approve takes no -w"},
	{"apply all", chatops.VerbApply, `apply takes no "all"`},
	{"apply 42 -w a", chatops.VerbApply, "apply takes a run or workspaces, not both"},
	{"apply -w a 42", chatops.VerbApply, "apply takes a run or workspaces, not both"},
	{"apply 42 43", chatops.VerbApply, "apply takes one run, not 42 and 43"},
	{"apply 42 42", chatops.VerbApply, "run 42 given twice"},
	{"apply 4.2", chatops.VerbApply, "not a decimal number"},
	{"apply --override-policy x", chatops.VerbApply, "apply takes no --override-policy"},
	{"unlock envs/prod", chatops.VerbUnlock, "unexpected argument"},
	{"unlock -w a -w b", chatops.VerbUnlock, "unlock takes one workspace, not 2"},
	{"unlock 42", chatops.VerbUnlock, `unexpected argument "42"`},
	{"help deploy", "", `unknown command "deploy"`},
	{"help apply plan", chatops.VerbHelp, `unexpected argument "plan"`},
	{"help -w a", chatops.VerbHelp, "help takes no -w"},
	{"help --all", chatops.VerbHelp, `unknown flag "--all"`},
	{"apply " + strings.Repeat("9", 70), chatops.VerbApply, `"9999999999999999999999999999999999999999…" is not a run ID`},
	{strings.Repeat("x", 64<<10+1), "", "the command is longer than 64 KiB"},
}

func manyWorkspaces(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " -w w%d", i)
	}
	return b.String()
}

func TestParseTextUsageErrors(t *testing.T) {
	for _, tc := range invalid {
		name := tc.text
		if len(name) > 60 {
			name = name[:60]
		}
		t.Run(name, func(t *testing.T) {
			got, err := chatops.ParseText(tc.text)
			checkUsageError(t, err, tc.verb, tc.reason)
			if diff := cmp.Diff(chatops.Command{}, got); diff != "" {
				t.Errorf("a command with the error (-want +got)\n%s", diff)
			}
		})
	}
}

func checkUsageError(t *testing.T, err error, verb chatops.Verb, reason string) {
	t.Helper()
	var ue *chatops.UsageError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v (%T), want a *UsageError", err, err)
	}
	if ue.Verb != verb {
		t.Errorf("usage of %q, want %q (%v)", ue.Verb, verb, err)
	}
	if !strings.Contains(err.Error(), reason) {
		t.Errorf("error %q does not say %q", err, reason)
	}
	if strings.Contains(err.Error(), "\n") || len(err.Error()) > 400 {
		t.Errorf("error is not a short line: %q", err)
	}
	if ue.Usage() != chatops.Usage(verb) {
		t.Errorf("Usage() = %q, want Usage(%q)", ue.Usage(), verb)
	}
	if verb != "" && !strings.HasPrefix(ue.Usage(), "landform "+string(verb)) {
		t.Errorf("usage of %s: %q", verb, ue.Usage())
	}
	if landform.ErrorCode(err) != landform.EINVALID || landform.ErrorMessage(err) != err.Error() {
		t.Errorf("code %q, message %q", landform.ErrorCode(err), landform.ErrorMessage(err))
	}
}

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want chatops.Command
	}{
		{[]string{"plan"}, chatops.Command{Verb: chatops.VerbPlan}},
		{[]string{"approve", "42", "--override-policy", "tested in staging"},
			chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"42"}, OverridePolicy: "tested in staging"}},
		// Words are not split again, nor unquoted.
		{[]string{"plan", "-w", "'a'"}, chatops.Command{Verb: chatops.VerbPlan, Workspaces: []string{"'a'"}}},
	} {
		got, err := chatops.ParseArgs(tc.args)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got)\n%s", tc.args, diff)
		}
	}

	for _, tc := range []struct {
		args   []string
		verb   chatops.Verb
		reason string
	}{
		{nil, "", "no command"},
		{[]string{"plan", "-w", "a b"}, chatops.VerbPlan, "contains white space"},
		{[]string{"approve", "4 2"}, chatops.VerbApprove, "not a decimal number"},
		{[]string{"plan", strings.Repeat("x", 64<<10)}, "", "longer than 64 KiB"},
		{append([]string{"plan"}, make([]string, 64<<10)...), "", "longer than 64 KiB"},
	} {
		_, err := chatops.ParseArgs(tc.args)
		checkUsageError(t, err, tc.verb, tc.reason)
	}

	// Every valid text's words, split by a shell, read the same.
	for _, tc := range valid {
		words := shellWords(t, tc.want.String())
		got, err := chatops.ParseArgs(words[1:])
		if err != nil {
			t.Fatalf("%q: %v", words, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%q (-want +got)\n%s", words, diff)
		}
	}
}

// shellWords splits s as ParseText does, through a comment.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	// The canonical rendering quotes only with '…' and "…" around whole
	// words, without \ outside them: unquote it word by word.
	var words []string
	for s != "" {
		s = strings.TrimLeft(s, " ")
		var w string
		switch s[0] {
		case '\'':
			end := strings.IndexByte(s[1:], '\'') + 1
			w, s = s[1:end], s[end+1:]
		case '"':
			i := 1
			var b strings.Builder
			for s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				b.WriteByte(s[i])
				i++
			}
			w, s = b.String(), s[i+1:]
		default:
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			w, s = s[:end], s[end:]
		}
		words = append(words, w)
	}
	return words
}

func TestParseComment(t *testing.T) {
	apply42 := chatops.Command{Verb: chatops.VerbApply, Runs: []string{"42"}}
	for _, tc := range []struct {
		name string
		body string
		want chatops.Command
	}{
		{"alone", "landform apply 42", apply42},
		{"slash", "/landform apply 42", apply42},
		{"capitalised", "Landform apply 42", apply42},
		{"upper case", "LANDFORM apply 42", apply42},
		{"slash upper case", "/LandForm apply 42", apply42},
		{"after text", "Looks good to me.\n\nlandform apply 42\n\nThanks!", apply42},
		{"first of two", "landform apply 42\nlandform apply 43", apply42},
		{"CRLF", "LGTM\r\nlandform apply 42\r\n", apply42},
		{"indented a little", "   landform apply 42", apply42},
		{"tab after the word", "landform\tapply\t42", apply42},
		{"after a closed fence", "```\nlandform apply 1\n```\nlandform apply 42", apply42},
		{"after a tilde fence", "~~~~ text\nlandform apply 1\n```\n~~~\nlandform apply 2\n~~~~~\nlandform apply 42", apply42},
		{"inline code, not a fence", "```landform apply 1```\nlandform apply 42", apply42},
		{"after a usage reply", "```\n" + chatops.Usage("") + "```\nlandform apply 42", apply42},
		{"trailing space", "landform apply 42   ", apply42},
		{"quoted reason", `landform approve 42 --override-policy "tested in staging"`,
			chatops.Command{Verb: chatops.VerbApprove, Runs: []string{"42"}, OverridePolicy: "tested in staging"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := chatops.ParseComment(tc.body)
			if !ok || err != nil {
				t.Fatalf("ok %v, err %v", ok, err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestParseCommentNotAddressed(t *testing.T) {
	for _, body := range []string{
		"",
		"LGTM",
		"please run landform apply 42",
		"landforms apply 42",
		"landform:apply 42",
		"landform-apply 42",
		"//landform apply 42",
		"@landform apply 42",
		"> landform apply 42",
		"- landform apply 42",
		"`landform apply 42`",
		"    landform apply 42",
		"\tlandform apply 42",
		"```\nlandform apply 42\n```",
		"```sh\nlandform apply 42\n```",
		"~~~\nlandform apply 42\n```\n",
		"````\n```\nlandform apply 42\n````",
		"```\nunclosed, the rest is code\nlandform apply 42",
		"```\n" + chatops.Usage("") + "```",
		strings.Repeat("not a command\n", 10000),
	} {
		cmd, ok, err := chatops.ParseComment(body)
		if ok || err != nil || cmd.Verb != "" {
			t.Errorf("%q: %+v, %v, %v; want not addressed", body, cmd, ok, err)
		}
	}
}

func TestParseCommentUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		body   string
		verb   chatops.Verb
		reason string
	}{
		{"landform", "", "no command"},
		{"Hi\nlandform   \nlandform apply 42", "", "no command"},
		{"landform deploy", "", `unknown command "deploy"`},
		{"landform approve", chatops.VerbApprove, "approve needs a run ID or all"},
		// A quote does not go on to the next line.
		{"landform approve 42 --override-policy \"tested\nin staging\"", chatops.VerbApprove, `unterminated " quote`},
		{"landform apply 42\n" + strings.Repeat("x", 64<<10), "", "the comment is longer than 64 KiB"},
		{"landform approve 42 --override-policy '" + strings.Repeat("x", 64<<10) + "'", "", "the comment is longer than 64 KiB"},
	} {
		_, ok, err := chatops.ParseComment(tc.body)
		if !ok {
			t.Errorf("%.40q: not addressed", tc.body)
			continue
		}
		checkUsageError(t, err, tc.verb, tc.reason)
	}
	// Every invalid text is a usage error in a comment too, but for
	// those ParseComment reads differently: an empty line is not
	// addressed to Landform, and the size limit is the comment's.
	for _, tc := range invalid {
		if tc.reason == "no command" || len(tc.text) > 64<<10 || strings.ContainsAny(tc.text, "\n") {
			continue
		}
		_, ok, err := chatops.ParseComment("landform " + tc.text)
		if !ok {
			t.Errorf("%.40q: not addressed", tc.text)
			continue
		}
		checkUsageError(t, err, tc.verb, tc.reason)
	}
}

func TestUsage(t *testing.T) {
	all := chatops.Usage("")
	verbs := []chatops.Verb{chatops.VerbPlan, chatops.VerbApprove, chatops.VerbApply, chatops.VerbUnlock, chatops.VerbHelp}
	for _, v := range verbs {
		u := chatops.Usage(v)
		if !strings.HasPrefix(u, "landform "+string(v)+" ") && u != "landform "+string(v)+"\n" {
			t.Errorf("Usage(%q) = %q", v, u)
		}
		if !strings.HasSuffix(u, "\n") || !strings.Contains(all, u) {
			t.Errorf("Usage(%q) = %q, not a block of Usage(\"\")", v, u)
		}
	}
	for _, want := range []string{
		"landform plan [-w WORKSPACE]...\n",
		"landform approve RUN|all [--override-policy REASON]\n",
		"landform apply [RUN | -w WORKSPACE...]\n",
		"landform unlock [-w WORKSPACE]\n",
		"landform help [COMMAND]\n",
		"--workspace",
		"/landform approve 42",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("Usage(\"\") does not say %q:\n%s", want, all)
		}
	}
	if chatops.Usage("deploy") != all {
		t.Error(`Usage("deploy") is not every command's usage`)
	}
}
