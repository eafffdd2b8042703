package chatops

import (
	"strings"

	"github.com/landform/landform"
)

// usages is each command's usage, in the order Usage("") lists them. Every
// block starts with the command's synopsis, as String renders it.
var usages = []struct {
	verb Verb
	text string
}{
	{VerbPlan, `landform plan [-w WORKSPACE]...
    Plan the workspaces the pull request changes, or only the ones named.
`},
	{VerbApprove, `landform approve RUN|all [--override-policy REASON]
    Approve run RUN, or every run of the pull request awaiting approval.
    With --override-policy REASON a policy owner overrides the policy deny
    of run RUN.
`},
	{VerbApply, `landform apply [RUN | -w WORKSPACE...]
    Apply run RUN, the approved runs of the workspaces named, or (alone)
    every approved run of the pull request.
`},
	{VerbUnlock, `landform unlock [-w WORKSPACE]
    Release the pull request's workspace locks, or the lock of one workspace.
`},
	{VerbHelp, `landform help [COMMAND]
    Show the usage of every command, or of one.
`},
}

// usageNotes follow every command's usage in Usage("").
const usageNotes = `
RUN is a run's number, as in "landform apply 42". -w WORKSPACE is also
written -w=WORKSPACE, --workspace WORKSPACE or --workspace=WORKSPACE.
Quote words with spaces: --override-policy "the reason". In Slack, type
the same after /landform: "/landform approve 42".
`

// Usage returns the usage text of the command v: its synopsis and what it
// does, a few lines ending in a newline. For "" (or a verb that is not a
// command) it returns every command's usage and notes on the arguments.
//
// The lines start with "landform": quote the text in a fenced code block
// when replying in a comment, where ParseComment ignores it.
func Usage(v Verb) string {
	var b strings.Builder
	for _, u := range usages {
		if u.verb == v {
			return u.text
		}
		b.WriteString(u.text)
	}
	b.WriteString(usageNotes)
	return b.String()
}

// UsageError is a command Landform was asked to run but could not read:
// an unknown command or flag, a missing, extra or malformed argument, an
// unterminated quote, too long a text. Callers reply with Error and Usage.
//
// It unwraps to a landform.EINVALID *landform.Error with the same message,
// so the edge maps it like any invalid input.
type UsageError struct {
	// Verb is the command that was being read, "" when there was none to
	// read (no command, an unknown one, an oversized text).
	Verb Verb
	// Reason says what is wrong, on one line, repeating at most a short
	// piece of what was typed.
	Reason string
}

// Error returns the reason, one line.
func (e *UsageError) Error() string { return e.Reason }

// Usage returns the usage text of the command e is about, or of every
// command (see Usage).
func (e *UsageError) Usage() string { return Usage(e.Verb) }

// Unwrap returns e as a landform.EINVALID error.
func (e *UsageError) Unwrap() error {
	return &landform.Error{Code: landform.EINVALID, Message: e.Reason}
}
