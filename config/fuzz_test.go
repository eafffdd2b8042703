package config_test

import (
	"errors"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/internal/gitref"
	"github.com/landform/landform/modules"
)

// Run the fuzzers with
//
//	go test -run '^$' -fuzz FuzzParseRepo -fuzztime 60s ./config/
//	go test -run '^$' -fuzz FuzzParseServer -fuzztime 60s ./config/
//
// and for CI, briefly, with -fuzztime 10s. Their seeds (below, and the
// inputs of the table tests) run with every go test.

// fuzzRepoOptions are the options FuzzParseRepo parses with: small limits,
// so that the fuzzer reaches them.
var fuzzRepoOptions = config.RepoOptions{AllowedEnv: []string{"AWS_PROFILE"}, MaxFileSize: 64 << 10, MaxWorkspaces: 8}

func FuzzParseRepo(f *testing.F) {
	f.Add([]byte(fullRepo))
	f.Add([]byte(prodRepo))
	f.Add([]byte(""))
	f.Add([]byte("workspaces:\n  - dir: a\n    env: {AWS_PROFILE: x, TF_VAR_y: z}\n"))
	f.Add([]byte("workspaces:\n  - dir: .\n    workspace: blue\n  - name: _\n    dir: x\n"))
	f.Add([]byte("x: &a [a, a]\ny: &b [*a, *a]\nworkspaces: [{dir: a, when_modified: *b}]\n"))
	f.Add([]byte("approvals:\n  approvers: [alice, 'team:org/sre']\n  required_approvals: 2\n  allow_self_approval: true\n  apply_requirements: []\n  apply: on_merge\n  workspaces: [{match: 'envs/{a,b}/**', approvers: []}, {match: x, required_approvals: 1}]\n"))
	for _, tc := range repoErrorCases {
		f.Add([]byte(tc.file))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := config.ParseRepo(config.RepoFile, data, fuzzRepoOptions)
		if err != nil {
			if r != nil {
				t.Fatalf("a Repo with an error: %v", err)
			}
			checkFuzzError(t, config.RepoFile, data, fuzzRepoOptions.MaxFileSize, err)
			return
		}
		checkRepo(t, r, fuzzRepoOptions)

		// What was accepted, written out again, is accepted the same.
		again, err := config.ParseRepo(config.RepoFile, renderRepo(t, r), fuzzRepoOptions)
		if err != nil {
			t.Fatalf("accepted config, written out again, is refused: %v\n%s", err, renderRepo(t, r))
		}
		if !reflect.DeepEqual(r.Workspaces, again.Workspaces) || r.Autodiscover != again.Autodiscover || r.Parallel != again.Parallel || r.Changes != again.Changes {
			t.Fatalf("accepted config, written out again, reads differently:\n%+v\n%+v", r.Workspaces, again.Workspaces)
		}
		if !reflect.DeepEqual(r.Approvals, again.Approvals) {
			t.Fatalf("accepted approvals, written out again, read differently:\n%+v\n%+v", r.Approvals, again.Approvals)
		}
	})
}

// checkRepo checks what ParseRepo guarantees of an accepted config.
func checkRepo(t *testing.T, r *config.Repo, opts config.RepoOptions) {
	t.Helper()
	if !slices.Contains(landform.ChangeRules, r.Changes) {
		t.Fatalf("change rule %q", r.Changes)
	}
	if r.Version != config.RepoVersion || r.Parallel < 0 {
		t.Fatalf("Version %d, Parallel %d", r.Version, r.Parallel)
	}
	if len(r.Workspaces) > opts.MaxWorkspaces {
		t.Fatalf("%d workspaces, at most %d", len(r.Workspaces), opts.MaxWorkspaces)
	}
	names := map[string]bool{}
	for _, w := range r.Workspaces {
		if err := landform.CheckWorkspaceName(w.Name); err != nil {
			t.Fatalf("accepted workspace: %v", err)
		}
		if names[w.Name] {
			t.Fatalf("name %q twice", w.Name)
		}
		names[w.Name] = true
		if !fs.ValidPath(w.Dir) {
			t.Fatalf("workspace %q: dir %q", w.Name, w.Dir)
		}
		for _, vf := range w.VarFiles {
			if j := path.Join(w.Dir, vf); !fs.ValidPath(j) || j == "." {
				t.Fatalf("workspace %q: var file %q leaves the repository", w.Name, vf)
			}
		}
		for _, g := range w.WhenModified {
			if !fs.ValidPath(g) {
				t.Fatalf("workspace %q: glob %q", w.Name, g)
			}
		}
		for k := range w.Env {
			if !opts.EnvAllowed(k) {
				t.Fatalf("workspace %q: env %q is not allowed", w.Name, k)
			}
		}
		if w.Changes != "" && !slices.Contains(landform.ChangeRules, w.Changes) {
			t.Fatalf("workspace %q: change rule %q", w.Name, w.Changes)
		}
	}
	checkApprovalSettings(t, r.Approvals.ApprovalSettings)
	for _, w := range r.Approvals.Workspaces {
		if _, err := modules.MatchGlob(w.Match, "x"); err != nil || !fs.ValidPath(w.Match) {
			t.Fatalf("approvals glob %q: %v", w.Match, err)
		}
		checkApprovalSettings(t, w.ApprovalSettings)
	}
}

// checkApprovalSettings checks what the parsers guarantee of accepted
// approval settings.
func checkApprovalSettings(t *testing.T, a config.ApprovalSettings) {
	t.Helper()
	if a.RequiredApprovals < 0 || (a.Apply != "" && !slices.Contains(landform.ApplyModes, a.Apply)) {
		t.Fatalf("approvals: %+v", a)
	}
	for i, r := range a.ApplyRequirements {
		if !slices.Contains(landform.ApplyRequirements, r) || slices.Contains(a.ApplyRequirements[:i], r) {
			t.Fatalf("apply requirements %q", a.ApplyRequirements)
		}
	}
	for _, who := range a.Approvers {
		if who == "" || strings.ContainsAny(who, " \t\n") {
			t.Fatalf("approver %q", who)
		}
	}
}

// renderRepo writes r as a repo config.
func renderRepo(t *testing.T, r *config.Repo) []byte {
	t.Helper()
	type ws struct {
		Name             string            `yaml:"name"`
		Dir              string            `yaml:"dir"`
		Workspace        string            `yaml:"workspace,omitempty"`
		TerraformVersion string            `yaml:"terraform_version,omitempty"`
		WhenModified     []string          `yaml:"when_modified,omitempty"`
		VarFiles         []string          `yaml:"var_files,omitempty"`
		Env              map[string]string `yaml:"env,omitempty"`
		Changes          string            `yaml:"changes,omitempty"`
	}
	doc := struct {
		Version      int            `yaml:"version"`
		Autodiscover bool           `yaml:"autodiscover"`
		Parallel     int            `yaml:"parallel,omitempty"`
		Changes      string         `yaml:"changes"`
		Workspaces   []ws           `yaml:"workspaces"`
		Approvals    map[string]any `yaml:"approvals,omitempty"`
	}{Version: r.Version, Autodiscover: r.Autodiscover, Parallel: r.Parallel, Changes: r.Changes}
	for _, w := range r.Workspaces {
		doc.Workspaces = append(doc.Workspaces, ws{w.Name, w.Dir, w.TFWorkspace, w.TerraformVersion, w.WhenModified, w.VarFiles, w.Env, w.Changes})
	}
	if a := r.Approvals; !reflect.DeepEqual(a, config.Approvals{}) {
		m := renderApprovalSettings(a.ApprovalSettings)
		if a.Workspaces != nil {
			var entries []map[string]any
			for _, w := range a.Workspaces {
				e := renderApprovalSettings(w.ApprovalSettings)
				e["match"] = w.Match
				entries = append(entries, e)
			}
			m["workspaces"] = entries
		}
		doc.Approvals = m
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// renderApprovalSettings writes the fields a sets.
func renderApprovalSettings(a config.ApprovalSettings) map[string]any {
	m := map[string]any{}
	if a.Approvers != nil {
		m["approvers"] = a.Approvers
	}
	if a.RequiredApprovals != 0 {
		m["required_approvals"] = a.RequiredApprovals
	}
	if a.AllowSelfApproval != nil {
		m["allow_self_approval"] = *a.AllowSelfApproval
	}
	if a.ApplyRequirements != nil {
		m["apply_requirements"] = a.ApplyRequirements
	}
	if a.Apply != "" {
		m["apply"] = a.Apply
	}
	return m
}

func FuzzParseServer(f *testing.F) {
	for _, s := range []string{
		repo0,
		"",
		"repos: []\n",
		"- name: a\n",
		fullServer,
		repo0 + "    branches: [main, landform/ledger]\n    ledger_branch: landform/ledger\n",
		repo0 + "    branches: [main]\n    ledger_branch: main/ledger\n",
		repo0 + "    ledger_branch: refs/heads/ledger\n",
		repo0 + "    auth:\n      token_env: A\n      token: oops\n",
		"repos:\n  - name: a\n    url: https://user:secret@example.com/x.git\n",
		"terraform:\n  allowed_env: [AWS_PROFILE, 'A B', TF_VAR_x, AWS_PROFILE]\n" + repo0,
		"repos:\n  - name: a\n    url: /a\n   branches: [main]\n",
		"listen: localhost\nparallel: -1\n" + repo0 + "    poll_interval: 5 minutes\n    lock_policy: yolo\n",
		approvalsServer,
	} {
		f.Add([]byte(s))
	}
	f.Setenv("HOME", "/home/ops")
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := config.ParseServer(config.ServerFile, data)
		if err != nil {
			if s != nil {
				t.Fatalf("a Server with an error: %v", err)
			}
			checkFuzzError(t, config.ServerFile, data, 0, err)
			return
		}
		if len(s.Repos) == 0 || s.Parallel < 1 || s.ShutdownGrace < 0 || s.DataDir == "" || s.Listen == "" {
			t.Fatalf("accepted server config: %+v", s)
		}
		for _, name := range s.Terraform.AllowedEnv {
			if strings.HasPrefix(name, "TF_VAR_") || !(config.RepoOptions{AllowedEnv: []string{name}}).EnvAllowed(name) {
				t.Fatalf("allowed_env %q", name)
			}
		}
		names := map[string]bool{}
		for _, r := range s.Repos {
			if r.Name == "" || names[r.Name] || r.URL == "" || r.PollInterval < config.MinPollInterval {
				t.Fatalf("accepted repo: %+v", r)
			}
			names[r.Name] = true
			if err := gitref.CheckBranch(r.LedgerBranch); err != nil {
				t.Fatalf("repo %q: %v", r.Name, err)
			}
			if !slices.Contains(landform.LockPolicies, r.LockPolicy) {
				t.Fatalf("repo %q: lock policy %q", r.Name, r.LockPolicy)
			}
			for _, b := range r.Branches {
				if err := gitref.CheckBranch(b); err != nil {
					t.Fatalf("repo %q: %v", r.Name, err)
				}
				if b == r.LedgerBranch || strings.HasPrefix(b, r.LedgerBranch+"/") || strings.HasPrefix(r.LedgerBranch, b+"/") {
					t.Fatalf("repo %q: branch %q and ledger branch %q", r.Name, b, r.LedgerBranch)
				}
			}
		}
	})
}

// checkFuzzError checks that err is a validation error of file whose
// problems each name the file and, but for those of the file as a whole,
// a line; a file that is not YAML (and within maxSize, when not 0) gets a
// line too.
func checkFuzzError(t *testing.T, file string, data []byte, maxSize int64, err error) {
	t.Helper()
	if code := landform.ErrorCode(err); code != landform.EINVALID {
		t.Fatalf("code %q: %v", code, err)
	}
	var ve *config.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) == 0 {
		t.Fatalf("no *ValidationError in %v", err)
	}
	if !utf8.ValidString(err.Error()) {
		t.Fatalf("error is not valid UTF-8: %q", err.Error())
	}
	var node yaml.Node
	yamlErr := (maxSize == 0 || int64(len(data)) <= maxSize) && yaml.Unmarshal(data, &node) != nil
	for _, fe := range ve.Errors {
		if fe.File != file || !strings.HasPrefix(fe.Error(), file+":") {
			t.Fatalf("problem without its file: %q", fe.Error())
		}
		if fe.Line <= 0 && (fe.Field != "" || yamlErr) {
			t.Fatalf("problem without a line: %q", fe.Error())
		}
	}
}
