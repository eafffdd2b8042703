// Package report renders what Landform did for people and machines: the
// ledger records of runs (Markdown and JSON); later, plan previews and
// drift reports for pull requests, chat and the web page.
package report

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/landform/landform"
)

// File is one file to commit.
type File struct {
	Path string
	Data []byte
}

// maxLedgerError caps the error texts recorded (the run's, its apply's):
// the full text stays in the store.
const maxLedgerError = 4000

// maxLedgerOutput caps the apply output recorded, as the preview's
// details bound a plan: what is cut stays in the store.
const maxLedgerOutput = 16 << 10

// LedgerFiles renders a run as the two ledger files
// runs/<workspace>/<run-id>.md (for people) and .json (for machines: a
// RunRecord, the shape the CLI prints, with the error texts and the apply
// output capped), with the run's approvals and refusals (as far as
// run.Approvals holds them) and its apply. They never hold plan contents:
// the plan stays in the plan store, identified by its sha256. The apply's
// output is recorded as the runner kept it, sensitive values redacted.
func LedgerFiles(run *landform.Run) []File {
	rec := NewRunRecord(run)
	rec.Error = truncate(run.Error, maxLedgerError)
	if ap := rec.Apply; ap != nil {
		ap.Error = truncate(ap.Error, maxLedgerError)
		ap.Output = truncate(ap.Output, maxLedgerOutput)
	}
	js, _ := json.MarshalIndent(rec, "", "  ") // plain struct: cannot fail
	base := LedgerPath(run)
	return []File{
		{Path: base + ".md", Data: ledgerMarkdown(&rec)},
		{Path: base + ".json", Data: append(js, '\n')},
	}
}

// LedgerPath is the ledger path of a run's files, without extension:
// runs/<workspace>/<run-id>, with the repository root's workspace (".")
// under runs/_/.
//
// The workspace name is used as it is when landform.CheckWorkspaceName
// accepts it, which the repo config and the workspace index make sure of.
// A run whose name it refuses (one recorded before that check, or made by
// hand) is filed under runs/-invalid/ instead, a directory no valid name
// has (names do not start with "-"), so that the ledger writer never
// refuses its files; its record still names the workspace. A run ID that
// is not a plain file name (the store's are decimal numbers) is written
// hex-encoded, prefixed with "id-".
func LedgerPath(run *landform.Run) string {
	ws := run.Workspace
	switch {
	case ws == landform.RootWorkspaceName:
		ws = "_"
	case landform.CheckWorkspaceName(ws) != nil:
		ws = "-invalid"
	}
	id := run.ID
	if !plainID.MatchString(id) {
		id = "id-" + hex.EncodeToString([]byte(id))
	}
	return "runs/" + ws + "/" + id
}

// plainID matches the run IDs LedgerPath writes as they are.
var plainID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// LedgerMessage is the commit message for a batch of runs: for one run
// "plan envs/prod: approved by alice at 0123456789ab (run 42)", saying who
// approved, who asked for the apply and what it did where the run's state
// is about them.
func LedgerMessage(runs []*landform.Run) string {
	if len(runs) == 1 {
		r := runs[0]
		return fmt.Sprintf("%s %s: %s at %s (run %s)", r.Kind, r.Workspace, ledgerEvent(r), landform.ShortSHA(r.Commit), r.ID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d runs\n\n", len(runs))
	for _, r := range runs {
		fmt.Fprintf(&b, "- run %s: %s %s: %s at %s\n", r.ID, r.Kind, r.Workspace, ledgerEvent(r), landform.ShortSHA(r.Commit))
	}
	return b.String()
}

// Bounds of a commit message's account of a run.
const (
	maxMessageApprovers = 5
	maxMessageDetail    = 100
)

// ledgerEvent says what happened to r, on one line: its state, and for
// the states of approval and apply who approved or asked for the apply and
// what it did ("applied: Apply complete! Resources: …").
func ledgerEvent(r *landform.Run) string {
	line := func(s string) string { return landform.OneLine(s, maxMessageDetail) }
	ap := r.Apply
	if ap == nil {
		ap = &landform.ApplyResult{}
	}
	by := ""
	if ap.By != "" {
		by = ", requested by " + line(ap.By)
	}
	switch r.State {
	case landform.StateAwaitingApproval:
		if names := approverNames(r); names != "" {
			return "awaiting approval (approved by " + names + ")"
		}
		return "awaiting approval"
	case landform.StateApproved:
		if names := approverNames(r); names != "" {
			return "approved by " + names
		}
	case landform.StateApplying:
		return "applying" + by
	case landform.StateApplied:
		if ap.Summary != "" {
			return "applied: " + line(ap.Summary)
		}
		return "applied" + by
	case landform.StateApplyFailed:
		if e := cmp.Or(ap.Error, r.Error); e != "" {
			return "apply failed: " + line(FirstLine(e))
		}
		return "apply failed" + by
	case landform.StateStale:
		if r.Apply != nil && ap.Replan != "" {
			return "stale, nothing applied; re-planned as run " + line(ap.Replan)
		}
		if r.Apply != nil {
			return "stale, nothing applied"
		}
	}
	return string(r.State)
}

// approverNames lists who approved r's plan, each once, oldest first:
// "alice, bob and 2 more"; "" for none.
func approverNames(r *landform.Run) string {
	var names []string
	seen := map[string]bool{}
	for _, a := range r.Approvals {
		if a != nil && a.Approved && !seen[a.By] {
			seen[a.By] = true
			names = append(names, landform.OneLine(a.By, maxMessageDetail))
		}
	}
	if len(names) > maxMessageApprovers {
		return strings.Join(names[:maxMessageApprovers], ", ") + fmt.Sprintf(" and %d more", len(names)-maxMessageApprovers)
	}
	return strings.Join(names, ", ")
}

func ledgerMarkdown(r *RunRecord) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Run %s: %s %s — %s\n\n", r.ID, r.Kind, r.Workspace, r.State)
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| repository | %s |\n", r.Repo)
	fmt.Fprintf(&b, "| workspace | `%s` (dir `%s`) |\n", r.Workspace, r.Dir)
	fmt.Fprintf(&b, "| commit | `%s` |\n", r.Commit)
	if r.Ref != "" {
		fmt.Fprintf(&b, "| ref | `%s` |\n", r.Ref)
	}
	fmt.Fprintf(&b, "| state | **%s** |\n", r.State)
	fmt.Fprintf(&b, "| changes | %d to add, %d to change, %d to destroy, %d to replace |\n",
		r.Summary.Add, r.Summary.Change, r.Summary.Destroy, r.Summary.Replace)
	if r.PlanSHA256 != "" {
		fmt.Fprintf(&b, "| plan sha256 | `%s` |\n", r.PlanSHA256)
	}
	fmt.Fprintf(&b, "| queued | %s |\n", r.CreatedAt.UTC().Format(time.RFC3339))
	if !r.FinishedAt.IsZero() {
		fmt.Fprintf(&b, "| finished | %s (%s) |\n", r.FinishedAt.UTC().Format(time.RFC3339),
			(time.Duration(r.DurationMS) * time.Millisecond).String())
	}
	if r.Error != "" {
		fmt.Fprintf(&b, "\n## Error\n\n```\n%s\n```\n", strings.ReplaceAll(r.Error, "```", "'''"))
	}
	if r.Policy != nil {
		fmt.Fprintf(&b, "\n## Policies\n\n```\n%s```\n", strings.ReplaceAll(PolicyText(r.Policy), "```", "'''"))
		if o := r.Policy.Override; o != nil {
			fmt.Fprintf(&b, "\nThe deny was **overridden** by %s at %s: %s\n", o.By, o.At.UTC().Format(time.RFC3339), o.Reason)
		}
	}
	ledgerApprovals(&b, r.Approvals)
	ledgerApply(&b, r.Apply)
	return b.Bytes()
}

// ledgerApprovals writes the approvals section: one row per approval or
// refusal, with what it was bound to. Identities and reasons come from
// people: they are table cells of code.
func ledgerApprovals(b *bytes.Buffer, approvals []landform.Approval) {
	if len(approvals) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## Approvals\n\n| at | by | channel | decision | reason | commit | plan sha256 |\n|---|---|---|---|---|---|---|\n")
	for _, a := range approvals {
		decision := "**refused**"
		if a.Approved {
			decision = "approved"
		}
		reason := ""
		if a.Reason != "" {
			reason = code(landform.OneLine(a.Reason, maxReasonRunes))
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s | %s | %s |\n", ledgerTime(a.At), cell(code(a.By)), cell(code(a.Channel)),
			decision, cell(reason), cell(code(a.Commit)), cell(code(a.PlanSHA256)))
	}
}

// ledgerApply writes the apply section: who asked for it and when, how
// long it took, terraform's summary, its error and output.
func ledgerApply(b *bytes.Buffer, ap *landform.ApplyResult) {
	if ap == nil {
		return
	}
	fmt.Fprintf(b, "\n## Apply\n\n| | |\n|---|---|\n")
	fmt.Fprintf(b, "| requested by | %s via %s |\n", cell(code(ap.By)), cell(code(ap.Channel)))
	fmt.Fprintf(b, "| requested | %s |\n", ledgerTime(ap.RequestedAt))
	if !ap.StartedAt.IsZero() {
		fmt.Fprintf(b, "| started | %s |\n", ledgerTime(ap.StartedAt))
	}
	if !ap.FinishedAt.IsZero() {
		took := ""
		if !ap.StartedAt.IsZero() {
			took = " (" + ap.FinishedAt.Sub(ap.StartedAt).String() + ")"
		}
		fmt.Fprintf(b, "| finished | %s%s |\n", ledgerTime(ap.FinishedAt), took)
	}
	if ap.Summary != "" {
		fmt.Fprintf(b, "| summary | %s |\n", cell(code(landform.OneLine(ap.Summary, maxSummaryRunes))))
	}
	if ap.Replan != "" {
		fmt.Fprintf(b, "| re-planned as | run %s |\n", cell(code(ap.Replan)))
	}
	if ap.Error != "" {
		fmt.Fprintf(b, "\n### Apply error\n\n%s", codeBlock(ap.Error))
	}
	if ap.Output != "" {
		fmt.Fprintf(b, "\n### Apply output\n\n%s", codeBlock(ap.Output))
	}
}

// codeBlock is text in a fenced code block no line of it can close.
func codeBlock(text string) string {
	lines := codeLines(text)
	f := fence(lines)
	return f + "\n" + strings.Join(lines, "\n") + "\n" + f + "\n"
}

// ledgerTime is t in RFC 3339, UTC.
func ledgerTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n… (truncated; the full text is in the run record)"
}
