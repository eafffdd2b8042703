package report_test

import (
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
)

func TestTextFieldsCannotForgeLines(t *testing.T) {
	line := report.AffectedLine("envs/a", []string{"changed: envs/a/x\nenvs/forged\tchanged: y"})
	if strings.Count(line, "\n") != 0 || strings.Count(line, "\t") != 1 {
		t.Errorf("a newline or tab in a path reached the output raw: %q", line)
	}
	if got := report.Field("envs/prod@blue"); got != "envs/prod@blue" {
		t.Errorf("a plain name was changed: %q", got)
	}
	var b strings.Builder
	if err := report.RunsTable(&b, []*landform.Run{{ID: "1", Workspace: "a\nb", State: landform.StatePlanned}}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "\n"); n != 2 {
		t.Errorf("table of one run has %d lines:\n%s", n, b.String())
	}
}
