package source_test

import (
	"context"
	"slices"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/source"
	"github.com/landform/landform/test/tftest"
)

func names(ts []landform.Target) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Workspace.Name)
	}
	return out
}

func open(t *testing.T, dir string) *source.Repo {
	t.Helper()
	r, err := source.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestChangesTargetsThroughModulesAndReportsDeleted(t *testing.T) {
	ctx := context.Background()
	g := tftest.NewGitRepo(t).Write(map[string]string{
		"modules/net/main.tf": `variable "x" {}`,
		"envs/a/main.tf":      `module "net" { source = "../../modules/net"` + "\n" + `x = 1 }`,
		"envs/b/main.tf":      `resource "terraform_data" "b" {}`,
		"envs/c/main.tf":      `resource "terraform_data" "c" {}`,
		"envs/c/c.tfvars":     `x = 1`,
	})
	base := g.Commit("base")
	g.Write(map[string]string{"modules/net/main.tf": `variable "x" { default = 2 }`}).Remove("envs/b/main.tf")
	head := g.Commit("change")
	r := open(t, g.Dir)

	c, err := r.Changes(ctx, base, head)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(c.Targets); !slices.Equal(got, []string{"envs/a"}) {
		t.Errorf("targets %v, want [envs/a]", got)
	}
	if !slices.Equal(c.Deleted, []string{"envs/b"}) {
		t.Errorf("deleted %v, want [envs/b]", c.Deleted)
	}
	// The target carries what the plan reads: its dir and its module.
	if p := c.Targets[0].Paths; !slices.Contains(p, "envs/a") || !slices.Contains(p, "modules/net") {
		t.Errorf("paths of envs/a: %v", p)
	}
	if c.Head.Commit != head || c.Base == nil || c.Base.Commit != base {
		t.Errorf("snapshots: base %v head %v", c.Base, c.Head)
	}

	// Revisions work as well as commits, and the snapshots are reused.
	again, err := r.Changes(ctx, "HEAD~1", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if again.Head != c.Head || again.Base != c.Base {
		t.Error("snapshots of known commits were parsed again")
	}
}

func TestChangesAfterABrokenBasePlansEverything(t *testing.T) {
	ctx := context.Background()
	g := tftest.NewGitRepo(t).Write(map[string]string{
		"envs/a/main.tf": `resource "terraform_data" "a" {}`,
		"envs/b/main.tf": `resource "terraform_data" "b" {}`,
		".landform.yaml": "version: 1\nworkspaces: [\n", // broken
	})
	broken := g.Commit("broken config")
	g.Write(map[string]string{".landform.yaml": "version: 1\n"})
	fixed := g.Commit("fix config")
	r := open(t, g.Dir)

	if _, err := r.Snapshot(ctx, broken); landform.ErrorCode(err) != landform.EINVALID {
		t.Fatalf("broken config: %v, want EINVALID", err)
	}
	if _, err := r.Changes(ctx, fixed, broken); landform.ErrorCode(err) != landform.EINVALID {
		t.Fatalf("a broken head: %v, want EINVALID", err)
	}
	c, err := r.Changes(ctx, broken, fixed)
	if err != nil {
		t.Fatal(err)
	}
	if c.Base != nil {
		t.Error("a broken base was used")
	}
	if got := names(c.Targets); !slices.Equal(got, []string{"envs/a", "envs/b"}) {
		t.Errorf("after a broken base: targets %v, want every workspace", got)
	}
}

func TestSelectNarrowsByName(t *testing.T) {
	ctx := context.Background()
	g := tftest.NewGitRepo(t).Write(map[string]string{
		"envs/a/main.tf": `resource "terraform_data" "a" {}`,
		"envs/b/main.tf": `resource "terraform_data" "b" {}`,
	})
	base := g.Commit("base")
	g.Write(map[string]string{"envs/a/main.tf": `resource "terraform_data" "a2" {}`})
	g.Commit("change a")
	r := open(t, g.Dir)

	all, err := r.Select(ctx, "", "HEAD", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(all.Targets); !slices.Equal(got, []string{"envs/a", "envs/b"}) {
		t.Errorf("--all: %v", got)
	}
	c, err := r.Select(ctx, base, "HEAD", []string{"envs/b", "envs/a"})
	if err != nil {
		t.Fatal(err)
	}
	// envs/b exists but was not affected: left out.
	if got := names(c.Targets); !slices.Equal(got, []string{"envs/a"}) {
		t.Errorf("--base with names: %v, want [envs/a]", got)
	}
	if _, err := r.Select(ctx, "", "HEAD", []string{"envs/nope"}); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("unknown name: %v, want ENOTFOUND", err)
	}
	if _, err := r.Target(ctx, c.Head.Commit, "envs/nope"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("Target of an unknown name: %v, want ENOTFOUND", err)
	}
}

func TestOpenLazilyAndReportFailures(t *testing.T) {
	ctx := context.Background()
	opened := 0
	r := source.New("infra", func(context.Context) (*gitrepo.Repo, error) {
		opened++
		return nil, landform.Errorf(landform.EINTERNAL, "remote unreachable")
	}, nil)
	if opened != 0 {
		t.Fatal("opened at construction")
	}
	if _, _, err := r.Refs(ctx); err == nil {
		t.Fatal("no error from an unreachable remote")
	}
	if _, _, err := r.Refs(ctx); err == nil || opened != 2 {
		t.Fatalf("a failed open is retried on the next call: opened %d, err %v", opened, err)
	}
}
