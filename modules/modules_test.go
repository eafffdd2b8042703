package modules_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/landform/landform"
	"github.com/landform/landform/modules"
)

// monorepo is the base commit of the fixture repository.
func monorepo() fstest.MapFS {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	return fstest.MapFS{
		"README.md":    f("# infra\n"),
		"ci/deploy.sh": f("#!/bin/sh\n"),

		// Production: calls a 3-level local module chain and a registry
		// module, reads a shared file.
		"envs/prod/main.tf": f(`terraform {
  required_version = ">= 1.5.0"
}

module "app" {
  source = "../../modules/app"
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.0.0"
}

resource "terraform_data" "policy" {
  input = file("${path.module}/../../shared/policy.json")
}
`),
		"envs/prod/prod.tfvars":         f(`size = "large"` + "\n"),
		"envs/prod/.terraform.lock.hcl": f("# lock\n"),
		// A nested workspace.
		"envs/prod/dns/main.tf": f(`resource "terraform_data" "zone" {}` + "\n"),

		// Staging shares modules/app with production.
		"envs/staging/main.tf": f(`module "app" {
  source = "../../modules/app"
}
`),
		"envs/staging/staging.auto.tfvars": f(`size = "small"` + "\n"),

		// Dev calls modules/net directly and renders a template of its own.
		"envs/dev/main.tf": f(`module "net" {
  source = "../../modules/net"
}

locals {
  user_data = templatefile("${path.module}/tpl/user_data.sh", { name = "dev" })
}
`),
		"envs/dev/tpl/user_data.sh": f("echo ${name}\n"),

		// Gone in the head commit.
		"envs/old/main.tf": f(`resource "terraform_data" "old" {}` + "\n"),

		// JSON syntax.
		"envs/json/main.tf.json": f(`{
  "module": {"net": {"source": "../../modules/net"}},
  "locals": {"motd": "${file(\"${path.module}/../../shared/motd.txt\")}"}
}
`),

		// Does not parse.
		"envs/broken/main.tf": f(`resource "terraform_data" "x" {
  input =
}
`),

		// A local module below the workspace that calls it.
		"platform/lb/main.tf":     f(`module "lib" { source = "./lib" }` + "\n"),
		"platform/lb/lib/main.tf": f(`resource "terraform_data" "lb" {}` + "\n"),

		"modules/app/main.tf": f(`terraform {
  required_version = ">= 1.6"
}

module "net" {
  source = "../net"
}
`),
		"modules/app/variables.tf": f(`variable "size" {}` + "\n"),
		"modules/net/main.tf": f(`module "base" {
  source = "../base"
}

locals {
  policies = [for p in fileset("${path.module}/../../policies", "*.json") : file("${path.module}/../../policies/${p}")]
}
`),
		"modules/base/main.tf":   f(`resource "terraform_data" "base" {}` + "\n"),
		"modules/unused/main.tf": f(`resource "terraform_data" "unused" {}` + "\n"),

		"shared/policy.json": f("{}\n"),
		"shared/motd.txt":    f("hello\n"),
		"policies/a.json":    f("{}\n"),
		"policies/README.md": f("# policies\n"),
	}
}

// monorepoOptions declares production twice (default and "blue" Terraform
// workspaces) and staging with a when_modified glob; the rest is
// discovered.
func monorepoOptions() modules.Options {
	return modules.Options{
		Autodiscover: true,
		Declared: []landform.Workspace{
			{Dir: "envs/prod"},
			{Dir: "envs/prod", TFWorkspace: "blue"},
			{Dir: "envs/staging", WhenModified: []string{"ci/**"}},
		},
	}
}

func load(t testing.TB, files fstest.MapFS, opts modules.Options) *modules.Index {
	t.Helper()
	ix, err := modules.Load(context.Background(), newMemFS(files), opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return ix
}

func names(ws []landform.Workspace) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Name)
	}
	return out
}

// affected renders AffectedBy's result as name → reasons.
func affected(base, head *modules.Index, changed ...string) map[string][]string {
	out := map[string][]string{}
	for _, a := range modules.AffectedBy(base, head, changed) {
		out[a.Workspace.Name] = a.Reasons
	}
	return out
}

func TestDiscovery(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts modules.Options
		want []string
	}{{
		name: "autodiscover",
		opts: modules.Options{Autodiscover: true},
		// Not modules/* (a "modules" segment), not platform/lb/lib (called
		// as a local module), not the root (no configuration).
		want: []string{"envs/broken", "envs/dev", "envs/json", "envs/old", "envs/prod", "envs/prod/dns", "envs/staging", "platform/lb"},
	}, {
		name: "declared and discovered",
		opts: monorepoOptions(),
		want: []string{"envs/broken", "envs/dev", "envs/json", "envs/old", "envs/prod", "envs/prod/dns", "envs/prod@blue", "envs/staging", "platform/lb"},
	}, {
		name: "declared only",
		opts: modules.Options{Declared: []landform.Workspace{
			{Dir: "./envs/prod/", TFWorkspace: "blue"},
			{Name: "lib", Dir: "platform/lb/lib"},
			{Dir: "modules/app"},
		}},
		want: []string{"envs/prod@blue", "lib", "modules/app"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			ix := load(t, monorepo(), tc.opts)
			if diff := cmp.Diff(tc.want, names(ix.Workspaces())); diff != "" {
				t.Errorf("workspaces (-want +got):\n%s", diff)
			}
		})
	}

	ix := load(t, monorepo(), monorepoOptions())
	w, ok := ix.Workspace("envs/prod@blue")
	if !ok || w.Dir != "envs/prod" || w.TFWorkspace != "blue" {
		t.Errorf("Workspace(envs/prod@blue) = %+v, %v", w, ok)
	}
}

func TestLoadInvalidOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		decl []landform.Workspace
	}{
		{"outside the repo", []landform.Workspace{{Dir: "../elsewhere"}}},
		{"absolute", []landform.Workspace{{Dir: "/envs/prod"}}},
		{"duplicate name", []landform.Workspace{{Dir: "envs/prod"}, {Dir: "./envs/prod"}}},
		{"bad glob", []landform.Workspace{{Dir: "envs/prod", WhenModified: []string{"ci/[x"}}}},
		{"name the ledger cannot hold", []landform.Workspace{{Name: ".git/hooks", Dir: "envs/prod"}}},
		{"default name the ledger cannot hold", []landform.Workspace{{Dir: "a/.GIT/b"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := modules.Load(context.Background(), newMemFS(monorepo()), modules.Options{Declared: tc.decl})
			if landform.ErrorCode(err) != landform.EINVALID {
				t.Errorf("Load error = %v, want code %s", err, landform.EINVALID)
			}
		})
	}
}

func TestLoadMaxWorkspaces(t *testing.T) {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	files := fstest.MapFS{}
	for i := range 5 {
		files[fmt.Sprintf("envs/w%d/main.tf", i)] = f("")
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		opts modules.Options
		err  string // "" for none
	}{
		{"discovered, under the limit", modules.Options{Autodiscover: true, MaxWorkspaces: 5}, ""},
		{"discovered, over the limit", modules.Options{Autodiscover: true, MaxWorkspaces: 4}, "more than 4 workspaces (0 declared, the rest discovered); at most 4 are allowed"},
		{"declared and discovered, over the limit", modules.Options{Autodiscover: true, MaxWorkspaces: 5, Declared: []landform.Workspace{{Dir: "elsewhere"}}},
			"more than 5 workspaces (1 declared, the rest discovered); at most 5 are allowed"},
		{"declared, over the limit", modules.Options{MaxWorkspaces: 1, Declared: []landform.Workspace{{Dir: "envs/w0"}, {Dir: "envs/w1"}}},
			"2 workspaces declared; at most 1 are allowed"},
		{"default limit", modules.Options{Autodiscover: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := modules.Load(ctx, newMemFS(files), tc.opts)
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || err.Error() != tc.err || landform.ErrorCode(err) != landform.EINVALID):
				t.Fatalf("Load error = %v, want EINVALID %q", err, tc.err)
			}
		})
	}

	big := fstest.MapFS{}
	for i := range modules.DefaultMaxWorkspaces + 1 {
		big[fmt.Sprintf("w%d/main.tf", i)] = f("")
	}
	_, err := modules.Load(ctx, newMemFS(big), modules.Options{Autodiscover: true})
	if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "at most 10000") {
		t.Errorf("Load of %d discovered workspaces: %v", len(big), err)
	}
}

// TestDiscoveredNames: a directory whose name the ledger cannot hold is
// not silently a workspace whose runs cannot be recorded.
func TestDiscoveredNames(t *testing.T) {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	for _, dir := range []string{".GIT/hooks", "a/.Git/b", "-rf", "x\ny", "envs/12.md", "my app"} {
		files := fstest.MapFS{"envs/prod/main.tf": f(""), dir + "/main.tf": f("")}
		_, err := modules.Load(context.Background(), newMemFS(files), modules.Options{Autodiscover: true})
		if landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), fmt.Sprintf("directory %q has Terraform files but cannot be a workspace", dir)) {
			t.Errorf("Load with %q: %v", dir, err)
		}
		// Listed with a valid name, or not discovered, it is fine.
		if _, err := modules.Load(context.Background(), newMemFS(files), modules.Options{Declared: []landform.Workspace{{Name: "ok", Dir: dir}}}); err != nil {
			t.Errorf("Load with %q declared as ok: %v", dir, err)
		}
	}
}

func TestModuleGraph(t *testing.T) {
	ix := load(t, monorepo(), monorepoOptions())
	for _, tc := range []struct {
		dir      string
		modules  []string
		required []string
	}{
		// The registry module is not local: not listed.
		{"envs/prod", []string{"modules/app", "modules/base", "modules/net"}, []string{">= 1.5.0", ">= 1.6"}},
		{"envs/staging", []string{"modules/app", "modules/base", "modules/net"}, []string{">= 1.6"}},
		{"envs/dev", []string{"modules/base", "modules/net"}, nil},
		{"envs/json", []string{"modules/base", "modules/net"}, nil},
		{"platform/lb", []string{"platform/lb/lib"}, nil},
		{"modules/base", nil, nil},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			if diff := cmp.Diff(tc.modules, ix.Modules(tc.dir)); diff != "" {
				t.Errorf("Modules (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.required, ix.RequiredVersion(tc.dir)); diff != "" {
				t.Errorf("RequiredVersion (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCyclesAndEscapes(t *testing.T) {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	files := fstest.MapFS{
		"a/main.tf":    f(`module "b" { source = "../b" }`),
		"b/main.tf":    f(`module "a" { source = "../a" }`),
		"c/main.tf":    f(`module "a" { source = "../a" }`),
		"self/main.tf": f(`module "me" { source = "./" }`),
		// Sources and files outside the repo are ignored.
		"escape/main.tf": f(`module "out" { source = "../../outside" }
locals { x = file("${path.module}/../../secret.txt") }`),
	}
	ix := load(t, files, modules.Options{Autodiscover: true})
	// a and b call each other, so neither is a workspace; a self-call does
	// not make a directory a module.
	if diff := cmp.Diff([]string{"c", "escape", "self"}, names(ix.Workspaces())); diff != "" {
		t.Errorf("workspaces (-want +got):\n%s", diff)
	}
	for dir, want := range map[string][]string{
		"c": {"a", "b"}, "a": {"b"}, "self": nil, "escape": nil,
	} {
		if diff := cmp.Diff(want, ix.Modules(dir)); diff != "" {
			t.Errorf("Modules(%s) (-want +got):\n%s", dir, diff)
		}
	}
	got := affected(ix, ix, "b/main.tf", "self/main.tf")
	want := map[string][]string{
		"c":    {"module: b"},
		"self": {"changed: self/main.tf"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("affected (-want +got):\n%s", diff)
	}
}

func TestAffectedBy(t *testing.T) {
	base := load(t, monorepo(), monorepoOptions())
	prodAll := func(reasons ...string) map[string][]string {
		return map[string][]string{"envs/prod": reasons, "envs/prod@blue": reasons}
	}
	join := func(ms ...map[string][]string) map[string][]string {
		out := map[string][]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	// Every reason is kept (the JSON output is complete; the text output
	// abbreviates).
	var many, manyWant []string
	for i := range 30 {
		p := fmt.Sprintf("envs/dev/gen%02d.tf", i)
		many = append(many, p)
		manyWant = append(manyWant, "changed: "+p)
	}

	for _, tc := range []struct {
		name    string
		head    map[string]*string // changes to the base commit
		opts    *modules.Options   // head options, default monorepoOptions
		same    bool               // base loaded with opts too
		changed []string
		want    map[string][]string
	}{{
		name:    "deepest module of a chain",
		changed: []string{"modules/base/main.tf"},
		want: join(prodAll("module: modules/base"), map[string][]string{
			"envs/staging": {"module: modules/base"},
			"envs/dev":     {"module: modules/base"},
			"envs/json":    {"module: modules/base"},
		}),
	}, {
		name:    "module shared by two environments",
		changed: []string{"modules/app/variables.tf"},
		want:    join(prodAll("module: modules/app"), map[string][]string{"envs/staging": {"module: modules/app"}}),
	}, {
		name:    "unused module",
		changed: []string{"modules/unused/main.tf"},
		want:    map[string][]string{},
	}, {
		// prod.tfvars is no var file of envs/prod (not auto-loaded, not in
		// var_files): terraform does not read it. Before the "what
		// terraform reads" rule, any file of the directory counted.
		name:    "tfvars and lock file",
		changed: []string{"envs/prod/prod.tfvars", "envs/prod/.terraform.lock.hcl"},
		want:    prodAll("changed: envs/prod/.terraform.lock.hcl"),
	}, {
		name:    "var files: auto-loaded and declared",
		opts:    &modules.Options{Autodiscover: true, Declared: []landform.Workspace{{Dir: "envs/prod", VarFiles: []string{"prod.tfvars"}}}},
		same:    true,
		changed: []string{"envs/prod/prod.tfvars", "envs/staging/staging.auto.tfvars", "envs/dev/terraform.tfvars.json", "envs/dev/x.tfvars"},
		want: map[string][]string{
			"envs/prod":    {"file: envs/prod/prod.tfvars"},
			"envs/staging": {"changed: envs/staging/staging.auto.tfvars"},
			"envs/dev":     {"changed: envs/dev/terraform.tfvars.json"},
		},
	}, {
		name:    "nested workspace only",
		changed: []string{"envs/prod/dns/main.tf"},
		want:    map[string][]string{"envs/prod/dns": {"changed: envs/prod/dns/main.tf"}},
	}, {
		name:    "file read with path.module",
		changed: []string{"shared/policy.json"},
		want:    prodAll("file: shared/policy.json"),
	}, {
		// policies/drafts/c.json is outside the fileset's "*.json" but
		// inside file(".../policies/${p}"), whose dynamic part may hold a
		// "/": counted (over-approximated, never missed).
		name:    "fileset in a module applies to every user",
		changed: []string{"policies/b.json", "policies/drafts/c.json"},
		want: join(prodAll("file: policies/b.json", "file: policies/drafts/c.json"), map[string][]string{
			"envs/staging": {"file: policies/b.json", "file: policies/drafts/c.json"},
			"envs/dev":     {"file: policies/b.json", "file: policies/drafts/c.json"},
			"envs/json":    {"file: policies/b.json", "file: policies/drafts/c.json"},
		}),
	}, {
		// modules/net also reads file("${path.module}/../../policies/${p}"):
		// its dynamic part matches anything below policies/.
		name:    "dynamic file path",
		changed: []string{"policies/README.md"},
		want: join(prodAll("file: policies/README.md"), map[string][]string{
			"envs/staging": {"file: policies/README.md"},
			"envs/dev":     {"file: policies/README.md"},
			"envs/json":    {"file: policies/README.md"},
		}),
	}, {
		name:    "README at the root",
		changed: []string{"README.md"},
		want:    map[string][]string{},
	}, {
		// Terraform does not read it (it counted under the old "any file
		// of the directory" rule, still there as changes: directory).
		name:    "README inside a workspace",
		changed: []string{"envs/dev/README.md"},
		want:    map[string][]string{},
	}, {
		name:    "README inside a workspace, changes: directory",
		opts:    &modules.Options{Autodiscover: true, Changes: landform.ChangesDirectory},
		same:    true,
		changed: []string{"envs/dev/README.md"},
		want:    map[string][]string{"envs/dev": {"changed: envs/dev/README.md"}},
	}, {
		// Not a Terraform file of the directory any more: it counts as the
		// file the configuration reads.
		name:    "template inside the workspace",
		changed: []string{"envs/dev/tpl/user_data.sh"},
		want:    map[string][]string{"envs/dev": {"file: envs/dev/tpl/user_data.sh"}},
	}, {
		name: "rename across workspaces",
		head: map[string]*string{
			"envs/staging/staging.auto.tfvars": nil,
			"envs/dev/staging.auto.tfvars":     ptr(`size = "small"`),
		},
		changed: []string{"envs/staging/staging.auto.tfvars", "envs/dev/staging.auto.tfvars"},
		want: map[string][]string{
			"envs/staging": {"changed: envs/staging/staging.auto.tfvars"},
			"envs/dev":     {"changed: envs/dev/staging.auto.tfvars"},
		},
	}, {
		name:    "deleted workspace",
		head:    map[string]*string{"envs/old": nil},
		changed: []string{"envs/old/main.tf"},
		want:    map[string][]string{"envs/old": {"deleted"}},
	}, {
		name:    "deleted nested workspace leaves its parent alone",
		head:    map[string]*string{"envs/prod/dns": nil},
		changed: []string{"envs/prod/dns/main.tf"},
		want:    map[string][]string{"envs/prod/dns": {"deleted"}},
	}, {
		name:    "added nested workspace leaves its parent alone",
		head:    map[string]*string{"envs/prod/cdn/main.tf": ptr(`resource "terraform_data" "cdn" {}`)},
		changed: []string{"envs/prod/cdn/main.tf"},
		want:    map[string][]string{"envs/prod/cdn": {"added", "changed: envs/prod/cdn/main.tf"}},
	}, {
		name:    "declared workspace whose directory lost its configuration",
		head:    map[string]*string{"envs/staging/main.tf": nil},
		changed: []string{"envs/staging/main.tf"},
		want:    map[string][]string{"envs/staging": {"deleted"}},
	}, {
		name: "workspace no longer declared",
		opts: &modules.Options{Autodiscover: true, Declared: []landform.Workspace{
			{Dir: "envs/prod"}, {Dir: "envs/staging", WhenModified: []string{"ci/**"}},
		}},
		want: map[string][]string{"envs/prod@blue": {"deleted"}},
	}, {
		name:    ".tf.json workspace",
		changed: []string{"shared/motd.txt", "envs/json/main.tf.json"},
		want:    map[string][]string{"envs/json": {"changed: envs/json/main.tf.json", "file: shared/motd.txt"}},
	}, {
		name:    "invalid configuration still a workspace",
		changed: []string{"envs/broken/main.tf"},
		want:    map[string][]string{"envs/broken": {"changed: envs/broken/main.tf"}},
	}, {
		name:    "when_modified glob",
		changed: []string{"ci/deploy.sh"},
		want:    map[string][]string{"envs/staging": {"when_modified: ci/**"}},
	}, {
		name:    "module below its caller",
		changed: []string{"platform/lb/lib/main.tf", "platform/lb/variables.tf"},
		want:    map[string][]string{"platform/lb": {"changed: platform/lb/variables.tf", "module: platform/lb/lib"}},
	}, {
		name:    "many changes, every reason",
		changed: many,
		want:    map[string][]string{"envs/dev": manyWant},
	}, {
		name:    "paths are cleaned",
		changed: []string{"./envs/dev/main.tf", "/envs/dev/main.tf", "", "../outside"},
		want:    map[string][]string{"envs/dev": {"changed: envs/dev/main.tf"}},
	}, {
		name:    "module dir deleted while still called",
		head:    map[string]*string{"modules/base": nil},
		changed: []string{"modules/base/main.tf"},
		want: join(prodAll("module: modules/base"), map[string][]string{
			"envs/staging": {"module: modules/base"},
			"envs/dev":     {"module: modules/base"},
			"envs/json":    {"module: modules/base"},
		}),
	}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := monorepoOptions()
			if tc.opts != nil {
				opts = *tc.opts
			}
			head := load(t, withChanges(monorepo(), tc.head), opts)
			base := base
			if tc.same {
				base = load(t, monorepo(), opts)
			}
			got := affected(base, head, tc.changed...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("AffectedBy (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAffectedByFirstCommit(t *testing.T) {
	head := load(t, monorepo(), monorepoOptions())
	got := affected(nil, head, "envs/dev/main.tf")
	want := map[string][]string{}
	for _, n := range names(head.Workspaces()) {
		want[n] = []string{"added"}
	}
	want["envs/dev"] = []string{"added", "changed: envs/dev/main.tf"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AffectedBy (-want +got):\n%s", diff)
	}
}

func TestAffectedByOrderAndWorkspace(t *testing.T) {
	ix := load(t, monorepo(), monorepoOptions())
	got := modules.AffectedBy(ix, ix, []string{"modules/app/main.tf"})
	var gotNames []string
	for _, a := range got {
		gotNames = append(gotNames, a.Workspace.Name)
	}
	if want := []string{"envs/prod", "envs/prod@blue", "envs/staging"}; !slices.Equal(gotNames, want) {
		t.Errorf("order = %v, want %v", gotNames, want)
	}
	if w := got[2].Workspace; w.Dir != "envs/staging" || !slices.Equal(w.WhenModified, []string{"ci/**"}) {
		t.Errorf("workspace = %+v", w)
	}
}

func TestErr(t *testing.T) {
	ix := load(t, monorepo(), modules.Options{Autodiscover: true, Declared: []landform.Workspace{{Dir: "nowhere"}}})

	err := ix.Err("envs/broken")
	if landform.ErrorCode(err) != landform.EINVALID {
		t.Fatalf("Err(envs/broken) = %v, want an %s error", err, landform.EINVALID)
	}
	var ce *modules.ConfigError
	if !errors.As(err, &ce) || len(ce.Diagnostics) == 0 {
		t.Fatalf("Err(envs/broken) = %v, not a *ConfigError with diagnostics", err)
	}
	d := ce.Diagnostics[0]
	if d.File != "envs/broken/main.tf" || d.Line != 2 || d.Column != 10 {
		t.Errorf("diagnostic at %s:%d:%d, want envs/broken/main.tf:2:10 (%v)", d.File, d.Line, d.Column, d)
	}
	if !strings.Contains(err.Error(), "envs/broken/main.tf:2:10: ") {
		t.Errorf("message %q lacks file:line", err)
	}

	if err := ix.Err("nowhere"); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("Err(nowhere) = %v, want an %s error", err, landform.EINVALID)
	}
	for _, dir := range []string{"envs/prod", "envs/json", "modules/net", "README.md", "not/a/dir"} {
		if err := ix.Err(dir); err != nil {
			t.Errorf("Err(%s) = %v", dir, err)
		}
	}
	if !ix.HasConfig("envs/json") || ix.HasConfig("nowhere") {
		t.Error("HasConfig wrong")
	}
}

func TestFileReferences(t *testing.T) {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	files := fstest.MapFS{
		"ws/main.tf": f(`
locals {
  a = file("${path.module}/../data/a.txt")
  b = filebase64("${path.root}/b.bin")
  c = core::filesha256("c.txt")
  d = yamldecode(file(abspath("${path.module}/../data/d.yaml")))
  e = file("${path.module}/../data/${var.name}.json")
  f = file(var.anything)
  g = file("/etc/hosts")
  h = fileset(path.module, "{x,y}/*.txt")
  i = fileset("${path.module}/../sets", var.pattern)
  j = filemd5(<<-EOT
    ${path.module}/../data/heredoc.txt
    EOT
  )
}
module "m" { source = "../mod" }
`),
		// Inside a module, path.module is the module's dir but a bare
		// relative path is relative to the workspace (terraform's cwd).
		"mod/main.tf": f(`locals {
  m = file("${path.module}/m.txt")
  r = file("rel.txt")
}`),
	}
	ws := []landform.Workspace{{Dir: "ws", VarFiles: []string{"../common.tfvars"}}}
	ix := load(t, files, modules.Options{Declared: ws})
	if err := ix.Err("ws"); err != nil {
		t.Fatalf("Err(ws) = %v", err)
	}
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"data/a.txt", []string{"file: data/a.txt"}},
		{"ws/b.bin", []string{"file: ws/b.bin"}}, // inside the workspace but no Terraform file: read
		{"data/d.yaml", []string{"file: data/d.yaml"}},
		{"data/prod.json", []string{"file: data/prod.json"}},
		{"data/sub/prod.json", []string{"file: data/sub/prod.json"}}, // var.name may hold a "/"
		{"data/other.txt", nil},
		{"sets/anything/deep.txt", []string{"file: sets/anything/deep.txt"}},
		{"data/heredoc.txt", nil},                  // a heredoc keeps its newlines and indentation: not a path we can trust
		{"mod/m.txt", []string{"file: mod/m.txt"}}, // a module's file: read, not a Terraform file of the module
		{"common.tfvars", []string{"file: common.tfvars"}},
		{"etc/hosts", nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			got := affected(ix, ix, tc.path)["ws"]
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
		})
	}
	// ws/x/1.txt is in the workspace's directory and in the fileset: read.
	if got := affected(ix, ix, "ws/x/1.txt")["ws"]; !slices.Equal(got, []string{"file: ws/x/1.txt"}) {
		t.Errorf("ws/x/1.txt reasons = %v", got)
	}
	// rel.txt from the module resolves against the workspace.
	if got := affected(ix, ix, "ws/rel.txt")["ws"]; !slices.Equal(got, []string{"file: ws/rel.txt"}) {
		t.Errorf("ws/rel.txt reasons = %v", got)
	}
}

func TestCache(t *testing.T) {
	ctx := context.Background()
	changes := map[string]*string{"modules/net/main.tf": ptr(`module "base" { source = "../base" }` + "\n")}
	changed := []string{"modules/net/main.tf"}
	plainBase := load(t, monorepo(), monorepoOptions())
	plainHead := load(t, withChanges(monorepo(), changes), monorepoOptions())
	want := modules.AffectedBy(plainBase, plainHead, changed)

	t.Run("dir hashes", func(t *testing.T) {
		cache := modules.NewCache(0)
		opts := monorepoOptions()
		opts.Cache = cache
		baseFS := newHashedFS(monorepo())
		base, err := modules.Load(ctx, baseFS, opts)
		if err != nil {
			t.Fatal(err)
		}
		headFS := newHashedFS(withChanges(monorepo(), changes))
		head, err := modules.Load(ctx, headFS, opts)
		if err != nil {
			t.Fatal(err)
		}
		// Only the changed directory is read again.
		if diff := cmp.Diff([]string{"modules/net/main.tf"}, headFS.takeReads()); diff != "" {
			t.Errorf("files read for head (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(want, modules.AffectedBy(base, head, changed)); diff != "" {
			t.Errorf("AffectedBy with cache (-want +got):\n%s", diff)
		}
		// Loading the same commit again reads nothing at all.
		if _, err := modules.Load(ctx, headFS, opts); err != nil {
			t.Fatal(err)
		}
		if r := headFS.takeReads(); len(r) != 0 {
			t.Errorf("reloading read %v", r)
		}
	})

	t.Run("content hashes", func(t *testing.T) {
		opts := monorepoOptions()
		opts.Cache = &modules.Cache{}
		base := load(t, monorepo(), opts)
		head := load(t, withChanges(monorepo(), changes), opts)
		if diff := cmp.Diff(want, modules.AffectedBy(base, head, changed)); diff != "" {
			t.Errorf("AffectedBy with cache (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(names(plainHead.Workspaces()), names(head.Workspaces())); diff != "" {
			t.Errorf("workspaces (-want +got):\n%s", diff)
		}
	})

	t.Run("bounded", func(t *testing.T) {
		cache := modules.NewCache(3)
		opts := modules.Options{Autodiscover: true, Cache: cache}
		load(t, monorepo(), opts)
		if n := cache.Len(); n > 6 {
			t.Errorf("cache holds %d entries, want at most 6", n)
		}
	})

	t.Run("concurrent loads", func(t *testing.T) {
		opts := monorepoOptions()
		opts.Cache = modules.NewCache(0)
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				files := monorepo()
				if i%2 == 1 {
					files = withChanges(files, changes)
				}
				_, err := modules.Load(ctx, newHashedFS(files), opts)
				errs <- err
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
	})
}

func TestLoadErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := modules.Load(ctx, newMemFS(monorepo()), modules.Options{Autodiscover: true}); !errors.Is(err, context.Canceled) {
		t.Errorf("Load with a cancelled context = %v", err)
	}
	if _, err := modules.Load(context.Background(), fstest.MapFS{}, modules.Options{Autodiscover: true}); err != nil {
		t.Errorf("Load of an empty tree = %v", err)
	}
	broken := &failFS{memFS: newMemFS(monorepo()), fail: "envs/prod/main.tf"}
	if _, err := modules.Load(context.Background(), broken, modules.Options{Autodiscover: true}); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("Load with an unreadable file = %v", err)
	}
}

type failFS struct {
	*memFS
	fail string
}

func (f *failFS) ReadFile(name string) ([]byte, error) {
	if name == f.fail {
		return nil, &fs.PathError{Op: "read", Path: name, Err: fs.ErrPermission}
	}
	return f.memFS.ReadFile(name)
}

// A configuration for Terraform 0.11 that HCL 2 rejects falls back on the
// legacy parser, like terraform-config-inspect does, and is no error.
func TestLegacyHCL(t *testing.T) {
	files := fstest.MapFS{
		"old/main.tf": {Data: []byte(`module "m" {
  "source" = "./sub"
}
terraform {
  required_version = "~> 0.11.0"
}
`)},
		"old/sub/main.tf": {Data: []byte(`variable "x" {}`)},
	}
	ix := load(t, files, modules.Options{Autodiscover: true})
	if err := ix.Err("old"); err != nil {
		t.Errorf("Err(old) = %v", err)
	}
	if diff := cmp.Diff([]string{"old"}, names(ix.Workspaces())); diff != "" {
		t.Errorf("workspaces (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"old/sub"}, ix.Modules("old")); diff != "" {
		t.Errorf("Modules (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"~> 0.11.0"}, ix.RequiredVersion("old")); diff != "" {
		t.Errorf("RequiredVersion (-want +got):\n%s", diff)
	}
}
