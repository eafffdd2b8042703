package redact

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestStringMasksValuesAndPatterns(t *testing.T) {
	r := New([]string{"s3cr3t", "s3cr3t-longer", "ab", " padded-token "}, regexp.MustCompile(`AKIA[0-9A-Z]{16}`))
	in := "Error: auth failed for s3cr3t-longer (key AKIAABCDEFGHIJKLMNOP, token padded-token, short ab, s3cr3t)"
	got := r.String(in)
	want := "Error: auth failed for *** (key ***, token ***, short ab, ***)"
	if got != want {
		t.Errorf("String:\n got %q\nwant %q", got, want)
	}
	if r.With("extra-secret").String("extra-secret s3cr3t") != "*** ***" {
		t.Error("With does not add values")
	}
	if r.String("extra-secret") != "extra-secret" {
		t.Error("With changed the receiver")
	}
	var nilR *Redactor
	if nilR.String("s3cr3t") != "s3cr3t" || nilR.With("s3cr3t").String("s3cr3t") != Mask {
		t.Error("nil Redactor")
	}
}

func TestBoundCutsAtARuneWithANote(t *testing.T) {
	s := strings.Repeat("é", 10) // 20 bytes
	got := Bound(s, 5)
	if !strings.HasPrefix(got, "éé\n… (16 more bytes not kept)") {
		t.Errorf("Bound = %q", got)
	}
	if Bound("short", 10) != "short" {
		t.Error("Bound changed a short string")
	}
}

func TestSensitiveValuesOfARealPlan(t *testing.T) {
	// terraform 1.11 `show -json` of a plan whose sensitive variable
	// feeds a resource attribute and a sensitive output.
	data, err := os.ReadFile("testdata/sensitive.plan.json")
	if err != nil {
		t.Fatal(err)
	}
	got := SensitiveValues(data)
	if !slices.Contains(got, "hunter2-secret") {
		t.Errorf("SensitiveValues = %q, want the sensitive variable's value", got)
	}
	if slices.Contains(got, "bob") {
		t.Errorf("SensitiveValues = %q holds a value not marked sensitive", got)
	}
	if SensitiveValues([]byte("not json")) != nil {
		t.Error("a broken document gave values")
	}
}
