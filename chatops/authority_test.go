package chatops_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/chatops"
	"github.com/landform/landform/config"
)

// approvalPolicy is runner.ApprovalPolicy, which chatops does not import.
type approvalPolicy interface {
	Rules(ctx context.Context, run *landform.Run) (landform.ApprovalRules, error)
	IsMember(ctx context.Context, run *landform.Run, identity string, list []string) (bool, error)
	IsAuthor(run *landform.Run, identity string) bool
}

var _ approvalPolicy = (*chatops.Authority)(nil)

const authorityConfig = `approvals:
  approvers: ["team:platform"]
  workspaces:
    - {match: "envs/prod/**", required_approvals: 2}
teams:
  platform: [alice, Bob]
identities:
  alice: {slack: [U0ALICE], emails: [alice@example.com]}
  Carol: {slack: [W0CAROL], emails: [Carol@Example.com]}
slack:
  signing_secret_env: SLACK_SIGNING_SECRET
  channels: {C0INFRA: infra}
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    forge: {kind: gitea, url: https://git.example.com, token_env: GITEA_TOKEN}
    approvals:
      required_approvals: 3
  - name: net
    url: https://git.example.com/org/net.git
`

func serverConfig(t *testing.T) *config.Server {
	t.Helper()
	cfg, err := config.ParseServer("landform.yaml", []byte(authorityConfig))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// branch is a fake default branch: a commit and its tree, counting how
// often the repo config is read.
type branch struct {
	mu     sync.Mutex
	commit string
	fsys   fstest.MapFS
	err    error
	reads  int
}

func (b *branch) DefaultBranchFS(context.Context) (string, fs.FS, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.commit, countingFS{b}, b.err
}

func (b *branch) set(commit, repoConfig string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.commit = commit
	b.fsys = fstest.MapFS{config.RepoFile: {Data: []byte(repoConfig)}}
}

func (b *branch) readCount() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reads
}

// countingFS counts the opens of the repo config.
type countingFS struct{ b *branch }

func (c countingFS) Open(name string) (fs.File, error) {
	c.b.mu.Lock()
	if name == config.RepoFile {
		c.b.reads++
	}
	fsys := c.b.fsys
	c.b.mu.Unlock()
	return fsys.Open(name)
}

// teams is a fake forge: team → members.
type teams struct {
	members map[string][]string
	err     error
	asked   []string
}

func (f *teams) IsTeamMember(_ context.Context, team, user string) (bool, error) {
	f.asked = append(f.asked, team+" "+user)
	if f.err != nil {
		return false, f.err
	}
	for _, m := range f.members[team] {
		if m == user {
			return true, nil
		}
	}
	return false, nil
}

func TestAuthorityRules(t *testing.T) {
	cfg := serverConfig(t)
	infra := &branch{}
	infra.set("c1", `approvals:
  apply: on_merge
  workspaces:
    - {match: "envs/prod/db", approvers: [dba], required_approvals: 4}
`)
	a := chatops.NewAuthority(cfg, map[string]chatops.DefaultBranch{"infra": infra}, nil)
	ctx := context.Background()
	reqs := landform.DefaultApplyRequirements
	for _, tc := range []struct {
		repo, workspace string
		want            landform.ApprovalRules
	}{
		// The repo config's workspace entry over everything.
		{"infra", "envs/prod/db", landform.ApprovalRules{Approvers: []string{"dba"}, Required: 4, Requirements: reqs, Mode: landform.ApplyOnMerge}},
		// The repo config over the server repo over the top-level workspace entry.
		{"infra", "envs/prod/app", landform.ApprovalRules{Approvers: []string{"team:platform"}, Required: 3, Requirements: reqs, Mode: landform.ApplyOnMerge}},
		// No default branch: the server config only.
		{"net", "envs/prod/app", landform.ApprovalRules{Approvers: []string{"team:platform"}, Required: 2, Requirements: reqs, Mode: landform.ApplyBeforeMerge}},
		{"net", "global", landform.ApprovalRules{Approvers: []string{"team:platform"}, Required: 1, Requirements: reqs, Mode: landform.ApplyBeforeMerge}},
	} {
		got, err := a.Rules(ctx, &landform.Run{Repo: tc.repo, Workspace: tc.workspace})
		if err != nil {
			t.Fatalf("%s %s: %v", tc.repo, tc.workspace, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("Rules(%s, %s) (-want +got):\n%s", tc.repo, tc.workspace, diff)
		}
	}
}

func TestAuthorityRulesCache(t *testing.T) {
	infra := &branch{}
	infra.set("c1", "approvals: {required_approvals: 5}\n")
	a := chatops.NewAuthority(serverConfig(t), map[string]chatops.DefaultBranch{"infra": infra}, nil)
	ctx := context.Background()
	run := &landform.Run{Repo: "infra", Workspace: "global"}
	required := func() int {
		t.Helper()
		r, err := a.Rules(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		return r.Required
	}
	if got := required(); got != 5 {
		t.Errorf("Required = %d, want 5", got)
	}
	reads := infra.readCount()
	if reads == 0 {
		t.Fatal("the repo config was not read")
	}
	for range 3 {
		required()
	}
	if infra.readCount() != reads {
		t.Errorf("the repo config was read %d times for one commit, want %d", infra.readCount(), reads)
	}

	// A new default-branch commit is read again.
	infra.set("c2", "approvals: {required_approvals: 6}\n")
	if got := required(); got != 6 {
		t.Errorf("after a new commit, Required = %d, want 6", got)
	}
	if infra.readCount() == reads {
		t.Error("a new commit was not read")
	}

	// Without the file: no repo overrides.
	infra.mu.Lock()
	infra.commit, infra.fsys = "c3", fstest.MapFS{}
	infra.mu.Unlock()
	if got := required(); got != 3 {
		t.Errorf("without %s, Required = %d, want the server repo's 3", config.RepoFile, got)
	}
}

func TestAuthorityRulesFailClosed(t *testing.T) {
	infra := &branch{}
	infra.set("0123456789abcdef", "approvals:\n  required_approvals: 0\n")
	a := chatops.NewAuthority(serverConfig(t), map[string]chatops.DefaultBranch{"infra": infra}, nil)
	ctx := context.Background()
	run := &landform.Run{Repo: "infra", Workspace: "global"}
	for i := range 2 { // the error is cached with the commit, and returned again
		_, err := a.Rules(ctx, run)
		if landform.ErrorCode(err) != landform.EINVALID {
			t.Fatalf("call %d: a broken default-branch config: %v, want EINVALID", i, err)
		}
		msg := landform.ErrorMessage(err)
		for _, want := range []string{"approval rules of infra", ".landform.yaml:2:23: approvals.required_approvals: must be at least 1, got 0", landform.ShortSHA("0123456789abcdef")} {
			if !strings.Contains(msg, want) {
				t.Errorf("message %q does not say %q", msg, want)
			}
		}
	}

	// The default branch out of reach is an error too.
	boom := errors.New("remote hung up")
	infra.mu.Lock()
	infra.err = boom
	infra.mu.Unlock()
	if _, err := a.Rules(ctx, run); !errors.Is(err, boom) {
		t.Errorf("default branch unreachable: %v", err)
	}
}

func TestAuthorityIsMember(t *testing.T) {
	forge := &teams{members: map[string][]string{"org/sre": {"dave"}, "dba": {"erin"}}}
	a := chatops.NewAuthority(serverConfig(t), nil, func(repo string) chatops.TeamChecker {
		if repo == "infra" {
			return forge
		}
		return nil
	})
	ctx := context.Background()
	infra := &landform.Run{Repo: "infra"}
	net := &landform.Run{Repo: "net"}
	for _, tc := range []struct {
		run      *landform.Run
		identity string
		list     []string
		want     bool
	}{
		{infra, "alice", []string{"alice"}, true},
		{infra, "ALICE", []string{"alice"}, true},
		{infra, "alice", []string{"Alice"}, true},
		{infra, "alic", []string{"alice"}, false},
		{infra, "", []string{""}, false},
		{infra, "alice", nil, false},
		// Local teams, names and members ignoring case.
		{infra, "bob", []string{"team:platform"}, true},
		{infra, "alice", []string{"team:Platform"}, true},
		{infra, "mallory", []string{"team:platform"}, false},
		// The forge's teams: with a slash, or not a local team.
		{infra, "dave", []string{"team:org/sre"}, true},
		{infra, "erin", []string{"team:dba"}, true},
		{infra, "alice", []string{"team:org/sre"}, false},
		// A repository without a forge: its teams have no members.
		{net, "dave", []string{"team:org/sre"}, false},
		{net, "bob", []string{"team:org/sre", "team:platform"}, true},
		// "team:alice" is a team, never the identity alice.
		{infra, "alice", []string{"team:alice"}, false},
	} {
		got, err := a.IsMember(ctx, tc.run, tc.identity, tc.list)
		if err != nil || got != tc.want {
			t.Errorf("IsMember(%s, %q, %q) = %v, %v; want %v", tc.run.Repo, tc.identity, tc.list, got, err, tc.want)
		}
	}

	// A local match asks no forge.
	forge.asked = nil
	if ok, err := a.IsMember(ctx, infra, "bob", []string{"team:org/sre", "team:platform"}); !ok || err != nil {
		t.Errorf("bob: %v, %v", ok, err)
	}
	if len(forge.asked) != 0 {
		t.Errorf("the forge was asked %q, though a local team answered", forge.asked)
	}

	// A forge that fails: an error when nothing else says yes.
	forge.err = errors.New("502 bad gateway")
	if ok, err := a.IsMember(ctx, infra, "dave", []string{"team:org/sre"}); ok || err == nil || !strings.Contains(err.Error(), "502 bad gateway") {
		t.Errorf("forge failing: %v, %v; want false and the error", ok, err)
	}
	if ok, err := a.IsMember(ctx, infra, "alice", []string{"team:org/sre", "alice"}); !ok || err != nil {
		t.Errorf("forge failing, alice listed: %v, %v; want true", ok, err)
	}

	// No teams function at all.
	b := chatops.NewAuthority(serverConfig(t), nil, nil)
	if ok, err := b.IsMember(ctx, infra, "dave", []string{"team:org/sre"}); ok || err != nil {
		t.Errorf("no forge: %v, %v", ok, err)
	}
}

func TestAuthorityIsAuthor(t *testing.T) {
	a := chatops.NewAuthority(serverConfig(t), nil, nil)
	for _, tc := range []struct {
		name     string
		run      landform.Run
		identity string
		want     bool
	}{
		{"opened the pull request", landform.Run{PR: landform.RunPR{Number: 1, Author: "alice"}}, "alice", true},
		{"opened it, other case", landform.Run{PR: landform.RunPR{Number: 1, Author: "Alice"}}, "alice", true},
		{"someone else's pull request", landform.Run{PR: landform.RunPR{Number: 1, Author: "bob"}}, "alice", false},
		{"commit email of the identity", landform.Run{CommitAuthor: "ALICE@example.com"}, "alice", true},
		{"commit email, identity in other case", landform.Run{CommitAuthor: "carol@example.com"}, "carol", true},
		{"commit email of another", landform.Run{CommitAuthor: "alice@example.com"}, "Carol", false},
		{"commit author equal to the identity", landform.Run{CommitAuthor: "ci-bot"}, "ci-bot", true},
		{"unknown identity", landform.Run{CommitAuthor: "x@example.com"}, "bob", false},
		{"no author known", landform.Run{}, "alice", false},
		{"no identity", landform.Run{PR: landform.RunPR{Author: ""}}, "", false},
	} {
		if got := a.IsAuthor(&tc.run, tc.identity); got != tc.want {
			t.Errorf("%s: IsAuthor(%q) = %v, want %v", tc.name, tc.identity, got, tc.want)
		}
	}
}

func TestAuthoritySlack(t *testing.T) {
	a := chatops.NewAuthority(serverConfig(t), nil, nil)
	if id, ok := a.SlackIdentity("U0ALICE"); !ok || id != "alice" {
		t.Errorf("SlackIdentity(U0ALICE) = %q, %v", id, ok)
	}
	if id, ok := a.SlackIdentity("W0CAROL"); !ok || id != "Carol" {
		t.Errorf("SlackIdentity(W0CAROL) = %q, %v", id, ok)
	}
	if id, ok := a.SlackIdentity("U0NOBODY"); ok {
		t.Errorf("SlackIdentity(U0NOBODY) = %q", id)
	}
	if repo, ok := a.SlackRepo("C0INFRA"); !ok || repo != "infra" {
		t.Errorf("SlackRepo(C0INFRA) = %q, %v", repo, ok)
	}
	if repo, ok := a.SlackRepo("C0OTHER"); ok {
		t.Errorf("SlackRepo(C0OTHER) = %q", repo)
	}
}
