package gate_test

import (
	"context"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/gate"
)

// branch is a default branch whose head the test moves.
type branch struct {
	mu     sync.Mutex
	commit string
	files  fstest.MapFS
}

func (b *branch) set(commit string, files fstest.MapFS) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.commit, b.files = commit, files
}

func (b *branch) DefaultBranchFS(context.Context) (string, fs.FS, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.commit, b.files, nil
}

const destroyBucket = `{"format_version":"1.2","resource_changes":[
 {"address":"testcloud_bucket.logs","type":"testcloud_bucket","change":{"actions":["delete"],"before":{},"after":null}}]}`

func rego(src string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(src)} }

func TestGate(t *testing.T) {
	ctx := context.Background()
	main := &branch{}
	main.set("c1", fstest.MapFS{
		".landform/policies/no_logs.rego": rego("package landform.team\n\ndeny contains \"no destroying logs\" if {\n\tsome rc in input.plan.resource_changes\n\trc.address == \"testcloud_bucket.logs\"\n}\n"),
	})
	g, err := gate.New(config.Policies{Sets: []config.PolicySet{
		{Name: "guard", Source: config.PolicyBuiltin, Enforcement: landform.EnforceDeny, Workspaces: []string{"envs/prod/**"},
			Params: map[string]any{"protect_types": map[string]any{"types": []any{"testcloud_bucket"}}}},
		{Name: "team", Source: config.PolicyRepo, Enforcement: landform.EnforceWarn},
	}}, map[string]gate.DefaultBranch{"infra": main})
	if err != nil {
		t.Fatal(err)
	}
	run := func(ws string) *landform.Run { return &landform.Run{Repo: "infra", Workspace: ws, Commit: "pr-head"} }

	// envs/prod/app: the built-in denies, the repo's set (warn) warns.
	res, err := g.Evaluate(ctx, run("envs/prod/app"), []byte(destroyBucket))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Denied() || res.Deny[0].Set != "guard" || len(res.Warn) != 1 || res.Warn[0].Message != "no destroying logs" {
		t.Fatalf("envs/prod/app: %+v", res)
	}
	// envs/dev: the built-in does not apply.
	res, err = g.Evaluate(ctx, run("envs/dev"), []byte(destroyBucket))
	if err != nil || res.Denied() || len(res.Warn) != 1 {
		t.Fatalf("envs/dev: %+v, %v", res, err)
	}

	// The default branch moves: its new policies apply (a pull request's
	// own change to them would not: only the default branch is read).
	main.set("c2", fstest.MapFS{".landform/policies/ok.rego": rego("package landform.team\n\nwarn contains \"all fine\" if true\n")})
	res, err = g.Evaluate(ctx, run("envs/dev"), []byte(destroyBucket))
	if err != nil || len(res.Warn) != 1 || res.Warn[0].Message != "all fine" {
		t.Fatalf("after the default branch moved: %+v, %v", res, err)
	}

	// A broken policy on the default branch fails the run with its file
	// and line: it never passes silently.
	main.set("c3", fstest.MapFS{".landform/policies/broken.rego": rego("package landform.team\n\ndeny contains msg if {\n")})
	if _, err := g.Evaluate(ctx, run("envs/dev"), []byte(destroyBucket)); err == nil || !strings.Contains(err.Error(), ".landform/policies/broken.rego:") {
		t.Fatalf("a broken repo policy: %v, want an error naming the file and line", err)
	}

	// No policies on the default branch, no built-in for the workspace: no
	// verdict.
	main.set("c4", fstest.MapFS{"README.md": {Data: []byte("x")}})
	if res, err := g.Evaluate(ctx, run("envs/dev"), []byte(destroyBucket)); err != nil || res != nil {
		t.Fatalf("no policies: %+v, %v", res, err)
	}
}

func TestGateRefusesBrokenServerPolicies(t *testing.T) {
	dir := t.TempDir()
	_, err := gate.New(config.Policies{Sets: []config.PolicySet{{Name: "empty", Source: dir}}}, nil)
	if landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("an empty policy directory: %v, want EINVALID", err)
	}
}

func TestOffline(t *testing.T) {
	got, left := gate.Offline(config.Policies{Sets: []config.PolicySet{
		{Name: "guard", Source: config.PolicyBuiltin}, {Name: "team", Source: config.PolicyRepo},
	}}, []string{"/etc/p"})
	if len(got.Sets) != 2 || got.Sets[0].Name != "guard" || got.Sets[1].Source != "/etc/p" || got.Sets[1].Enforcement != landform.EnforceDeny ||
		len(left) != 1 || left[0] != "team" {
		t.Errorf("Offline = %+v, left %v", got, left)
	}
}
