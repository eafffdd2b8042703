package config_test

import (
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
)

// approvalsServer sets every approvals, teams, identities, slack and api
// field.
const approvalsServer = `approvals:
  approvers: ["team:platform", "team:org/sre", carol]
  required_approvals: 1
  allow_self_approval: false
  apply_requirements: [approved, policies_passed, undiverged]
  apply: before_merge
  workspaces:
    - match: "./envs/prod/**"
      required_approvals: 2
      apply: on_merge
    - match: "{global,dns}/*"
      approvers: []
teams:
  platform: [alice, Bob]
  sre.oncall: [dave]
identities:
  alice: {slack: [U0123ABC, W0456DEF], emails: [alice@example.com, Alice@Users.noreply.example.com]}
  bob: {emails: [bob@example.com]}
  dave: {}
slack:
  signing_secret_env: SLACK_SIGNING_SECRET
  channels: {C0123ABC: infra, G0456DEF: net}
api:
  tokens:
    - {identity: alice, sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08}
    - {identity: ci, token_env: CI_API_TOKEN}
    - {identity: bot, role: viewer, token_file: secrets/bot-token}
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    forge: {kind: gitea, url: https://git.example.com, token_env: GITEA_TOKEN}
    approvals:
      approvers: []
      allow_self_approval: true
      apply_requirements: []
      workspaces:
        - {match: "envs/prod/db", approvers: ["team:org/dba"], required_approvals: 3}
  - name: net
    url: https://git.example.com/org/net.git
`

func boolPtr(b bool) *bool { return &b }

func TestParseServerApprovals(t *testing.T) {
	s, err := config.ParseServer("/etc/landform/landform.yaml", []byte(approvalsServer))
	if err != nil {
		t.Fatal(err)
	}
	wantTop := config.Approvals{
		ApprovalSettings: config.ApprovalSettings{
			Approvers:         []string{"team:platform", "team:org/sre", "carol"},
			RequiredApprovals: 1,
			AllowSelfApproval: boolPtr(false),
			ApplyRequirements: []string{landform.RequireApproved, landform.RequirePoliciesPassed, landform.RequireUndiverged},
			Apply:             landform.ApplyBeforeMerge,
		},
		Workspaces: []config.WorkspaceApprovals{
			{Match: "envs/prod/**", ApprovalSettings: config.ApprovalSettings{RequiredApprovals: 2, Apply: landform.ApplyOnMerge}},
			{Match: "{global,dns}/*", ApprovalSettings: config.ApprovalSettings{Approvers: []string{}}},
		},
	}
	// cmp tells nil from empty slices: an unset field from one set to [].
	if diff := cmp.Diff(wantTop, s.Approvals); diff != "" {
		t.Errorf("Approvals (-want +got):\n%s", diff)
	}
	wantRepo := config.Approvals{
		ApprovalSettings: config.ApprovalSettings{Approvers: []string{}, AllowSelfApproval: boolPtr(true), ApplyRequirements: []string{}},
		Workspaces: []config.WorkspaceApprovals{
			{Match: "envs/prod/db", ApprovalSettings: config.ApprovalSettings{Approvers: []string{"team:org/dba"}, RequiredApprovals: 3}},
		},
	}
	if diff := cmp.Diff(wantRepo, s.Repos[0].Approvals); diff != "" {
		t.Errorf("repos[0].Approvals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(config.Approvals{}, s.Repos[1].Approvals); diff != "" {
		t.Errorf("repos[1].Approvals (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string][]string{"platform": {"alice", "Bob"}, "sre.oncall": {"dave"}}, s.Teams); diff != "" {
		t.Errorf("Teams (-want +got):\n%s", diff)
	}
	wantIDs := map[string]config.Identity{
		"alice": {Slack: []string{"U0123ABC", "W0456DEF"}, Emails: []string{"alice@example.com", "Alice@Users.noreply.example.com"}},
		"bob":   {Emails: []string{"bob@example.com"}},
		"dave":  {},
	}
	if diff := cmp.Diff(wantIDs, s.Identities); diff != "" {
		t.Errorf("Identities (-want +got):\n%s", diff)
	}
	wantSlack := config.Slack{SigningSecretEnv: "SLACK_SIGNING_SECRET", Channels: map[string]string{"C0123ABC": "infra", "G0456DEF": "net"}}
	if diff := cmp.Diff(wantSlack, s.Slack); diff != "" {
		t.Errorf("Slack (-want +got):\n%s", diff)
	}
	wantAPI := config.API{Tokens: []config.APIToken{
		{Identity: "alice", Role: landform.RoleApprover, SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"},
		{Identity: "ci", Role: landform.RoleApprover, TokenEnv: "CI_API_TOKEN"},
		{Identity: "bot", Role: landform.RoleViewer, TokenFile: "/etc/landform/secrets/bot-token"},
	}}
	if diff := cmp.Diff(wantAPI, s.API); diff != "" {
		t.Errorf("API (-want +got):\n%s", diff)
	}
}

func TestParseServerApprovalsDefaults(t *testing.T) {
	s, err := config.ParseServer("landform.yaml", []byte(repo0))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(config.Approvals{}, s.Approvals); diff != "" {
		t.Errorf("Approvals (-want +got):\n%s", diff)
	}
	if s.Teams != nil || s.Identities != nil || !s.Slack.IsZero() || len(s.API.Tokens) != 0 {
		t.Errorf("Teams %v, Identities %v, Slack %+v, API %+v; want none", s.Teams, s.Identities, s.Slack, s.API)
	}
	got := s.ApprovalRules("infra", "envs/prod", nil)
	want := landform.ApprovalRules{Required: 1, Requirements: landform.DefaultApplyRequirements, Mode: landform.ApplyBeforeMerge}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ApprovalRules (-want +got):\n%s", diff)
	}
}

func TestParseServerApprovalsErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		want       []string
		secret     string // must appear in no message
	}{
		{name: "approvers", file: `approvals:
  approvers: [alice, Alice, "Team:x", "team:", "a b", "team:a//b", "x:y", "", [z]]
` + repo0, want: []string{
			`landform.yaml:2:22: approvals.approvers[1]: "Alice" is listed already (approvals.approvers[0])`,
			`landform.yaml:2:29: approvals.approvers[2]: "Team:x": write a team as "team:x", in lower case`,
			`landform.yaml:2:39: approvals.approvers[3]: "team:" names no team; want "team:NAME" (one of teams) or "team:org/slug" (a team of the forge)`,
			`landform.yaml:2:48: approvals.approvers[4]: "a b" is not an identity: no white space, control or formatting characters`,
			`landform.yaml:2:55: approvals.approvers[5]: invalid team "team:a//b": want "team:NAME" (one of teams) or "team:org/slug" (a team of the forge), with letters, digits, ".", "_" and "-"`,
			`landform.yaml:2:68: approvals.approvers[6]: "x:y" is not an identity: no ":" (a team is "team:NAME")`,
			`landform.yaml:2:75: approvals.approvers[7]: must not be empty`,
			`landform.yaml:2:79: approvals.approvers[8]: expected a string, got a list`,
		}},
		{name: "scalar fields", file: `approvals:
  approvers: alice
  required_approvals: 0
  allow_self_approval: yes
  apply_requirements: [aproved, mergeable, mergeable, sometimes]
  apply: onmerge
` + repo0, want: []string{
			`landform.yaml:2:14: approvals.approvers: expected a list, got string "alice"`,
			`landform.yaml:3:23: approvals.required_approvals: must be at least 1, got 0`,
			`landform.yaml:4:24: approvals.allow_self_approval: expected true or false, got string "yes"`,
			`landform.yaml:5:24: approvals.apply_requirements[0]: unknown apply requirement "aproved", did you mean "approved"? (want approved, mergeable, undiverged or policies_passed)`,
			`landform.yaml:5:44: approvals.apply_requirements[2]: "mergeable" is listed already (approvals.apply_requirements[1])`,
			`landform.yaml:5:55: approvals.apply_requirements[3]: unknown apply requirement "sometimes" (want approved, mergeable, undiverged or policies_passed)`,
			`landform.yaml:6:10: approvals.apply: unknown apply mode "onmerge", did you mean "on_merge"? (want before_merge or on_merge)`,
		}},
		{name: "workspace entries", file: `approvals:
  workspaces:
    - match: "envs/prod/**"
      required_approvals: 2
    - match: "./envs/prod/**"
    - approvers: []
    - match: "{a"
    - {match: /abs}
    - {match: x, workspaces: []}
  workspace: []
` + repo0, want: []string{
			`landform.yaml:5:14: approvals.workspaces[1].match: "envs/prod/**" is the glob of approvals.workspaces[0] already, whose entry applies first: this one would never apply`,
			`landform.yaml:6:7: approvals.workspaces[2]: missing required field "match" (a glob of workspace names, e.g. "envs/prod/**")`,
			`landform.yaml:7:14: approvals.workspaces[3].match: invalid glob "{a": unclosed '{'`,
			`landform.yaml:8:15: approvals.workspaces[4].match: "/abs" is absolute; globs are relative to the repository root`,
			`landform.yaml:9:18: approvals.workspaces[5]: unknown field "workspaces" (known fields: match, approvers, required_approvals, allow_self_approval, apply_requirements, apply)`,
			`landform.yaml:10:3: approvals: unknown field "workspace", did you mean "workspaces"?`,
		}},
		{name: "teams", file: `teams:
  platform: [alice, bob, "team:x", bob, "a b"]
  Platform: [x]
  "a b": [x]
  empty:
  sre: x
` + repo0, want: []string{
			`landform.yaml:2:26: teams.platform[2]: teams do not nest: list the members of "team:x" here instead`,
			`landform.yaml:2:36: teams.platform[3]: "bob" is listed already (teams.platform[1])`,
			`landform.yaml:2:41: teams.platform[4]: "a b" is not an identity: no white space, control or formatting characters`,
			`landform.yaml:3:3: teams.Platform: team "Platform" differs from "platform" (line 2:3) only in case; team names are compared ignoring case`,
			`landform.yaml:4:3: teams["a b"]: invalid team name "a b": use letters, digits, ".", "_" and "-"`,
			`landform.yaml:5:9: teams.empty: expected a list, got null`,
			`landform.yaml:6:8: teams.sre: expected a list, got string "x"`,
		}},
		{name: "identities", file: `identities:
  alice: {slack: [U0123ABC, x], emails: [alice@example.com, nope, "A <a@b>"]}
  bob: {slack: [U0123ABC], emails: [ALICE@example.com], github: x}
  Alice: {}
  team:x: {}
  carol: [x]
` + repo0, want: []string{
			`landform.yaml:2:29: identities.alice.slack[1]: "x" is not a Slack user ID (want e.g. U0123ABC: the member ID of the user's Slack profile)`,
			`landform.yaml:2:61: identities.alice.emails[1]: "nope" is not an email address (want e.g. alice@example.com)`,
			`landform.yaml:2:67: identities.alice.emails[2]: "A <a@b>" is not an email address (want e.g. alice@example.com)`,
			`landform.yaml:3:17: identities.bob.slack[0]: Slack user U0123ABC is listed already (identities.alice.slack[0]); a Slack user is one identity`,
			`landform.yaml:3:37: identities.bob.emails[0]: email ALICE@example.com is listed already (identities.alice.emails[0]); an email is one identity's`,
			`landform.yaml:3:57: identities.bob: unknown field "github" (known fields: slack, emails)`,
			`landform.yaml:4:3: identities.Alice: identity "Alice" differs from "alice" (line 2:3) only in case; logins are compared ignoring case`,
			`landform.yaml:5:3: identities["team:x"]: "team:x" is a team, not an identity`,
			`landform.yaml:6:10: identities.carol: expected a mapping, got a list`,
		}},
		{name: "slack", secret: "xoxb-", file: `slack:
  signing_secret: xoxb-0123456789
  channels: {C0123ABC: infra, C0999: infr, bad: x, C0777: nothing}
` + repo0, want: []string{
			`landform.yaml:2:3: slack.signing_secret: inline secrets are not allowed: name an environment variable with slack.signing_secret_env or a file with slack.signing_secret_file`,
			`landform.yaml:3:38: slack.channels.C0999: unknown repo "infr", did you mean "infra"?`,
			`landform.yaml:3:44: slack.channels.bad: "bad" is not a Slack channel ID (want e.g. C0123ABC: the ID at the bottom of the channel's details)`,
			`landform.yaml:3:59: slack.channels.C0777: unknown repo "nothing" (want the name of one of repos)`,
		}},
		{name: "slack without a secret", file: "slack: {channels: {C0123ABC: infra}}\n" + repo0, want: []string{
			`landform.yaml:1:8: slack: missing the signing secret: name it with signing_secret_env or signing_secret_file (without it, no slash command can be verified)`,
		}},
		{name: "slack both secrets", file: "slack: {signing_secret_env: A, signing_secret_file: /a}\n" + repo0, want: []string{
			`landform.yaml:1:32: slack.signing_secret_file: cannot be used with signing_secret_env (line 1:9); choose one`,
		}},
		{name: "slack is a secret", secret: "xoxb-", file: "slack: xoxb-0123456789\n" + repo0, want: []string{
			`landform.yaml:1:8: slack: expected a mapping such as {signing_secret_env: NAME, channels: {C0123ABC: infra}}, got a scalar; a secret never goes in the config itself`,
		}},
		{name: "slack secret env is a secret", secret: "xoxb-", file: "slack: {signing_secret_env: xoxb-0123456789}\n" + repo0, want: []string{
			`landform.yaml:1:29: slack.signing_secret_env: looks like a token itself; name the environment variable that holds it instead`,
		}},
		{name: "api", secret: "ghp_", file: `api:
  tokens:
    - {identity: alice, sha256: ghp_0123456789}
    - {identity: ci, token_env: CI, token_file: x}
    - {token: ghp_0123456789}
    - ghp_0123456789
    - {identity: x, token_env: CI}
    - {identity: y, sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08}
    - {identity: z, sha256: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08}
    - {sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a07}
    - {identity: w}
` + repo0, want: []string{
			`landform.yaml:3:33: api.tokens[0].sha256: want the token's sha256: 64 hexadecimal digits (printf %s TOKEN | sha256sum)`,
			`landform.yaml:4:37: api.tokens[1].token_file: cannot be used with token_env (line 4:22); choose one`,
			`landform.yaml:5:7: api.tokens[2]: missing required field "identity" (who the token acts as)`,
			`landform.yaml:5:8: api.tokens[2].token: inline secrets are not allowed: give the token's sha256, or name an environment variable with token_env or a file with token_file`,
			`landform.yaml:6:7: api.tokens[3]: expected a mapping such as {identity: ci, token_env: NAME}, got a scalar; a secret never goes in the config itself`,
			`landform.yaml:7:32: api.tokens[4].token_env: environment variable CI is the token of api.tokens[1] already; a token acts as one identity`,
			`landform.yaml:9:29: api.tokens[6].sha256: the same sha256 is the token of api.tokens[5] already; a token acts as one identity`,
			`landform.yaml:10:7: api.tokens[7]: missing required field "identity" (who the token acts as)`,
			`landform.yaml:11:7: api.tokens[8]: missing the token: give its sha256, or name it with token_env or token_file`,
		}},
		{name: "api is a secret", secret: "ghp_", file: "api: {tokens: ghp_0123456789}\n" + repo0, want: []string{
			`landform.yaml:1:15: api.tokens: expected a list such as [{identity: ci, token_env: NAME}], got a scalar; a secret never goes in the config itself`,
		}},
		{name: "teams no one can ask", file: `approvals:
  approvers: ["team:platform", "team:org/sre", "team:nope"]
teams: {platform: [alice]}
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    approvals:
      approvers: ["team:Platform"]
      workspaces: [{match: "**", approvers: ["team:org/dba"]}]
`, want: []string{
			`landform.yaml:2:32: approvals.approvers[1]: team "org/sre" is not one of teams, and no repo has a forge to ask who is in it`,
			`landform.yaml:2:48: approvals.approvers[2]: team "nope" is not one of teams, and no repo has a forge to ask who is in it`,
			`landform.yaml:9:46: repos[0].approvals.workspaces[0].approvers[0]: team "org/dba" is not one of teams, and this repo has no forge to ask who is in it`,
		}},
		{name: "repo approvals", file: repo0 + "    approvals: {required_approvals: -1, apply: now}\n", want: []string{
			`landform.yaml:4:37: repos[0].approvals.required_approvals: must be at least 1, got -1`,
			`landform.yaml:4:48: repos[0].approvals.apply: unknown apply mode "now" (want before_merge or on_merge)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.ParseServer("landform.yaml", []byte(tc.file))
			checkInvalid(t, err, tc.want)
			if tc.secret != "" && err != nil && strings.Contains(err.Error(), tc.secret) {
				t.Errorf("a message holds the secret:\n%v", err)
			}
		})
	}
}

func TestParseRepoApprovals(t *testing.T) {
	r, err := config.ParseRepo(config.RepoFile, []byte(`approvals:
  approvers: [alice, "team:org/sre"]
  required_approvals: 2
  allow_self_approval: true
  apply_requirements: [approved, mergeable]
  apply: on_merge
  workspaces:
    - {match: "envs/dev/**", required_approvals: 1, approvers: []}
`), config.RepoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := config.Approvals{
		ApprovalSettings: config.ApprovalSettings{
			Approvers: []string{"alice", "team:org/sre"}, RequiredApprovals: 2, AllowSelfApproval: boolPtr(true),
			ApplyRequirements: []string{landform.RequireApproved, landform.RequireMergeable}, Apply: landform.ApplyOnMerge,
		},
		Workspaces: []config.WorkspaceApprovals{{Match: "envs/dev/**", ApprovalSettings: config.ApprovalSettings{RequiredApprovals: 1, Approvers: []string{}}}},
	}
	if diff := cmp.Diff(want, r.Approvals); diff != "" {
		t.Errorf("Approvals (-want +got):\n%s", diff)
	}

	_, err = config.ParseRepo(config.RepoFile, []byte(`approvals:
  approvers: [alice, "team:"]
  required_approvals: many
  workspaces: [{match: "**", apply: merged}]
  teams: {x: [y]}
`), config.RepoOptions{})
	checkInvalid(t, err, []string{
		`.landform.yaml:2:22: approvals.approvers[1]: "team:" names no team; want "team:NAME" (one of teams) or "team:org/slug" (a team of the forge)`,
		`.landform.yaml:3:23: approvals.required_approvals: expected an integer, got string "many"`,
		`.landform.yaml:4:37: approvals.workspaces[0].apply: unknown apply mode "merged" (want before_merge or on_merge)`,
		`.landform.yaml:5:3: approvals: unknown field "teams" (known fields: approvers, required_approvals, allow_self_approval, apply_requirements, apply, workspaces)`,
	})
}

func TestApprovalRulesPrecedence(t *testing.T) {
	s, err := config.ParseServer("landform.yaml", []byte(`approvals:
  approvers: [top]
  required_approvals: 2
  apply_requirements: [approved]
  workspaces:
    - {match: "envs/prod/**", approvers: [top-prod], apply: on_merge}
    - {match: "envs/**", approvers: [top-envs], allow_self_approval: true}
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    approvals:
      required_approvals: 3
      workspaces:
        - {match: "envs/prod/db", approvers: [repo-db]}
  - name: other
    url: https://git.example.com/org/other.git
`))
	if err != nil {
		t.Fatal(err)
	}
	repoCfg, err := config.ParseRepo(config.RepoFile, []byte(`approvals:
  apply_requirements: [approved, mergeable]
  workspaces:
    - {match: "envs/prod/db", required_approvals: 4}
    - {match: "envs/prod/*", approvers: []}
`), config.RepoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules := func(approvers []string, required int, self bool, reqs []string, mode string) landform.ApprovalRules {
		return landform.ApprovalRules{Approvers: approvers, Required: required, AllowSelf: self, Requirements: reqs, Mode: mode}
	}
	approved := []string{landform.RequireApproved}
	approvedMergeable := []string{landform.RequireApproved, landform.RequireMergeable}
	for _, tc := range []struct {
		name, repo, workspace string
		repoCfg               *config.Repo
		want                  landform.ApprovalRules
	}{
		{"top level only", "other", "global", nil,
			rules([]string{"top"}, 2, false, approved, landform.ApplyBeforeMerge)},
		{"top-level workspace entry, the first that matches", "other", "envs/prod/app", nil,
			rules([]string{"top-prod"}, 2, false, approved, landform.ApplyOnMerge)},
		{"top-level workspace entry, the second", "other", "envs/dev", nil,
			rules([]string{"top-envs"}, 2, true, approved, landform.ApplyBeforeMerge)},
		{"server repo approvals over the top-level workspace entry", "infra", "envs/prod/app", nil,
			rules([]string{"top-prod"}, 3, false, approved, landform.ApplyOnMerge)},
		{"server repo workspace entry", "infra", "envs/prod/db", nil,
			rules([]string{"repo-db"}, 3, false, approved, landform.ApplyOnMerge)},
		{"repo config approvals", "infra", "global", repoCfg,
			rules([]string{"top"}, 3, false, approvedMergeable, landform.ApplyBeforeMerge)},
		{"repo config workspace entry over everything", "infra", "envs/prod/db", repoCfg,
			rules([]string{"repo-db"}, 4, false, approvedMergeable, landform.ApplyOnMerge)},
		{"repo config sets anyone", "infra", "envs/prod/app", repoCfg,
			rules([]string{}, 3, false, approvedMergeable, landform.ApplyOnMerge)},
		{"unknown repo: the top level", "nope", "envs/prod/db", nil,
			rules([]string{"top-prod"}, 2, false, approved, landform.ApplyOnMerge)},
		{"a workspace of another Terraform workspace", "other", "envs/prod/app@blue", nil,
			rules([]string{"top-prod"}, 2, false, approved, landform.ApplyOnMerge)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := s.ApprovalRules(tc.repo, tc.workspace, tc.repoCfg)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ApprovalRules(%q, %q) (-want +got):\n%s", tc.repo, tc.workspace, diff)
			}
		})
	}

	// The result is a copy: changing it changes no later result.
	got := s.ApprovalRules("other", "global", nil)
	got.Approvers[0], got.Requirements[0] = "mallory", "nothing"
	if again := s.ApprovalRules("other", "global", nil); again.Approvers[0] != "top" || again.Requirements[0] != landform.RequireApproved {
		t.Errorf("ApprovalRules shares memory with the config: %+v", again)
	}
	def := config.DefaultApprovalRules()
	def.Requirements[0] = "nothing"
	if landform.DefaultApplyRequirements[0] != landform.RequireApproved {
		t.Error("DefaultApprovalRules shares landform.DefaultApplyRequirements")
	}
}

func TestAPIIdentity(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bot-token"), "bot-secret\n")
	sum := sha256.Sum256([]byte("alice-secret"))
	a := config.API{Tokens: []config.APIToken{
		{Identity: "alice", SHA256: hex.EncodeToString(sum[:])},
		{Identity: "ci", TokenEnv: "CI_API_TOKEN"},
		{Identity: "bot", TokenFile: filepath.Join(dir, "bot-token")},
	}}
	env := map[string]string{"CI_API_TOKEN": " ci-secret "}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	for _, tc := range []struct {
		token, want string
		ok          bool
	}{
		{"alice-secret", "alice", true},
		{"ci-secret", "ci", true},
		{"bot-secret", "bot", true},
		{"bot-secret\n", "", false},
		{"alice-secre", "", false},
		{"", "", false},
		{hex.EncodeToString(sum[:]), "", false}, // the hash is not the token
	} {
		id, ok, err := a.Identity(tc.token, lookup, nil)
		if err != nil || id != tc.want || ok != tc.ok {
			t.Errorf("Identity(%q) = %q, %v, %v; want %q, %v", tc.token, id, ok, err, tc.want, tc.ok)
		}
	}

	// Read at each call: a rotated file takes effect at once.
	writeFile(t, filepath.Join(dir, "bot-token"), "rotated")
	if id, ok, _ := a.Identity("rotated", lookup, nil); !ok || id != "bot" {
		t.Errorf("after rotation: %q, %v", id, ok)
	}
	if _, ok, _ := a.Identity("bot-secret", lookup, nil); ok {
		t.Error("the rotated-out token still works")
	}

	// A token that cannot be read: others still work; no match is an
	// error naming the variable.
	delete(env, "CI_API_TOKEN")
	if id, ok, err := a.Identity("alice-secret", lookup, nil); err != nil || !ok || id != "alice" {
		t.Errorf("with CI_API_TOKEN unset, alice: %q, %v, %v", id, ok, err)
	}
	_, ok, err := a.Identity("ci-secret", lookup, nil)
	if ok || landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "CI_API_TOKEN is not set") {
		t.Errorf("with CI_API_TOKEN unset: %v, %v", ok, err)
	}
	if got := (config.API{}).Secrets(); len(got) != 0 {
		t.Errorf("Secrets of no tokens: %q", got)
	}
}

func TestSlackSigningSecret(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "slack"), "s3cret\n")
	s := config.Slack{SigningSecretFile: filepath.Join(dir, "slack")}
	if sec, err := s.SigningSecret(nil, nil); err != nil || sec != "s3cret" {
		t.Errorf("SigningSecret = %q, %v", sec, err)
	}
	if got := s.Secrets(); len(got) != 1 || got[0] != "s3cret" {
		t.Errorf("Secrets = %q", got)
	}
	s = config.Slack{SigningSecretEnv: "SLACK"}
	_, err := s.SigningSecret(func(string) (string, bool) { return "", false }, nil)
	if landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("unset variable: %v", err)
	}
	if sec, err := (config.Slack{}).SigningSecret(nil, nil); sec != "" || err != nil {
		t.Errorf("no Slack: %q, %v", sec, err)
	}
}

func TestCheckEnvironmentSlackAndAPI(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "landform.yaml")
	writeFile(t, path, `slack: {signing_secret_file: slack-secret}
api:
  tokens:
    - {identity: ci, token_env: CI_API_TOKEN}
    - {identity: bot, token_file: bot-token}
`+repo0)
	s, err := config.LoadServer(path)
	if err != nil {
		t.Fatal(err)
	}
	checkInvalid(t, s.CheckEnvironment(func(string) (string, bool) { return "", false }), []string{
		path + `:1:30: slack.signing_secret_file: slack signing secret file ` + filepath.Join(dir, "slack-secret") + `: no such file or directory`,
		path + `:4:33: api.tokens[0].token_env: environment variable CI_API_TOKEN is not set`,
		path + `:5:35: api.tokens[1].token_file: api token file ` + filepath.Join(dir, "bot-token") + `: no such file or directory`,
	})
	writeFile(t, filepath.Join(dir, "slack-secret"), "x")
	writeFile(t, filepath.Join(dir, "bot-token"), "y")
	if err := s.CheckEnvironment(func(string) (string, bool) { return "z", true }); err != nil {
		t.Error(err)
	}
}

func TestGlobsCompile(t *testing.T) {
	// What the config accepts, modules.MatchGlob never refuses.
	_, err := config.ParseRepo(config.RepoFile, []byte("workspaces: [{dir: a, when_modified: ['{x,y']}]\n"), config.RepoOptions{})
	checkInvalid(t, err, []string{`.landform.yaml:1:39: workspaces[0].when_modified[0]: invalid glob "{x,y": unclosed '{'`})
	_, err = config.ParseServer("landform.yaml", []byte("policies: {sets: [{name: a, source: builtin, workspaces: ['{x']}]}\n"+repo0))
	checkInvalid(t, err, []string{`landform.yaml:1:59: policies.sets[0].workspaces[0]: invalid glob "{x": unclosed '{'`})
}

// TestApprovalRulesDocExample checks the example of docs/configuration.md
// ("Where the rules come from").
func TestApprovalRulesDocExample(t *testing.T) {
	s, err := config.ParseServer("landform.yaml", []byte(`approvals:
  approvers: ["team:platform"]
  workspaces:
    - {match: "envs/prod/**", required_approvals: 2}
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    forge: {kind: gitea, url: https://git.example.com, token_env: T}
    approvals: {allow_self_approval: true}
teams: {platform: [alice]}
`))
	if err != nil {
		t.Fatal(err)
	}
	repoCfg, err := config.ParseRepo(config.RepoFile, []byte(`approvals:
  workspaces:
    - {match: "envs/prod/db", approvers: ["team:org/dba"]}
`), config.RepoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	reqs := landform.DefaultApplyRequirements
	for ws, want := range map[string]landform.ApprovalRules{
		"envs/prod/db":  {Approvers: []string{"team:org/dba"}, Required: 2, AllowSelf: true, Requirements: reqs, Mode: landform.ApplyBeforeMerge},
		"envs/prod/app": {Approvers: []string{"team:platform"}, Required: 2, AllowSelf: true, Requirements: reqs, Mode: landform.ApplyBeforeMerge},
		"envs/dev":      {Approvers: []string{"team:platform"}, Required: 1, AllowSelf: true, Requirements: reqs, Mode: landform.ApplyBeforeMerge},
	} {
		if diff := cmp.Diff(want, s.ApprovalRules("infra", ws, repoCfg)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", ws, diff)
		}
	}
}
