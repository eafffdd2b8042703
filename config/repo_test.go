package config_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
)

// fullRepo uses every field of the repo config.
const fullRepo = `# the infra repo
version: 1
parallel: 4
changes: directory
workspaces:
  - name: prod-app
    dir: ./envs/prod/app/
    workspace: blue
    terraform_version: ">= 1.5, < 2.0"
    when_modified: ["shared/**", "./ci/*.yaml", "modules/**/*.tf"]
    var_files: [prod.tfvars, ../common.tfvars]
    env: {TF_VAR_region: eu-west-1, TF_VAR_count: 3}
  - dir: envs/staging
    workspace: green
    terraform_version: 1.5.7
    changes: read
  - dir: .
    env: &common
      TF_VAR_team: platform
  - dir: envs/dev
    workspace: default
    env: *common
`

func TestParseRepoFull(t *testing.T) {
	r, err := config.ParseRepo(config.RepoFile, []byte(fullRepo), config.RepoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version != 1 || r.Autodiscover || r.Parallel != 4 || r.Changes != landform.ChangesDirectory {
		t.Errorf("Version, Autodiscover, Parallel, Changes = %d, %t, %d, %s; want 1, false, 4, directory", r.Version, r.Autodiscover, r.Parallel, r.Changes)
	}
	want := []landform.Workspace{{
		Name:             "prod-app",
		Dir:              "envs/prod/app",
		TFWorkspace:      "blue",
		TerraformVersion: ">= 1.5, < 2.0",
		WhenModified:     []string{"shared/**", "ci/*.yaml", "modules/**/*.tf"},
		VarFiles:         []string{"prod.tfvars", "../common.tfvars"},
		Env:              map[string]string{"TF_VAR_region": "eu-west-1", "TF_VAR_count": "3"},
	}, {
		Name:             "envs/staging@green",
		Dir:              "envs/staging",
		TFWorkspace:      "green",
		TerraformVersion: "1.5.7",
		Changes:          landform.ChangesRead,
	}, {
		Name: ".",
		Dir:  ".",
		Env:  map[string]string{"TF_VAR_team": "platform"},
	}, {
		Name:        "envs/dev",
		Dir:         "envs/dev",
		TFWorkspace: "default",
		Env:         map[string]string{"TF_VAR_team": "platform"},
	}}
	if !reflect.DeepEqual(r.Workspaces, want) {
		t.Errorf("Workspaces =\n%#v\nwant\n%#v", r.Workspaces, want)
	}
}

func TestParseRepoDefaults(t *testing.T) {
	for _, tc := range []struct {
		name, file       string
		wantAutodiscover bool
		wantWorkspaces   int
	}{
		{"empty file", "", true, 0},
		{"only comments", "# nothing here\n", true, 0},
		{"null document", "---\nnull\n", true, 0},
		{"version only", "version: 1\n", true, 0},
		{"null values are absent", "version:\nparallel:\nworkspaces:\n", true, 0},
		{"empty workspace list", "workspaces: []\n", true, 0},
		{"workspaces listed", "workspaces:\n  - dir: a\n", false, 1},
		{"workspaces listed, autodiscover on", "autodiscover: true\nworkspaces:\n  - dir: a\n", true, 1},
		{"autodiscover off, nothing listed", "autodiscover: false\n", false, 0},
		{"trailing empty document", "workspaces:\n  - dir: a\n---\n", false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := config.ParseRepo(config.RepoFile, []byte(tc.file), config.RepoOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if r.Version != 1 || r.Parallel != 0 {
				t.Errorf("Version, Parallel = %d, %d; want 1, 0", r.Version, r.Parallel)
			}
			if r.Autodiscover != tc.wantAutodiscover {
				t.Errorf("Autodiscover = %t, want %t", r.Autodiscover, tc.wantAutodiscover)
			}
			if len(r.Workspaces) != tc.wantWorkspaces {
				t.Errorf("%d workspaces, want %d", len(r.Workspaces), tc.wantWorkspaces)
			}
		})
	}
}

// repoErrorCases are invalid repo configs and their messages; they seed
// FuzzParseRepo too.
var repoErrorCases = []struct {
	name, file string
	want       []string
}{
	// Unknown fields.
	{"unknown top-level field", "version: 1\nwokspaces: []\n", []string{
		`.landform.yaml:2:1: unknown field "wokspaces", did you mean "workspaces"?`,
	}},
	{"unknown nested field", "workspaces:\n  - dir: a\n    dri: b\n", []string{
		`.landform.yaml:3:5: workspaces[0]: unknown field "dri", did you mean "dir"?`,
	}},
	{"unknown field, nothing close", "colour: blue\n", []string{
		`.landform.yaml:1:1: unknown field "colour" (known fields: version, autodiscover, parallel, changes, workspaces, approvals)`,
	}},
	{"field name in the wrong case", "workspaces:\n  - Dir: a\n", []string{
		`.landform.yaml:2:5: workspaces[0]: unknown field "Dir", did you mean "dir"?`,
		`.landform.yaml:2:5: workspaces[0]: missing required field "dir"`,
	}},
	{"field given twice", "workspaces:\n  - dir: a\n    dir: b\n", []string{
		`.landform.yaml:3:5: workspaces[0].dir: field given twice (first at line 2:5)`,
	}},
	{"env key given twice", "workspaces:\n  - dir: a\n    env:\n      TF_VAR_a: x\n      TF_VAR_a: y\n", []string{
		`.landform.yaml:5:7: workspaces[0].env.TF_VAR_a: key given twice (first at line 4:7)`,
	}},
	{"merge key", "base: &b {dir: a}\n", []string{
		`.landform.yaml:1:1: unknown field "base" (known fields: version, autodiscover, parallel, changes, workspaces, approvals)`,
	}},
	{"merge key in a workspace", "workspaces:\n  - &base {dir: a}\n  - <<: *base\n    workspace: blue\n", []string{
		`.landform.yaml:3:5: workspaces[1]: merge keys ("<<") are not supported; use an alias for each field instead`,
		`.landform.yaml:3:5: workspaces[1]: missing required field "dir"`,
	}},

	// Wrong types.
	{"document is a list", "- dir: a\n", []string{
		`.landform.yaml:1:1: expected a mapping, got a list`,
	}},
	{"parallel is a word", "parallel: many\n", []string{
		`.landform.yaml:1:11: parallel: expected an integer, got string "many"`,
	}},
	{"long value cut between characters", "parallel: " + strings.Repeat("é", 30) + "\n", []string{
		`.landform.yaml:1:11: parallel: expected an integer, got string "` + strings.Repeat("é", 18) + `..."`,
	}},
	{"unknown change rules", "changes: directories\nworkspaces:\n  - dir: a\n    changes: files\n", []string{
		`.landform.yaml:1:10: changes: unknown change rule "directories", did you mean "directory"? (want read or directory)`,
		`.landform.yaml:4:14: workspaces[0].changes: unknown change rule "files" (want read or directory)`,
	}},
	{"autodiscover yes", "autodiscover: yes\n", []string{
		`.landform.yaml:1:15: autodiscover: expected true or false, got string "yes"`,
	}},
	{"workspaces is a mapping", "workspaces:\n  dir: a\n", []string{
		`.landform.yaml:2:3: workspaces: expected a list, got a mapping`,
	}},
	{"workspace is a string", "workspaces:\n  - envs/prod\n", []string{
		`.landform.yaml:2:5: workspaces[0]: expected a mapping, got string "envs/prod"`,
	}},
	{"string where a list is expected", "workspaces:\n  - dir: a\n    when_modified: shared/**\n", []string{
		`.landform.yaml:3:20: workspaces[0].when_modified: expected a list, got string "shared/**"`,
	}},
	{"list where a string is expected", "workspaces:\n  - dir: [a, b]\n", []string{
		`.landform.yaml:2:10: workspaces[0].dir: expected a string, got a list`,
	}},
	{"null in a list", "workspaces:\n  - dir: a\n    var_files:\n      -\n      - b.tfvars\n", []string{
		`.landform.yaml:4:8: workspaces[0].var_files[0]: expected a string, got null`,
	}},
	{"env is a list", "workspaces:\n  - dir: a\n    env: [A=b]\n", []string{
		`.landform.yaml:3:10: workspaces[0].env: expected a mapping of strings, got a list`,
	}},
	{"env value is a mapping", "workspaces:\n  - dir: a\n    env:\n      A: {b: c}\n", []string{
		`.landform.yaml:4:10: workspaces[0].env.A: expected a string, got a mapping`,
	}},

	// Versions and limits.
	{"version 2", "version: 2\n", []string{
		`.landform.yaml:1:10: version: unsupported version 2 (this Landform reads version 1)`,
	}},
	{"version quoted", "version: \"1\"\n", []string{
		`.landform.yaml:1:10: version: expected an integer, got string "1"`,
	}},
	{"version float", "version: 1.0\n", []string{
		`.landform.yaml:1:10: version: expected an integer, got number 1.0`,
	}},
	{"parallel zero", "parallel: 0\n", []string{
		`.landform.yaml:1:11: parallel: must be at least 1, got 0`,
	}},

	// Names.
	{"duplicate explicit names", "workspaces:\n  - name: app\n    dir: a\n  - name: app\n    dir: b\n", []string{
		`.landform.yaml:4:11: workspaces[1].name: duplicate workspace name "app", already used by workspaces[0] at line 2:11`,
	}},
	{"duplicate defaulted names", "workspaces:\n  - dir: envs/prod\n  - dir: ./envs/prod/\n    workspace: default\n", []string{
		`.landform.yaml:3:5: workspaces[1]: duplicate workspace name "envs/prod" (the default from dir and workspace), already used by workspaces[0] at line 2:5`,
	}},
	{"explicit name equal to a default", "workspaces:\n  - dir: envs/prod\n    workspace: blue\n  - name: envs/prod@blue\n    dir: other\n", []string{
		`.landform.yaml:4:11: workspaces[1].name: duplicate workspace name "envs/prod@blue", already used by workspaces[0] at line 2:5`,
	}},
	{"same dir, other workspaces", "workspaces:\n  - dir: a\n  - dir: a\n    workspace: blue\n  - dir: a\n    workspace: blue\n", []string{
		`.landform.yaml:5:5: workspaces[2]: duplicate workspace name "a@blue" (the default from dir and workspace), already used by workspaces[1] at line 3:5`,
	}},
	{"bad names", "workspaces:\n  - name: prod app\n    dir: a\n  - name: ../x\n    dir: b\n  - name: \"\"\n    dir: c\n", []string{
		`.landform.yaml:2:11: workspaces[0].name: invalid workspace name "prod app": contains white space`,
		`.landform.yaml:4:11: workspaces[1].name: invalid workspace name "../x": has a ".." path element`,
		`.landform.yaml:6:11: workspaces[2].name: invalid workspace name "": empty`,
	}},
	{"names the ledger cannot hold", "workspaces:\n  - name: .git/hooks\n    dir: a\n  - name: a/.GIT/b\n    dir: b\n  - name: ../x\n    dir: c\n  - name: \"x\\ny\"\n    dir: d\n  - name: -rf\n    dir: e\n  - name: a\\b\n    dir: f\n  - name: a/12.md\n    dir: g\n", []string{
		`.landform.yaml:2:11: workspaces[0].name: invalid workspace name ".git/hooks": path element ".git" is reserved by git`,
		`.landform.yaml:4:11: workspaces[1].name: invalid workspace name "a/.GIT/b": path element ".GIT" is reserved by git`,
		`.landform.yaml:6:11: workspaces[2].name: invalid workspace name "../x": has a ".." path element`,
		`.landform.yaml:8:11: workspaces[3].name: invalid workspace name "x\ny": contains a control character (U+000A)`,
		`.landform.yaml:10:11: workspaces[4].name: invalid workspace name "-rf": starts with "-"`,
		`.landform.yaml:12:11: workspaces[5].name: invalid workspace name "a\\b": contains "\"; separate path elements with "/"`,
		`.landform.yaml:14:11: workspaces[6].name: invalid workspace name "a/12.md": path element "12.md" is the name of a ledger record file`,
	}},
	{"default names the ledger cannot hold", "workspaces:\n  - dir: .git/hooks\n  - dir: a/.GIT/b\n  - dir: -rf\n  - dir: 'my app'\n  - dir: -rf\n    name: rf\n", []string{
		`.landform.yaml:2:5: workspaces[0]: invalid workspace name ".git/hooks": path element ".git" is reserved by git (the default from dir and workspace); set name`,
		`.landform.yaml:3:5: workspaces[1]: invalid workspace name "a/.GIT/b": path element ".GIT" is reserved by git (the default from dir and workspace); set name`,
		`.landform.yaml:4:5: workspaces[2]: invalid workspace name "-rf": starts with "-" (the default from dir and workspace); set name`,
		`.landform.yaml:5:5: workspaces[3]: invalid workspace name "my app": contains white space (the default from dir and workspace); set name`,
	}},
	{"repo config env outside the allow-list", "workspaces:\n  - dir: a\n    env:\n      GIT_SSH_COMMAND: x\n      PATH: /tmp\n      LD_PRELOAD: /tmp/x.so\n      TF_CLI_ARGS: -lock=false\n      HOME: /tmp\n      TF_VAR_: x\n      tf_var_x: x\n      TF_VAR_ok: x\n", []string{
		`.landform.yaml:4:7: workspaces[0].env.GIT_SSH_COMMAND: "GIT_SSH_COMMAND" may not be set by the repo config: only TF_VAR_* variables and those the server config allows in terraform.allowed_env (none)`,
		`.landform.yaml:5:7: workspaces[0].env.PATH: "PATH" may not be set by the repo config: only TF_VAR_* variables and those the server config allows in terraform.allowed_env (none)`,
		`.landform.yaml:6:7: workspaces[0].env.LD_PRELOAD: "LD_PRELOAD" may not be set by the repo config: only TF_VAR_* variables and those the server config allows in terraform.allowed_env (none)`,
		`.landform.yaml:7:7: workspaces[0].env.TF_CLI_ARGS: "TF_CLI_ARGS" may not be set by the repo config: only TF_VAR_* variables and those the server config allows in terraform.allowed_env (none)`,
		`.landform.yaml:8:7: workspaces[0].env.HOME: "HOME" may not be set by the repo config: only TF_VAR_* variables and those the server config allows in terraform.allowed_env (none)`,
		`.landform.yaml:9:7: workspaces[0].env.TF_VAR_: "TF_VAR_" may not be set by the repo config: only TF_VAR_* variables and those the server config allows in terraform.allowed_env (none)`,
		`.landform.yaml:10:7: workspaces[0].env.tf_var_x: "tf_var_x" may not be set by the repo config: only TF_VAR_* variables and those the server config allows in terraform.allowed_env (none)`,
	}},
	{"bad terraform workspace", "workspaces:\n  - dir: a\n    workspace: blue/green\n", []string{
		`.landform.yaml:3:16: workspaces[0].workspace: "blue/green" is not a valid Terraform workspace name`,
	}},

	// Paths.
	{"missing dir", "workspaces:\n  - name: a\n    workspace: blue\n", []string{
		`.landform.yaml:2:5: workspaces[0]: missing required field "dir"`,
	}},
	{"escaping dirs", "workspaces:\n  - dir: ../x\n  - dir: /abs\n  - dir: a/../../b\n  - dir: ~/infra\n  - dir: ''\n  - dir: 'a\\b'\n", []string{
		`.landform.yaml:2:10: workspaces[0].dir: "../x" escapes the repository`,
		`.landform.yaml:3:10: workspaces[1].dir: "/abs" escapes the repository (absolute path)`,
		`.landform.yaml:4:10: workspaces[2].dir: "a/../../b" escapes the repository`,
		`.landform.yaml:5:10: workspaces[3].dir: "~/infra" escapes the repository (home directory)`,
		`.landform.yaml:6:10: workspaces[4].dir: must not be empty`,
		`.landform.yaml:7:10: workspaces[5].dir: "a\\b" contains "\"; separate path elements with "/"`,
	}},
	{"escaping var files", "workspaces:\n  - var_files: [../../../x.tfvars, ../../ok.tfvars, /etc/x.tfvars, .., ./]\n    dir: envs/prod\n", []string{
		`.landform.yaml:2:17: workspaces[0].var_files[0]: "../../../x.tfvars" escapes the repository (relative to dir "envs/prod")`,
		`.landform.yaml:2:53: workspaces[0].var_files[2]: "/etc/x.tfvars" escapes the repository (absolute path)`,
		`.landform.yaml:2:68: workspaces[0].var_files[3]: ".." names a directory, not a file`,
		`.landform.yaml:2:72: workspaces[0].var_files[4]: "./" names a directory, not a file`,
	}},
	{"invalid version constraint", "workspaces:\n  - dir: a\n    terraform_version: \">= 1.x\"\n  - dir: b\n    terraform_version: ''\n", []string{
		`.landform.yaml:3:24: workspaces[0].terraform_version: invalid version constraint ">= 1.x" (want e.g. ">= 1.5, < 2.0")`,
		`.landform.yaml:5:24: workspaces[1].terraform_version: invalid version constraint "" (want e.g. ">= 1.5, < 2.0")`,
	}},
	{"invalid globs", "workspaces:\n  - dir: a\n    when_modified:\n      - \"shared/[a-\"\n      - shared**/x\n      - /abs/*\n      - ../x/*\n      - ''\n", []string{
		`.landform.yaml:4:9: workspaces[0].when_modified[0]: invalid glob "shared/[a-": syntax error in pattern`,
		`.landform.yaml:5:9: workspaces[0].when_modified[1]: invalid glob "shared**/x": "**" must be a whole path element`,
		`.landform.yaml:6:9: workspaces[0].when_modified[2]: "/abs/*" is absolute; globs are relative to the repository root`,
		`.landform.yaml:7:9: workspaces[0].when_modified[3]: "../x/*" escapes the repository`,
		`.landform.yaml:8:9: workspaces[0].when_modified[4]: must not be empty`,
	}},
	{"bad env name", "workspaces:\n  - dir: a\n    env:\n      TF VAR: x\n      1X: y\n", []string{
		`.landform.yaml:4:7: workspaces[0].env["TF VAR"]: "TF VAR" is not a valid environment variable name`,
		`.landform.yaml:5:7: workspaces[0].env["1X"]: "1X" is not a valid environment variable name`,
	}},

	// YAML itself.
	{"syntax error", "version: 1\nworkspaces:\n  - dir: a: b\n", []string{
		`.landform.yaml:3: mapping values are not allowed in this context`,
	}},
	// yaml.v3 says "line 2" (it counts parser errors' lines from 0);
	// the "[" is on line 3.
	{"unclosed flow list", "version: 1\nworkspaces:\n  - dir: [a\n", []string{
		`.landform.yaml:3: did not find expected ',' or ']'`,
	}},
	{"tab indentation", "workspaces:\n\t- dir: a\n", []string{
		`.landform.yaml:2: found character that cannot start any token`,
	}},
	// yaml.v3 says "line 1": the list's first line, counted from 0.
	{"key indented one space too little", "workspaces:\n  - dir: a\n    workspace: blue\n   var_files: [x]\n", []string{
		`.landform.yaml:4: did not find expected '-' indicator`,
	}},
	// yaml.v3 says "line 2", counted from 0.
	{"list item in a mapping", "version: 1\nparallel: 2\n- dir: a\n", []string{
		`.landform.yaml:3: did not find expected key`,
	}},
	// yaml.v3 gives no line for these.
	{"control character", "version: 1\nworkspaces:\n  - dir: \"a\"\n    workspace: \x01\n", []string{
		`.landform.yaml:4: control characters are not allowed`,
	}},
	{"unknown anchor", "version: 1\nworkspaces:\n  - dir: a\n    env: *common\n", []string{
		`.landform.yaml:4: unknown anchor 'common' referenced`,
	}},
	{"tab on the first line", "\tversion: 1\n", []string{
		`.landform.yaml:1: found character that cannot start any token`,
	}},
	// yaml.v3's scanner errors name the line already.
	{"unclosed string", "version: 1\nworkspaces:\n  - dir: \"a\n\n\n", []string{
		`.landform.yaml:3: found unexpected end of stream`,
	}},
	{"two documents", "version: 1\n---\nversion: 1\n", []string{
		`.landform.yaml:2:1: a second YAML document; the file must hold only one`,
	}},

	// Several problems at once, sorted by position.
	{"several errors", `version: 3
parallel: -2
workspaces:
  - dir: envs/prod
    var_files: [../../../secrets.tfvars]
    when_modifed: [x]
  - dir: envs/prod
  - name: 7
    dir: /srv/infra
    terraform_version: "~> banana"
`, []string{
		`.landform.yaml:1:10: version: unsupported version 3 (this Landform reads version 1)`,
		`.landform.yaml:2:11: parallel: must be at least 1, got -2`,
		`.landform.yaml:5:17: workspaces[0].var_files[0]: "../../../secrets.tfvars" escapes the repository (relative to dir "envs/prod")`,
		`.landform.yaml:6:5: workspaces[0]: unknown field "when_modifed", did you mean "when_modified"?`,
		`.landform.yaml:7:5: workspaces[1]: duplicate workspace name "envs/prod" (the default from dir and workspace), already used by workspaces[0] at line 4:5`,
		`.landform.yaml:9:10: workspaces[2].dir: "/srv/infra" escapes the repository (absolute path)`,
		`.landform.yaml:10:24: workspaces[2].terraform_version: invalid version constraint "~> banana" (want e.g. ">= 1.5, < 2.0")`,
	}},
}

func TestParseRepoErrors(t *testing.T) {
	for _, tc := range repoErrorCases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := config.ParseRepo(config.RepoFile, []byte(tc.file), config.RepoOptions{})
			if err == nil {
				t.Fatalf("no error; got %+v", r)
			}
			if r != nil {
				t.Errorf("Repo %+v returned with an error", r)
			}
			checkInvalid(t, err, tc.want)
		})
	}
}

// checkInvalid checks that err is an EINVALID *ValidationError with the
// messages want, one per line.
func checkInvalid(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want:\n%s", strings.Join(want, "\n"))
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("error:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if code := landform.ErrorCode(err); code != landform.EINVALID {
		t.Errorf("ErrorCode = %q, want %q", code, landform.EINVALID)
	}
	var ve *config.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("%T is not a *ValidationError", err)
	}
	if len(ve.Errors) != len(want) {
		t.Errorf("%d problems, want %d", len(ve.Errors), len(want))
	}
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe != ve.Errors[0] {
		t.Error("errors.As does not find the first *FieldError")
	}
}

func TestParseRepoFileName(t *testing.T) {
	_, err := config.ParseRepo("infra/.landform.yaml", []byte("parallel: x\n"), config.RepoOptions{})
	var fe *config.FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("no *FieldError in %v", err)
	}
	want := config.FieldError{File: "infra/.landform.yaml", Line: 1, Column: 11, Field: "parallel", Msg: `expected an integer, got string "x"`}
	if *fe != want {
		t.Errorf("FieldError = %+v, want %+v", *fe, want)
	}
}
