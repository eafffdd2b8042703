// Package report renders what Landform did for people and machines: the
// ledger records of runs (Markdown and JSON); later, plan previews and
// drift reports for pull requests, chat and the web page.
package report

import (
	"bytes"
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

// maxLedgerError caps the error text recorded: the full text stays in the
// store.
const maxLedgerError = 4000

// LedgerFiles renders a run as the two ledger files
// runs/<workspace>/<run-id>.md (for people) and .json (for machines: a
// RunRecord, the shape the CLI prints, with the error text capped). They
// never hold plan contents or anything else that may carry a secret: the
// plan stays in the plan store, identified by its sha256.
func LedgerFiles(run *landform.Run) []File {
	rec := NewRunRecord(run)
	rec.Error = truncate(run.Error, maxLedgerError)
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

// LedgerMessage is the commit message for a batch of runs.
func LedgerMessage(runs []*landform.Run) string {
	if len(runs) == 1 {
		r := runs[0]
		return fmt.Sprintf("%s %s: %s at %s (run %s)", r.Kind, r.Workspace, r.State, landform.ShortSHA(r.Commit), r.ID)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d runs\n\n", len(runs))
	for _, r := range runs {
		fmt.Fprintf(&b, "- run %s: %s %s: %s at %s\n", r.ID, r.Kind, r.Workspace, r.State, landform.ShortSHA(r.Commit))
	}
	return b.String()
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
	return b.Bytes()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "\n… (truncated; the full text is in the run record)"
}
