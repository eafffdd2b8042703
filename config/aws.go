package config

import (
	"fmt"
	"regexp"
	"time"

	"gopkg.in/yaml.v3"
)

// Defaults and bounds of the AWS settings: STS's own bounds of
// AssumeRole's DurationSeconds (a role's MaxSessionDuration may lower the
// upper one; a role assumed with role-chained credentials is capped at 1h
// by AWS).
const (
	DefaultAWSSessionDuration = time.Hour
	MinAWSSessionDuration     = 15 * time.Minute
	MaxAWSSessionDuration     = 12 * time.Hour
)

// AWS are the AWS settings of a workspace: the role Landform assumes for
// each of its runs, whose short-lived keys terraform gets in its
// environment (see package awscreds). As one level of the server config
// gives them (its top level, one of its repos, or a workspace entry of
// either), every field is optional; as Server.AWSSettings returns them,
// resolved, RoleARN "" means no credentials at all.
//
//	aws:
//	  role_arn: arn:aws:iam::123456789012:role/landform-infra
//	  plan_role_arn: arn:aws:iam::123456789012:role/landform-infra-read   # optional: plans and drift checks
//	  external_id: landform-prod        # the roles' trust policies' sts:ExternalId condition
//	  session_duration: 1h              # 15m to 12h, default 1h
//	  region: eu-west-1                 # the STS region, and AWS_REGION for terraform
//
// The config never holds AWS keys: Landform assumes the role with the
// daemon's own credentials (the standard chain: its environment, shared
// config files, the instance's role).
type AWS struct {
	// RoleARN is the IAM role assumed for the workspace's runs, "" when
	// not set. It and ExternalID come from one level together: the
	// external ID is a condition of that role's trust policy.
	RoleARN string
	// PlanRoleARN, "" when not set, is assumed instead of RoleARN for
	// plans and drift checks: applies alone get RoleARN. It comes from
	// the level of RoleARN, next to it.
	PlanRoleARN string
	// ExternalID is AssumeRole's ExternalId, "" for none.
	ExternalID string
	// SessionDuration is how long the assumed credentials last, from
	// MinAWSSessionDuration to MaxAWSSessionDuration; 0 when not set
	// (DefaultAWSSessionDuration once resolved with a role).
	SessionDuration time.Duration
	// Region is the region of the STS call and terraform's AWS_REGION and
	// AWS_DEFAULT_REGION, "" when not set (then terraform's configuration
	// names its region, and STS is called in the partition's default).
	Region string
}

// AWSSection is an aws section: settings for every workspace, and
// workspace entries that override them for the workspaces they match.
//
//	aws:
//	  role_arn: arn:aws:iam::123456789012:role/landform-read
//	  workspaces:
//	    - match: "envs/prod/**"     # a glob of workspace names, as for approvals
//	      role_arn: arn:aws:iam::210987654321:role/landform-prod
//	      external_id: landform-prod
type AWSSection struct {
	AWS
	// Workspaces are the workspace entries, in file order, no two with the
	// same glob. The first entry whose glob matches a workspace's name
	// applies to it, and no other.
	Workspaces []AWSWorkspace
}

// AWSWorkspace is an aws section's entry for the workspaces whose names
// match a glob.
type AWSWorkspace struct {
	// Match is a glob of workspace names as modules.MatchGlob matches them,
	// cleaned.
	Match string
	AWS
}

// Match returns the first workspace entry of a whose glob matches
// workspace.
func (a AWSSection) Match(workspace string) (AWSWorkspace, bool) {
	return firstMatch(a.Workspaces, func(w AWSWorkspace) string { return w.Match }, workspace)
}

// IsZero reports whether the section sets nothing at all.
func (a AWSSection) IsZero() bool { return a.AWS == (AWS{}) && len(a.Workspaces) == 0 }

// ResolveAWS returns the AWS settings of the workspace named workspace,
// given the server config's top-level section and its repo entry's. Each
// field comes from the most specific level that sets it, as for approvals
// and drift:
//
//  1. repo's workspace entry (the first whose glob matches workspace)
//  2. repo's own settings
//  3. top's workspace entry
//  4. top's own settings
//
// RoleARN and ExternalID come from one level together. Without a role the
// result is zero (no credentials); with one, SessionDuration defaults to
// DefaultAWSSessionDuration. A repository's own .landform.yaml has no say:
// which role its code runs with is the operator's choice alone.
func ResolveAWS(top, repo AWSSection, workspace string) AWS {
	var r AWS
	top.overrideFor(workspace, &r)
	repo.overrideFor(workspace, &r)
	if r.RoleARN == "" {
		return AWS{}
	}
	if r.SessionDuration == 0 {
		r.SessionDuration = DefaultAWSSessionDuration
	}
	return r
}

// overrideFor overrides r with a's settings, then with those of its entry
// for workspace.
func (a AWSSection) overrideFor(workspace string, r *AWS) {
	a.AWS.override(r)
	if w, ok := a.Match(workspace); ok {
		w.AWS.override(r)
	}
}

// override sets the fields of r that o sets.
func (o AWS) override(r *AWS) {
	if o.RoleARN != "" {
		r.RoleARN, r.PlanRoleARN, r.ExternalID = o.RoleARN, o.PlanRoleARN, o.ExternalID
	}
	if o.SessionDuration != 0 {
		r.SessionDuration = o.SessionDuration
	}
	if o.Region != "" {
		r.Region = o.Region
	}
}

var (
	awsFields          = []string{"role_arn", "plan_role_arn", "external_id", "session_duration", "region", "workspaces"}
	awsWorkspaceFields = []string{"match", "role_arn", "plan_role_arn", "external_id", "session_duration", "region"}
	// awsInlineSecrets are the keys refused in an aws section and its
	// entries: each would put AWS keys in the config.
	awsInlineSecrets = func() map[string]string {
		msg := "AWS keys never go in the config: Landform assumes role_arn with the daemon's own credentials " +
			"(its environment, shared config files or instance role) and gives each run short-lived keys of its own"
		m := map[string]string{}
		for _, k := range []string{
			"access_key_id", "secret_access_key", "session_token", "access_key", "secret_key", "secret",
			"aws_access_key_id", "aws_secret_access_key", "aws_session_token", "credentials", "password", "token",
		} {
			m[k] = msg
		}
		return m
	}()

	// awsRoleARN is an IAM role's ARN: partition, 12-digit account, and
	// the role's path and name (characters as IAM allows them).
	awsRoleARN = regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)
	// awsExternalID is what STS takes as ExternalId (2 to 1224 of these).
	awsExternalID = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// maxRoleARN is the longest role ARN STS takes.
const maxRoleARN = 2048

// decodeAWS decodes the aws section n at path p (the server config's top
// level, or a repo entry's).
func (sp *serverParser) decodeAWS(p string, n *yaml.Node) AWSSection {
	d := sp.d
	var a AWSSection
	if n.Kind != yaml.MappingNode {
		d.errorf(n, p, "expected a mapping such as {role_arn: arn:aws:iam::123456789012:role/NAME, region: eu-west-1}, got %s", describe(n))
		return a
	}
	var pair awsPair
	d.objectRefusing(n, p, awsFields, awsInlineSecrets, func(name, fp string, _, v *yaml.Node) {
		if name != "workspaces" {
			decodeAWSField(d, name, fp, v, &a.AWS, &pair)
			return
		}
		d.globEntries(v, fp, awsWorkspaceFields, awsInlineSecrets, func(ip string) (func(string, string, *yaml.Node), func(string, bool)) {
			var (
				w     AWSWorkspace
				wpair awsPair
			)
			return func(name, wp string, v *yaml.Node) {
					decodeAWSField(d, name, wp, v, &w.AWS, &wpair)
				}, func(match string, ok bool) {
					wpair.check(d, ip, &w.AWS)
					if ok {
						w.Match = match
						a.Workspaces = append(a.Workspaces, w)
					}
				}
		})
	})
	pair.check(d, p, &a.AWS)
	return a
}

// awsPair is the role_arn and external_id of one mapping, checked together
// once it is read.
type awsPair struct {
	role, planRole, externalID *yaml.Node
}

// check reports an external_id without a role_arn next to it (o keeps
// none then): the external ID is a condition of one role's trust policy,
// and would otherwise be sent with whatever role another level names.
func (pair awsPair) check(d *decoder, p string, o *AWS) {
	if pair.externalID != nil && pair.role == nil {
		d.errorf(pair.externalID, joinPath(p, "external_id"),
			"external_id goes with role_arn next to it (it is a condition of that role's trust policy), and there is none")
		o.ExternalID = ""
	}
	if pair.planRole != nil && pair.role == nil {
		d.errorf(pair.planRole, joinPath(p, "plan_role_arn"),
			"plan_role_arn goes with role_arn next to it (the role applies assume), and there is none")
		o.PlanRoleARN = ""
	}
}

// decodeAWSField decodes the field name (role_arn, plan_role_arn,
// external_id, session_duration or region) at fp into o, recording role_arn and
// external_id in pair.
func decodeAWSField(d *decoder, name, fp string, v *yaml.Node, o *AWS, pair *awsPair) {
	s, ok := "", false
	if name != "session_duration" {
		if s, ok = d.str(v, fp); !ok {
			return
		}
	}
	switch name {
	case "role_arn", "plan_role_arn":
		node, dst := &pair.role, &o.RoleARN
		if name == "plan_role_arn" {
			node, dst = &pair.planRole, &o.PlanRoleARN
		}
		*node = v
		if msg := checkRoleARN(s); msg != "" {
			d.errorf(v, fp, "%s", msg)
		} else {
			*dst = s
		}
	case "external_id":
		pair.externalID = v
		if len(s) < 2 || len(s) > 1224 || !awsExternalID.MatchString(s) {
			d.errorf(v, fp, `invalid external ID: want 2 to 1224 letters, digits and "+=,.@:/-_"`)
		} else {
			o.ExternalID = s
		}
	case "session_duration":
		if dur, ok := d.duration(v, fp); ok {
			if msg := checkSessionDuration(dur, v.Value); msg != "" {
				d.errorf(v, fp, "%s", msg)
			} else {
				o.SessionDuration = dur
			}
		}
	case "region":
		if !awsRegion.MatchString(s) { // the plans' region's rule (storage.go)
			d.errorf(v, fp, "%q is not a region such as us-east-1", s)
		} else {
			o.Region = s
		}
	}
}

// checkRoleARN says what is wrong with s as the ARN of a role to assume.
func checkRoleARN(s string) string {
	const want = "want arn:aws:iam::ACCOUNT:role/NAME, ACCOUNT 12 digits"
	switch {
	case len(s) > maxRoleARN:
		return fmt.Sprintf("role ARN of %d characters, more than STS takes (%d)", len(s), maxRoleARN)
	case awsRoleARN.MatchString(s):
		return ""
	}
	return fmt.Sprintf("invalid role ARN %q: %s", s, want)
}

// checkSessionDuration says what is wrong with d (written as text) as a
// session's duration.
func checkSessionDuration(d time.Duration, text string) string {
	switch {
	case d < MinAWSSessionDuration || d > MaxAWSSessionDuration:
		return fmt.Sprintf("must be from %s to %s (what STS takes), got %s", shortDuration(MinAWSSessionDuration), shortDuration(MaxAWSSessionDuration), text)
	case d%time.Second != 0:
		return fmt.Sprintf("takes whole seconds, got %s", text)
	}
	return ""
}

// AWSSettings returns the AWS settings of the workspace named workspace of
// the repo named repo (ResolveAWS of the top-level section and the repo
// entry's): zero when no role is assumed for it.
func (s *Server) AWSSettings(repo, workspace string) AWS {
	var r AWSSection
	if rs := s.repoSettings(repo); rs != nil {
		r = rs.AWS
	}
	return ResolveAWS(s.AWS, r, workspace)
}

// UsesAWS reports whether any aws section is written: then the daemon
// needs its AWS configuration to assume roles.
func (s *Server) UsesAWS() bool {
	if !s.AWS.IsZero() {
		return true
	}
	for _, rs := range s.Repos {
		if !rs.AWS.IsZero() {
			return true
		}
	}
	return false
}
