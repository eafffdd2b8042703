package test

import (
	"path/filepath"
	"testing"

	"github.com/landform/landform/test/tftest"
)

// TestDriftCLI: `landform drift --json --exit-code` on a repository whose
// envs/a was applied and then edited in the cloud (changed outside
// Terraform, with the attribute), whose envs/b was never applied (code not
// applied, not drift), exits 2 with DESIGN.md's JSON. The state is
// committed with the code, so the checks read it; the sandbox is off so
// that the provider sees the test cloud (the server config's
// sandbox_paths is the daemon's way).
func TestDriftCLI(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	cloud := filepath.Join(t.TempDir(), "cloud")
	repo := tftest.NewGitRepo(t)
	provider := `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
provider "testcloud" {}
`
	repo.Write(map[string]string{
		"envs/a/main.tf": provider + `resource "testcloud_bucket" "logs" {
  name = "cli-logs"
  tags = { env = "prod" }
}
`,
		"envs/b/main.tf": provider + `resource "testcloud_bucket" "new" { name = "cli-new" }` + "\n",
	})
	tf := tools.NewTF(t, tools.Terraform, filepath.Join(repo.Dir, "envs", "a"), "TESTCLOUD_ROOT="+cloud)
	tf.Run("init", "-input=false")
	tf.Run("apply", "-auto-approve", "-input=false")
	repo.Git("add", "-f", "envs/a/terraform.tfstate", "envs/a/.terraform.lock.hcl")
	repo.Commit("envs a and b, a applied")
	editBucket(t, cloud, "cli-logs", func(o map[string]any) { o["tags"] = map[string]any{"env": "dev"} })

	var doc struct {
		Summary    string `json:"summary"`
		Workspaces []struct {
			Name      string `json:"name"`
			Dir       string `json:"dir"`
			Drifted   bool   `json:"drifted"`
			Error     string `json:"error"`
			Resources []struct {
				Address    string `json:"address"`
				Action     string `json:"action"`
				Kind       string `json:"kind"`
				Attributes []struct {
					Path          string
					Before, After any
				} `json:"attributes"`
			} `json:"resources"`
		} `json:"workspaces"`
	}
	landformJSON(t, 2, &doc, "--data-dir", t.TempDir(), "drift", "--repo", repo.Dir, "--json", "--exit-code", "--sandbox=off",
		"--terraform-cli-config", tools.MirrorConfig(t), "--terraform-binary", tools.Terraform, "--env", "TESTCLOUD_ROOT="+cloud)
	if doc.Summary != "1 of 2 workspaces drifted: 1 resource changed, 0 deleted, 1 workspace with unapplied code" || len(doc.Workspaces) != 2 {
		t.Fatalf("report: %+v", doc)
	}
	for _, w := range doc.Workspaces {
		switch w.Name {
		case "envs/a":
			if !w.Drifted || w.Dir != "envs/a" || len(w.Resources) != 1 || w.Resources[0].Address != "testcloud_bucket.logs" ||
				w.Resources[0].Action != "update" || w.Resources[0].Kind != "changed" || len(w.Resources[0].Attributes) != 1 ||
				w.Resources[0].Attributes[0].Path != "tags.env" || w.Resources[0].Attributes[0].Before != "prod" || w.Resources[0].Attributes[0].After != "dev" {
				t.Errorf("envs/a: %+v", w)
			}
		case "envs/b":
			if w.Drifted || len(w.Resources) != 1 || w.Resources[0].Kind != "unapplied" || w.Resources[0].Action != "create" {
				t.Errorf("envs/b: %+v", w)
			}
		}
	}
}
