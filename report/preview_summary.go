package report

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// The first body of a preview: the heading, what changed since the previous
// push, the table of every affected workspace and the totals.

// Caps of the lists in the summary, so that it always fits a comment of
// minPreviewLen with room for some rows.
const (
	maxDiffItems    = 20
	maxDiffRunes    = 800
	maxDeletedItems = 20
	maxDeletedRunes = 600
	maxErrorRunes   = 120
)

// stateCategory groups run states for the totals.
type stateCategory int

const (
	catFailed stateCategory = iota
	catChanges
	catPending
	catOutdated
	catNoChanges
)

// categoryWords name the categories in the totals, in the order the totals
// list them.
var categoryWords = []struct {
	cat   stateCategory
	words string
}{
	{catChanges, "with changes"},
	{catNoChanges, "with no changes"},
	{catFailed, "failed"},
	{catPending, "pending"},
	{catOutdated, "outdated"},
}

// stateView is how the preview shows a run state.
type stateView struct {
	cat    stateCategory
	symbol string
	words  string
}

func viewState(s landform.RunState) stateView {
	switch s {
	case landform.StateQueued:
		return stateView{catPending, "⏳", "queued"}
	case landform.StateRunning:
		return stateView{catPending, "⏳", "running"}
	case landform.StatePlanned:
		return stateView{catChanges, "📝", "planned"}
	case landform.StateNoChanges:
		return stateView{catNoChanges, "✅", "no changes"}
	case landform.StateErrored:
		return stateView{catFailed, "❌", "errored"}
	case landform.StatePolicyFailed:
		return stateView{catFailed, "🚫", "policy failed"}
	case landform.StateAwaitingApproval:
		return stateView{catChanges, "✋", "awaiting approval"}
	case landform.StateApproved:
		return stateView{catChanges, "👍", "approved"}
	case landform.StateApplying:
		return stateView{catChanges, "🚀", "applying"}
	case landform.StateApplied:
		return stateView{catChanges, "🏁", "applied"}
	case landform.StateApplyFailed:
		return stateView{catFailed, "❌", "apply failed"}
	case landform.StateSuperseded:
		return stateView{catOutdated, "⏭️", "superseded"}
	case landform.StateStale:
		return stateView{catOutdated, "⚠️", "stale"}
	case landform.StateInterrupted:
		return stateView{catFailed, "⚠️", "interrupted"}
	}
	return stateView{catPending, "❔", strings.ReplaceAll(Field(string(s)), "_", " ")}
}

// previewSummary is the first body's content apart from the plan details.
type previewSummary struct {
	head string       // heading, time and the difference from the previous push
	rows []summaryRow // one per workspace, sorted by name
	foot string       // totals and deleted workspaces
}

type summaryRow struct {
	text string
	rank int // rows with a lower rank are kept first when the table is cut
}

const (
	tableHead     = "| Workspace | State | Changes | Policies | Run |\n|---|---|---|---|---|\n"
	noWorkspaces  = "No workspace is affected.\n"
	continuedNote = "_The plan details continue in the next comments._\n"
)

func newPreviewSummary(p *Preview, ws []PreviewWorkspace) previewSummary {
	s := previewSummary{head: summaryHead(p), foot: totals(ws) + deletedLine(p.Deleted)}
	for _, w := range ws {
		s.rows = append(s.rows, newSummaryRow(p, w))
	}
	return s
}

// render returns the summary in at most budget runes if it can: whole when
// it fits, else with the table cut to its most important rows (failures,
// destroys, changes, then the rest) and a line saying so. The heading and
// the totals are never cut. more adds the note that details follow in the
// next comments.
func (s previewSummary) render(budget int, more bool) string {
	foot := s.foot
	if more {
		foot += "\n" + continuedNote
	}
	if len(s.rows) == 0 {
		return s.head + "\n" + noWorkspaces + "\n" + foot
	}
	if whole := s.layout(slices.Repeat([]bool{true}, len(s.rows)), foot, ""); runeLen(whole) <= budget {
		return whole
	}
	worst := cutNotice(len(s.rows), len(s.rows))
	room := budget - runeLen(s.layout(make([]bool, len(s.rows)), foot, worst))
	keep, shown := s.choose(room)
	return s.layout(keep, foot, cutNotice(shown, len(s.rows)))
}

// choose keeps the most important rows that fit in room runes.
func (s previewSummary) choose(room int) (keep []bool, shown int) {
	order := make([]int, len(s.rows))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return s.rows[a].rank - s.rows[b].rank })
	keep = make([]bool, len(s.rows))
	for _, i := range order {
		n := runeLen(s.rows[i].text)
		if n > room {
			break
		}
		keep[i], room, shown = true, room-n, shown+1
	}
	return keep, shown
}

func (s previewSummary) layout(keep []bool, foot, notice string) string {
	var b strings.Builder
	b.WriteString(s.head + "\n" + tableHead)
	for i, r := range s.rows {
		if keep[i] {
			b.WriteString(r.text)
		}
	}
	if notice != "" {
		b.WriteString("\n" + notice)
	}
	b.WriteString("\n" + foot)
	return b.String()
}

func cutNotice(shown, total int) string {
	return fmt.Sprintf("_The table shows %d of %d workspaces, to fit the size limit of a comment: "+
		"errors, destroys and changes first. The totals count them all._\n", shown, total)
}

// previewTitle is the heading of every body: "Landform plan for #12 — `0123456789ab`".
func previewTitle(p *Preview) string {
	return fmt.Sprintf("Landform plan for #%d — %s", p.PR, code(landform.ShortSHA(p.HeadCommit)))
}

func summaryHead(p *Preview) string {
	var line []string
	if !p.Time.IsZero() {
		line = append(line, "Planned "+p.Time.UTC().Format("2006-01-02T15:04Z")+".")
	}
	if p.Previous != nil {
		line = append(line, sinceLine(p.Previous, p))
	}
	head := "### " + previewTitle(p) + "\n"
	if len(line) > 0 {
		head += "\n" + strings.Join(line, " ") + "\n"
	}
	return head
}

func newSummaryRow(p *Preview, w PreviewWorkspace) summaryRow {
	r := w.Run
	v := viewState(r.State)
	changes := r.Summary.String()
	failure := r.Error
	if failure == "" && r.Apply != nil {
		failure = r.Apply.Error
	}
	switch {
	case v.cat == catFailed && failure != "":
		changes = code(truncateRunes(FirstLine(failure), maxErrorRunes))
	case v.cat == catPending:
		changes = "—"
	}
	run := code(r.ID)
	if u := runURL(p.ExternalURL, r.ID); u != "" {
		run = link(run, u)
	}
	if r.Commit != "" && r.Commit != p.HeadCommit {
		run += " at " + code(landform.ShortSHA(r.Commit))
	}
	text := fmt.Sprintf("| %s | %s %s | %s | %s | %s |\n", cell(code(r.Workspace)), v.symbol, v.words, cell(changes), policyCell(r.Policy), cell(run))
	return summaryRow{text: text, rank: rowRank(v.cat, r.Summary)}
}

func rowRank(c stateCategory, s landform.PlanSummary) int {
	switch {
	case c == catFailed:
		return 0
	case s.Destroy+s.Replace > 0:
		return 1
	case c == catChanges:
		return 2
	case c == catPending:
		return 3
	case c == catOutdated:
		return 4
	}
	return 5
}

// runURL is the page of run id on Landform's web server, "" without one.
func runURL(external, id string) string {
	if external == "" {
		return ""
	}
	return strings.TrimRight(external, "/") + "/runs/" + url.PathEscape(id)
}

// totals renders "**3 workspaces**: 2 with changes, 1 errored; +5 ~1 -2 ±0".
func totals(ws []PreviewWorkspace) string {
	count := map[stateCategory]int{}
	var sum landform.PlanSummary
	for _, w := range ws {
		count[viewState(w.Run.State).cat]++
		s := w.Run.Summary
		sum.Add, sum.Change, sum.Destroy, sum.Replace = sum.Add+s.Add, sum.Change+s.Change, sum.Destroy+s.Destroy, sum.Replace+s.Replace
	}
	var parts []string
	for _, c := range categoryWords {
		if n := count[c.cat]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, c.words))
		}
	}
	noun := "workspaces"
	if len(ws) == 1 {
		noun = "workspace"
	}
	line := fmt.Sprintf("**%d %s**", len(ws), noun)
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	return line + "; " + sum.String() + "\n"
}

func deletedLine(deleted []string) string {
	if len(deleted) == 0 {
		return ""
	}
	names := slices.Sorted(slices.Values(deleted))
	for i, n := range names {
		names[i] = code(n)
	}
	return "\nDeleted by this commit, not planned: " + capList(names, ", ", maxDeletedItems, maxDeletedRunes) + ".\n"
}

// policyCell is what the policies decided, in a table cell: "—" when they
// were not evaluated.
func policyCell(p *landform.PolicyResult) string {
	switch {
	case p == nil:
		return "—"
	case p.Denied():
		return fmt.Sprintf("🚫 denied: %d", len(p.Deny))
	case len(p.Deny) > 0:
		return "⚠️ denied, overridden"
	case len(p.Warn) > 0:
		return fmt.Sprintf("⚠️ warnings: %d", len(p.Warn))
	}
	return "✅ passed"
}
