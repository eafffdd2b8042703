package report

import (
	"fmt"
	"time"

	"github.com/landform/landform"
)

// What people decided about a workspace's plan and what became of its
// apply, in the workspace's details after the plan: who approved the plan
// and who was refused, then the apply's outcome. Identities and
// reasons come from people (a comment's author, an approver's note): they
// are rendered as code, on one line, and bounded.

// Bounds of the approvals list: every approval up to maxApprovalsListed,
// and the latest maxRefusalsListed refusals (anyone may comment
// "landform approve" again and again; the run's page has them all).
const (
	maxApprovalsListed = 20
	maxRefusalsListed  = 5
	maxIdentityRunes   = 100
	maxReasonRunes     = 300
	maxSummaryRunes    = 300
	// maxApplyErrorRunes bounds the apply error shown; the run's page
	// and the ledger have the rest.
	maxApplyErrorRunes = 4000
)

// approvalItems lists r's approvals and refusals, oldest first.
func approvalItems(r *landform.Run) []detailsItem {
	if len(r.Approvals) == 0 {
		return nil
	}
	var approved, refused int
	for _, a := range r.Approvals {
		if a == nil {
			continue
		}
		if a.Approved {
			approved++
		} else {
			refused++
		}
	}
	items := []detailsItem{{text: "**Approvals**\n"}}
	var shownApproved, skippedRefusals int
	for _, a := range r.Approvals {
		switch {
		case a == nil:
			continue
		case a.Approved:
			if shownApproved++; shownApproved > maxApprovalsListed {
				continue
			}
		default:
			if refused--; refused >= maxRefusalsListed {
				skippedRefusals++
				continue
			}
		}
		items = append(items, detailsItem{text: "- " + approvalLine(a) + "\n"})
	}
	var more []string
	if n := approved - maxApprovalsListed; n > 0 {
		more = append(more, fmt.Sprintf("%d more approvals", n))
	}
	if skippedRefusals > 0 {
		more = append(more, fmt.Sprintf("%d earlier refusals", skippedRefusals))
	}
	if len(more) > 0 {
		items = append(items, detailsItem{text: "- … and " + joinAnd(more) + " (the run's record has them all)\n"})
	}
	items[len(items)-1].text += "\n"
	return items
}

// approvalLine is "✅ approved by `alice` via comment at 2026-11-29 18:40
// UTC" or "⛔ refused: `bob` via Slack at … — `not one of its approvers`".
func approvalLine(a *landform.Approval) string {
	who := code(truncateRunes(a.By, maxIdentityRunes))
	var line string
	if a.Approved {
		line = "✅ approved by " + who
	} else {
		line = "⛔ refused: " + who
	}
	line += channelWords(a.Channel) + atTime(a.At)
	if a.Reason != "" {
		reason := code(landform.OneLine(a.Reason, maxReasonRunes))
		if a.Approved {
			line += ": " + reason
		} else {
			line += " — " + reason
		}
	}
	return line
}

// applyItems tells what became of r's apply, nil when none was asked for.
func applyItems(r *landform.Run) []detailsItem {
	ap := r.Apply
	if ap == nil {
		return nil
	}
	requested := "requested by " + code(truncateRunes(ap.By, maxIdentityRunes)) + channelWords(ap.Channel) + atTime(ap.RequestedAt)
	var line string
	switch r.State {
	case landform.StateApplying:
		line = "🚀 Applying, " + requested + "."
	case landform.StateApplied:
		line = "🏁 Applied" + atTime(ap.FinishedAt) + ", " + requested
		if ap.Summary != "" {
			line += ": " + code(landform.OneLine(ap.Summary, maxSummaryRunes))
		}
	case landform.StateApplyFailed:
		line = "❌ The apply failed" + atTime(ap.FinishedAt) + ", " + requested + "."
	case landform.StateStale:
		line = "⚠️ The plan was stale when applied, " + requested + "; nothing was applied."
		if ap.Replan != "" {
			line = "⚠️ The plan was stale when applied, " + requested + "; re-planned as run " + code(ap.Replan) + "."
		}
	default:
		line = "Apply " + requested + "."
		if ap.Error != "" {
			line = "Apply " + requested + ", refused."
		}
	}
	items := []detailsItem{{text: "**Apply**\n\n"}, {text: line + "\n\n"}}
	// The apply's error, unless the run's error (shown below) says it.
	if ap.Error != "" && ap.Error != r.Error {
		items = append(items, detailsItem{lines: codeLines(truncateRunes(ap.Error, maxApplyErrorRunes))})
	}
	return items
}

// channelWords says where an approval or an apply request came from,
// " via comment", or "" when it is not known.
func channelWords(ch string) string {
	switch ch {
	case "":
		return ""
	case landform.ChannelComment:
		return " via comment"
	case landform.ChannelSlack:
		return " via Slack"
	case landform.ChannelAPI:
		return " via the API"
	case landform.ChannelCLI:
		return " via the CLI"
	case landform.ChannelWeb:
		return " via the dashboard"
	case landform.ChannelOnMerge:
		return " (carried over on merge)"
	}
	return " via " + code(truncateRunes(ch, maxIdentityRunes))
}

// atTime is " at 2026-11-29 18:40 UTC", "" for the zero time.
func atTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return " at " + t.UTC().Format("2006-01-02 15:04") + " UTC"
}

// approvers counts the distinct identities that approved r's plan.
func approvers(r *landform.Run) int {
	seen := map[string]bool{}
	for _, a := range r.Approvals {
		if a != nil && a.Approved {
			seen[a.By] = true
		}
	}
	return len(seen)
}

// joinAnd joins "a", "a and b".
func joinAnd(parts []string) string {
	if len(parts) == 2 {
		return parts[0] + " and " + parts[1]
	}
	return parts[0]
}
