package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // timezone names the same zones on every machine

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/landform/landform"
)

// Drift schedules with a meaning of their own.
const ()

// Defaults and bounds of the drift settings.
const (
	DefaultDriftSchedule    = landform.DriftNightly
	DefaultDriftMaxParallel = 4
	MaxDriftMaxParallel     = 256
	MaxDriftJitter          = time.Hour
	// MinDriftEvery is the shortest @every schedule.
	MinDriftEvery = time.Second
)

// DriftOptions are the drift settings one level of the server config
// gives (its top level, one of its repos, or a workspace entry of either).
// Every field is optional: one that is not set keeps what the levels below
// give (see Server.DriftSettings). Drift is the operator's alone: a
// repository's .landform.yaml has no say in it.
//
//	schedule: "@nightly"          # cron spec, descriptor, @every D, @nightly (02:00) or off; default @nightly
//	timezone: Europe/Berlin       # IANA name, default UTC
//	jitter: 10m                   # up to 1h, default 0
//	max_parallel: 4               # drift checks of one repo at once, 1 to 256 (not in workspace entries)
//	remediation: none             # none, plan or auto (auto needs auto_apply: true next to it)
//	auto_apply: true
//	ledger: true                  # outlets (not in workspace entries)
//	issue: true
//	slack_webhook_env: DRIFT_SLACK_WEBHOOK   # or slack_webhook_file
type DriftOptions struct {
	// Schedule is a standard 5-field cron spec, a descriptor (@hourly,
	// @daily, @midnight, @weekly, @monthly, @yearly, @every D of whole
	// seconds, at least MinDriftEvery), landform.DriftNightly or landform.DriftOff; "" when
	// not set.
	Schedule string
	// Location is the zone of the schedule's times; nil when not set.
	Location *time.Location
	// Jitter is at most MaxDriftJitter; nil when not set.
	Jitter *time.Duration
	// MaxParallel is 1 to MaxDriftMaxParallel; 0 when not set.
	MaxParallel int
	// Remediation is one of landform.DriftRemediations; "" when not set.
	Remediation string
	// AutoApply is the opt-in that landform.RemediationAuto needs: true exactly
	// when Remediation is landform.RemediationAuto.
	AutoApply bool
	// Ledger and Issue are nil when not set.
	Ledger, Issue *bool
	// SlackWebhookEnv or SlackWebhookFile hold the Slack incoming webhook
	// URL (at most one is set).
	SlackWebhookEnv, SlackWebhookFile string
}

// Drift is a drift section: settings for every workspace, and workspace
// entries that override them for the workspaces they match.
//
//	drift:
//	  schedule: "@nightly"
//	  workspaces:
//	    - match: "envs/prod/**"     # a glob of workspace names
//	      schedule: "0 */4 * * *"
//	      remediation: plan
type Drift struct {
	DriftOptions
	// Workspaces are the workspace entries, in file order, no two with the
	// same glob. The first entry whose glob matches a workspace's name
	// applies to it, and no other. They set only Schedule, Location,
	// Jitter, Remediation and AutoApply.
	Workspaces []DriftWorkspace
}

// DriftWorkspace is a drift section's entry for the workspaces whose names
// match a glob.
type DriftWorkspace struct {
	// Match is a glob of workspace names as modules.MatchGlob matches them,
	// cleaned.
	Match string
	DriftOptions
}

// DriftRepoSettings are the drift settings of a repository as a whole.
type DriftRepoSettings struct {
	// MaxParallel bounds the repository's drift checks at once.
	MaxParallel int
	// Ledger says whether drift reports go to the repository's ledger
	// branch (never when its ledger is off); Issue whether they go to an
	// issue on its forge (never without a forge).
	Ledger, Issue bool
	// SlackWebhookEnv or SlackWebhookFile hold the Slack incoming webhook
	// URL reports are posted to; both "" for no Slack.
	SlackWebhookEnv, SlackWebhookFile string
}

// SlackWebhook reads the Slack webhook URL (see Auth.Token for lookupEnv
// and readFile); "" and no error when none is configured. A variable or
// file that is missing or empty is EINVALID.
func (r DriftRepoSettings) SlackWebhook(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	return readSecret("slack webhook file", r.SlackWebhookEnv, r.SlackWebhookFile, lookupEnv, readFile)
}

// DriftSettings are the drift settings of one workspace, resolved.
type DriftSettings struct {
	// Schedule is a spec as DriftOptions.Schedule; landform.DriftOff when the
	// workspace is never checked.
	Schedule string
	// Location is the zone of Schedule, never nil.
	Location *time.Location
	Jitter   time.Duration
	// Remediation is one of landform.DriftRemediations; AutoApply is true exactly
	// when it is landform.RemediationAuto (the operator opted in next to it).
	Remediation string
	AutoApply   bool
	DriftRepoSettings
}

// Off reports whether the workspace is never checked.
func (d DriftSettings) Off() bool { return d.Schedule == landform.DriftOff }

// DefaultDriftSettings are the drift settings where nothing is configured
// (for a repository with a forge and its ledger on): nightly at 02:00 UTC,
// no jitter, 4 at once, no remediation, reports on the ledger and an
// issue, no Slack.
func DefaultDriftSettings() DriftSettings {
	return DriftSettings{
		Schedule:    DefaultDriftSchedule,
		Location:    time.UTC,
		Remediation: landform.RemediationNone,
		DriftRepoSettings: DriftRepoSettings{
			MaxParallel: DefaultDriftMaxParallel,
			Ledger:      true,
			Issue:       true,
		},
	}
}

// DriftRepo returns the repository-wide drift settings of the repo named
// repo, each from the first of these that sets it: the server config's
// repo entry's drift, its top-level drift, the defaults. Ledger is false
// when the repo's ledger is off, Issue when it has no forge (and both, for
// a name that is none of s.Repos, follow the global ledger and no forge).
func (s *Server) DriftRepo(repo string) DriftRepoSettings {
	r := DefaultDriftSettings().DriftRepoSettings
	s.Drift.overrideRepo(&r)
	ledger, forge := s.Ledger, false
	if rs := s.repoSettings(repo); rs != nil {
		rs.Drift.overrideRepo(&r)
		ledger, forge = rs.Ledger, !rs.Forge.IsZero()
	}
	r.Ledger = r.Ledger && ledger
	r.Issue = r.Issue && forge
	return r
}

// DriftSettings returns the drift settings of the workspace named
// workspace of the repo named repo. Its repository-wide fields are
// DriftRepo's; each of the others comes from the most specific level that
// sets it:
//
//  1. the server config's repo entry's drift workspace entry (the first
//     whose glob matches workspace)
//  2. the server config's repo entry's drift
//  3. the top-level drift workspace entry
//  4. the top-level drift
//  5. DefaultDriftSettings
//
// Remediation and AutoApply come from one level together. The repository's
// own config has no say: schedules and remediation are the operator's.
func (s *Server) DriftSettings(repo, workspace string) DriftSettings {
	d := DefaultDriftSettings()
	d.DriftRepoSettings = s.DriftRepo(repo)
	s.Drift.overrideFor(workspace, &d)
	if rs := s.repoSettings(repo); rs != nil {
		rs.Drift.overrideFor(workspace, &d)
	}
	return d
}

// Match returns the first workspace entry of d whose glob matches
// workspace. Globs that do not compile (never in a Drift the parser made)
// match nothing.
func (d Drift) Match(workspace string) (DriftWorkspace, bool) {
	return firstMatch(d.Workspaces, func(w DriftWorkspace) string { return w.Match }, workspace)
}

// SlackWebhook reads the section's own Slack webhook URL, as
// DriftRepoSettings.SlackWebhook does.
func (d Drift) SlackWebhook(lookupEnv func(string) (string, bool), readFile func(string) ([]byte, error)) (string, error) {
	return readSecret("slack webhook file", d.SlackWebhookEnv, d.SlackWebhookFile, lookupEnv, readFile)
}

// Secrets returns the Slack webhook URL d names when it can be read now,
// for redaction: whoever has it can post to the channel.
func (d Drift) Secrets() []string {
	if u, err := d.SlackWebhook(nil, nil); err == nil && u != "" {
		return []string{u}
	}
	return nil
}

// overrideFor overrides the per-workspace fields of r with d's settings,
// then with those of its entry for workspace.
func (d Drift) overrideFor(workspace string, r *DriftSettings) {
	d.DriftOptions.overrideWorkspace(r)
	if w, ok := d.Match(workspace); ok {
		w.DriftOptions.overrideWorkspace(r)
	}
}

// overrideWorkspace sets the per-workspace fields of r that o sets.
func (o DriftOptions) overrideWorkspace(r *DriftSettings) {
	if o.Schedule != "" {
		r.Schedule = o.Schedule
	}
	if o.Location != nil {
		r.Location = o.Location
	}
	if o.Jitter != nil {
		r.Jitter = *o.Jitter
	}
	if o.Remediation != "" {
		r.Remediation, r.AutoApply = o.Remediation, o.AutoApply
	}
}

// overrideRepo sets the repository-wide fields of r that o sets.
func (o DriftOptions) overrideRepo(r *DriftRepoSettings) {
	if o.MaxParallel > 0 {
		r.MaxParallel = o.MaxParallel
	}
	if o.Ledger != nil {
		r.Ledger = *o.Ledger
	}
	if o.Issue != nil {
		r.Issue = *o.Issue
	}
	if o.SlackWebhookEnv != "" || o.SlackWebhookFile != "" {
		r.SlackWebhookEnv, r.SlackWebhookFile = o.SlackWebhookEnv, o.SlackWebhookFile
	}
}

var (
	driftWorkspaceFields = []string{"match", "schedule", "timezone", "jitter", "remediation", "auto_apply"}
	driftFields          = []string{"schedule", "timezone", "jitter", "max_parallel", "remediation", "auto_apply", "ledger", "issue", "slack_webhook_env", "slack_webhook_file", "workspaces"}
	// driftInlineSecrets are the keys refused in a drift section: each
	// would put the webhook URL, a secret, in the config.
	driftInlineSecrets = func() map[string]string {
		msg := "the Slack webhook URL is a secret: name an environment variable with slack_webhook_env or a file with slack_webhook_file"
		return map[string]string{"slack_webhook": msg, "slack_webhook_url": msg, "webhook": msg, "webhook_url": msg, "slack": msg}
	}()
	// driftRepoWide are the keys refused in a workspace entry.
	driftRepoWide = func() map[string]string {
		m := map[string]string{}
		for k, v := range driftInlineSecrets {
			m[k] = v
		}
		for _, k := range []string{"max_parallel", "ledger", "issue", "slack_webhook_env", "slack_webhook_file"} {
			m[k] = fmt.Sprintf("%s is repository-wide: set it in drift or repos[i].drift, not in a workspace entry", k)
		}
		return m
	}()
	// driftDescriptors are the schedules that are not cron specs, for
	// suggestions.
	driftDescriptors = []string{landform.DriftNightly, landform.DriftOff, "@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually"}
	driftSpecParser  = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
)

// driftDecl is a drift section as decoded: the values later checks point
// at.
type driftDecl struct {
	// ledger and issue are the values of ledger: true and issue: true,
	// nil when not set so.
	ledger, issue *yaml.Node
	path          string
}

// driftPair is the remediation and auto_apply of one mapping, checked
// together once it is read.
type driftPair struct {
	remediation, autoApply *yaml.Node
}

// decodeDrift decodes the drift section n at path p.
func (sp *serverParser) decodeDrift(p string, n *yaml.Node) (Drift, driftDecl) {
	d := sp.d
	var (
		dr        Drift
		decl      = driftDecl{path: p}
		pair      driftPair
		secretKey *yaml.Node
	)
	if n.Kind != yaml.MappingNode {
		d.errorf(n, p, `expected a mapping such as {schedule: "@nightly", remediation: plan}, got %s; to turn drift checks off, write {schedule: off}`, describe(n))
		return dr, decl
	}
	d.objectRefusing(n, p, driftFields, driftInlineSecrets, func(name, fp string, k, v *yaml.Node) {
		o := &dr.DriftOptions
		switch name {
		case "max_parallel":
			if m, ok := d.integer(v, fp); ok {
				if m < 1 || m > MaxDriftMaxParallel {
					d.errorf(v, fp, "must be from 1 to %d, got %d", MaxDriftMaxParallel, m)
				} else {
					o.MaxParallel = m
				}
			}
		case "ledger":
			if b, ok := d.boolean(v, fp); ok {
				o.Ledger = &b
				if b {
					decl.ledger = v
				}
			}
		case "issue":
			if b, ok := d.boolean(v, fp); ok {
				o.Issue = &b
				if b {
					decl.issue = v
				}
			}
		case "slack_webhook_env", "slack_webhook_file":
			if d.oneOf(&secretKey, k, fp) {
				sp.secretRef(fp, v, name == "slack_webhook_env", &o.SlackWebhookEnv, &o.SlackWebhookFile)
			}
		case "workspaces":
			d.globEntries(v, fp, driftWorkspaceFields, driftRepoWide, func(ip string) (func(string, string, *yaml.Node), func(string, bool)) {
				var (
					w     DriftWorkspace
					wpair driftPair
				)
				return func(name, wp string, v *yaml.Node) {
						decodeDriftField(d, name, wp, v, &w.DriftOptions, &wpair)
					}, func(match string, ok bool) {
						wpair.check(d, ip, &w.DriftOptions)
						if ok {
							w.Match = match
							dr.Workspaces = append(dr.Workspaces, w)
						}
					}
			})
		default:
			decodeDriftField(d, name, fp, v, o, &pair)
		}
	})
	pair.check(d, p, &dr.DriftOptions)
	return dr, decl
}

// decodeDriftField decodes the per-workspace field name (schedule,
// timezone, jitter, remediation or auto_apply) at fp into o, recording
// remediation and auto_apply in pair.
func decodeDriftField(d *decoder, name, fp string, v *yaml.Node, o *DriftOptions, pair *driftPair) {
	switch name {
	case "schedule":
		if s, ok := d.str(v, fp); ok {
			if msg := checkDriftSchedule(s); msg != "" {
				d.errorf(v, fp, "%s", msg)
			} else {
				o.Schedule = s
			}
		}
	case "timezone":
		if s, ok := d.str(v, fp); ok {
			if loc, msg := loadZone(s); msg != "" {
				d.errorf(v, fp, "%s", msg)
			} else {
				o.Location = loc
			}
		}
	case "jitter":
		if j, ok := d.duration(v, fp); ok {
			if j > MaxDriftJitter {
				d.errorf(v, fp, "must be at most %s, got %s", shortDuration(MaxDriftJitter), v.Value)
			} else {
				o.Jitter = &j
			}
		}
	case "remediation":
		if s, ok := d.str(v, fp); ok {
			if msg := checkOneOf("remediation", s, landform.DriftRemediations); msg != "" {
				d.errorf(v, fp, "%s", msg)
			} else {
				o.Remediation, pair.remediation = s, v
			}
		}
	case "auto_apply":
		if b, ok := d.boolean(v, fp); ok {
			o.AutoApply, pair.autoApply = b, v
		}
	}
}

// check reports a remediation: auto without auto_apply: true next to it,
// and an auto_apply: true without remediation: auto; o keeps neither then.
func (pair driftPair) check(d *decoder, p string, o *DriftOptions) {
	auto := o.Remediation == landform.RemediationAuto
	switch {
	case auto && !o.AutoApply:
		d.errorf(pair.remediation, joinPath(p, "remediation"),
			`"auto" applies what drifted without a person: it needs auto_apply: true next to it, an explicit opt-in (or use remediation: plan)`)
	case o.AutoApply && !auto && pair.remediation == nil:
		d.errorf(pair.autoApply, joinPath(p, "auto_apply"), "auto_apply: true goes with remediation: auto next to it, and there is none")
	case o.AutoApply && !auto:
		d.errorf(pair.autoApply, joinPath(p, "auto_apply"), "auto_apply: true goes with remediation: auto, not %q", o.Remediation)
	default:
		return
	}
	o.Remediation, o.AutoApply = "", false
}

// driftScheduleWant says what a schedule may be, for messages.
const driftScheduleWant = `want a cron spec such as "0 2 * * *", @hourly, @daily, @weekly, @every 6h, @nightly or off`

// checkDriftSchedule says what is wrong with s as a drift schedule.
func checkDriftSchedule(s string) string {
	switch s {
	case landform.DriftOff, landform.DriftNightly:
		return ""
	case "":
		return "must not be empty (off turns drift checks off)"
	}
	if strings.HasPrefix(s, "TZ=") || strings.HasPrefix(s, "CRON_TZ=") {
		return "give the time zone with timezone, not in the schedule"
	}
	if d, ok := strings.CutPrefix(s, "@every "); ok {
		every, err := time.ParseDuration(strings.TrimSpace(d))
		switch {
		case err != nil:
			return fmt.Sprintf(`invalid duration %q (want e.g. "@every 6h")`, strings.TrimSpace(d))
		case every < MinDriftEvery || every%time.Second != 0:
			return fmt.Sprintf("@every takes whole seconds, at least %s; got %s", MinDriftEvery, strings.TrimSpace(d))
		}
		return ""
	}
	sched, err := driftSpecParser.Parse(s)
	if err != nil {
		if !strings.Contains(s, " ") {
			if sug := suggest(s, driftDescriptors); sug != "" {
				return fmt.Sprintf("unknown schedule %q, did you mean %q? (%s)", s, sug, driftScheduleWant)
			}
		}
		return fmt.Sprintf("invalid schedule %q: %v (%s)", s, err, driftScheduleWant)
	}
	// Five years from a leap year's start see every date a spec can name.
	if sched.Next(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return fmt.Sprintf("schedule %q never fires", s)
	}
	return ""
}

// loadZone loads the time zone named name.
func loadZone(name string) (*time.Location, string) {
	switch name {
	case "":
		return nil, "must not be empty"
	case "Local":
		return nil, `"Local" is the zone of whatever machine Landform runs on; name the zone, e.g. "Europe/Berlin" or "UTC"`
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Sprintf(`unknown time zone %q (want an IANA name such as "Europe/Berlin", "America/New_York" or "UTC")`, name)
	}
	return loc, ""
}

// shortDuration writes d without zero minutes and seconds: "1h", "1h30m".
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// checkDrift reports the outlets asked for where there is nothing to
// say reports on: issue: true in a repo without a forge (at the top level:
// when no repo has one), ledger: true where the repo's ledger is off (at
// the top level: when every repo's is). ledger is the global ledger
// switch.
func checkDrift(d *decoder, top driftDecl, decls []*repoDecl, ledger bool) {
	anyForge, anyLedger := false, false
	for _, r := range decls {
		repoLedger := ledger
		if r.ledger != nil {
			repoLedger = *r.ledger
		}
		anyForge = anyForge || r.forge
		anyLedger = anyLedger || repoLedger
		if r.drift.issue != nil && !r.forge {
			d.errorf(r.drift.issue, joinPath(r.drift.path, "issue"), "this repo has no forge to open an issue on; set forge, or leave issue out")
		}
		if r.drift.ledger != nil && !repoLedger {
			d.errorf(r.drift.ledger, joinPath(r.drift.path, "ledger"), "this repo's ledger is off (ledger: false): there is no ledger branch to write drift reports to")
		}
	}
	if top.issue != nil && !anyForge && len(decls) > 0 {
		d.errorf(top.issue, joinPath(top.path, "issue"), "no repo has a forge to open an issue on")
	}
	if top.ledger != nil && !anyLedger && len(decls) > 0 {
		d.errorf(top.ledger, joinPath(top.path, "ledger"), "every repo's ledger is off: there is no ledger branch to write drift reports to")
	}
}

// driftWebhook checks that the Slack webhook o names (in the drift
// section at p, of the repo named repo or "" for the top level) is set and
// holds an http(s) URL.
func (c *envChecker) driftWebhook(p, repo string, o DriftOptions, lookupEnv func(string) (string, bool)) {
	var (
		field, where, v string
		err             error
	)
	switch {
	case o.SlackWebhookEnv != "":
		field, where = "slack_webhook_env", "environment variable "+o.SlackWebhookEnv
		v, err = envSecret(o.SlackWebhookEnv, lookupEnv)
	case o.SlackWebhookFile != "":
		field, where = "slack_webhook_file", "slack webhook file "+o.SlackWebhookFile
		v, err = fileSecret("slack webhook file", o.SlackWebhookFile, nil)
	default:
		return
	}
	if err == nil {
		// Never the value in the message: it is the secret.
		if u, perr := url.Parse(v); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			err = fmt.Errorf("%s does not hold an http(s) URL (a Slack incoming webhook such as https://hooks.slack.com/services/…)", where)
		}
	}
	c.problem(joinPath(p, field), repo, err)
}
