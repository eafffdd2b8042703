package test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/landform/landform/test/tftest"
)

// monorepoFiles is a small infrastructure monorepo: two environments share
// a three-level local module chain, prod has a nested workspace, dev reads
// a shared file through file(), and one module is used by nobody.
func monorepoFiles() map[string]string {
	provider := `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
`
	return map[string]string{
		"README.md":      "# infra\n",
		".landform.yaml": "version: 1\n",
		"envs/prod/main.tf": provider + `
provider "testcloud" {}
module "app" {
  source = "../../modules/app"
  env    = "prod"
  size   = var.size
}
variable "size" { type = string }
`,
		"envs/prod/prod.auto.tfvars": "size = \"large\"\n",
		"envs/prod/dns/main.tf": provider + `
provider "testcloud" {}
resource "testcloud_bucket" "zone" { name = "prod-dns-zone" }
`,
		"envs/staging/main.tf": provider + `
provider "testcloud" {}
module "app" {
  source = "../../modules/app"
  env    = "staging"
  size   = "small"
}
`,
		"envs/dev/main.tf": provider + `
provider "testcloud" {}
resource "testcloud_secret" "policy" {
  name  = "dev-policy"
  value = file("${path.module}/../../shared/policy.json")
}
resource "terraform_data" "marker" { input = "dev" }
`,
		"shared/policy.json": `{"allow": ["s3:*"]}` + "\n",
		"modules/app/main.tf": provider + `
variable "env" { type = string }
variable "size" { type = string }
module "net" {
  source = "../net"
  env    = var.env
}
resource "testcloud_instance" "app" {
  name = "${var.env}-app"
  size = var.size
  tags = { subnet = module.net.subnet }
}
`,
		"modules/net/main.tf": provider + `
variable "env" { type = string }
module "base" {
  source = "../base"
  env    = var.env
}
resource "testcloud_bucket" "flow_logs" { name = "${var.env}-flow-logs" }
output "subnet" { value = module.base.cidr }
`,
		"modules/base/main.tf": `
variable "env" { type = string }
resource "terraform_data" "base" { input = var.env }
output "cidr" { value = "10.0.0.0/16" }
`,
		"modules/unused/main.tf": `resource "terraform_data" "unused" {}` + "\n",
		"global/iam/main.tf": provider + `
provider "testcloud" {}
resource "testcloud_secret" "ci" {
  name  = "ci-token"
  value = "not-a-real-token"
}
`,
	}
}

type affectedDoc struct {
	Workspaces []struct {
		Name    string   `json:"name"`
		Dir     string   `json:"dir"`
		Reasons []string `json:"reasons"`
	} `json:"workspaces"`
}

func (d affectedDoc) byName() map[string][]string {
	out := map[string][]string{}
	for _, w := range d.Workspaces {
		out[w.Name] = w.Reasons
	}
	return out
}

func TestAffectedAcrossCommits(t *testing.T) {
	t.Parallel()
	repo := tftest.NewGitRepo(t)
	repo.Write(monorepoFiles()).Commit("initial")

	// Each step changes the repo and names exactly what it affects.
	steps := []struct {
		name   string
		change func()
		want   map[string][]string
	}{{
		name:   "README only",
		change: func() { repo.Write(map[string]string{"README.md": "# infra, now documented\n"}) },
		want:   map[string][]string{},
	}, {
		name: "deepest module of the chain",
		change: func() {
			repo.Write(map[string]string{"modules/base/main.tf": "# edited\n" + monorepoFiles()["modules/base/main.tf"]})
		},
		want: map[string][]string{
			"envs/prod":    {"module: modules/base"},
			"envs/staging": {"module: modules/base"},
		},
	}, {
		name:   "module used by two environments",
		change: func() { repo.Write(map[string]string{"modules/app/variables.tf": "# more\n"}) },
		want: map[string][]string{
			"envs/prod":    {"module: modules/app"},
			"envs/staging": {"module: modules/app"},
		},
	}, {
		name:   "unused module",
		change: func() { repo.Write(map[string]string{"modules/unused/main.tf": "# nobody calls me\n"}) },
		want:   map[string][]string{},
	}, {
		name:   "file read through file()",
		change: func() { repo.Write(map[string]string{"shared/policy.json": `{"allow": []}` + "\n"}) },
		want:   map[string][]string{"envs/dev": {"file: shared/policy.json"}},
	}, {
		name:   "tfvars",
		change: func() { repo.Write(map[string]string{"envs/prod/prod.auto.tfvars": "size = \"xlarge\"\n"}) },
		want:   map[string][]string{"envs/prod": {"changed: envs/prod/prod.auto.tfvars"}},
	}, {
		name:   "nested workspace only",
		change: func() { repo.Write(map[string]string{"envs/prod/dns/records.tf": "# records\n"}) },
		want:   map[string][]string{"envs/prod/dns": {"changed: envs/prod/dns/records.tf"}},
	}, {
		name:   "rename inside a workspace",
		change: func() { repo.Move("global/iam/main.tf", "global/iam/iam.tf") },
		want:   map[string][]string{"global/iam": {"changed: global/iam/iam.tf", "changed: global/iam/main.tf"}},
	}, {
		name:   "workspace directory renamed",
		change: func() { repo.Move("global/iam", "global/identity") },
		want: map[string][]string{
			"global/iam":      {"deleted"},
			"global/identity": {"added", "changed: global/identity/iam.tf"},
		},
	}, {
		name:   "workspace deleted",
		change: func() { repo.Remove("envs/dev") },
		want:   map[string][]string{"envs/dev": {"deleted"}},
	}}
	dataDir := t.TempDir()
	for _, step := range steps {
		base := repo.Head()
		step.change()
		head := repo.Commit(step.name)
		var doc affectedDoc
		landformJSON(t, 0, &doc, "--data-dir", dataDir, "affected", "--repo", repo.Dir, "--base", base, "--head", head, "--json")
		if got := doc.byName(); !reflect.DeepEqual(got, step.want) {
			t.Errorf("%s: affected = %v, want %v", step.name, got, step.want)
		}
	}

	// The whole range at once is the union of the steps, deleted ones
	// reported, nothing silently dropped.
	var doc affectedDoc
	landformJSON(t, 0, &doc, "--data-dir", dataDir, "affected", "--repo", repo.Dir, "--base", "HEAD~10", "--head", "HEAD", "--json")
	var names []string
	for _, w := range doc.Workspaces {
		names = append(names, w.Name)
	}
	want := "envs/dev envs/prod envs/prod/dns envs/staging global/iam global/identity"
	if strings.Join(names, " ") != want {
		t.Errorf("affected HEAD~10..HEAD = %v, want %s", names, want)
	}
}

func TestWorkspacesDiscovery(t *testing.T) {
	t.Parallel()
	repo := tftest.NewGitRepo(t)
	repo.Write(monorepoFiles()).Commit("initial")
	var doc affectedDoc
	landformJSON(t, 0, &doc, "--data-dir", t.TempDir(), "workspaces", "--repo", repo.Dir, "--json")
	var got []string
	for _, w := range doc.Workspaces {
		got = append(got, w.Name+"="+w.Dir)
	}
	want := []string{"envs/dev=envs/dev", "envs/prod=envs/prod", "envs/prod/dns=envs/prod/dns",
		"envs/staging=envs/staging", "global/iam=global/iam"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("workspaces = %v, want %v", got, want)
	}
}
