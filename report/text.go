package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/landform/landform"
)

// The CLI's text output: one line per item, tab-separated where it is a
// table. Every value that comes from a repository (workspace names, paths,
// reasons, error text) goes through Field, so that a file name with a
// newline cannot forge a line.

// Field renders s for one field of a line: as it is when it holds only
// printable characters and no tab, else Go-quoted.
func Field(s string) string {
	for _, r := range s {
		if r == '\t' || !unicode.IsPrint(r) && r != ' ' {
			return strconv.Quote(s)
		}
	}
	return s
}

// ProgressLine renders one finished run of a batch:
// "[2/4] envs/prod/app  planned  +4 ~0 -0 ±0  1.2s".
func ProgressLine(done, total int, run *landform.Run) string {
	detail := run.Summary.String()
	if run.State == landform.StateErrored || run.State == landform.StateInterrupted {
		detail = FirstLine(run.Error)
	}
	return fmt.Sprintf("[%d/%d] %s  %s  %s  %s", done, total, Field(run.Workspace), run.State, Field(detail),
		run.Duration().Round(100*time.Millisecond))
}

// MaxTextReasons is how many reasons AffectedLine shows; the JSON output
// lists them all.
const MaxTextReasons = 10

// AffectedLine renders one affected workspace: its name, a tab and its
// reasons separated by "; ", the first MaxTextReasons of them followed by
// "… and N more" when there are more. Control characters are escaped (see
// Field).
func AffectedLine(name string, reasons []string) string {
	shown := reasons[:min(len(reasons), MaxTextReasons)]
	quoted := make([]string, len(shown), len(shown)+1)
	for i, r := range shown {
		quoted[i] = Field(r)
	}
	if n := len(reasons) - len(shown); n > 0 {
		quoted = append(quoted, fmt.Sprintf("… and %d more (--json lists them all)", n))
	}
	return Field(name) + "\t" + strings.Join(quoted, "; ")
}

// RunsTable writes runs as a table, one line per run.
func RunsTable(w io.Writer, runs []*landform.Run) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tREPO\tWORKSPACE\tKIND\tSTATE\tCHANGES\tCOMMIT\tCREATED\tNOTE")
	for _, r := range runs {
		note := ""
		if r.BlockedBy != "" {
			note = "waiting for the lock of " + r.BlockedBy
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, Field(r.Repo), Field(r.Workspace), r.Kind, r.State,
			r.Summary, landform.ShortSHA(r.Commit), r.CreatedAt.Local().Format("2006-01-02 15:04:05"), Field(note))
	}
	return tw.Flush()
}

// FirstLine is the first line of s, trimmed.
func FirstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Indent indents every line of s by two spaces.
func Indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
