package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/landform/landform"
)

// Drift reports: what a drift sweep of a repository found, for the forge
// issue Landform keeps (DriftIssue), the ledger (DriftLedgerFiles), the CLI
// (DriftJSON), the web page (DriftHTML) and Slack (DriftSlackMessage).
// Workspace names, directories, addresses, attribute paths and values and
// error texts come from the repository and its infrastructure: untrusted,
// as in plan previews.

// DriftOptions shape DriftMarkdown and DriftIssue.
type DriftOptions struct {
	// MaxLen is the most runes the Markdown may have (a forge issue's
	// limit, such as forge.MaxCommentGitHub); 0 means no limit. A limit
	// below 4096 counts as 4096.
	MaxLen int
	// RemediationCommand, when set, returns the command that brings a
	// workspace that is not clean back to its code ("landform approve
	// 57"), shown under it; "" shows none.
	RemediationCommand func(ws *landform.WorkspaceDrift) string
	// ExternalURL is Landform's web server ("" = no links): a workspace's
	// drift run links to ExternalURL + "/runs/" + RunID.
	ExternalURL string
}

// DriftIssueMarker is the hidden line that starts the body of the drift
// issue, by which forge.Client.FindIssue finds it again.
const DriftIssueMarker = "<!-- landform:drift -->"

// DriftIssue renders r as the forge issue Landform keeps up to date while
// a repository has drift: its title, "Drift report: <repo>", and its
// body, DriftIssueMarker on the first line and then DriftMarkdown, the
// whole within opts.MaxLen runes (4096 when it is less).
func DriftIssue(r *landform.DriftReport, opts DriftOptions) (title, body string) {
	maxLen := 0
	if opts.MaxLen > 0 {
		maxLen = max(opts.MaxLen, minDriftLen) - runeLen(DriftIssueMarker) - 1
	}
	return driftIssueTitle(r), DriftIssueMarker + "\n" + newDriftLayout(r, opts).render(maxLen)
}

// DriftIssueClean is the title and body of the drift issue when it is
// closed because r found every workspace clean: "All 41 workspaces are
// clean again as of 2026-03-01T10:04Z."
func DriftIssueClean(r *landform.DriftReport) (title, body string) {
	var b strings.Builder
	b.WriteString(DriftIssueMarker + "\n")
	b.WriteString("### " + driftHeading(r) + "\n\n")
	if n := len(r.Workspaces); n == 1 {
		b.WriteString("The workspace is clean again")
	} else {
		fmt.Fprintf(&b, "All %d workspaces are clean again", n)
	}
	if t := driftCheckedAt(r); !t.IsZero() {
		b.WriteString(" as of " + driftTime(t))
	}
	if r.Commit != "" {
		b.WriteString(" at " + code(landform.ShortSHA(r.Commit)))
	}
	b.WriteString(".\n")
	return driftIssueTitle(r), b.String()
}

// maxIssueTitleRunes caps the repository's name in the issue's title
// (GitHub refuses titles over 256 characters).
const maxIssueTitleRunes = 200

func driftIssueTitle(r *landform.DriftReport) string {
	return "Drift report: " + landform.OneLine(Field(r.Repo), maxIssueTitleRunes)
}

// DriftJSON renders r as `landform drift --json` prints it, indented: the
// report's fields (repo, commit, checked_at, workspaces) and its summary
// line; each workspace with its status ("drifted", "unapplied", "error",
// "clean") and its resources ([] when it has none), in r's order; no
// newline at the end. It fails only when an attribute's value cannot be
// encoded as JSON.
func DriftJSON(r *landform.DriftReport) ([]byte, error) {
	js, err := json.MarshalIndent(newDriftRecord(r), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the drift report of %s: %w", r.Repo, err)
	}
	return js, nil
}

// driftRecord is the JSON of a drift report.
type driftRecord struct {
	Repo       string                 `json:"repo"`
	Commit     string                 `json:"commit,omitempty"`
	CheckedAt  time.Time              `json:"checked_at,omitzero"`
	Summary    string                 `json:"summary"`
	Workspaces []workspaceDriftRecord `json:"workspaces"`
}

// workspaceDriftRecord is the JSON of a workspace's drift: its fields
// and its status.
type workspaceDriftRecord struct {
	landform.WorkspaceDrift
	Status string `json:"status"`
}

func newDriftRecord(r *landform.DriftReport) driftRecord {
	rec := driftRecord{Repo: r.Repo, Commit: r.Commit, CheckedAt: r.CheckedAt, Summary: r.Summary(),
		Workspaces: make([]workspaceDriftRecord, len(r.Workspaces))}
	for i := range r.Workspaces {
		rec.Workspaces[i] = newWorkspaceDriftRecord(&r.Workspaces[i])
	}
	return rec
}

func newWorkspaceDriftRecord(w *landform.WorkspaceDrift) workspaceDriftRecord {
	rec := workspaceDriftRecord{WorkspaceDrift: *w, Status: w.Status()}
	if rec.Resources == nil {
		rec.Resources = []landform.DriftedResource{}
	}
	return rec
}

// driftCheckedAt is when r was checked: its CheckedAt, else the latest of
// its workspaces' (zero when none is known).
func driftCheckedAt(r *landform.DriftReport) time.Time {
	t := r.CheckedAt
	if t.IsZero() {
		for i := range r.Workspaces {
			if c := r.Workspaces[i].CheckedAt; c.After(t) {
				t = c
			}
		}
	}
	return t
}

// driftTime is t in UTC to the minute, as previews show times.
func driftTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04Z") }

// driftHeading is "Drift report for `org/infra`".
func driftHeading(r *landform.DriftReport) string {
	return "Drift report for " + code(cutRunes(r.Repo, maxNameRunes))
}

// Caps of what the drift reports show of untrusted text, in runes: the
// JSON has it all.
const (
	maxNameRunes      = 300  // workspace, repository and directory names
	maxPathRunes      = 200  // attribute paths (addresses: maxAddressRunes)
	maxValueRunes     = 300  // an attribute's value, as JSON
	maxDriftLineRunes = 200  // an error's first line
	maxDriftErrRunes  = 4000 // an error in a code block
)

// driftView is how the reports show a workspace's status.
type driftView struct {
	rank   int // sections are sorted by it, then by name
	symbol string
	words  string
}

func viewDrift(w *landform.WorkspaceDrift) driftView {
	switch w.Status() {
	case "drifted":
		return driftView{0, "⚠️", "drifted"}
	case "error":
		return driftView{1, "❌", "failed to check"}
	case "unapplied":
		return driftView{2, "📝", "code not yet applied"}
	}
	return driftView{3, "✅", "clean"}
}

// sortedDrift returns pointers to r's workspaces that are not clean, the
// drifted first, then those that failed, then those with unapplied code,
// each by name; and the names of the clean ones, sorted.
func sortedDrift(r *landform.DriftReport) (notClean []*landform.WorkspaceDrift, clean []string) {
	for i := range r.Workspaces {
		w := &r.Workspaces[i]
		if w.Status() == "clean" {
			clean = append(clean, w.Workspace)
			continue
		}
		notClean = append(notClean, w)
	}
	slices.SortStableFunc(notClean, func(a, b *landform.WorkspaceDrift) int {
		return cmp.Or(cmp.Compare(viewDrift(a).rank, viewDrift(b).rank), strings.Compare(a.Workspace, b.Workspace))
	})
	slices.Sort(clean)
	return notClean, clean
}

// driftKindWords says what a resource's kind means.
func driftKindWords(kind string) string {
	switch kind {
	case landform.DriftChanged:
		return "changed outside Terraform"
	case landform.DriftDeleted:
		return "deleted outside Terraform"
	case landform.DriftUnapplied:
		return "code not yet applied"
	}
	return Field(kind)
}

// driftCounts is "2 changed, 1 deleted, 3 not yet applied": a workspace's
// resources by kind ("" for none).
func driftCounts(w *landform.WorkspaceDrift) string {
	var parts []string
	for _, k := range []struct{ kind, words string }{
		{landform.DriftChanged, "changed"}, {landform.DriftDeleted, "deleted"}, {landform.DriftUnapplied, "not yet applied"},
	} {
		if n := w.Count(k.kind); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k.words))
		}
	}
	return strings.Join(parts, ", ")
}

// driftValue renders an attribute's value as one line of JSON, at most
// limit runes, and says whether it is sensitive (its text is then
// landform.SensitiveValue, whatever the value holds).
func driftValue(a landform.AttributeChange, v any, limit int) (text string, sensitive bool) {
	if s, ok := v.(string); a.Sensitive || ok && s == landform.SensitiveValue {
		return landform.SensitiveValue, true
	}
	if s, ok := v.(string); ok {
		v = cutRunes(s, limit) // a long string need not be encoded whole
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // shown as code: no HTML is parsed there
	if err := enc.Encode(v); err != nil {
		text = fmt.Sprintf("%v", v)
	} else {
		text = strings.TrimSuffix(b.String(), "\n")
	}
	return cutRunes(text, limit), false
}

// cutRunes is truncateRunes without decoding all of s: s cut to at most n
// runes (n > 0), the last of them "…" when it is cut.
func cutRunes(s string, n int) string {
	count, end := 0, 0
	for i := range s {
		if count == n-1 {
			end = i
		}
		if count == n {
			return s[:end] + "…"
		}
		count++
	}
	return s
}
