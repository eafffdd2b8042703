package chatops

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/landform/landform"
)

// Verb is a command's name: the word after "landform".
type Verb string

// The commands.
const (
	VerbPlan    Verb = "plan"
	VerbApprove Verb = "approve"
	VerbApply   Verb = "apply"
	VerbUnlock  Verb = "unlock"
	VerbHelp    Verb = "help"
)

// Limits of what the parsers read.
const (
	// MaxTextLen is the longest comment, slash command text or argument
	// list (its words with a separator each) read, in bytes.
	MaxTextLen = 64 << 10
	// MaxWorkspaces is the most workspaces one command names.
	MaxWorkspaces = 100
	// MaxReasonLen is the longest --override-policy reason, in bytes.
	MaxReasonLen = 1024
	// maxRunIDDigits is the most digits of a run ID (an int64 holds 18).
	maxRunIDDigits = 18
)

// Command is one command, as read by ParseComment, ParseText or ParseArgs.
// Slices are nil when empty, so that commands compare with reflect.DeepEqual.
type Command struct {
	Verb Verb
	// Runs are the run IDs named (approve, apply: at most one), in
	// decimal.
	Runs []string
	// All is "approve all": every run of the pull request awaiting
	// approval.
	All bool
	// Workspaces are the workspaces named with -w (plan, apply: up to
	// MaxWorkspaces; unlock: one), in the order given, without
	// duplicates; each passes landform.CheckWorkspaceName.
	Workspaces []string
	// OverridePolicy is the reason of approve RUN --override-policy
	// REASON: not blank, no control characters, valid UTF-8, at most
	// MaxReasonLen bytes.
	OverridePolicy string
	// Topic is the command "help COMMAND" asks about, "" for all.
	Topic Verb
}

// String renders c canonically: "landform", the verb, the run ID or
// "all", then the flags, "-w NAME" for each workspace, each word quoted as
// a POSIX shell reads it back when it needs to be:
//
//	landform approve 42 --override-policy 'tested in staging'
//
// ParseComment (and ParseText without the leading "landform") reads the
// text of a valid command back to an equal Command.
func (c Command) String() string {
	words := []string{"landform", string(c.Verb)}
	if c.Topic != "" {
		words = append(words, string(c.Topic))
	}
	if c.All {
		words = append(words, "all")
	}
	words = append(words, c.Runs...)
	for _, w := range c.Workspaces {
		words = append(words, "-w", w)
	}
	if c.OverridePolicy != "" {
		words = append(words, "--override-policy", c.OverridePolicy)
	}
	for i, w := range words {
		words[i] = quoteWord(w)
	}
	return strings.Join(words, " ")
}

// ParseComment reads the command of a pull request comment: its first line
// that starts with the word "landform" or "/landform" (in any case:
// "Landform plan"), followed by white space or the end of the line. The
// line may be indented by up to three spaces; lines in fenced code blocks
// (``` or ~~~) and lines indented further (code in Markdown) are not
// commands, nor are quoted ("> landform apply") or list lines. The rest of
// the line is read as by ParseText; the other lines are ignored, so a
// quoted argument cannot span lines.
//
// ok is false, with no error, when no line addresses Landform. Otherwise
// err is nil or a *UsageError: the command cannot be read, or the comment
// is longer than MaxTextLen.
func ParseComment(body string) (cmd Command, ok bool, err error) {
	rest, ok := commandLine(body)
	if !ok {
		return Command{}, false, nil
	}
	if len(body) > MaxTextLen {
		return Command{}, true, usageErrorf("", "the comment is longer than %d KiB", MaxTextLen>>10)
	}
	cmd, err = ParseText(rest)
	return cmd, true, err
}

// commandLine returns what follows "landform" on body's command line (see
// ParseComment).
func commandLine(body string) (string, bool) {
	var (
		fence    byte // '`' or '~' inside a fenced code block, else 0
		fenceLen int
	)
	for line := range strings.Lines(body) {
		line = strings.TrimSuffix(line, "\n")
		line = strings.TrimSuffix(line, "\r")
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if indent >= 4 || strings.HasPrefix(line[indent:], "\t") {
			continue // indented code, or inside a fence: no command either way
		}
		line = line[indent:]
		if c, n := fenceRun(line); n >= 3 {
			rest := line[n:]
			switch {
			case fence == 0 && (c == '~' || !strings.Contains(rest, "`")):
				fence, fenceLen = c, n
				continue
			case fence == c && n >= fenceLen && strings.TrimSpace(rest) == "":
				fence = 0
				continue
			}
		}
		if fence != 0 {
			continue
		}
		line = strings.TrimPrefix(line, "/")
		if len(line) < len("landform") || !asciiEqualFold(line[:len("landform")], "landform") {
			continue
		}
		rest := line[len("landform"):]
		if r, _ := utf8.DecodeRuneInString(rest); rest == "" || unicode.IsSpace(r) {
			return rest, true
		}
	}
	return "", false
}

// fenceRun returns the character and length of the run of backticks or
// tildes that starts line, or 0, 0.
func fenceRun(line string) (byte, int) {
	if line == "" || (line[0] != '`' && line[0] != '~') {
		return 0, 0
	}
	n := 1
	for n < len(line) && line[n] == line[0] {
		n++
	}
	return line[0], n
}

func asciiEqualFold(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return len(s) == len(lower)
}

// ParseText reads a command from text: the words after "landform", as a
// Slack slash command's text (after "/landform"), an API request or a
// comment's command line carry them. Words are split as a POSIX shell
// does, with single and double quotes and backslash escapes, and no
// expansion. Returns a *UsageError when text is longer than MaxTextLen,
// has an unterminated quote or a trailing backslash, or as ParseArgs.
func ParseText(text string) (Command, error) {
	if len(text) > MaxTextLen {
		return Command{}, usageErrorf("", "the command is longer than %d KiB", MaxTextLen>>10)
	}
	words, err := splitWords(text)
	if err != nil {
		var verb Verb
		if f := strings.Fields(text); len(f) > 0 && isVerb(Verb(f[0])) {
			verb = Verb(f[0])
		}
		return Command{}, usageErrorf(verb, "%s", err)
	}
	return parseWords(words)
}

// ParseArgs reads a command from args, the words after "landform" (the
// CLI's arguments, already split):
//
//   - plan [-w WORKSPACE]...: nothing, or workspaces;
//   - approve RUN|all [--override-policy REASON]: one run ID or "all",
//     and a reason to override the run's policy deny (not with "all");
//   - apply [RUN | -w WORKSPACE...]: one run ID, or workspaces, or
//     nothing;
//   - unlock [-w WORKSPACE]: nothing or one workspace;
//   - help [COMMAND]: nothing or a command.
//
// A run ID is a positive decimal number without leading zeros, of at most
// 18 digits. A workspace is named with -w NAME, -w=NAME, --workspace NAME
// or --workspace=NAME, and must pass landform.CheckWorkspaceName. A flag's
// value is the word after it whatever it looks like. Flags and arguments
// may come in any order. There is no "--" (nor -h): it is an unknown flag.
//
// Returns a *UsageError naming the problem for no command, an unknown
// command or flag, a flag the command does not take or without its value,
// a missing or extra argument, a malformed run ID, an invalid workspace
// name or reason, a run, a workspace or a flag given twice, more than
// MaxWorkspaces workspaces, or args longer than MaxTextLen all told.
func ParseArgs(args []string) (Command, error) {
	size := 0
	for _, a := range args {
		size += len(a) + 1
		if size > MaxTextLen+1 {
			return Command{}, usageErrorf("", "the command is longer than %d KiB", MaxTextLen>>10)
		}
	}
	return parseWords(args)
}

func isVerb(v Verb) bool {
	switch v {
	case VerbPlan, VerbApprove, VerbApply, VerbUnlock, VerbHelp:
		return true
	}
	return false
}

func usageErrorf(v Verb, format string, args ...any) *UsageError {
	return &UsageError{Verb: v, Reason: fmt.Sprintf(format, args...)}
}

func unknownCommand(word string) *UsageError {
	if v := Verb(strings.ToLower(word)); isVerb(v) {
		return usageErrorf("", "unknown command %s (commands are lower case: %q)", quoteShort(word), v)
	}
	return usageErrorf("", "unknown command %s", quoteShort(word))
}

func parseWords(words []string) (Command, error) {
	if len(words) == 0 {
		return Command{}, usageErrorf("", "no command: say what to do")
	}
	v := Verb(words[0])
	if !isVerb(v) {
		return Command{}, unknownCommand(words[0])
	}
	c := Command{Verb: v}
	var (
		positional  []string
		sawOverride bool
	)
	args := words[1:]
	for i := 0; i < len(args); i++ {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			positional = append(positional, a)
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		if !hasValue {
			if name != "-w" && name != "--workspace" && name != "--override-policy" {
				return Command{}, usageErrorf(v, "unknown flag %s", quoteShort(name))
			}
			if i+1 == len(args) {
				return Command{}, usageErrorf(v, "%s needs a value", name)
			}
			i++
			value = args[i]
		}
		switch name {
		case "-w", "--workspace":
			if v != VerbPlan && v != VerbApply && v != VerbUnlock {
				return Command{}, usageErrorf(v, "%s takes no %s", v, name)
			}
			if err := c.addWorkspace(value); err != nil {
				return Command{}, err
			}
		case "--override-policy":
			if v != VerbApprove {
				return Command{}, usageErrorf(v, "%s takes no %s", v, name)
			}
			if sawOverride {
				return Command{}, usageErrorf(v, "--override-policy given twice")
			}
			sawOverride = true
			if reason := reasonProblem(value); reason != "" {
				return Command{}, usageErrorf(v, "the --override-policy reason %s", reason)
			}
			c.OverridePolicy = value
		default:
			return Command{}, usageErrorf(v, "unknown flag %s", quoteShort(name))
		}
	}
	var err *UsageError
	switch v {
	case VerbPlan, VerbUnlock:
		if len(positional) > 0 {
			return Command{}, usageErrorf(v, "unexpected argument %s (name workspaces with -w)", quoteShort(positional[0]))
		}
		if v == VerbUnlock && len(c.Workspaces) > 1 {
			return Command{}, usageErrorf(v, "unlock takes one workspace, not %d", len(c.Workspaces))
		}
	case VerbApprove:
		err = c.parseApprove(positional)
	case VerbApply:
		err = c.parseApply(positional)
	case VerbHelp:
		switch {
		case len(positional) > 1:
			return Command{}, usageErrorf(v, "unexpected argument %s (help takes one command)", quoteShort(positional[1]))
		case len(positional) == 1 && !isVerb(Verb(positional[0])):
			return Command{}, unknownCommand(positional[0])
		case len(positional) == 1:
			c.Topic = Verb(positional[0])
		}
	}
	if err != nil {
		return Command{}, err
	}
	return c, nil
}

func (c *Command) addWorkspace(name string) *UsageError {
	switch {
	case len(name) > landform.MaxWorkspaceNameLen:
		return usageErrorf(c.Verb, "invalid workspace name %s: longer than %d bytes", quoteShort(name), landform.MaxWorkspaceNameLen)
	case slices.Contains(c.Workspaces, name):
		return usageErrorf(c.Verb, "workspace %s given twice", quoteShort(name))
	case len(c.Workspaces) == MaxWorkspaces:
		return usageErrorf(c.Verb, "more than %d workspaces", MaxWorkspaces)
	}
	if err := landform.CheckWorkspaceName(name); err != nil {
		return usageErrorf(c.Verb, "%s", landform.ErrorMessage(err))
	}
	c.Workspaces = append(c.Workspaces, name)
	return nil
}

// addRun adds the run ID word to c.Runs, which holds at most one.
func (c *Command) addRun(word string) *UsageError {
	if reason := runIDProblem(word); reason != "" {
		return usageErrorf(c.Verb, "%s is not a run ID: %s", quoteShort(word), reason)
	}
	switch {
	case slices.Contains(c.Runs, word):
		return usageErrorf(c.Verb, "run %s given twice", word)
	case len(c.Runs) > 0:
		return usageErrorf(c.Verb, "%s takes one run, not %s and %s", c.Verb, c.Runs[0], word)
	}
	c.Runs = append(c.Runs, word)
	return nil
}

func (c *Command) parseApprove(positional []string) *UsageError {
	for _, a := range positional {
		if a == "all" {
			if c.All {
				return usageErrorf(c.Verb, "all given twice")
			}
			c.All = true
		} else if err := c.addRun(a); err != nil {
			return err
		}
		if c.All && len(c.Runs) > 0 {
			return usageErrorf(c.Verb, "approve takes a run or all, not both")
		}
	}
	switch {
	case !c.All && len(c.Runs) == 0:
		return usageErrorf(c.Verb, "approve needs a run ID or all")
	case c.All && c.OverridePolicy != "":
		return usageErrorf(c.Verb, "--override-policy overrides one run's policy deny: name the run, not all")
	}
	return nil
}

func (c *Command) parseApply(positional []string) *UsageError {
	for _, a := range positional {
		if a == "all" {
			return usageErrorf(c.Verb, `apply takes no "all": "landform apply" alone applies every approved run of the pull request`)
		}
		if err := c.addRun(a); err != nil {
			return err
		}
	}
	if len(c.Runs) > 0 && len(c.Workspaces) > 0 {
		return usageErrorf(c.Verb, "apply takes a run or workspaces, not both")
	}
	return nil
}

// runIDProblem says why s is not a run ID, "" when it is.
func runIDProblem(s string) string {
	switch {
	case s == "":
		return "empty"
	case strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0:
		return "not a decimal number"
	case s[0] == '0':
		if s == "0" {
			return "run IDs start at 1"
		}
		return "leading zero"
	case len(s) > maxRunIDDigits:
		return fmt.Sprintf("more than %d digits", maxRunIDDigits)
	}
	return ""
}

// reasonProblem says why s is not an override reason, "" when it is.
func reasonProblem(s string) string {
	switch {
	case strings.TrimSpace(s) == "":
		return "is empty: say why the policy may be overridden"
	case len(s) > MaxReasonLen:
		return fmt.Sprintf("is longer than %d bytes", MaxReasonLen)
	case !utf8.ValidString(s):
		return "is not valid UTF-8"
	}
	if i := strings.IndexFunc(s, unicode.IsControl); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Sprintf("contains a control character (%U)", r)
	}
	return ""
}
