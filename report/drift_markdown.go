package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/landform/landform"
)

// The Markdown of drift reports: the repository's report (the forge issue,
// the ledger's summary.md) and one workspace's (its ledger file). As in
// previews, every untrusted value is an inline code span (code), in a table
// cell (cell), or a fenced code block (codeBlock).

// minDriftLen is the smallest size DriftMarkdown lays out for: the
// heading, the summary line, the clean workspaces, the notes and a few
// workspaces on one line fit in it, whatever the names.
const minDriftLen = 4096

// Caps of the repository report's lists.
const (
	maxBriefResources = 20 // resources of a workspace cut to its table
	maxCleanItems     = 50
	maxCleanRunes     = 1000
)

// DriftMarkdown renders r for people: a heading naming the repository,
// when and at which commit it was checked, r.Summary(); then a section per
// workspace that drifted, failed to check or has code not yet applied (in
// that order, each by name) with its status, since when it drifted, when
// and at which commit it was checked (and its run), the command that
// remedies it (opts.RemediationCommand), its error, a table of its
// resources (address, what happened to it, terraform's action) and, per
// resource, the attributes that moved (path, before and after as JSON;
// sensitive ones as landform.SensitiveValue); last, the clean workspaces on
// one line ("✅ **38 clean**: `a`, `b`, and 36 more.").
//
// When opts.MaxLen is set and the whole does not fit, detail is cut from
// the least important workspaces first and a note says so: the most
// important get a line each ("- ⚠️ `envs/prod` drifted: 2 changed") in up
// to half the room, then in turn a brief section (no attributes, at most 20
// resources, the first line of the error), then their full one; the room
// left gives more workspaces a line, and the rest are only counted. The
// heading, the summary and the clean line are never cut. The output
// depends only on r and opts.
func DriftMarkdown(r *landform.DriftReport, opts DriftOptions) string {
	if opts.MaxLen > 0 {
		opts.MaxLen = max(opts.MaxLen, minDriftLen)
	}
	return newDriftLayout(r, opts).render(opts.MaxLen)
}

// Detail levels of a workspace in the repository report.
const (
	levelFull    = iota // everything
	levelBrief          // no attributes, maxBriefResources rows, the error's first line
	levelLine           // one line
	levelOmitted        // only counted
)

// driftLayout is the repository report cut into the pieces it is made of.
type driftLayout struct {
	head     string
	sections [][levelOmitted]string // by level, full to line
	clean    string
}

func newDriftLayout(r *landform.DriftReport, opts DriftOptions) driftLayout {
	notClean, clean := sortedDrift(r)
	l := driftLayout{head: driftHead(r), clean: cleanLine(clean)}
	for _, w := range notClean {
		remedy := ""
		if opts.RemediationCommand != nil {
			remedy = opts.RemediationCommand(w)
		}
		l.sections = append(l.sections, [levelOmitted]string{
			driftSection(w, remedy, opts.ExternalURL, levelFull),
			driftSection(w, remedy, opts.ExternalURL, levelBrief),
			driftLine(w),
		})
	}
	return l
}

// render lays the report out in at most maxLen runes (0: no limit), as
// long as maxLen leaves room for the heading, the clean line and the
// notes (minDriftLen does).
func (l driftLayout) render(maxLen int) string {
	levels := make([]int, len(l.sections)) // all levelFull
	whole := l.compose(levels)
	if maxLen <= 0 {
		return whole
	}
	if runeLen(whole) <= maxLen {
		return whole
	}
	n := len(l.sections)
	room := maxLen - runeLen(l.head) - runeLen(l.clean) - runeLen(cutNote(n, n, n)) - runeLen(omittedLine(n))
	// Every workspace starts out left out. In order of importance, each
	// gets a line while lines fit in half the room, then its brief
	// section, then its full one; what room is left goes to more lines.
	for i := range levels {
		levels[i] = levelOmitted
	}
	upgrade := func(level, limit int) {
		for i, s := range l.sections {
			if levels[i] != level+1 {
				continue
			}
			if extra := pieceLen(s, level) - pieceLen(s, levels[i]); extra <= limit {
				levels[i], room, limit = level, room-extra, limit-extra
			}
		}
	}
	upgrade(levelLine, room/2)
	upgrade(levelBrief, room)
	upgrade(levelFull, room)
	upgrade(levelLine, room)
	return l.compose(levels)
}

// pieceLen is the most runes a section takes at level: a line may need
// a blank line after it (see compose).
func pieceLen(s [levelOmitted]string, level int) int {
	switch level {
	case levelOmitted:
		return 0
	case levelLine:
		return runeLen(s[levelLine]) + 1
	}
	return runeLen(s[level])
}

// compose joins the pieces at the given levels, in order, then the count
// of the workspaces left out, the clean ones and the note of what was cut.
// Every piece but a workspace's line ends with a blank line; a run of
// lines gets one after it.
func (l driftLayout) compose(levels []int) string {
	var b strings.Builder
	b.WriteString(l.head)
	var brief, oneLine, omitted int
	inList := false
	block := func(s string) {
		if inList {
			b.WriteString("\n")
			inList = false
		}
		b.WriteString(s)
	}
	for i, s := range l.sections {
		switch levels[i] {
		case levelFull, levelBrief:
			block(s[levels[i]])
			if s[levels[i]] != s[levelFull] {
				brief++
			}
		case levelLine:
			b.WriteString(s[levelLine])
			inList = true
			oneLine++
		default:
			omitted++
		}
	}
	if omitted > 0 {
		block(omittedLine(omitted))
	}
	block(l.clean)
	if brief+oneLine+omitted > 0 {
		block(cutNote(brief, oneLine, omitted))
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func omittedLine(n int) string {
	return fmt.Sprintf("_… and %d more %s with drift, errors or unapplied code, not shown here._\n\n",
		n, plural(n, "workspace", "workspaces"))
}

// cutNote says what was cut to fit the size limit.
func cutNote(brief, oneLine, omitted int) string {
	var parts []string
	if brief > 0 {
		parts = append(parts, fmt.Sprintf("%d %s shortened (no attributes, at most %d resources, the first line of an error)",
			brief, plural(brief, "workspace", "workspaces"), maxBriefResources))
	}
	if oneLine > 0 {
		parts = append(parts, fmt.Sprintf("%d on one line", oneLine))
	}
	if omitted > 0 {
		parts = append(parts, fmt.Sprintf("%d left out", omitted))
	}
	return "_Cut to fit the size limit: " + strings.Join(parts, ", ") +
		". Landform's ledger (drift/) and web page have every detail._\n\n"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// driftHead is the heading, when and where the repository was checked, and
// the summary line.
func driftHead(r *landform.DriftReport) string {
	var b strings.Builder
	b.WriteString("### " + driftHeading(r) + "\n\n")
	if line := checkedLine(driftCheckedAt(r), r.Commit, "", ""); line != "" {
		b.WriteString(line + "\n\n")
	}
	b.WriteString("**" + r.Summary() + "**\n\n")
	return b.String()
}

// checkedLine is "Checked 2026-03-01T10:04Z at `0123456789ab` (run `57`)."
// with what is known; "" when nothing is.
func checkedLine(at time.Time, commit, runID, external string) string {
	if at.IsZero() && commit == "" && runID == "" {
		return ""
	}
	s := "Checked"
	if !at.IsZero() {
		s += " " + driftTime(at)
	}
	if commit != "" {
		s += " at " + code(landform.ShortSHA(commit))
	}
	if runID != "" {
		run := code(runID)
		if u := runURL(external, runID); u != "" {
			run = link(run, u)
		}
		s += " (run " + run + ")"
	}
	return s + "."
}

func cleanLine(names []string) string {
	if len(names) == 0 {
		return ""
	}
	items := make([]string, len(names))
	for i, n := range names {
		items[i] = code(cutRunes(n, maxNameRunes))
	}
	return fmt.Sprintf("✅ **%d clean**: %s.\n\n", len(names), capList(items, ", ", maxCleanItems, maxCleanRunes))
}

// driftSection is a workspace's section at levelFull or levelBrief; it
// ends with a blank line.
func driftSection(w *landform.WorkspaceDrift, remedy, external string, level int) string {
	v := viewDrift(w)
	var b strings.Builder
	fmt.Fprintf(&b, "#### %s %s — %s\n\n", v.symbol, code(cutRunes(w.Workspace, maxNameRunes)), v.words)
	var meta []string
	if !w.DriftedSince.IsZero() {
		meta = append(meta, "Drifted since "+driftTime(w.DriftedSince)+".")
	}
	if line := checkedLine(w.CheckedAt, w.Commit, w.RunID, external); line != "" {
		meta = append(meta, line)
	}
	if w.Dir != "" && w.Dir != w.Workspace {
		meta = append(meta, "Directory "+code(cutRunes(w.Dir, maxNameRunes))+".")
	}
	if len(meta) > 0 {
		b.WriteString(strings.Join(meta, " ") + "\n\n")
	}
	if remedy != "" {
		b.WriteString("Remediation: " + code(landform.OneLine(remedy, maxNameRunes)) + "\n\n")
	}
	if w.Error != "" {
		if level == levelFull {
			b.WriteString("**Error:**\n\n" + codeBlock(cutRunes(w.Error, maxDriftErrRunes)) + "\n")
		} else {
			b.WriteString("**Error:** " + code(cutRunes(FirstLine(w.Error), maxDriftLineRunes)) + "\n\n")
		}
	}
	limit := -1
	if level == levelBrief {
		limit = maxBriefResources
	}
	b.WriteString(resourceTable(w.Resources, limit))
	if level == levelFull {
		b.WriteString(attributeTables(w.Resources, false))
	}
	return b.String()
}

// driftLine is a workspace on one line of a list.
func driftLine(w *landform.WorkspaceDrift) string {
	v := viewDrift(w)
	s := "- " + v.symbol + " " + code(cutRunes(w.Workspace, maxNameRunes)) + " " + v.words
	switch {
	case w.Error != "":
		s += ": " + code(cutRunes(FirstLine(w.Error), maxDriftLineRunes))
	case len(w.Resources) > 0:
		s += ": " + driftCounts(w)
	}
	return s + "\n"
}

// resourceTable is a table of resources, the first limit of them (all for
// a negative limit) followed by a line counting the rest; "" for none.
func resourceTable(res []landform.DriftedResource, limit int) string {
	if len(res) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("| Resource | Drift | Action |\n|---|---|---|\n")
	for i, r := range res {
		if i == limit {
			fmt.Fprintf(&b, "\n_… and %d more %s._\n", len(res)-i, plural(len(res)-i, "resource", "resources"))
			break
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(code(cutRunes(r.Address, maxAddressRunes))),
			cell(driftKindMarkdown(r.Kind)), cell(actionMarkdown(r.Action)))
	}
	return b.String() + "\n"
}

// attributeTables is, for each resource with attributes that moved, a
// title naming it and a table of them; "" when none has any. The title is
// a paragraph, or with headings a third-level heading.
func attributeTables(res []landform.DriftedResource, headings bool) string {
	var b strings.Builder
	for _, r := range res {
		if len(r.Attributes) == 0 {
			continue
		}
		addr := code(cutRunes(r.Address, maxAddressRunes))
		if headings {
			b.WriteString("### " + addr + "\n\n")
		} else {
			b.WriteString("Attributes of " + addr + " that changed:\n\n")
		}
		b.WriteString("| Attribute | Before | After |\n|---|---|---|\n")
		for _, a := range r.Attributes {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", cell(code(cutRunes(a.Path, maxPathRunes))),
				cell(valueMarkdown(a, a.Before)), cell(valueMarkdown(a, a.After)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

func valueMarkdown(a landform.AttributeChange, v any) string {
	text, sensitive := driftValue(a, v, maxValueRunes)
	if sensitive {
		return "_" + text + "_"
	}
	return code(text)
}

func driftKindMarkdown(kind string) string {
	switch kind {
	case landform.DriftChanged, landform.DriftDeleted, landform.DriftUnapplied:
		return driftKindWords(kind)
	}
	return code(cutRunes(kind, maxDriftLineRunes))
}

// actionMarkdown is terraform's action: a word of terraform's plain, any
// other text as code.
func actionMarkdown(action string) string {
	switch action {
	case "create", "read", "update", "delete", "replace", "no-op":
		return action
	}
	return code(cutRunes(action, maxDriftLineRunes))
}

// WorkspaceDriftMarkdown renders one workspace's drift for its ledger
// file: a table of its repository, name, directory, commit, run,
// remediation run, check time, since when it drifted and status; then its resources, the
// attributes that moved, and its error (at most 4,000 bytes; the store
// has it all). Unlike DriftMarkdown it has no size limit.
func WorkspaceDriftMarkdown(w *landform.WorkspaceDrift) string {
	v := viewDrift(w)
	var b strings.Builder
	fmt.Fprintf(&b, "# Drift of %s — %s\n\n", code(w.Workspace), v.words)
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, v) }
	row("repository", cell(code(w.Repo)))
	ws := cell(code(w.Workspace))
	if w.Dir != "" {
		ws += " (dir " + cell(code(w.Dir)) + ")"
	}
	row("workspace", ws)
	if w.Commit != "" {
		row("commit", cell(code(w.Commit)))
	}
	if w.RunID != "" {
		row("run", cell(code(w.RunID)))
	}
	if w.Remediation != "" {
		row("remediation run", cell(code(w.Remediation)))
	}
	if !w.CheckedAt.IsZero() {
		row("checked", ledgerTime(w.CheckedAt))
	}
	if !w.DriftedSince.IsZero() {
		row("drifted since", ledgerTime(w.DriftedSince))
	}
	status := "**" + v.words + "**"
	if c := driftCounts(w); c != "" {
		status += ": " + c
	}
	row("status", status)
	if len(w.Resources) > 0 {
		b.WriteString("\n## Resources\n\n" + resourceTable(w.Resources, -1))
		if attrs := attributeTables(w.Resources, true); attrs != "" {
			b.WriteString("## Attributes that changed\n\n" + attrs)
		}
	}
	if w.Error != "" {
		if len(w.Resources) == 0 {
			b.WriteString("\n")
		}
		b.WriteString("## Error\n\n" + codeBlock(truncate(w.Error, maxLedgerError)))
	}
	if w.Status() == "clean" {
		b.WriteString("\nNo drift: the infrastructure matches the state, and the code has nothing to apply.\n")
	}
	return b.String()
}
