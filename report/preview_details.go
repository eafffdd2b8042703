package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// The collapsible details of one workspace: destroys and replaces first,
// terraform's error and plan, who approved it and what became of its apply
// (preview_approvals.go), then what to comment to approve and apply. A
// workspace too big for one comment is split into several <details>, at
// line boundaries of its code blocks.

// maxListed caps the destroys and replaces listed above a plan (the plan
// has them all).
const maxListed = 30

// previewDetails is one workspace's collapsible block before it is laid out.
type previewDetails struct {
	title string // the HTML of its <summary>
	items []detailsItem
}

// detailsItem is a piece of a details block: a Markdown text, kept whole, or a
// code block, which may be split between lines.
type detailsItem struct {
	text  string // ending with a newline
	lines []string
}

func workspaceDetails(w PreviewWorkspace, external string) (previewDetails, bool) {
	r := w.Run
	items := destroyList(w.Changes)
	if p := r.Policy; p != nil && (len(p.Deny) > 0 || len(p.Warn) > 0 || len(p.RequireApprovals) > 0) {
		// Rule messages may quote the repository: code only.
		items = append(items, detailsItem{text: "**Policies**\n\n"}, detailsItem{lines: codeLines(PolicyText(p))})
	}
	if r.Error != "" {
		items = append(items, detailsItem{text: "**Error**\n\n"}, detailsItem{lines: codeLines(r.Error)})
	}
	if w.PlanText != "" {
		items = append(items, detailsItem{lines: codeLines(w.PlanText)})
	}
	items = slices.Concat(items, approvalItems(r), applyItems(r))
	if len(items) == 0 {
		return previewDetails{}, false // the table says all there is
	}
	if next := nextSteps(r, runURL(external, r.ID)); next != "" {
		items = append(items, detailsItem{text: next + "\n\n"})
	}
	return previewDetails{title: detailsTitle(r), items: items}, true
}

// detailsTitle is "📝 <code>envs/prod</code> planned +1 ~0 -2 ±1 · run 42".
func detailsTitle(r *landform.Run) string {
	v := viewState(r.State)
	t := v.symbol + " <code>" + htmlText(r.Workspace) + "</code> " + v.words
	if v.cat == catChanges {
		t += " " + r.Summary.String()
	}
	return t + " · run " + htmlText(r.ID)
}

// destroyList warns of the plan's destroys and replaces, listing their
// addresses (at most maxListed).
func destroyList(changes map[string]string) []detailsItem {
	var destroys, replaces []string
	for addr, action := range changes {
		switch action {
		case "delete":
			destroys = append(destroys, addr)
		case "replace":
			replaces = append(replaces, addr)
		}
	}
	if len(destroys)+len(replaces) == 0 {
		return nil
	}
	slices.SortFunc(destroys, compareAddresses)
	slices.SortFunc(replaces, compareAddresses)
	var counts []string
	if len(destroys) > 0 {
		counts = append(counts, fmt.Sprintf("%d to destroy", len(destroys)))
	}
	if len(replaces) > 0 {
		counts = append(counts, fmt.Sprintf("%d to replace", len(replaces)))
	}
	items := []detailsItem{{text: "**⚠️ " + strings.Join(counts, ", ") + ":**\n"}}
	for i, addr := range slices.Concat(destroys, replaces) {
		if i == maxListed {
			items = append(items, detailsItem{text: fmt.Sprintf("- … and %d more in the plan\n", len(destroys)+len(replaces)-i)})
			break
		}
		verb := "destroy"
		if i >= len(destroys) {
			verb = "replace"
		}
		items = append(items, detailsItem{text: "- " + verb + " " + code(truncateRunes(addr, maxAddressRunes)) + "\n"})
	}
	items[len(items)-1].text += "\n"
	return items
}

// nextSteps says what to comment to approve and apply the run, and links to
// it on Landform's web server (url "" for none). How many approvals a run
// needs, and whether its repository applies on merge, are not known here:
// an approval-awaiting run says how many it has, an approved one names
// both ways to apply.
func nextSteps(r *landform.Run, url string) string {
	var steps []string
	approve, apply := code("landform approve "+r.ID), code("landform apply "+r.ID)
	switch r.State {
	case landform.StatePlanned:
		steps = append(steps, fmt.Sprintf("Comment %s to approve, then %s to apply.", approve, apply))
	case landform.StateAwaitingApproval:
		state := "Awaiting approval"
		if n := approvers(r); n > 0 {
			state = fmt.Sprintf("Awaiting more approvals (%d so far)", n)
		}
		steps = append(steps, fmt.Sprintf("%s: comment %s to approve, then %s to apply.", state, approve, apply))
	case landform.StateApproved:
		steps = append(steps, fmt.Sprintf("Approved: comment %s to apply (or merge, when apply is on_merge).", apply))
	}
	if url != "" {
		steps = append(steps, "See "+link("run "+code(r.ID)+" on Landform", url)+".")
	}
	return strings.Join(steps, " ")
}

// blocks renders d as one <details> if it fits in capacity runes, else as
// several ("envs/prod (part 2 of 3)"), each at most capacity runes as
// long as capacity leaves room for a title and a few lines.
func (d previewDetails) blocks(capacity int) []string {
	if parts := splitItems(d.items, capacity-runeLen(wrapDetails(d.title, ""))); len(parts) == 1 {
		return []string{wrapDetails(d.title, parts[0])}
	}
	for digits := 1; ; digits++ {
		most := pow10(digits) - 1
		parts := splitItems(d.items, capacity-runeLen(wrapDetails(d.title+partLabel(most, most), "")))
		if len(parts) > most {
			continue // the labels need another digit
		}
		out := make([]string, len(parts))
		for i, p := range parts {
			out[i] = wrapDetails(d.title+partLabel(i+1, len(parts)), p)
		}
		return out
	}
}

func wrapDetails(title, content string) string {
	return "<details><summary>" + title + "</summary>\n\n" + content + "</details>\n"
}

func partLabel(i, n int) string { return fmt.Sprintf(" (part %d of %d)", i, n) }

func pow10(n int) int {
	p := 1
	for range n {
		p *= 10
	}
	return p
}

// minPartRunes is the least content a part holds, whatever the budget
// says, so that splitting always ends.
const minPartRunes = 64

// splitItems lays items out in parts of at most budget runes each, texts
// whole and code blocks split between lines (a line longer than a part on
// its own is cut). Every part ends with a blank line, so that the
// </details> after it is read as HTML.
func splitItems(items []detailsItem, budget int) []string {
	s := splitter{budget: max(budget, minPartRunes) - 1} // -1: the newline flush may add
	for _, it := range items {
		if it.lines != nil {
			s.code(it.lines)
		} else {
			s.text(it.text)
		}
	}
	s.flush()
	return s.parts
}

// splitter fills parts one after the other.
type splitter struct {
	budget int
	parts  []string
	b      strings.Builder
	n      int // runes in b
}

func (s *splitter) write(t string) {
	s.b.WriteString(t)
	s.n += runeLen(t)
}

func (s *splitter) flush() {
	if s.n == 0 {
		return
	}
	if !strings.HasSuffix(s.b.String(), "\n\n") {
		s.b.WriteString("\n")
	}
	s.parts = append(s.parts, s.b.String())
	s.b.Reset()
	s.n = 0
}

func (s *splitter) text(t string) {
	if s.n > 0 && s.n+runeLen(t) > s.budget {
		s.flush()
	}
	s.write(t)
}

func (s *splitter) code(lines []string) {
	f := fence(lines)
	opening, closing := f+"\n", f+"\n\n"
	fixed := runeLen(opening) + runeLen(closing)
	inBlock := false
	for _, line := range lines {
		for _, piece := range cutLine(line, s.budget-fixed-1) {
			need := runeLen(piece) + 1 + runeLen(closing)
			if !inBlock {
				need += runeLen(opening)
			}
			if s.n > 0 && s.n+need > s.budget {
				if inBlock {
					s.write(closing)
				}
				s.flush()
				inBlock = false
			}
			if !inBlock {
				s.write(opening)
				inBlock = true
			}
			s.write(piece + "\n")
		}
	}
	if inBlock {
		s.write(closing)
	}
}

// cutLine cuts line into pieces of at most n runes (at least one), at rune
// boundaries; a line that fits is its own only piece.
func cutLine(line string, n int) []string {
	n = max(n, 1)
	if runeLen(line) <= n {
		return []string{line}
	}
	var pieces []string
	r := []rune(line)
	for len(r) > n {
		pieces = append(pieces, string(r[:n]))
		r = r[n:]
	}
	return append(pieces, string(r))
}
