package modules_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/landform/landform"
	"github.com/landform/landform/modules"
)

// readForms is one workspace per way a configuration names a file it
// reads. Workspace envs/<form> calls module modules/<form>, which reads
// files under templates/<form>/ (or its own directory); every module also
// has a README that terraform never reads.
func readForms() (fstest.MapFS, map[string]readForm) {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	forms := map[string]readForm{
		// The first example: a local picking from a map of
		// literals, by a variable.
		"local-map": {module: `
variable "role" { default = "web" }
locals {
  user_data = {
    web = "${path.module}/../../templates/local-map/web.tpl"
    db  = "${path.module}/../../templates/local-map/db.tpl"
  }
  user_data_path = local.user_data[var.role]
}
output "o" { value = templatefile(local.user_data_path, {}) }
`, reads: []string{"templates/local-map/web.tpl", "templates/local-map/db.tpl"}},

		// A local built from another local, declared in another file, from
		// a bare path.module: only evaluation finds it.
		"nested-local": {module: `
locals { p = "${local.dir}/x.tpl" }
output "o" { value = file(local.p) }
`, extra: map[string]string{"locals.tf": `locals {
  base = path.module
  dir  = "${local.base}/../../templates/nested-local"
}
`}, reads: []string{"templates/nested-local/x.tpl"}},

		"coalesce": {module: `
variable "path" { default = null }
output "o" { value = templatefile(coalesce(var.path, "${path.module}/../../templates/coalesce/x.tpl"), {}) }
`, reads: []string{"templates/coalesce/x.tpl"}, unresolved: true},

		// try and lookup over a map built with merge, and the fallback.
		"try-lookup": {module: `
locals {
  files = merge({ a = "a.json" }, { b = "b.json" })
  dir   = format("%s/../../templates/try-lookup", path.module)
}
output "a" { value = file(try("${local.dir}/${local.files.a}", "${local.dir}/fallback.json")) }
output "b" { value = file("${local.dir}/${lookup(local.files, "b", "none.json")}") }
`, reads: []string{"templates/try-lookup/a.json", "templates/try-lookup/b.json", "templates/try-lookup/fallback.json"},
			ignored: []string{"templates/try-lookup/none.json"}},

		"conditional": {module: `
variable "prod" { type = bool }
output "o" {
  value = file(var.prod ? join("/", [path.module, "..", "..", "templates", "conditional", "prod.txt"]) : "${path.module}/../../templates/conditional/dev.txt")
}
`, reads: []string{"templates/conditional/prod.txt", "templates/conditional/dev.txt"}},

		// for_each over literals: each.value is one of them.
		"for-each": {module: `
resource "terraform_data" "t" {
  for_each = toset(["a", "b"])
  input    = templatefile("${path.module}/../../templates/for-each/${each.value}.tpl", {})
}
`, reads: []string{"templates/for-each/a.tpl", "templates/for-each/b.tpl"}, ignored: []string{"templates/for-each/c.tpl"}},

		// An archive of a directory under the module.
		"archive": {module: `
data "archive_file" "lambda" {
  type        = "zip"
  source_dir  = "${path.module}/lambda"
  output_path = "${path.root}/.build/lambda.zip"
}
`, reads: []string{"modules/archive/lambda/index.py", "modules/archive/lambda/lib/util.py"}},

		// A provisioner's script.
		"provisioner": {module: `
resource "terraform_data" "setup" {
  provisioner "local-exec" {
    command = "${path.module}/scripts/setup.sh"
  }
  provisioner "file" {
    source      = "${path.module}/scripts/motd"
    destination = "/etc/motd"
  }
}
`, reads: []string{"modules/provisioner/scripts/setup.sh", "modules/provisioner/scripts/motd"}},

		// A dynamic part: over-approximated, never missed, and reported.
		"dynamic": {module: `
variable "name" { type = string }
output "o" { value = templatefile("${path.module}/../../templates/dynamic/${var.name}.tpl", {}) }
`, reads: []string{"templates/dynamic/x.tpl", "templates/dynamic/sub/y.tpl"},
			ignored: []string{"templates/dynamic/notes.txt"}, unresolved: true},
	}
	files := fstest.MapFS{
		"README.md":    f("# infra\n"),
		"CHANGELOG.md": f("# changes\n"),
	}
	for name, form := range forms {
		files["envs/"+name+"/main.tf"] = f(fmt.Sprintf("module \"m\" {\n  source = \"../../modules/%s\"\n}\n", name))
		files["modules/"+name+"/main.tf"] = f(form.module)
		files["modules/"+name+"/README.md"] = f("# " + name + "\n")
		for file, src := range form.extra {
			files["modules/"+name+"/"+file] = f(src)
		}
		for _, p := range append(slices.Clone(form.reads), form.ignored...) {
			files[p] = f("content of " + p + "\n")
		}
	}
	return files, forms
}

type readForm struct {
	module     string
	extra      map[string]string
	reads      []string // each affects envs/<form> alone
	ignored    []string // affects nothing
	unresolved bool     // the workspace lists an unresolved reference
}

// TestReadForms: an edit of a file read through each form affects the
// workspace that reads it, and only that one; documentation does not.
func TestReadForms(t *testing.T) {
	files, forms := readForms()
	ix := load(t, files, modules.Options{Autodiscover: true})
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			ws := "envs/" + name
			if err := ix.Err("modules/" + name); err != nil {
				t.Fatal(err)
			}
			for _, p := range form.reads {
				want := map[string][]string{ws: {"file: " + p}}
				if diff := cmp.Diff(want, affected(ix, ix, p)); diff != "" {
					t.Errorf("edit of %s (-want +got):\n%s", p, diff)
				}
				// The export for the plan holds it.
				if paths := ix.Paths(ws); !slices.ContainsFunc(paths, func(x string) bool { return x == p || strings.HasPrefix(p, x+"/") }) {
					t.Errorf("Paths(%s) = %v, without %s", ws, paths, p)
				}
			}
			for _, p := range append(form.ignored, "modules/"+name+"/README.md") {
				if got := affected(ix, ix, p); len(got) != 0 {
					t.Errorf("edit of %s affects %v", p, got)
				}
			}
			if got := len(ix.Unresolved(ws)) > 0; got != form.unresolved {
				t.Errorf("Unresolved(%s) = %+v, want some: %v", ws, ix.Unresolved(ws), form.unresolved)
			}
		})
	}
	if got := affected(ix, ix, "README.md", "CHANGELOG.md", ".github/workflows/ci.yml"); len(got) != 0 {
		t.Errorf("documentation and CI affect %v", got)
	}
}

// TestUnresolved: what could not be worked out is listed with file, line
// and what it was counted as — or that nothing could be counted.
func TestUnresolved(t *testing.T) {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	files := fstest.MapFS{
		"ws/main.tf": f(`module "m" { source = "../mod" }
variable "p" { type = string }
output "a" { value = file(var.p) }
output "b" { value = fileset("${path.module}/conf", var.pattern) }
`),
		"mod/main.tf": f(`variable "name" { type = string }

output "t" {
  value = templatefile(
    "${path.module}/tpl/${var.name}.tpl", {})
}
output "r" { value = file("data/${var.name}") }
`),
		"ws/data/x": f("x\n"),
	}
	ix := load(t, files, modules.Options{Autodiscover: true})
	want := []modules.Unresolved{
		{File: "mod/main.tf", Line: 4, Expression: `templatefile( "${path.module}/tpl/${var.name}.tpl", {})`, CountedAs: []string{"mod/tpl/*.tpl"}},
		// A bare relative path is relative to the workspace, even in a module.
		{File: "mod/main.tf", Line: 7, Expression: `file("data/${var.name}")`, CountedAs: []string{"ws/data/*"}},
		{File: "ws/main.tf", Line: 3, Expression: `file(var.p)`, CountedAs: []string{}},
		{File: "ws/main.tf", Line: 4, Expression: `fileset("${path.module}/conf", var.pattern)`, CountedAs: []string{"ws/conf/**"}},
	}
	if diff := cmp.Diff(want, ix.Unresolved("ws")); diff != "" {
		t.Errorf("Unresolved (-want +got):\n%s", diff)
	}
	checkReads(t, ix, "ws", map[string][]string{
		"ws/data/x":       {"file: ws/data/x"},
		"ws/conf/a/b.yml": {"file: ws/conf/a/b.yml"},
		"mod/tpl/a/b.tpl": {"file: mod/tpl/a/b.tpl"},
		"mod/tpl/b.txt":   nil,
	})
}

// TestPathStrings: which strings count as paths. In the workspace's own
// directory a plain relative string of a path attribute, or one starting
// with "./", is relative to it; a module's must be built from path.module.
func TestPathStrings(t *testing.T) {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	files := fstest.MapFS{
		"ws/main.tf": f(`module "m" { source = "./mod" }
module "r" { source = "terraform-aws-modules/vpc/aws" }
resource "terraform_data" "x" {
  provisioner "file" {
    source      = "conf/app.conf"
    destination = "/etc/app.conf"
  }
  input = {
    script = "./scripts/run.sh"
    name   = "scripts"
    cidr   = "10.0.0.0/16"
  }
}
data "archive_file" "z" {
  type        = "zip"
  source_dir  = "lambda"
  output_path = "out/lambda.zip"
}
`),
		"ws/mod/main.tf": f(`resource "terraform_data" "m" {
  input = "./not-for-a-module"
}
`),
	}
	ix := load(t, files, modules.Options{Autodiscover: true})
	checkReads(t, ix, "ws", map[string][]string{
		"ws/conf/app.conf":        {"file: ws/conf/app.conf"},
		"ws/scripts/run.sh":       {"file: ws/scripts/run.sh"},
		"ws/lambda/index.js":      {"file: ws/lambda/index.js"},
		"ws/out/lambda.zip":       {"file: ws/out/lambda.zip"},
		"ws/mod/main.tf":          {"module: ws/mod"},
		"ws/mod/README.md":        nil, // the module call's source is no read of the whole directory
		"ws/scripts/other.sh":     nil, // "scripts" is not a path attribute's value
		"ws/not-for-a-module":     nil,
		"ws/10.0.0.0/16":          nil,
		"terraform-aws-modules/x": nil,
	})
}

// TestDocsOnlyCommit: a docs-only commit in a module directory called by
// ten workspaces affects none of them; with changes: directory, all ten.
func TestDocsOnlyCommit(t *testing.T) {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	files := fstest.MapFS{
		"modules/shared/main.tf":     f(`resource "terraform_data" "x" { input = file("${path.module}/policy.json") }`),
		"modules/shared/policy.json": f("{}\n"),
		"modules/shared/README.md":   f("# shared\n"),
	}
	for i := range 10 {
		files[fmt.Sprintf("envs/e%d/main.tf", i)] = f(`module "shared" { source = "../../modules/shared" }`)
	}
	docs := []string{"modules/shared/README.md", "modules/shared/CHANGELOG.md", "modules/shared/examples/basic/README.md", ".github/workflows/ci.yml"}

	read := load(t, files, modules.Options{Autodiscover: true})
	if got := affected(read, read, docs...); len(got) != 0 {
		t.Errorf("docs-only commit affects %v", got)
	}
	if got := affected(read, read, "modules/shared/policy.json"); len(got) != 10 {
		t.Errorf("policy edit affects %d workspaces, want 10: %v", len(got), got)
	}

	dir := load(t, files, modules.Options{Autodiscover: true, Changes: landform.ChangesDirectory})
	got := affected(dir, dir, docs...)
	if len(got) != 10 {
		t.Fatalf("docs-only commit with changes: directory affects %d workspaces, want 10: %v", len(got), got)
	}
	for name, reasons := range got {
		if !slices.Equal(reasons, []string{"module: modules/shared"}) {
			t.Errorf("%s: reasons %v", name, reasons)
		}
	}

	// Per workspace: one of them opts in.
	mixed := load(t, files, modules.Options{Autodiscover: true, Declared: []landform.Workspace{
		{Dir: "envs/e3", Changes: landform.ChangesDirectory},
	}})
	if diff := cmp.Diff(map[string][]string{"envs/e3": {"module: modules/shared"}}, affected(mixed, mixed, docs...)); diff != "" {
		t.Errorf("one workspace with changes: directory (-want +got):\n%s", diff)
	}
}

// TestSettingsChanges: a workspace whose settings in .landform.yaml change
// is affected with no file changed; a new when_modified glob or change
// rule alone changes nothing terraform reads.
func TestSettingsChanges(t *testing.T) {
	files := fstest.MapFS{"a/main.tf": {Data: []byte(`resource "terraform_data" "a" {}`)}}
	decl := func(w landform.Workspace) modules.Options {
		w.Dir = "a"
		return modules.Options{Declared: []landform.Workspace{w}}
	}
	base := load(t, files, decl(landform.Workspace{VarFiles: []string{"x.tfvars"}}))
	for _, tc := range []struct {
		name string
		ws   landform.Workspace
		want []string
	}{
		{"unchanged", landform.Workspace{VarFiles: []string{"x.tfvars"}}, nil},
		{"env and version", landform.Workspace{VarFiles: []string{"x.tfvars"}, Env: map[string]string{"TF_VAR_x": "1"}, TerraformVersion: ">= 1.5"},
			[]string{"settings: terraform_version, env"}},
		{"var files", landform.Workspace{}, []string{"settings: var_files"}},
		{"when_modified and changes", landform.Workspace{VarFiles: []string{"x.tfvars"}, WhenModified: []string{"ci/**"}, Changes: landform.ChangesDirectory}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := load(t, files, decl(tc.ws))
			if diff := cmp.Diff(tc.want, affected(base, head)["a"]); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
}

// TestJSONReferences: the JSON syntax follows locals and variable defaults
// too, and reports unresolved references with their line.
func TestJSONReferences(t *testing.T) {
	files := fstest.MapFS{
		"ws/main.tf.json": {Data: []byte(`{
  "locals": {
    "dir": "${path.module}/../tpl",
    "names": {"a": "a.tpl", "b": "b.tpl"}
  },
  "variable": {"n": {"type": "string"}},
  "output": {
    "a": {"value": "${templatefile(\"${local.dir}/${local.names.a}\", {})}"},
    "n": {"value": "${file(\"${path.module}/../tpl/n/${var.n}\")}"}
  }
}
`)},
	}
	ix := load(t, files, modules.Options{Autodiscover: true})
	if err := ix.Err("ws"); err != nil {
		t.Fatal(err)
	}
	checkReads(t, ix, "ws", map[string][]string{
		"tpl/a.tpl":    {"file: tpl/a.tpl"},
		"tpl/n/x":      {"file: tpl/n/x"},
		"ws/README.md": nil,
	})
	u := ix.Unresolved("ws")
	if len(u) != 1 || u[0].File != "ws/main.tf.json" || u[0].Line != 9 || !slices.Equal(u[0].CountedAs, []string{"tpl/n/*"}) {
		t.Errorf("Unresolved = %+v", u)
	}
}

// TestHostileExpressions: repository content is untrusted; expressions
// built to blow the evaluation up finish quickly and over-approximate.
func TestHostileExpressions(t *testing.T) {
	var b strings.Builder
	b.WriteString("locals {\n  l0 = \"${path.module}/x\"\n")
	for i := 1; i < 200; i++ {
		// Each local doubles the alternatives of the one before.
		fmt.Fprintf(&b, "  l%d = var.c ? \"${local.l%d}/a\" : \"${local.l%d}/b\"\n", i, i-1, i-1)
	}
	b.WriteString("  loop = local.loop2\n  loop2 = \"${local.loop}/y\"\n}\n")
	b.WriteString("output \"o\" { value = file(local.l199) }\noutput \"p\" { value = file(local.loop) }\n")
	files := fstest.MapFS{"ws/main.tf": {Data: []byte(b.String())}}
	ix := load(t, files, modules.Options{Autodiscover: true})
	// l199 is ws/x/ followed by 199 segments a or b: widened to "ws/x/"
	// + anything + "/a" or "/b".
	if got := affected(ix, ix, "ws/x/a/b/b/a")["ws"]; !slices.Equal(got, []string{"file: ws/x/a/b/b/a"}) {
		t.Errorf("edit matching the widened pattern: %v", got)
	}
	if got := affected(ix, ix, "ws/x/a/c.txt")["ws"]; got != nil {
		t.Errorf("edit outside the widened pattern: %v", got)
	}
	u := ix.Unresolved("ws")
	if len(u) != 2 || u[1].Expression != "file(local.loop)" || len(u[1].CountedAs) != 0 {
		t.Errorf("Unresolved = %+v, want the widened l199 and the loop, counted as nothing", u)
	}
}

// checkReads checks the reasons for which an edit of each path (alone)
// affects workspace ws: want[path], nil for not at all.
func checkReads(t *testing.T, ix *modules.Index, ws string, want map[string][]string) {
	t.Helper()
	for p, reasons := range want {
		if diff := cmp.Diff(reasons, affected(ix, ix, p)[ws]); diff != "" {
			t.Errorf("edit of %s (-want +got):\n%s", p, diff)
		}
	}
}
