package report_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
)

func TestAffectedLineAbbreviates(t *testing.T) {
	var reasons []string
	for i := range 25 {
		reasons = append(reasons, fmt.Sprintf("changed: envs/a/f%02d.tf", i))
	}
	line := report.AffectedLine("envs/a", reasons)
	want := "envs/a\t" + strings.Join(reasons[:report.MaxTextReasons], "; ") + "; … and 15 more (--json lists them all)"
	if line != want {
		t.Errorf("AffectedLine =\n%s\nwant\n%s", line, want)
	}
	if got := report.AffectedLine("envs/a", reasons[:2]); got != "envs/a\tchanged: envs/a/f00.tf; changed: envs/a/f01.tf" {
		t.Errorf("AffectedLine of two = %q", got)
	}
}

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
