package config_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
)

var ignorePositions = cmpopts.IgnoreUnexported(config.Server{})

// fullServer is a server config that sets every field.
const fullServer = `# the daemon
data_dir: /var/lib/landform
listen: "[::1]:9090"
external_url: https://landform.example.com/
parallel: 8
shutdown_grace: 2m30s
ledger: false
sandbox: off
terraform:
  cli_config: ~/.terraformrc
  binaries: [/usr/local/bin/terraform, bin/tofu]
  plugin_cache_dir: cache/plugins
  env: {TESTCLOUD_ROOT: /x, TF_LOG: 5}
  allowed_env: [AWS_PROFILE, AWS_REGION]
  pass_env: [AWS_PROFILE, TF_TOKEN_app_terraform_io]
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    branches: [main, release/v1]
    poll_interval: 30s
    auth:
      token_env: INFRA_TOKEN
      username: oauth2
    pull_requests: true
    ledger_branch: audit/ledger
    ledger: true
    lock_policy: apply
    forge:
      kind: gitea
      url: https://git.example.com/
      token_env: GITEA_TOKEN
      webhook_secret_env: HOOK_SECRET
  - name: net.core_2
    url: git@git.example.com:org/net.git
    auth:
      ssh_key_file: ~/.ssh/id_ed25519
      ssh_passphrase_env: NET_KEY_PASS
    lock_policy: none
    forge: {kind: github, project: org/network, token_file: secrets/gh-token, webhook_secret_file: secrets/gh-hook}
  - name: local
    url: ../repos/local
    auth: {none: true}
  - name: files
    url: file:///srv/git/files.git
    poll_interval: 1h
  - name: tokenfile
    url: http://git.internal/org/t.git
    auth:
      token_file: secrets/files-token
`

func TestParseServerFull(t *testing.T) {
	t.Setenv("HOME", "/home/ops")
	s, err := config.ParseServer("/etc/landform/landform.yaml", []byte(fullServer))
	if err != nil {
		t.Fatal(err)
	}
	want := &config.Server{
		Path:          "/etc/landform/landform.yaml",
		DataDir:       "/var/lib/landform",
		Listen:        "[::1]:9090",
		ExternalURL:   "https://landform.example.com",
		Parallel:      8,
		ShutdownGrace: 150 * time.Second,
		Ledger:        false,
		Sandbox:       config.SandboxOff,
		Store:         config.Store{Kind: config.StoreSQLite},
		Plans:         config.Plans{Kind: config.PlansFS},
		Terraform: config.TerraformSettings{
			CLIConfig:      "/home/ops/.terraformrc",
			Binaries:       []string{"/usr/local/bin/terraform", "/etc/landform/bin/tofu"},
			PluginCacheDir: "/etc/landform/cache/plugins",
			Env:            map[string]string{"TESTCLOUD_ROOT": "/x", "TF_LOG": "5"},
			AllowedEnv:     []string{"AWS_PROFILE", "AWS_REGION"},
			PassEnv:        []string{"AWS_PROFILE", "TF_TOKEN_app_terraform_io"},
		},
		Repos: []config.RepoSettings{{
			Repo: landform.Repo{
				Name:         "infra",
				URL:          "https://git.example.com/org/infra.git",
				Branches:     []string{"main", "release/v1"},
				PollInterval: 30 * time.Second,
				PullRequests: true,
				LedgerBranch: "audit/ledger",
				Ledger:       true,
				LockPolicy:   landform.LockApply,
				Forge:        landform.ForgeGitea,
			},
			Auth:  config.Auth{TokenEnv: "INFRA_TOKEN", Username: "oauth2"},
			Forge: config.ForgeSettings{Kind: landform.ForgeGitea, URL: "https://git.example.com", Project: "org/infra", TokenEnv: "GITEA_TOKEN", WebhookSecretEnv: "HOOK_SECRET"},
		}, {
			Repo: landform.Repo{
				Name:         "net.core_2",
				URL:          "git@git.example.com:org/net.git",
				PollInterval: time.Minute,
				LedgerBranch: "landform/ledger",
				Ledger:       false,
				LockPolicy:   landform.LockNone,
				Forge:        landform.ForgeGitHub,
			},
			Auth: config.Auth{SSHKeyFile: "/home/ops/.ssh/id_ed25519", SSHPassphraseEnv: "NET_KEY_PASS"},
			Forge: config.ForgeSettings{Kind: landform.ForgeGitHub, Project: "org/network",
				TokenFile: "/etc/landform/secrets/gh-token", WebhookSecretFile: "/etc/landform/secrets/gh-hook"},
		}, {
			Repo: landform.Repo{
				Name:         "local",
				URL:          "/etc/repos/local",
				PollInterval: time.Minute,
				LedgerBranch: "landform/ledger",
				LockPolicy:   landform.LockStrict,
			},
		}, {
			Repo: landform.Repo{
				Name:         "files",
				URL:          "file:///srv/git/files.git",
				PollInterval: time.Hour,
				LedgerBranch: "landform/ledger",
				LockPolicy:   landform.LockStrict,
			},
		}, {
			Repo: landform.Repo{
				Name:         "tokenfile",
				URL:          "http://git.internal/org/t.git",
				PollInterval: time.Minute,
				LedgerBranch: "landform/ledger",
				LockPolicy:   landform.LockStrict,
			},
			Auth: config.Auth{TokenFile: "/etc/landform/secrets/files-token"},
		}},
	}
	if diff := cmp.Diff(want, s, ignorePositions); diff != "" {
		t.Errorf("Server (-want +got):\n%s", diff)
	}
	if !s.Repos[2].Auth.IsZero() || s.Repos[0].Auth.IsZero() {
		t.Error("IsZero wrong")
	}
}

func TestParseServerDefaults(t *testing.T) {
	const repo = "repos:\n  - name: infra\n    url: https://git.example.com/org/infra.git\n"
	s, err := config.ParseServer("conf/landform.yaml", []byte(repo))
	if err != nil {
		t.Fatal(err)
	}
	want := &config.Server{
		Path:          "conf/landform.yaml",
		DataDir:       "conf/.landform",
		Listen:        "127.0.0.1:8080",
		Parallel:      runtime.NumCPU(),
		ShutdownGrace: 30 * time.Second,
		Ledger:        true,
		Sandbox:       config.SandboxRequired,
		Store:         config.Store{Kind: config.StoreSQLite},
		Plans:         config.Plans{Kind: config.PlansFS},
		Repos: []config.RepoSettings{{
			Repo: landform.Repo{
				Name:         "infra",
				URL:          "https://git.example.com/org/infra.git",
				PollInterval: time.Minute,
				LedgerBranch: "landform/ledger",
				Ledger:       true,
				LockPolicy:   landform.LockStrict,
			},
		}},
	}
	if diff := cmp.Diff(want, s, ignorePositions); diff != "" {
		t.Errorf("Server (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		name, file string
		want       []bool // each repo's Ledger
	}{
		{"global on", "ledger: true\n" + repo, []bool{true}},
		{"global off", "ledger: false\n" + repo, []bool{false}},
		{"global off, repo on", repo + "    ledger: true\nledger: false\n", []bool{true}},
		{"global on, repo off", repo + "    ledger: false\n  - name: b\n    url: /b\n", []bool{false, true}},
		{"null values are absent", "ledger:\nlisten:\n" + repo + "    ledger:\n    branches:\n", []bool{true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := config.ParseServer(config.ServerFile, []byte(tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var got []bool
			for _, r := range s.Repos {
				got = append(got, r.Ledger)
			}
			if !slicesEqual(got, tc.want) {
				t.Errorf("Ledger = %v, want %v", got, tc.want)
			}
			if s.Listen != config.DefaultListen || s.Repos[0].Branches != nil {
				t.Errorf("Listen, Branches = %q, %q; want defaults", s.Listen, s.Repos[0].Branches)
			}
		})
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// repo0 is a valid first repo entry, lines 1-3 of the files below.
const repo0 = "repos:\n  - name: infra\n    url: https://git.example.com/org/infra.git\n"

func TestParseServerErrors(t *testing.T) {
	t.Setenv("HOME", "/home/ops")
	for _, tc := range []struct {
		name, file string
		want       []string
		secret     string // must appear in no message
	}{
		// Unknown fields.
		{name: "unknown top-level field", file: "listne: :8080\n" + repo0, want: []string{
			`landform.yaml:1:1: unknown field "listne", did you mean "listen"?`,
		}},
		{name: "unknown repo field", file: repo0 + "    branch: [main]\n", want: []string{
			`landform.yaml:4:5: repos[0]: unknown field "branch", did you mean "branches"?`,
		}},
		{name: "unknown auth field", file: repo0 + "    auth:\n      tokenenv: X\n", want: []string{
			`landform.yaml:5:7: repos[0].auth: unknown field "tokenenv", did you mean "token_env"?`,
		}},
		{name: "unknown terraform field", file: "terraform:\n  cli_conifg: x\n" + repo0, want: []string{
			`landform.yaml:2:3: terraform: unknown field "cli_conifg", did you mean "cli_config"?`,
		}},
		{name: "unknown field, nothing close", file: "colour: blue\n" + repo0, want: []string{
			`landform.yaml:1:1: unknown field "colour" (known fields: data_dir, listen, external_url, parallel, shutdown_grace, ledger, sandbox, redact, limits, policies, terraform, repos, approvals, teams, identities, slack, api, web, drift, store, plans, aws)`,
		}},

		// The dashboard and token roles.
		{name: "web anonymous admin", file: "web:\n  anonymous: admin\n" + repo0, want: []string{
			`landform.yaml:2:14: web.anonymous: want none or viewer (anonymous people never act), got "admin"`,
		}},
		{name: "web session ttl too short", file: "web:\n  session_ttl: 10s\n" + repo0, want: []string{
			`landform.yaml:2:16: web.session_ttl: want between 1m and 720h, got 10s`,
		}},
		{name: "api token role unknown", file: "api:\n  tokens:\n    - {identity: ci, role: root, token_env: CI}\n" + repo0, want: []string{
			`landform.yaml:3:28: api.tokens[0].role: unknown role "root": one of viewer, approver, admin`,
		}},

		// Wrong types.
		{name: "parallel is a word", file: "parallel: many\n" + repo0, want: []string{
			`landform.yaml:1:11: parallel: expected an integer, got string "many"`,
		}},
		{name: "parallel zero", file: "parallel: 0\n" + repo0, want: []string{
			`landform.yaml:1:11: parallel: must be at least 1, got 0`,
		}},
		{name: "ledger yes", file: "ledger: yes\n" + repo0, want: []string{
			`landform.yaml:1:9: ledger: expected true or false, got string "yes"`,
		}},
		{name: "repos is a mapping", file: "repos:\n  name: infra\n", want: []string{
			`landform.yaml:2:3: repos: expected a list, got a mapping`,
		}},
		{name: "repo is a string", file: "repos:\n  - infra\n", want: []string{
			`landform.yaml:2:5: repos[0]: expected a mapping, got string "infra"`,
		}},
		{name: "terraform is a list", file: "terraform: [x]\n" + repo0, want: []string{
			`landform.yaml:1:12: terraform: expected a mapping, got a list`,
		}},
		{name: "branches is a string", file: repo0 + "    branches: main\n", want: []string{
			`landform.yaml:4:15: repos[0].branches: expected a list, got string "main"`,
		}},
		{name: "pull_requests quoted", file: repo0 + "    pull_requests: \"true\"\n", want: []string{
			`landform.yaml:4:20: repos[0].pull_requests: expected true or false, got string "true"`,
		}},
		{name: "auth is a string", file: repo0 + "    auth: ghp_0123456789abcdef\n", secret: "ghp_", want: []string{
			`landform.yaml:4:11: repos[0].auth: expected a mapping such as {token_env: NAME}, got a scalar; a secret never goes in the config itself`,
		}},
		{name: "auth is a list", file: repo0 + "    auth: [none]\n", want: []string{
			`landform.yaml:4:11: repos[0].auth: expected a mapping, got a list`,
		}},
		{name: "env value is a list", file: "terraform:\n  env: {A: [b]}\n" + repo0, want: []string{
			`landform.yaml:2:12: terraform.env.A: expected a string, got a list`,
		}},

		// Durations.
		{name: "poll_interval in words", file: repo0 + "  - name: b\n    url: /b\n    poll_interval: 5 minutes\n", want: []string{
			`landform.yaml:6:20: repos[1].poll_interval: invalid duration "5 minutes" (want e.g. "30s", "1m" or "1h30m")`,
		}},
		{name: "poll_interval below 1s", file: repo0 + "    poll_interval: 500ms\n", want: []string{
			`landform.yaml:4:20: repos[0].poll_interval: must be at least 1s, got 500ms`,
		}},
		{name: "poll_interval is a list", file: repo0 + "    poll_interval: [1m]\n", want: []string{
			`landform.yaml:4:20: repos[0].poll_interval: expected a duration such as "30s" or "1m", got a list`,
		}},
		{name: "shutdown_grace without unit", file: "shutdown_grace: 30\n" + repo0, want: []string{
			`landform.yaml:1:17: shutdown_grace: invalid duration "30" (want e.g. "30s", "1m" or "1h30m")`,
		}},
		{name: "shutdown_grace negative", file: "shutdown_grace: -5s\n" + repo0, want: []string{
			`landform.yaml:1:17: shutdown_grace: must not be negative, got -5s`,
		}},

		// Repos and their names.
		{name: "empty file", file: "", want: []string{
			`landform.yaml: missing required field "repos"`,
		}},
		{name: "missing repos", file: "listen: :8080\n", want: []string{
			`landform.yaml:1:1: missing required field "repos"`,
		}},
		{name: "null repos", file: "repos:\n", want: []string{
			`landform.yaml:1:1: missing required field "repos"`,
		}},
		{name: "empty repos", file: "repos: []\n", want: []string{
			`landform.yaml:1:8: repos: at least one repo is required`,
		}},
		{name: "missing url and name", file: "repos:\n  - branches: [main]\n", want: []string{
			`landform.yaml:2:5: repos[0]: missing required field "name"`,
			`landform.yaml:2:5: repos[0]: missing required field "url"`,
		}},
		{name: "duplicate repo names", file: repo0 + "  - name: other\n    url: /x\n  - name: infra\n    url: /y\n", want: []string{
			`landform.yaml:6:11: repos[2].name: duplicate repo name "infra", already used by repos[0] at line 2:11`,
		}},
		{name: "bad repo names", file: "repos:\n  - name: my repo\n    url: /a\n  - name: ..\n    url: /b\n  - name: ''\n    url: /c\n", want: []string{
			`landform.yaml:2:11: repos[0].name: invalid repo name "my repo": use letters, digits, ".", "_" and "-"`,
			`landform.yaml:4:11: repos[1].name: invalid repo name ".."`,
			`landform.yaml:6:11: repos[2].name: must not be empty`,
		}},

		// URLs.
		{name: "bad URLs", file: `repos:
  - {name: a, url: "htps://git.example.com/org/a.git"}
  - {name: b, url: "https:///org/b.git"}
  - {name: c, url: "https://git.example.com"}
  - {name: d, url: "git.example.com:org/d.git"}
  - {name: e, url: "file://server/srv/e.git"}
  - {name: f, url: ""}
  - {name: g, url: "~alice/g"}
  - {name: h, url: "http://git.example.com:x/h.git"}
`, want: []string{
			`landform.yaml:2:20: repos[0].url: unsupported URL scheme "htps" (want https, http, ssh, git or file), did you mean "https"?`,
			`landform.yaml:3:20: repos[1].url: URL "https:///org/b.git" has no host`,
			`landform.yaml:4:20: repos[2].url: URL "https://git.example.com" has no repository path`,
			`landform.yaml:5:20: repos[3].url: "git.example.com:org/d.git" is not a URL or a path: write an SSH address as user@host:path (git@git.example.com:org/d.git) or ssh://host/path; a local path with a ":" needs a "./" in front`,
			`landform.yaml:6:20: repos[4].url: file URL "file://server/srv/e.git" names host "server"; want file:///absolute/path`,
			`landform.yaml:7:20: repos[5].url: must not be empty`,
			`landform.yaml:8:20: repos[6].url: cannot expand "~alice/g": only "~/" is expanded; write the path out`,
			`landform.yaml:9:20: repos[7].url: invalid URL "http://git.example.com:x/h.git": invalid port ":x" after host`,
		}},

		// Secrets written inline.
		{name: "inline token in auth", file: repo0 + "    auth:\n      token: ghp_0123456789abcdef\n", secret: "ghp_0123456789abcdef", want: []string{
			`landform.yaml:5:7: repos[0].auth.token: inline secrets are not allowed: name an environment variable with auth.token_env or a file with auth.token_file`,
		}},
		{name: "inline password in a repo", file: repo0 + "    password: hunter2\n", secret: "hunter2", want: []string{
			`landform.yaml:4:5: repos[0].password: inline secrets are not allowed: name an environment variable with auth.token_env or a file with auth.token_file`,
		}},
		{name: "inline ssh key", file: repo0 + "    auth:\n      ssh_key: |\n        -----BEGIN OPENSSH PRIVATE KEY-----\n        b3BlbnNzaC1rZXk\n", secret: "b3BlbnNzaC1rZXk", want: []string{
			`landform.yaml:5:7: repos[0].auth.ssh_key: inline keys are not allowed: name a private key file with auth.ssh_key_file`,
		}},
		{name: "inline passphrase", file: repo0 + "    auth:\n      passphrase: sesame\n", secret: "sesame", want: []string{
			`landform.yaml:5:7: repos[0].auth.passphrase: inline secrets are not allowed: name an environment variable with auth.ssh_passphrase_env`,
		}},
		{name: "password in URL", file: "repos:\n  - name: infra\n    url: https://bob:s3cr3t@git.example.com/org/infra.git\n", secret: "s3cr3t", want: []string{
			`landform.yaml:3:10: repos[0].url: URL https://***@git.example.com/org/infra.git holds credentials; never write secrets in the config: name an environment variable with auth.token_env or a file with auth.token_file (and the user, if needed, with auth.username)`,
		}},
		{name: "token as URL user", file: "repos:\n  - name: infra\n    url: https://ghp_0123456789abcdef@github.com/org/infra.git\n", secret: "ghp_", want: []string{
			`landform.yaml:3:10: repos[0].url: URL https://***@github.com/org/infra.git holds credentials; never write secrets in the config: name an environment variable with auth.token_env or a file with auth.token_file (and the user, if needed, with auth.username)`,
		}},
		{name: "password in an unparsable URL", file: "repos:\n  - name: infra\n    url: https://bob:s3cr3t@git.example.com:x/infra.git\n", secret: "s3cr3t", want: []string{
			`landform.yaml:3:10: repos[0].url: invalid URL (not shown: it may hold credentials)`,
		}},
		{name: "password in an ssh URL", file: "repos:\n  - name: infra\n    url: ssh://git:s3cr3t@git.example.com/org/infra.git\n", secret: "s3cr3t", want: []string{
			`landform.yaml:3:10: repos[0].url: URL ssh://***@git.example.com/org/infra.git holds a password; never write secrets in the config: name a private key file with auth.ssh_key_file`,
		}},
		{name: "password in an scp-like address", file: "repos:\n  - name: infra\n    url: git:s3cr3t@git.example.com:org/infra.git\n", secret: "s3cr3t", want: []string{
			`landform.yaml:3:10: repos[0].url: address ***@git.example.com:org/infra.git holds a password; never write secrets in the config: name a private key file with auth.ssh_key_file`,
		}},
		{name: "token in a URL query", file: "repos:\n  - name: infra\n    url: https://git.example.com/org/infra.git?private_token=s3cr3t\n", secret: "s3cr3t", want: []string{
			`landform.yaml:3:10: repos[0].url: a repository URL must not have a query (?…) or fragment (#…)`,
		}},
		{name: "token in token_env", file: repo0 + "    auth:\n      token_env: ghp_0123456789abcdef\n      username: glpat-0123456789\n", secret: "0123456789", want: []string{
			`landform.yaml:5:18: repos[0].auth.token_env: looks like a token itself; name the environment variable that holds it instead`,
			`landform.yaml:6:17: repos[0].auth.username: looks like a token, not a user name; name an environment variable with auth.token_env or a file with auth.token_file`,
		}},
		{name: "bad env names", file: repo0 + "    auth:\n      token_env: infra-token\n  - name: b\n    url: ssh://git@host/b\n    auth: {ssh_key_file: k, ssh_passphrase_env: 1PASS}\n", want: []string{
			`landform.yaml:5:18: repos[0].auth.token_env: not a valid environment variable name (letters, digits and _, not starting with a digit)`,
			`landform.yaml:8:49: repos[1].auth.ssh_passphrase_env: not a valid environment variable name (letters, digits and _, not starting with a digit)`,
		}},

		// Auth methods.
		{name: "two auth methods", file: repo0 + "    auth:\n      token_env: INFRA_TOKEN\n      ssh_key_file: ~/.ssh/id\n", want: []string{
			`landform.yaml:6:7: repos[0].auth.ssh_key_file: cannot be used with token_env (line 5:7); choose one auth method`,
		}},
		{name: "token and none", file: repo0 + "    auth: {none: true, token_file: /run/t}\n", want: []string{
			`landform.yaml:4:24: repos[0].auth.token_file: cannot be used with none (line 4:12); choose one auth method`,
		}},
		{name: "none false is no method", file: repo0 + "    auth: {none: false, token_file: /run/t}\n" + "  - {name: b, url: /b, auth: {none: false}}\n", want: nil},
		{name: "parts without their method", file: repo0 + "    auth:\n      username: bot\n      ssh_passphrase_env: PASS\n", want: []string{
			`landform.yaml:5:7: repos[0].auth.username: goes with token_env or token_file; for SSH, put the user in the URL (ssh://git@host/path or git@host:path)`,
			`landform.yaml:6:7: repos[0].auth.ssh_passphrase_env: goes with ssh_key_file, which is not set`,
		}},
		{name: "auth that does not fit the URL", file: `repos:
  - name: a
    url: ssh://git@git.example.com/org/a.git
    auth: {token_env: A_TOKEN}
  - name: b
    url: https://git.example.com/org/b.git
    auth: {ssh_key_file: /keys/b}
  - name: c
    url: /srv/git/c
    auth: {token_file: /run/c}
  - name: d
    url: git://git.example.com/d.git
    auth: {ssh_key_file: /keys/d}
`, want: []string{
			`landform.yaml:4:12: repos[0].auth.token_env: token authentication works only with an http(s) URL, not with an SSH URL`,
			`landform.yaml:7:12: repos[1].auth.ssh_key_file: SSH key authentication works only with an ssh:// or user@host:path URL, not with an http(s) URL`,
			`landform.yaml:10:12: repos[2].auth.token_file: token authentication works only with an http(s) URL, not with a local path`,
			`landform.yaml:13:12: repos[3].auth.ssh_key_file: SSH key authentication works only with an ssh:// or user@host:path URL, not with a git:// URL`,
		}},

		// Branches, lock policy, listen, terraform.
		{name: "bad branches", file: repo0 + "    branches: [main, 'feature x', main]\n", want: []string{
			`landform.yaml:4:22: repos[0].branches[1]: invalid branch name "feature x": contains a space`,
			`landform.yaml:4:35: repos[0].branches[2]: branch "main" listed twice`,
		}},
		{name: "ledger branch watched", file: repo0 + "    branches: [main, landform/ledger]\n    ledger_branch: landform/ledger\n", want: []string{
			`landform.yaml:5:20: repos[0].ledger_branch: "landform/ledger" is also a watched branch (in branches); the ledger needs a branch of its own`,
		}},
		{name: "default ledger branch watched", file: repo0 + "    branches: [landform/ledger]\n", want: []string{
			`landform.yaml:4:16: repos[0].branches[0]: "landform/ledger" is the ledger branch; set ledger_branch to another branch to watch this one`,
		}},
		{name: "ledger branch under a watched branch", file: repo0 + "    branches: [main, release]\n    ledger_branch: main/ledger\n", want: []string{
			`landform.yaml:5:20: repos[0].ledger_branch: "main/ledger" cannot be created next to the watched branch "main" (git refs cannot be both a branch and a directory of branches); choose a ledger branch outside it`,
		}},
		{name: "watched branch under the ledger branch", file: repo0 + "    branches: [main, landform/ledger/x, landform/ledgers]\n", want: []string{
			`landform.yaml:4:22: repos[0].branches[1]: "landform/ledger/x" cannot exist next to the ledger branch "landform/ledger" (git refs cannot be both a branch and a directory of branches); set ledger_branch to another branch`,
		}},
		{name: "ledger branch as a full ref", file: repo0 + "    ledger_branch: refs/heads/ledger\n", want: []string{
			`landform.yaml:4:20: repos[0].ledger_branch: invalid branch name "refs/heads/ledger": starts with "refs/"; write the branch's short name (main, not refs/heads/main)`,
		}},
		{name: "bad lock policies", file: repo0 + "    lock_policy: strikt\n  - name: b\n    url: /b\n    lock_policy: yolo\n", want: []string{
			`landform.yaml:4:18: repos[0].lock_policy: unknown lock policy "strikt", did you mean "strict"? (want strict, apply or none)`,
			`landform.yaml:7:18: repos[1].lock_policy: unknown lock policy "yolo" (want strict, apply or none)`,
		}},
		{name: "bad forges", file: repo0 + "    forge: {kind: gitae, url: ftp://x, token: abc}\n" +
			"  - name: b\n    url: file:///srv/b.git\n    forge: {kind: gitlab, token_env: T, token_file: /t, project: a}\n" +
			"  - name: c\n    url: https://h/o/c.git\n    forge: {kind: gitea, webhook_secret_env: S}\n", want: []string{
			`landform.yaml:4:12: repos[0].forge: missing the API token: name it with token_env or token_file`,
			`landform.yaml:4:19: repos[0].forge.kind: unknown forge "gitae", did you mean "gitea"? (want gitea, github or gitlab)`,
			`landform.yaml:4:31: repos[0].forge.url: invalid URL "ftp://x": want http:// or https://`,
			`landform.yaml:4:40: repos[0].forge.token: inline secrets are not allowed: name an environment variable with forge.token_env or a file with forge.token_file`,
			`landform.yaml:7:41: repos[1].forge.token_file: cannot be used with token_env (line 7:27); choose one`,
			`landform.yaml:7:66: repos[1].forge.project: invalid project "a": want owner/name (or group/sub/name on GitLab)`,
			`landform.yaml:10:12: repos[2].forge: missing the API token: name it with token_env or token_file`,
			`landform.yaml:10:12: repos[2].forge: missing required field "url" (a Gitea server has no default address)`,
		}},
		{name: "bad external url", file: "external_url: landform.local\n" + repo0, want: []string{
			`landform.yaml:1:15: external_url: invalid URL "landform.local": want http:// or https://`,
		}},
		{name: "bad listen", file: "listen: localhost\n" + repo0, want: []string{
			`landform.yaml:1:9: listen: invalid listen address "localhost": missing port in address (want host:port, e.g. "127.0.0.1:8080" or ":8080")`,
		}},
		{name: "terraform env", file: "terraform:\n  env:\n    TF_CLI_CONFIG_FILE: /x\n    TF PLUGINS: y\n" + repo0, want: []string{
			`landform.yaml:3:5: terraform.env.TF_CLI_CONFIG_FILE: set terraform.cli_config instead: Landform passes terraform a CLI config of its own that includes it`,
			`landform.yaml:4:5: terraform.env["TF PLUGINS"]: "TF PLUGINS" is not a valid environment variable name`,
		}},
		{name: "terraform allowed_env", file: "terraform:\n  allowed_env: [AWS_PROFILE, 'A B', TF_VAR_x, TF_PLUGIN_CACHE_DIR, AWS_PROFILE, [x]]\n" + repo0, want: []string{
			`landform.yaml:2:30: terraform.allowed_env[1]: "A B" is not a valid environment variable name`,
			`landform.yaml:2:37: terraform.allowed_env[2]: "TF_VAR_x": TF_VAR_* variables are always allowed; list only other names`,
			`landform.yaml:2:47: terraform.allowed_env[3]: "TF_PLUGIN_CACHE_DIR" is set by Landform itself; a repo config may not set it`,
			`landform.yaml:2:68: terraform.allowed_env[4]: "AWS_PROFILE" listed twice`,
			`landform.yaml:2:81: terraform.allowed_env[5]: expected a string, got a list`,
		}},
		{name: "terraform allowed_env not a list", file: "terraform:\n  allowed_env: AWS_PROFILE\n" + repo0, want: []string{
			`landform.yaml:2:16: terraform.allowed_env: expected a list, got string "AWS_PROFILE"`,
		}},
		{name: "terraform pass_env", file: "terraform:\n  pass_env: [AWS_PROFILE, 'A B', TF_CLI_CONFIG_FILE, TF_DATA_DIR, TF_CLI_ARGS_plan, AWS_PROFILE]\n" + repo0, want: []string{
			`landform.yaml:2:27: terraform.pass_env[1]: "A B" is not a valid environment variable name`,
			`landform.yaml:2:34: terraform.pass_env[2]: "TF_CLI_CONFIG_FILE" cannot be passed through: set terraform.cli_config instead: Landform passes terraform a CLI config of its own that includes it`,
			`landform.yaml:2:54: terraform.pass_env[3]: "TF_DATA_DIR" is set by Landform itself and cannot be passed through`,
			`landform.yaml:2:67: terraform.pass_env[4]: "TF_CLI_ARGS_plan" is set by Landform itself and cannot be passed through`,
			`landform.yaml:2:85: terraform.pass_env[5]: "AWS_PROFILE" listed twice`,
		}},
		{name: "sandbox", file: "sandbox: requird\n" + repo0, want: []string{
			`landform.yaml:1:10: sandbox: unknown sandbox setting "requird", did you mean "required"? (want required or off)`,
		}},
		{name: "sandbox not a string", file: "sandbox: [off]\n" + repo0, want: []string{
			`landform.yaml:1:10: sandbox: expected a string, got a list`,
		}},
		{name: "bad paths", file: "data_dir: ''\nterraform:\n  binaries: [~bob/tf, [x]]\n" + repo0, want: []string{
			`landform.yaml:1:11: data_dir: must not be empty`,
			`landform.yaml:3:14: terraform.binaries[0]: cannot expand "~bob/tf": only "~/" is expanded; write the path out`,
			`landform.yaml:3:23: terraform.binaries[1]: expected a string, got a list`,
		}},

		// YAML itself.
		{name: "syntax error", file: "repos:\n  - name: a: b\n", want: []string{
			`landform.yaml:2: mapping values are not allowed in this context`,
		}},
		// yaml.v3 says "line 1": the list's first line, counted from 0.
		{name: "key indented one space too little", file: "repos:\n  - name: a\n    url: /a\n   branches: [main]\n", want: []string{
			`landform.yaml:4: did not find expected '-' indicator`,
		}},
		{name: "control character", file: repo0 + "    branches: [\"main\x7f\"]\n", want: []string{
			`landform.yaml:4: control characters are not allowed`,
		}},
		{name: "document is a list", file: "- name: a\n", want: []string{
			`landform.yaml:1:1: expected a mapping, got a list`,
		}},

		// Several problems at once, sorted by position.
		{name: "several errors", file: `listen: 127.0.0.1:99999
parallel: -1
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    poll_interval: 5 minutes
    auth:
      token_env: INFRA_TOKEN
      token: oops
  - name: infra
    url: git@git.example.com:org/infra.git
    ledger_branch: ledger.lock
    lock_polcy: apply
`, secret: "oops", want: []string{
			`landform.yaml:1:9: listen: invalid listen address "127.0.0.1:99999": port "99999" is not a number from 0 to 65535`,
			`landform.yaml:2:11: parallel: must be at least 1, got -1`,
			`landform.yaml:6:20: repos[0].poll_interval: invalid duration "5 minutes" (want e.g. "30s", "1m" or "1h30m")`,
			`landform.yaml:9:7: repos[0].auth.token: inline secrets are not allowed: name an environment variable with auth.token_env or a file with auth.token_file`,
			`landform.yaml:10:11: repos[1].name: duplicate repo name "infra", already used by repos[0] at line 4:11`,
			`landform.yaml:12:20: repos[1].ledger_branch: invalid branch name "ledger.lock": path element "ledger.lock" ends with ".lock"`,
			`landform.yaml:13:5: repos[1]: unknown field "lock_polcy", did you mean "lock_policy"?`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := config.ParseServer(config.ServerFile, []byte(tc.file))
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error; got %+v", s)
			}
			if s != nil {
				t.Errorf("Server %+v returned with an error", s)
			}
			checkInvalid(t, err, tc.want)
			if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("the error shows the secret %q", tc.secret)
			}
		})
	}
}

func TestParseServerBranchNames(t *testing.T) {
	for _, name := range []string{"main", "landform/ledger", "release-1.2", "a/b/c", "feature_x", "v1@2", "üñí"} {
		file := repo0 + "    ledger_branch: '" + name + "'\n"
		if _, err := config.ParseServer(config.ServerFile, []byte(file)); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	for _, tc := range []struct{ name, reason string }{
		{"", "empty"},
		{"refs/heads/ledger", `starts with "refs/"; write the branch's short name (main, not refs/heads/main)`},
		{"HEAD", "reserved by git"},
		{"@", "reserved by git"},
		{"-main", `starts with "-"`},
		{"/main", `starts with "/"`},
		{"landform/", `ends with "/"`},
		{"main.", `ends with "."`},
		{"a..b", `contains ".."`},
		{"a@{1}", `contains "@{"`},
		{"a//b", `contains "//"`},
		{"a\tb", "contains a control character"},
		{"a b", "contains a space"},
		{"a~1", `contains "~"`},
		{"a^", `contains "^"`},
		{"a:b", `contains ":"`},
		{"a?", `contains "?"`},
		{"a*", `contains "*"`},
		{"a[1]", `contains "["`},
		{`a\b`, `contains "\\"`},
		{".hidden", `path element ".hidden" starts with "."`},
		{"a/.b", `path element ".b" starts with "."`},
		{"a.lock/b", `path element "a.lock" ends with ".lock"`},
	} {
		file := repo0 + "    ledger_branch: \"" + strings.NewReplacer(`\`, `\\`, "\t", `\t`).Replace(tc.name) + "\"\n"
		_, err := config.ParseServer(config.ServerFile, []byte(file))
		want := `landform.yaml:4:20: repos[0].ledger_branch: invalid branch name ` + strconv.Quote(tc.name) + ": " + tc.reason
		if err == nil || err.Error() != want {
			t.Errorf("%q:\n got %v\nwant %s", tc.name, err, want)
		}
	}
}

func TestParseServerListen(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:8080", ":8080", "0.0.0.0:0", "[::1]:80", "[::]:65535", "localhost:8080", "landform.internal.:443", "[fe80::1%eth0]:80"} {
		file := "listen: \"" + ok + "\"\n" + repo0
		s, err := config.ParseServer(config.ServerFile, []byte(file))
		if err != nil {
			t.Errorf("%q: %v", ok, err)
		} else if s.Listen != ok {
			t.Errorf("Listen = %q, want %q", s.Listen, ok)
		}
	}
	for _, tc := range []struct{ addr, reason string }{
		{"8080", `missing port in address (want host:port, e.g. "127.0.0.1:8080" or ":8080")`},
		{"::1:8080", `too many colons in address (want host:port, e.g. "127.0.0.1:8080" or ":8080")`},
		{"127.0.0.1:", `port "" is not a number from 0 to 65535`},
		{"127.0.0.1:http", `port "http" is not a number from 0 to 65535`},
		{"127.0.0.1:-1", `port "-1" is not a number from 0 to 65535`},
		{"127.0.0.1:65536", `port "65536" is not a number from 0 to 65535`},
		{"my host:80", `"my host" is not an IP address or a host name`},
		{"-bad-:80", `"-bad-" is not an IP address or a host name`},
	} {
		file := "listen: \"" + tc.addr + "\"\n" + repo0
		_, err := config.ParseServer(config.ServerFile, []byte(file))
		want := `landform.yaml:1:9: listen: invalid listen address "` + tc.addr + `": ` + tc.reason
		if err == nil || err.Error() != want {
			t.Errorf("%q:\n got %v\nwant %s", tc.addr, err, want)
		}
	}
}

func TestLoadServer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "etc", "landform.yaml")
	writeFile(t, path, `data_dir: state
terraform:
  plugin_cache_dir: ../cache
repos:
  - name: local
    url: repos/infra
  - name: remote
    url: https://git.example.com/org/infra.git
    auth: {token_file: ./secrets/token}
`)
	for _, p := range []string{path, relativeTo(t, path)} {
		s, err := config.LoadServer(p)
		if err != nil {
			t.Fatal(err)
		}
		if s.Path != p {
			t.Errorf("Path = %q, want %q", s.Path, p)
		}
		want := []string{
			filepath.Join(dir, "etc", "state"),
			filepath.Join(dir, "cache"),
			filepath.Join(dir, "etc", "repos", "infra"),
			filepath.Join(dir, "etc", "secrets", "token"),
		}
		got := []string{s.DataDir, s.Terraform.PluginCacheDir, s.Repos[0].URL, s.Repos[1].Auth.TokenFile}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("paths (-want +got):\n%s", diff)
		}
	}

	// The default data_dir is next to the file too.
	writeFile(t, path, repo0)
	s, err := config.LoadServer(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "etc", ".landform"); s.DataDir != want {
		t.Errorf("DataDir = %q, want %q", s.DataDir, want)
	}

	// Problems name the file as given.
	writeFile(t, path, "parallel: x\n"+repo0)
	_, err = config.LoadServer(path)
	checkInvalid(t, err, []string{path + `:1:11: parallel: expected an integer, got string "x"`})

	_, err = config.LoadServer(filepath.Join(dir, "missing.yaml"))
	if code := landform.ErrorCode(err); code != landform.ENOTFOUND {
		t.Errorf("missing file: ErrorCode = %q (%v), want %q", code, err, landform.ENOTFOUND)
	}
}

// relativeTo returns path relative to the working directory.
func relativeTo(t *testing.T, path string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil {
		t.Fatal(err)
	}
	return rel
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestAuthToken(t *testing.T) {
	env := map[string]string{"INFRA_TOKEN": "  tok-from-env\n", "BLANK": " \t\n"}
	lookupEnv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	files := map[string]string{"/run/token": "tok-from-file\n", "/run/empty": "\n"}
	readFile := func(name string) ([]byte, error) {
		if v, ok := files[name]; ok {
			return []byte(v), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	for _, tc := range []struct {
		name    string
		auth    config.Auth
		want    string
		wantErr string
	}{
		{"none", config.Auth{}, "", ""},
		{"ssh key only", config.Auth{SSHKeyFile: "/k"}, "", ""},
		{"env, trimmed", config.Auth{TokenEnv: "INFRA_TOKEN", Username: "bot"}, "tok-from-env", ""},
		{"env not set", config.Auth{TokenEnv: "NOPE_TOKEN"}, "", "environment variable NOPE_TOKEN is not set"},
		{"env blank", config.Auth{TokenEnv: "BLANK"}, "", "environment variable BLANK is empty"},
		{"file, trimmed", config.Auth{TokenFile: "/run/token"}, "tok-from-file", ""},
		{"file missing", config.Auth{TokenFile: "/run/missing"}, "", "token file /run/missing: file does not exist"},
		{"file empty", config.Auth{TokenFile: "/run/empty"}, "", "token file /run/empty is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.auth.Token(lookupEnv, readFile)
			if tc.wantErr == "" {
				if err != nil || got != tc.want {
					t.Errorf("Token = %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Fatalf("Token error = %v, want %s", err, tc.wantErr)
			}
			if code := landform.ErrorCode(err); code != landform.EINVALID {
				t.Errorf("ErrorCode = %q, want %q", code, landform.EINVALID)
			}
		})
	}

	// A real file through os.ReadFile; a missing one is fs.ErrNotExist.
	path := filepath.Join(t.TempDir(), "token")
	writeFile(t, path, "\n  s3cr3t  \n")
	if got, err := (config.Auth{TokenFile: path}).Token(nil, nil); err != nil || got != "s3cr3t" {
		t.Errorf("Token = %q, %v; want s3cr3t", got, err)
	}
	_, err := (config.Auth{TokenFile: path + ".missing"}).Token(nil, nil)
	if !errors.Is(err, fs.ErrNotExist) || err.Error() != "token file "+path+".missing: no such file or directory" {
		t.Errorf("missing file: %v", err)
	}

	// The passphrase comes from the environment the same way.
	a := config.Auth{SSHKeyFile: "/k", SSHPassphraseEnv: "INFRA_TOKEN"}
	if got, err := a.Passphrase(lookupEnv); err != nil || got != "tok-from-env" {
		t.Errorf("Passphrase = %q, %v", got, err)
	}
	a.SSHPassphraseEnv = "NOPE"
	if _, err := a.Passphrase(lookupEnv); err == nil || err.Error() != "environment variable NOPE is not set" {
		t.Errorf("Passphrase error = %v", err)
	}
}

func TestCheckEnvironment(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "terraformrc"), "")
	writeFile(t, filepath.Join(dir, "bin", "terraform"), "#!/bin/sh\n")
	if err := os.Chmod(filepath.Join(dir, "bin", "terraform"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "bin", "tofu"), "not executable")
	writeFile(t, filepath.Join(dir, "secrets", "token"), "s3cr3t\n")
	writeFile(t, filepath.Join(dir, "secrets", "empty"), "  \n")
	writeFile(t, filepath.Join(dir, "keys", "id"), "key")
	writeFile(t, filepath.Join(dir, "repos", "infra", "main.tf"), "")
	writeFile(t, filepath.Join(dir, "state"), "a file, not a directory")
	env := map[string]string{"INFRA_TOKEN": "s3cr3t", "EMPTY": ""}
	lookupEnv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }

	path := filepath.Join(dir, "landform.yaml")
	writeFile(t, path, `terraform:
  cli_config: terraformrc
  binaries: [bin/terraform]
repos:
  - name: https
    url: https://git.example.com/org/infra.git
    auth: {token_env: INFRA_TOKEN}
  - name: file
    url: https://git.example.com/org/file.git
    auth: {token_file: secrets/token}
  - name: ssh
    url: git@git.example.com:org/infra.git
    auth: {ssh_key_file: keys/id}
  - name: local
    url: repos/infra
  - name: fileurl
    url: file://`+filepath.Join(dir, "repos", "infra")+`
`)
	s, err := config.LoadServer(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckEnvironment(lookupEnv); err != nil {
		t.Errorf("CheckEnvironment: %v", err)
	}

	writeFile(t, path, `data_dir: state
terraform:
  cli_config: missingrc
  binaries: [bin/terraform, bin/tofu, bin/missing, bin]
  plugin_cache_dir: bin/terraform
repos:
  - name: https
    url: https://git.example.com/org/infra.git
    auth: {token_env: UNSET_TOKEN}
  - name: file
    url: https://git.example.com/org/file.git
    auth: {token_file: secrets/empty}
  - name: ssh
    url: git@git.example.com:org/infra.git
    auth:
      ssh_key_file: keys/missing
      ssh_passphrase_env: EMPTY
  - name: local
    url: repos/missing
  - name: notdir
    url: repos/infra/main.tf
  - name: nofile
    url: https://git.example.com/org/nofile.git
    auth: {token_file: secrets/missing}
  - name: forge
    url: https://git.example.com/org/forge.git
    forge: {kind: github, token_env: UNSET_FORGE, webhook_secret_file: secrets/empty}
`)
	s, err = config.LoadServer(path)
	if err != nil {
		t.Fatal(err)
	}
	err = s.CheckEnvironment(lookupEnv)
	want := []string{
		path + `:1:11: data_dir: data directory ` + filepath.Join(dir, "state") + ` is not a directory`,
		path + `:3:15: terraform.cli_config: terraform CLI config ` + filepath.Join(dir, "missingrc") + `: no such file or directory`,
		path + `:4:29: terraform.binaries[1]: terraform binary ` + filepath.Join(dir, "bin", "tofu") + ` is not executable`,
		path + `:4:39: terraform.binaries[2]: terraform binary ` + filepath.Join(dir, "bin", "missing") + `: no such file or directory`,
		path + `:4:52: terraform.binaries[3]: terraform binary ` + filepath.Join(dir, "bin") + ` is a directory`,
		path + `:5:21: terraform.plugin_cache_dir: plugin cache directory ` + filepath.Join(dir, "bin", "terraform") + ` is not a directory`,
		path + `:9:23: repos[0].auth.token_env: environment variable UNSET_TOKEN is not set (repo "https")`,
		path + `:12:24: repos[1].auth.token_file: token file ` + filepath.Join(dir, "secrets", "empty") + ` is empty (repo "file")`,
		path + `:16:21: repos[2].auth.ssh_key_file: SSH key file ` + filepath.Join(dir, "keys", "missing") + `: no such file or directory (repo "ssh")`,
		path + `:17:27: repos[2].auth.ssh_passphrase_env: environment variable EMPTY is empty (repo "ssh")`,
		path + `:19:10: repos[3].url: repository ` + filepath.Join(dir, "repos", "missing") + `: no such file or directory (repo "local")`,
		path + `:21:10: repos[4].url: repository ` + filepath.Join(dir, "repos", "infra", "main.tf") + ` is not a directory (repo "notdir")`,
		path + `:24:24: repos[5].auth.token_file: token file ` + filepath.Join(dir, "secrets", "missing") + `: no such file or directory (repo "nofile")`,
		path + `:27:38: repos[6].forge.token_env: environment variable UNSET_FORGE is not set (repo "forge")`,
		path + `:27:72: repos[6].forge.webhook_secret_file: webhook secret file ` + filepath.Join(dir, "secrets", "empty") + ` is empty (repo "forge")`,
	}
	checkInvalid(t, err, want)

	// A Server built in code has no positions.
	s = &config.Server{Path: "built", Repos: []config.RepoSettings{{Repo: landform.Repo{Name: "x", URL: "https://h/x"}, Auth: config.Auth{TokenEnv: "UNSET"}}}}
	checkInvalid(t, s.CheckEnvironment(lookupEnv), []string{
		`built: repos[0].auth.token_env: environment variable UNSET is not set (repo "x")`,
	})
}

func TestParseServerRedactPatterns(t *testing.T) {
	const repo = "repos:\n  - name: infra\n    url: https://git.example.com/org/infra.git\n"
	s, err := config.ParseServer("landform.yaml", []byte("redact: ['AKIA[0-9A-Z]{16}', 'ghp_\\w+']\n"+repo))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Redact) != 2 || !s.Redact[0].MatchString("key AKIAABCDEFGHIJKLMNOP") || !s.Redact[1].MatchString("ghp_abc") {
		t.Errorf("redact = %v", s.Redact)
	}
	_, err = config.ParseServer("landform.yaml", []byte("redact: ['(unclosed', 'x*']\n"+repo))
	checkInvalid(t, err, []string{
		"landform.yaml:1:10: redact[0]: invalid regular expression: error parsing regexp: missing closing ): `(unclosed`",
		`landform.yaml:1:23: redact[1]: pattern "x*" matches the empty string: it would mask nothing useful and everything else`,
	})
}

func TestParseServerLimits(t *testing.T) {
	const repo = "repos:\n  - name: infra\n    url: https://git.example.com/org/infra.git\n    branches: [main]\n"
	s, err := config.ParseServer("landform.yaml", []byte("limits:\n  repo_config_bytes: 4096\n  workspaces_per_repo: 50\n  queued_runs_per_repo: 20\nterraform:\n  allowed_env: [AWS_PROFILE]\n"+repo))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Limits{RepoConfigBytes: 4096, WorkspacesPerRepo: 50, QueuedRunsPerRepo: 20}
	if s.Limits != want {
		t.Errorf("limits = %+v, want %+v", s.Limits, want)
	}
	if o := s.RepoOptions(); o.MaxFileSize != 4096 || o.MaxWorkspaces != 50 || len(o.AllowedEnv) != 1 {
		t.Errorf("RepoOptions = %+v", o)
	}
	_, err = config.ParseServer("landform.yaml", []byte("limits:\n  queued_runs_per_repo: 0\n  workspaces: 3\n"+repo))
	checkInvalid(t, err, []string{
		"landform.yaml:2:25: limits.queued_runs_per_repo: must be at least 1, got 0",
		`landform.yaml:3:3: limits: unknown field "workspaces" (known fields: repo_config_bytes, workspaces_per_repo, queued_runs_per_repo)`,
	})
}

func TestEngineVariablesCannotBeConfigured(t *testing.T) {
	const repo = "repos:\n  - name: infra\n    url: https://git.example.com/org/infra.git\n"
	_, err := config.ParseServer("landform.yaml", []byte("terraform:\n  pass_env: [LANDFORM_VERSION_JSON]\n  allowed_env: [LANDFORM_TERRAFORM]\n  env: {TF_CLI_ARGS_plan: x}\n"+repo))
	checkInvalid(t, err, []string{
		`landform.yaml:2:14: terraform.pass_env[0]: "LANDFORM_VERSION_JSON" is set by Landform itself and cannot be passed through`,
		`landform.yaml:3:17: terraform.allowed_env[0]: "LANDFORM_TERRAFORM" is set by Landform itself; a repo config may not set it`,
		`landform.yaml:4:9: terraform.env.TF_CLI_ARGS_plan: "TF_CLI_ARGS_plan" is set by Landform itself`,
	})
}

func TestParseServerPolicies(t *testing.T) {
	s, err := config.ParseServer("/etc/landform/landform.yaml", []byte(`policies:
  owners: [alice, platform-team]
  sets:
    - name: guard-rails
      source: builtin
      workspaces: ["envs/prod/**", "./global/*"]
      params:
        protect_types: {types: [aws_db_instance]}
        max_destroys: {max: 5}
    - name: team
      source: dir:policies
      enforcement: warn
    - name: own
      source: repo
`+repo0))
	if err != nil {
		t.Fatal(err)
	}
	want := config.Policies{
		Owners: []string{"alice", "platform-team"},
		Sets: []config.PolicySet{
			{Name: "guard-rails", Source: config.PolicyBuiltin, Enforcement: landform.EnforceDeny, Workspaces: []string{"envs/prod/**", "global/*"},
				Params: map[string]any{"protect_types": map[string]any{"types": []any{"aws_db_instance"}}, "max_destroys": map[string]any{"max": 5}}},
			{Name: "team", Source: "/etc/landform/policies", Enforcement: landform.EnforceWarn},
			{Name: "own", Source: config.PolicyRepo, Enforcement: landform.EnforceDeny},
		},
	}
	if diff := cmp.Diff(want, s.Policies); diff != "" {
		t.Errorf("Policies (-want +got):\n%s", diff)
	}
	if !s.Policies.IsOwner("alice") || s.Policies.IsOwner("mallory") || s.Policies.IsOwner("") {
		t.Error("IsOwner wrong")
	}

	_, err = config.ParseServer("landform.yaml", []byte(`policies:
  sets:
    - name: a
      source: builtin
      enforcement: block
    - {name: a, source: builtin}
    - source: builtin
    - {name: b, source: builtin, params: [x]}
    - {name: c, source: http://policies}
`+repo0))
	checkInvalid(t, err, []string{
		`landform.yaml:5:20: policies.sets[0].enforcement: unknown enforcement "block" (want deny or warn)`,
		`landform.yaml:6:7: policies.sets[1]: policy set "a" is defined twice (first at line 3)`,
		`landform.yaml:7:7: policies.sets[2]: missing required field "name"`,
		`landform.yaml:8:42: policies.sets[3].params: expected a mapping, got a list`,
		`landform.yaml:9:25: policies.sets[4].source: unknown policy source "http://policies" (want builtin, repo, or dir:PATH)`,
	})
}

func TestParseServerLedgerSigning(t *testing.T) {
	s, err := config.ParseServer("/etc/landform/landform.yaml", []byte("ledger: {signing_key_file: keys/ledger, signing_passphrase_env: KEY_PASS}\n"+repo0))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Ledger || s.LedgerSigningKeyFile != "/etc/landform/keys/ledger" || s.LedgerSigningPassphraseEnv != "KEY_PASS" {
		t.Errorf("ledger = %v, %q, %q", s.Ledger, s.LedgerSigningKeyFile, s.LedgerSigningPassphraseEnv)
	}
	s, err = config.ParseServer("landform.yaml", []byte("ledger: {enabled: false}\n"+repo0))
	if err != nil || s.Ledger {
		t.Errorf("ledger {enabled: false}: %v, %v", s.Ledger, err)
	}
	_, err = config.ParseServer("landform.yaml", []byte("ledger: {signing_passphrase_env: KEY_PASS, signing_key: x}\n"+repo0))
	checkInvalid(t, err, []string{
		`landform.yaml:1:10: ledger.signing_passphrase_env: goes with signing_key_file, which is not set`,
		`landform.yaml:1:44: ledger: unknown field "signing_key", did you mean "signing_key_file"?`,
	})
}

func TestSandboxPaths(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "state", "x"), "")
	path := filepath.Join(dir, "landform.yaml")
	writeFile(t, path, "data_dir: data\nterraform:\n  sandbox_paths: {read_only: [/nonexistent-landform], read_write: [state, data/plans]}\n"+repo0)
	s, err := config.LoadServer(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Terraform.SandboxReadOnly) != 1 || s.Terraform.SandboxReadWrite[0] != filepath.Join(dir, "state") {
		t.Errorf("sandbox paths: %v %v", s.Terraform.SandboxReadOnly, s.Terraform.SandboxReadWrite)
	}
	checkInvalid(t, s.CheckEnvironment(os.LookupEnv), []string{
		path + `:3:31: terraform.sandbox_paths.read_only[0]: sandbox path /nonexistent-landform: no such file or directory`,
		path + `:3:75: terraform.sandbox_paths.read_write[1]: sandbox path ` + filepath.Join(dir, "data", "plans") + `: no such file or directory`,
		path + `:3:75: terraform.sandbox_paths.read_write[1]: sandbox path ` + filepath.Join(dir, "data", "plans") + ` overlaps the data directory ` + filepath.Join(dir, "data") + `: terraform would reach the database and every plan`,
	})
}

func TestLedgerFor(t *testing.T) {
	s, err := config.ParseServer("landform.yaml", []byte("ledger: false\n"+repo0+"    ledger: true\n  - name: other\n    url: https://h/o/x.git\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !s.LedgerFor("infra") || s.LedgerFor("other") || s.LedgerFor("unknown") {
		t.Errorf("LedgerFor: infra %v, other %v, unknown %v", s.LedgerFor("infra"), s.LedgerFor("other"), s.LedgerFor("unknown"))
	}
}

func TestParseServerWeb(t *testing.T) {
	s, err := config.ParseServer("landform.yaml", []byte("web:\n  anonymous: viewer\n  session_ttl: 2h\n"+repo0))
	if err != nil {
		t.Fatal(err)
	}
	if s.Web.Anonymous != landform.RoleViewer || s.Web.SessionTTL != 2*time.Hour {
		t.Errorf("Web = %+v, want anonymous viewer, 2h", s.Web)
	}
	s, err = config.ParseServer("landform.yaml", []byte("web:\n  anonymous: none\n"+repo0))
	if err != nil {
		t.Fatal(err)
	}
	if s.Web.Anonymous != "" {
		t.Errorf("anonymous: none gave %q, want closed", s.Web.Anonymous)
	}
}
