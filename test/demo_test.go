package test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/landform/landform/test/tftest"
)

func TestDemo(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	dataDir := t.TempDir()
	res := landform(t, "--data-dir", dataDir, "demo", "--terraform-cli-config", tools.MirrorConfig(t), "--terraform-binary", tools.Terraform)
	if res.Code != 0 {
		t.Fatalf("demo: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	for _, want := range []string{
		"envs/prod      module: modules/network",
		"envs/staging   module: modules/network",
		"[2/2] envs/",
		"planned",
	} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("demo output lacks %q:\n%s", want, res.Stderr)
		}
	}
	if strings.Contains(res.Stderr, "global/dns  planned") {
		t.Error("the demo planned a workspace its change does not touch")
	}
	var doc planDoc
	landformJSON(t, 0, &doc, "--data-dir", dataDir, "runs", "--json")
	if len(doc.Runs) != 2 {
		t.Errorf("%d runs stored, want 2", len(doc.Runs))
	}
}

func TestDemoServe(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	dataDir := t.TempDir()
	res := landform(t, "--data-dir", dataDir, "demo", "--serve", "--terraform-cli-config", tools.MirrorConfig(t), "--terraform-binary", tools.Terraform)
	if res.Code != 0 {
		t.Fatalf("demo --serve: exit %d\n%s\n%s", res.Code, res.Stdout, res.Stderr)
	}
	for _, want := range []string{"watching branch", "queued plans", "envs/prod      planned", "envs/staging   planned"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("demo --serve output lacks %q:\n%s", want, res.Stderr)
		}
	}
	if !ledgerLine.MatchString(res.Stderr) {
		t.Errorf("demo --serve shows no ledger commit:\n%s", res.Stderr)
	}
}

var ledgerLine = regexp.MustCompile(`(?m)^  [0-9a-f]{7,} (Record \d+ ledger entries|plan envs/\S+: planned)`)
