package modules_test

import (
	"slices"
	"testing"
	"testing/fstest"

	"github.com/landform/landform/modules"
)

func TestPaths(t *testing.T) {
	files := fstest.MapFS{
		"envs/prod/main.tf": {Data: []byte(`
module "app" { source = "../../modules/app" }
locals {
  policy = file("${path.module}/../../shared/policy.json")
  extra  = fileset("${path.root}/../../policies/${var.env}", "*.json")
  vars   = file("${path.module}/local.txt")
  out    = file("${path.module}/../../../outside.txt")
}
`)},
		"modules/app/main.tf":          {Data: []byte(`module "net" { source = "../net" }` + "\n" + `locals { t = templatefile("${path.module}/tpl/user_data.sh", {}) }` + "\n")},
		"modules/net/main.tf":          {Data: []byte(`resource "terraform_data" "n" {}` + "\n")},
		"modules/app/tpl/user_data.sh": {Data: []byte("#!/bin/sh\n")},
	}
	ix := load(t, files, modules.Options{Autodiscover: true})
	got := ix.Paths("envs/prod")
	want := []string{"envs/prod", "envs/prod/local.txt", "modules/app", "modules/app/tpl/user_data.sh", "modules/net", "policies", "shared/policy.json"}
	if !slices.Equal(got, want) {
		t.Errorf("Paths(envs/prod) = %v, want %v", got, want)
	}
}
