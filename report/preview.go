package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/landform/landform"
)

// Plan previews: the comment Landform keeps on a pull request, in as many
// bodies as the forge's comment size limit requires.

// PreviewWorkspace is one affected workspace of a pull request's head
// commit.
type PreviewWorkspace struct {
	// Run is the workspace's run (never nil): its Workspace, State,
	// Summary, Error, ID and Commit are shown, and its Approvals and
	// Apply when they are set.
	Run *landform.Run
	// PlanText is terraform's rendered plan, already redacted by the
	// caller; "" when there is none.
	PlanText string
	// Changes are the resource changes of the plan, address → action
	// ("create", "update", "delete", "replace", "read"): the destroys and
	// replaces listed above the plan, and the difference from the previous
	// push, come from them.
	Changes map[string]string
}

// Preview is what a pull request's head commit would change.
type Preview struct {
	PR         int
	HeadCommit string
	// Time is when the preview was made; shown in UTC to the minute.
	Time time.Time
	// Workspaces are the affected workspaces, in any order (the preview
	// sorts them by name).
	Workspaces []PreviewWorkspace
	// Previous is the preview of the previous push, nil for the first.
	// Only its HeadCommit and Workspaces are read.
	Previous *Preview
	// ExternalURL is Landform's web server ("" = no links); a run's page is
	// ExternalURL + "/runs/" + ID.
	ExternalURL string
	// Deleted are the workspaces the head commit deletes: reported, not
	// planned.
	Deleted []string
}

// minPreviewLen is the smallest comment size RenderPreview lays out for:
// it leaves room for the heading, the totals, a few table rows and the
// title and first lines of a part of a plan, whatever the repository's
// names and addresses. No forge limits comments below it.
const minPreviewLen = 4096

// RenderPreview renders p as the bodies of one or more comments, each at
// most maxLen runes (maxLen below 4096 counts as 4096), body i starting with
// the line marker(i), which should be short, such as
// "<!-- landform:preview:1 -->".
//
// The first body holds the heading, what changed since p.Previous, a table
// of every workspace, the totals and the deleted workspaces; when even
// that does not fit, the table alone is cut, its least important rows
// first (no changes before changes before destroys before errors), and
// says so. Then comes one collapsible <details> per workspace with a plan
// or an error, sorted by name, in the first body while they fit, then in
// follow-up bodies. A workspace too big for a body on its own is split into
// several <details> between lines of its plan ("envs/prod (part 2 of 3)");
// a single line longer than a whole body is cut. Every body is balanced
// Markdown and HTML on its own, and the bodies together hold every line of
// every plan and error, in order.
//
// Repository content (names, addresses, plan and error text) and what
// people wrote (approvers' identities and notes) are untrusted: they are
// rendered as code, so they can neither mention, link, nor close a block. The output depends only on p, maxLen and marker.
func RenderPreview(p Preview, maxLen int, marker func(part int) string) []string {
	maxLen = max(maxLen, minPreviewLen)
	l := newPreviewLayout(&p)
	if one := l.single(marker(0)); runeLen(one) <= maxLen {
		return []string{one}
	}
	// Blocks are cut to fit a follow-up body, whose heading and marker
	// grow with the number of bodies: lay out again until they fit.
	reserve := l.overhead(marker, 2)
	for {
		bodies := l.pack(maxLen, marker(0), maxLen-reserve)
		if need := l.overhead(marker, len(bodies)); need > reserve {
			reserve = need
			continue
		}
		return l.finish(bodies, marker)
	}
}

// previewLayout is a preview cut into the pieces its bodies are made of.
type previewLayout struct {
	title   string
	summary previewSummary
	details []previewDetails
}

func newPreviewLayout(p *Preview) previewLayout {
	ws := slices.Clone(p.Workspaces)
	slices.SortStableFunc(ws, func(a, b PreviewWorkspace) int {
		return cmp.Or(strings.Compare(a.Run.Workspace, b.Run.Workspace), strings.Compare(a.Run.ID, b.Run.ID))
	})
	l := previewLayout{title: previewTitle(p), summary: newPreviewSummary(p, ws)}
	for _, w := range ws {
		if d, ok := workspaceDetails(w, p.ExternalURL); ok {
			l.details = append(l.details, d)
		}
	}
	return l
}

// single is the whole preview in one body, however long.
func (l previewLayout) single(marker string) string {
	sections := []string{marker + "\n" + l.summary.render(math.MaxInt, false)}
	for _, d := range l.details {
		sections = append(sections, d.blocks(math.MaxInt)...)
	}
	return strings.Join(sections, "\n")
}

// continued is the heading of follow-up body i of n.
func (l previewLayout) continued(i, n int) string {
	return fmt.Sprintf("### %s (comment %d of %d)\n", l.title, i+1, n)
}

// overhead is the most runes the marker line and heading of a follow-up
// body take when there are n bodies (the newline after the heading is
// counted with the first block).
func (l previewLayout) overhead(marker func(int) string, n int) int {
	most := 0
	for i := 1; i < n; i++ {
		most = max(most, runeLen(marker(i))+1+runeLen(l.continued(i, n)))
	}
	return most
}

// previewBody is a body being filled: its sections are joined by a newline.
type previewBody struct {
	sections []string
	n        int // runes, the separators and what precedes the sections included
}

func (b *previewBody) add(s string, n int) {
	b.sections = append(b.sections, s)
	b.n += n + 1
}

// pack lays out the bodies: the first, after its marker line first,
// holds the summary and the blocks that fit; each follow-up body holds the
// blocks that fit in capacity runes (its marker and heading, added by
// finish, apart). Blocks are cut to fit an empty follow-up body.
func (l previewLayout) pack(maxLen int, first string, capacity int) []previewBody {
	head := l.summary.render(maxLen-runeLen(first)-1, true)
	bodies := []previewBody{{sections: []string{first + "\n" + head}, n: runeLen(first) + 1 + runeLen(head)}}
	budget := maxLen
	for _, d := range l.details {
		for _, b := range d.blocks(capacity - 1) {
			n := runeLen(b)
			cur := &bodies[len(bodies)-1]
			if cur.n+1+n > budget && len(cur.sections) > 0 {
				bodies = append(bodies, previewBody{})
				cur, budget = &bodies[len(bodies)-1], capacity
			}
			cur.add(b, n)
		}
	}
	if len(bodies) == 1 { // the table was cut, and nothing follows it
		bodies[0].sections[0] = first + "\n" + l.summary.render(maxLen-runeLen(first)-1, false)
	}
	return bodies
}

// finish puts each body's marker and heading before it.
func (l previewLayout) finish(bodies []previewBody, marker func(int) string) []string {
	out := make([]string, len(bodies))
	for i, b := range bodies {
		if i > 0 {
			b.sections = slices.Insert(b.sections, 0, marker(i)+"\n"+l.continued(i, len(bodies)))
		}
		out[i] = strings.Join(b.sections, "\n")
	}
	return out
}
