package test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/landform/landform/test/tftest"
)

// sharedModuleRepo is ten workspaces calling one module, which renders a
// template picked from a map of literals by a variable (the form
// Landform used to miss) and has documentation next to its code.
func sharedModuleRepo() map[string]string {
	files := map[string]string{
		".landform.yaml": "version: 1\n",
		"modules/shared/main.tf": `
variable "role" { default = "web" }
locals {
  user_data = {
    web = "${path.module}/../../templates/web.tpl"
    db  = "${path.module}/../../templates/db.tpl"
  }
  user_data_path = local.user_data[var.role]
}
resource "terraform_data" "server" {
  input = templatefile(local.user_data_path, { role = var.role })
}
`,
		"modules/shared/README.md": "# shared\n",
		"templates/web.tpl":        "echo ${role} v1\n",
		"templates/db.tpl":         "echo ${role} db\n",
		"README.md":                "# infra\n",
	}
	for i := range 10 {
		files[fmt.Sprintf("envs/e%d/main.tf", i)] = `module "shared" { source = "../../modules/shared" }` + "\n"
	}
	return files
}

// TestPlansFollowWhatTerraformReads drives `landform plan --base --head`
// with real terraform over commits that change what terraform reads, or
// only what people read.
func TestPlansFollowWhatTerraformReads(t *testing.T) {
	t.Parallel()
	env := newPlanEnv(t)
	repo := tftest.NewGitRepo(t)
	repo.Write(sharedModuleRepo()).Commit("initial")

	plan := func(step string) []string {
		t.Helper()
		base := repo.Head()
		head := repo.Commit(step)
		var doc planDoc
		landformJSON(t, 0, &doc, env.args("plan", "--repo", repo.Dir, "--base", base, "--head", head, "--json", "--parallel", "4")...)
		var got []string
		for _, r := range doc.Runs {
			if r.State != "planned" {
				t.Errorf("%s: %s is %s: %s", step, r.Workspace, r.State, r.Error)
			}
			got = append(got, r.Workspace)
		}
		slices.Sort(got)
		return got
	}
	all := func() []string {
		var out []string
		for i := range 10 {
			out = append(out, fmt.Sprintf("envs/e%d", i))
		}
		return out
	}()

	repo.Write(map[string]string{
		"modules/shared/README.md":    "# shared\n\nNow documented.\n",
		"modules/shared/CHANGELOG.md": "# 1.1.0\n",
		".github/workflows/ci.yml":    "on: push\n",
		"README.md":                   "# infra, documented\n",
	})
	if got := plan("docs only"); len(got) != 0 {
		t.Errorf("a docs-only commit planned %v", got)
	}

	// The template is read through a local picking from a map: the edit
	// plans every user, and the sandboxed plan can read the template.
	repo.Write(map[string]string{"templates/web.tpl": "echo ${role} v2\n"})
	if got := plan("template only"); !slices.Equal(got, all) {
		t.Errorf("a template edit planned %v, want all ten", got)
	}

	// Opting into the old rule is no change to what terraform reads.
	repo.Write(map[string]string{".landform.yaml": "version: 1\nchanges: directory\n"})
	if got := plan("changes: directory"); len(got) != 0 {
		t.Errorf("switching the change rule planned %v", got)
	}
	repo.Write(map[string]string{"modules/shared/README.md": "# shared\n\nDocumented again.\n"})
	if got := plan("docs only, changes: directory"); !slices.Equal(got, all) {
		t.Errorf("a docs-only commit with changes: directory planned %v, want all ten", got)
	}
}

// TestAffectedListsUnresolved: `affected --json` lists every reason and
// the references it could only over-approximate, with file and line.
func TestAffectedListsUnresolved(t *testing.T) {
	t.Parallel()
	repo := tftest.NewGitRepo(t)
	files := map[string]string{
		"envs/a/main.tf": `variable "name" { type = string }
output "t" { value = templatefile("${path.module}/tpl/${var.name}.tpl", {}) }
output "f" { value = file(var.name) }
`,
	}
	for i := range 25 {
		files[fmt.Sprintf("envs/a/f%02d.tf", i)] = "# empty\n"
	}
	repo.Write(files).Commit("initial")
	base := repo.Head()
	edits := map[string]string{"envs/a/tpl/sub/x.tpl": "x\n"}
	for i := range 25 {
		edits[fmt.Sprintf("envs/a/f%02d.tf", i)] = "# edited\n"
	}
	head := repo.Write(edits).Commit("edit")

	var doc struct {
		Workspaces []struct {
			Name       string   `json:"name"`
			Reasons    []string `json:"reasons"`
			Unresolved []struct {
				File       string   `json:"file"`
				Line       int      `json:"line"`
				Expression string   `json:"expression"`
				CountedAs  []string `json:"counted_as"`
			} `json:"unresolved"`
		} `json:"workspaces"`
	}
	landformJSON(t, 0, &doc, "--data-dir", t.TempDir(), "affected", "--repo", repo.Dir, "--base", base, "--head", head, "--json")
	if len(doc.Workspaces) != 1 {
		t.Fatalf("affected = %+v", doc)
	}
	w := doc.Workspaces[0]
	if len(w.Reasons) != 26 || !slices.Contains(w.Reasons, "file: envs/a/tpl/sub/x.tpl") {
		t.Errorf("reasons (%d) = %v, want the 25 files and the template", len(w.Reasons), w.Reasons)
	}
	if len(w.Unresolved) != 2 ||
		w.Unresolved[0].Line != 2 || !slices.Equal(w.Unresolved[0].CountedAs, []string{"envs/a/tpl/*.tpl"}) ||
		w.Unresolved[1].Line != 3 || w.Unresolved[1].Expression != "file(var.name)" || len(w.Unresolved[1].CountedAs) != 0 {
		t.Errorf("unresolved = %+v", w.Unresolved)
	}

	// The text output abbreviates and says where the rest is.
	res := landform(t, "--data-dir", t.TempDir(), "affected", "--repo", repo.Dir, "--base", base, "--head", head)
	if res.Code != 0 || !strings.Contains(res.Stdout, "… and 16 more (--json lists them all)") || !strings.Contains(res.Stderr, "2 file references only partly known") {
		t.Errorf("text output: exit %d\nstdout:\n%s\nstderr:\n%s", res.Code, res.Stdout, res.Stderr)
	}
}
