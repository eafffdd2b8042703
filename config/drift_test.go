package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/config"
	"github.com/landform/landform/runner"
)

// driftServer sets every drift field, at the top level and in a repo.
const driftServer = `drift:
  schedule: "*/30 * * * *"
  timezone: Europe/Berlin
  jitter: 10m
  max_parallel: 8
  remediation: plan
  ledger: true
  issue: false
  slack_webhook_env: DRIFT_SLACK
  workspaces:
    - match: "./envs/prod/**"
      schedule: "@nightly"
      jitter: 0s
      remediation: auto
      auto_apply: true
    - match: "sandbox/*"
      schedule: "off"
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    forge: {kind: gitea, url: https://git.example.com, token_env: GITEA_TOKEN}
    drift:
      timezone: America/New_York
      max_parallel: 2
      issue: true
      slack_webhook_file: secrets/infra-webhook
      workspaces:
        - {match: "envs/prod/db", schedule: "@every 6h", remediation: none}
  - name: net
    url: https://git.example.com/org/net.git
    ledger: false
    drift: {ledger: false, remediation: none}
  - name: bare
    url: https://git.example.com/org/bare.git
`

// locationNames compares locations by name.
var locationNames = cmp.Comparer(func(a, b *time.Location) bool { return a.String() == b.String() })

func durPtr(d time.Duration) *time.Duration { return &d }

func TestParseServerDrift(t *testing.T) {
	s, err := config.ParseServer("/etc/landform/landform.yaml", []byte(driftServer))
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	ny, _ := time.LoadLocation("America/New_York")
	want := config.Drift{
		DriftOptions: config.DriftOptions{
			Schedule: "*/30 * * * *", Location: berlin, Jitter: durPtr(10 * time.Minute), MaxParallel: 8,
			Remediation: landform.RemediationPlan, Ledger: boolPtr(true), Issue: boolPtr(false), SlackWebhookEnv: "DRIFT_SLACK",
		},
		Workspaces: []config.DriftWorkspace{
			{Match: "envs/prod/**", DriftOptions: config.DriftOptions{Schedule: "@nightly", Jitter: durPtr(0), Remediation: landform.RemediationAuto, AutoApply: true}},
			{Match: "sandbox/*", DriftOptions: config.DriftOptions{Schedule: "off"}},
		},
	}
	if diff := cmp.Diff(want, s.Drift, locationNames); diff != "" {
		t.Errorf("Drift (-want +got):\n%s", diff)
	}
	wantRepo := config.Drift{
		DriftOptions: config.DriftOptions{Location: ny, MaxParallel: 2, Issue: boolPtr(true), SlackWebhookFile: "/etc/landform/secrets/infra-webhook"},
		Workspaces: []config.DriftWorkspace{
			{Match: "envs/prod/db", DriftOptions: config.DriftOptions{Schedule: "@every 6h", Remediation: landform.RemediationNone}},
		},
	}
	if diff := cmp.Diff(wantRepo, s.Repos[0].Drift, locationNames); diff != "" {
		t.Errorf("repos[0].Drift (-want +got):\n%s", diff)
	}

	infra := config.DriftRepoSettings{MaxParallel: 2, Ledger: true, Issue: true, SlackWebhookFile: "/etc/landform/secrets/infra-webhook"}
	for _, tc := range []struct {
		repo, workspace string
		want            config.DriftSettings
	}{
		// Level 1 (repo entry) for schedule and remediation; level 2 (repo)
		// for the zone; level 3 (top-level entry) for the jitter.
		{"infra", "envs/prod/db", config.DriftSettings{Schedule: "@every 6h", Location: ny, Jitter: 0, Remediation: landform.RemediationNone, DriftRepoSettings: infra}},
		// Level 3: schedule, jitter, remediation with auto_apply.
		{"infra", "envs/prod/app", config.DriftSettings{Schedule: "@nightly", Location: ny, Jitter: 0, Remediation: landform.RemediationAuto, AutoApply: true, DriftRepoSettings: infra}},
		// Level 4, but the repo's zone.
		{"infra", "envs/dev", config.DriftSettings{Schedule: "*/30 * * * *", Location: ny, Jitter: 10 * time.Minute, Remediation: landform.RemediationPlan, DriftRepoSettings: infra}},
		{"infra", "sandbox/x", config.DriftSettings{Schedule: "off", Location: ny, Jitter: 10 * time.Minute, Remediation: landform.RemediationPlan, DriftRepoSettings: infra}},
		// The repo's remediation (level 2) beats the top-level entry's
		// (level 3); its ledger is off, it has no forge.
		{"net", "envs/prod/app", config.DriftSettings{Schedule: "@nightly", Location: berlin, Remediation: landform.RemediationNone,
			DriftRepoSettings: config.DriftRepoSettings{MaxParallel: 8, SlackWebhookEnv: "DRIFT_SLACK"}}},
		// Only the top level; no forge, so no issue.
		{"bare", "x", config.DriftSettings{Schedule: "*/30 * * * *", Location: berlin, Jitter: 10 * time.Minute, Remediation: landform.RemediationPlan,
			DriftRepoSettings: config.DriftRepoSettings{MaxParallel: 8, Ledger: true, SlackWebhookEnv: "DRIFT_SLACK"}}},
	} {
		got := s.DriftSettings(tc.repo, tc.workspace)
		if diff := cmp.Diff(tc.want, got, locationNames); diff != "" {
			t.Errorf("DriftSettings(%s, %s) (-want +got):\n%s", tc.repo, tc.workspace, diff)
		}
		if got.DriftRepoSettings != s.DriftRepo(tc.repo) {
			t.Errorf("DriftSettings(%s, %s) repo-wide %+v, DriftRepo %+v", tc.repo, tc.workspace, got.DriftRepoSettings, s.DriftRepo(tc.repo))
		}
		if got.AutoApply != (got.Remediation == landform.RemediationAuto) {
			t.Errorf("DriftSettings(%s, %s): remediation %q with auto_apply %v", tc.repo, tc.workspace, got.Remediation, got.AutoApply)
		}
	}
	if !s.DriftSettings("infra", "sandbox/x").Off() || s.DriftSettings("infra", "envs/dev").Off() {
		t.Error("Off")
	}
}

func TestDriftDefaults(t *testing.T) {
	s, err := config.ParseServer("landform.yaml", []byte(repo0+`    forge: {kind: gitea, url: https://git.example.com, token_env: T}
  - name: plain
    url: https://git.example.com/org/plain.git
`))
	if err != nil {
		t.Fatal(err)
	}
	def := config.DefaultDriftSettings()
	want := config.DriftSettings{Schedule: "@nightly", Location: time.UTC, Remediation: "none",
		DriftRepoSettings: config.DriftRepoSettings{MaxParallel: 4, Ledger: true, Issue: true}}
	if diff := cmp.Diff(want, def, locationNames); diff != "" {
		t.Errorf("DefaultDriftSettings (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, s.DriftSettings("infra", "envs/prod"), locationNames); diff != "" {
		t.Errorf("with a forge (-want +got):\n%s", diff)
	}
	want.Issue = false
	if diff := cmp.Diff(want, s.DriftSettings("plain", "a"), locationNames); diff != "" {
		t.Errorf("without a forge (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, s.DriftSettings("unknown", "a"), locationNames); diff != "" {
		t.Errorf("unknown repo (-want +got):\n%s", diff)
	}
	if s.DriftSettings("infra", "a").Location != time.UTC {
		t.Error("default location is not time.UTC")
	}
	// The global ledger switch holds for drift reports too.
	s, err = config.ParseServer("landform.yaml", []byte("ledger: false\n"+repo0))
	if err != nil {
		t.Fatal(err)
	}
	if s.DriftRepo("infra").Ledger {
		t.Error("drift ledger on with the ledger off")
	}
}

func TestParseServerDriftErrors(t *testing.T) {
	t.Setenv("HOME", "/home/ops")
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"inline webhook", "drift: {slack_webhook: https://hooks.slack.com/services/T0/B0/secret}\n" + repo0, []string{
			`landform.yaml:1:9: drift.slack_webhook: the Slack webhook URL is a secret: name an environment variable with slack_webhook_env or a file with slack_webhook_file`,
		}},
		{"inline webhook in a repo", repo0 + "    drift: {webhook_url: x}\n", []string{
			`landform.yaml:4:13: repos[0].drift.webhook_url: the Slack webhook URL is a secret: name an environment variable with slack_webhook_env or a file with slack_webhook_file`,
		}},
		{"webhook env and file", "drift: {slack_webhook_env: A, slack_webhook_file: /b}\n" + repo0, []string{
			`landform.yaml:1:31: drift.slack_webhook_file: cannot be used with slack_webhook_env (line 1:9); choose one`,
		}},
		{"webhook env that is a URL", "drift: {slack_webhook_env: 'https://hooks.slack.com/services/T0/B0/X'}\n" + repo0, []string{
			`landform.yaml:1:28: drift.slack_webhook_env: not a valid environment variable name (letters, digits and _, not starting with a digit)`,
		}},
		{"auto without auto_apply", "drift: {remediation: auto}\n" + repo0, []string{
			`landform.yaml:1:22: drift.remediation: "auto" applies what drifted without a person: it needs auto_apply: true next to it, an explicit opt-in (or use remediation: plan)`,
		}},
		{"auto with auto_apply false", repo0 + "    drift: {remediation: auto, auto_apply: false}\n", []string{
			`landform.yaml:4:26: repos[0].drift.remediation: "auto" applies what drifted without a person: it needs auto_apply: true next to it, an explicit opt-in (or use remediation: plan)`,
		}},
		{"auto_apply without auto", "drift: {auto_apply: true}\n" + repo0, []string{
			`landform.yaml:1:21: drift.auto_apply: auto_apply: true goes with remediation: auto next to it, and there is none`,
		}},
		{"auto_apply with plan", "drift: {auto_apply: true, remediation: plan}\n" + repo0, []string{
			`landform.yaml:1:21: drift.auto_apply: auto_apply: true goes with remediation: auto, not "plan"`,
		}},
		{"auto_apply a level away", "drift:\n  auto_apply: true\n  workspaces: [{match: a, remediation: auto}]\n" + repo0, []string{
			`landform.yaml:2:15: drift.auto_apply: auto_apply: true goes with remediation: auto next to it, and there is none`,
			`landform.yaml:3:40: drift.workspaces[0].remediation: "auto" applies what drifted without a person: it needs auto_apply: true next to it, an explicit opt-in (or use remediation: plan)`,
		}},
		{"unknown remediation", "drift: {remediation: plann}\n" + repo0, []string{
			`landform.yaml:1:22: drift.remediation: unknown remediation "plann", did you mean "plan"? (want none, plan or auto)`,
		}},
		{"schedules", `drift:
  workspaces:
    - {match: a, schedule: nightly}
    - {match: b, schedule: "0 2 * *"}
    - {match: c, schedule: "@every 500ms"}
    - {match: d, schedule: "@every soon"}
    - {match: e, schedule: "CRON_TZ=Europe/Berlin 0 2 * * *"}
    - {match: f, schedule: "0 0 30 2 *"}
    - {match: g, schedule: ""}
    - {match: h, schedule: "0 0 2 * * *"}
    - {match: i, schedule: "@reboot"}
` + repo0, []string{
			`landform.yaml:3:28: drift.workspaces[0].schedule: unknown schedule "nightly", did you mean "@nightly"? (want a cron spec such as "0 2 * * *", @hourly, @daily, @weekly, @every 6h, @nightly or off)`,
			`landform.yaml:4:28: drift.workspaces[1].schedule: invalid schedule "0 2 * *": expected exactly 5 fields, found 4: [0 2 * *] (want a cron spec such as "0 2 * * *", @hourly, @daily, @weekly, @every 6h, @nightly or off)`,
			`landform.yaml:5:28: drift.workspaces[2].schedule: @every takes whole seconds, at least 1s; got 500ms`,
			`landform.yaml:6:28: drift.workspaces[3].schedule: invalid duration "soon" (want e.g. "@every 6h")`,
			`landform.yaml:7:28: drift.workspaces[4].schedule: give the time zone with timezone, not in the schedule`,
			`landform.yaml:8:28: drift.workspaces[5].schedule: schedule "0 0 30 2 *" never fires`,
			`landform.yaml:9:28: drift.workspaces[6].schedule: must not be empty (off turns drift checks off)`,
			`landform.yaml:10:28: drift.workspaces[7].schedule: invalid schedule "0 0 2 * * *": expected exactly 5 fields, found 6: [0 0 2 * * *] (want a cron spec such as "0 2 * * *", @hourly, @daily, @weekly, @every 6h, @nightly or off)`,
			`landform.yaml:11:28: drift.workspaces[8].schedule: invalid schedule "@reboot": unrecognized descriptor: @reboot (want a cron spec such as "0 2 * * *", @hourly, @daily, @weekly, @every 6h, @nightly or off)`,
		}},
		{"timezones", "drift: {timezone: Mars/Olympus}\n" + repo0 + "    drift: {timezone: Local}\n", []string{
			`landform.yaml:1:19: drift.timezone: unknown time zone "Mars/Olympus" (want an IANA name such as "Europe/Berlin", "America/New_York" or "UTC")`,
			`landform.yaml:5:23: repos[0].drift.timezone: "Local" is the zone of whatever machine Landform runs on; name the zone, e.g. "Europe/Berlin" or "UTC"`,
		}},
		{"jitter", "drift: {jitter: 2h, workspaces: [{match: a, jitter: -1s}, {match: b, jitter: soon}]}\n" + repo0, []string{
			`landform.yaml:1:17: drift.jitter: must be at most 1h, got 2h`,
			`landform.yaml:1:53: drift.workspaces[0].jitter: must not be negative, got -1s`,
			`landform.yaml:1:78: drift.workspaces[1].jitter: invalid duration "soon" (want e.g. "30s", "1m" or "1h30m")`,
		}},
		{"max_parallel", "drift: {max_parallel: 0}\n" + repo0 + "    drift: {max_parallel: 257}\n", []string{
			`landform.yaml:1:23: drift.max_parallel: must be from 1 to 256, got 0`,
			`landform.yaml:5:27: repos[0].drift.max_parallel: must be from 1 to 256, got 257`,
		}},
		{"repo-wide keys in an entry", "drift:\n  workspaces: [{match: a, max_parallel: 2, issue: false, slack_webhook_env: X}]\n" + repo0, []string{
			`landform.yaml:2:27: drift.workspaces[0].max_parallel: max_parallel is repository-wide: set it in drift or repos[i].drift, not in a workspace entry`,
			`landform.yaml:2:44: drift.workspaces[0].issue: issue is repository-wide: set it in drift or repos[i].drift, not in a workspace entry`,
			`landform.yaml:2:58: drift.workspaces[0].slack_webhook_env: slack_webhook_env is repository-wide: set it in drift or repos[i].drift, not in a workspace entry`,
		}},
		{"entries", "drift:\n  workspaces:\n    - {schedule: off}\n    - {match: 'a/**'}\n    - {match: './a/**', schedule: '@daily'}\n    - {match: '/abs'}\n" + repo0, []string{
			`landform.yaml:3:7: drift.workspaces[0]: missing required field "match" (a glob of workspace names, e.g. "envs/prod/**")`,
			`landform.yaml:5:15: drift.workspaces[2].match: "a/**" is the glob of drift.workspaces[1] already, whose entry applies first: this one would never apply`,
			`landform.yaml:6:15: drift.workspaces[3].match: "/abs" is absolute; globs are relative to the repository root`,
		}},
		{"unknown field", "drift: {schedul: '@daily'}\n" + repo0, []string{
			`landform.yaml:1:9: drift: unknown field "schedul", did you mean "schedule"?`,
		}},
		{"scalar", "drift: off\n" + repo0, []string{
			`landform.yaml:1:8: drift: expected a mapping such as {schedule: "@nightly", remediation: plan}, got string "off"; to turn drift checks off, write {schedule: off}`,
		}},
		{"issue without a forge", repo0 + "    drift: {issue: true}\n", []string{
			`landform.yaml:4:20: repos[0].drift.issue: this repo has no forge to open an issue on; set forge, or leave issue out`,
		}},
		{"issue where no repo has a forge", "drift: {issue: true}\n" + repo0, []string{
			`landform.yaml:1:16: drift.issue: no repo has a forge to open an issue on`,
		}},
		{"ledger of a repo without one", "ledger: false\n" + repo0 + "    drift: {ledger: true}\n", []string{
			`landform.yaml:5:21: repos[0].drift.ledger: this repo's ledger is off (ledger: false): there is no ledger branch to write drift reports to`,
		}},
		{"ledger of no repo", "drift: {ledger: true}\n" + repo0 + "    ledger: false\n", []string{
			`landform.yaml:1:17: drift.ledger: every repo's ledger is off: there is no ledger branch to write drift reports to`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.ParseServer("landform.yaml", []byte(tc.in))
			checkInvalid(t, err, tc.want)
		})
	}
}

func TestDriftOutletsAllowed(t *testing.T) {
	for _, in := range []string{
		// A repo's ledger on under a global switch off, and the reverse
		// at the top level where one repo still has it.
		"ledger: false\n" + repo0 + "    ledger: true\n    drift: {ledger: true}\n",
		"drift: {ledger: true}\n" + repo0 + "  - name: b\n    url: /b\n    ledger: false\n",
		"drift: {issue: true}\n" + repo0 + "    forge: {kind: gitea, url: https://git.example.com, token_env: T}\n  - name: b\n    url: /b\n",
		// Turning outlets off is always fine.
		"ledger: false\ndrift: {ledger: false, issue: false}\n" + repo0 + "    drift: {ledger: false, issue: false}\n",
	} {
		if _, err := config.ParseServer("landform.yaml", []byte(in)); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
}

func TestRepoConfigRefusesDrift(t *testing.T) {
	_, err := config.ParseRepo(config.RepoFile, []byte("drift:\n  remediation: auto\n  auto_apply: true\n"), config.RepoOptions{})
	checkInvalid(t, err, []string{
		`.landform.yaml:1:1: drift: drift checks are the operator's: set them in the server config (drift, or repos[i].drift), not in the repository`,
	})
}

func TestDriftSlackWebhook(t *testing.T) {
	dir := t.TempDir()
	const hook = "https://hooks.slack.com/services/T000/B000/XXXXSECRET"
	writeFile(t, filepath.Join(dir, "hook"), hook+"\n")
	writeFile(t, filepath.Join(dir, "not-a-url"), "XXXXSECRET\n")
	cfg := `drift: {slack_webhook_env: DRIFT_HOOK}
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    drift: {slack_webhook_file: hook}
  - name: net
    url: https://git.example.com/org/net.git
    drift: {slack_webhook_file: not-a-url}
  - name: dns
    url: https://git.example.com/org/dns.git
    drift: {slack_webhook_file: missing}
`
	path := filepath.Join(dir, "landform.yaml")
	writeFile(t, path, cfg)
	s, err := config.LoadServer(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("DRIFT_HOOK", "  "+hook+"\n")
	if got := s.Drift.Secrets(); len(got) != 1 || got[0] != hook {
		t.Errorf("Drift.Secrets() = %q", got)
	}
	if got := s.Repos[0].Drift.Secrets(); len(got) != 1 || got[0] != hook {
		t.Errorf("repos[0].Drift.Secrets() = %q", got)
	}
	if got := s.Repos[2].Drift.Secrets(); len(got) != 0 {
		t.Errorf("Secrets of a missing file = %q", got)
	}
	if got := (config.Drift{}).Secrets(); len(got) != 0 {
		t.Errorf("Secrets of no webhook = %q", got)
	}
	u, err := s.DriftRepo("infra").SlackWebhook(nil, nil)
	if err != nil || u != hook {
		t.Errorf("SlackWebhook = %q, %v", u, err)
	}
	// The repo's file replaces the top level's variable; net's own.
	if r := s.DriftRepo("infra"); r.SlackWebhookEnv != "" || r.SlackWebhookFile != filepath.Join(dir, "hook") {
		t.Errorf("DriftRepo(infra) = %+v", r)
	}
	if r := s.DriftRepo("unknown"); r.SlackWebhookEnv != "DRIFT_HOOK" {
		t.Errorf("DriftRepo(unknown) = %+v", r)
	}

	err = s.CheckEnvironment(func(name string) (string, bool) { return "", false })
	checkInvalid(t, err, []string{
		path + `:1:28: drift.slack_webhook_env: environment variable DRIFT_HOOK is not set`,
		path + `:8:33: repos[1].drift.slack_webhook_file: slack webhook file ` + filepath.Join(dir, "not-a-url") + ` does not hold an http(s) URL (a Slack incoming webhook such as https://hooks.slack.com/services/…) (repo "net")`,
		path + `:11:33: repos[2].drift.slack_webhook_file: slack webhook file ` + filepath.Join(dir, "missing") + `: no such file or directory (repo "dns")`,
	})
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("the error holds the secret: %v", err)
	}
}

// TestDriftSchedulesAgree checks that the config accepts exactly the
// schedules the runner can run.
func TestDriftSchedulesAgree(t *testing.T) {
	for _, spec := range []string{
		"@nightly", "off", "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually",
		"@every 10s", "@every 1h30m", "*/15 * * * *", "0 2 * * 1-5", "0 6 * JAN,JUL MON", "0 0 29 2 *",
		"", "nightly", "Off", "@reboot", "@every", "@every 500ms", "@every 1.5s", "@every -1m", "0 2 * *", "0 0 2 * * *",
		"CRON_TZ=UTC 0 2 * * *", "TZ=UTC @daily", "0 0 30 2 *", "61 * * * *", "0 24 * * *",
	} {
		in := "drift: {schedule: '" + spec + "'}\n" + repo0
		_, cerr := config.ParseServer("landform.yaml", []byte(in))
		_, rerr := runner.ParseDriftSchedule(spec, nil, 0)
		if (cerr == nil) != (rerr == nil) {
			t.Errorf("schedule %q: config says %v, runner says %v", spec, cerr, rerr)
		}
	}
}

// TestDriftDocExample checks the example of docs/configuration.md
// ("Drift detection").
func TestDriftDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Drift detection\n.*?```yaml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("no example in the Drift detection section")
	}
	s, err := config.ParseServer("landform.yaml", m[1])
	if err != nil {
		t.Fatal(err)
	}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	repo := config.DriftRepoSettings{MaxParallel: 4, Ledger: true, Issue: true, SlackWebhookEnv: "DRIFT_SLACK_WEBHOOK"}
	for ws, want := range map[string]config.DriftSettings{
		"envs/prod/app": {Schedule: "0 */4 * * *", Location: berlin, Jitter: 15 * time.Minute, Remediation: "plan", DriftRepoSettings: repo},
		"envs/dev":      {Schedule: "@nightly", Location: berlin, Jitter: 15 * time.Minute, Remediation: "auto", AutoApply: true, DriftRepoSettings: repo},
		"sandbox/x":     {Schedule: "off", Location: berlin, Jitter: 15 * time.Minute, Remediation: "auto", AutoApply: true, DriftRepoSettings: repo},
	} {
		if diff := cmp.Diff(want, s.DriftSettings("infra", ws), locationNames); diff != "" {
			t.Errorf("%s (-want +got):\n%s", ws, diff)
		}
	}
}
