package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/config"
)

// TestResolveAWS: each field from the most specific level that sets it;
// the role and its external ID from one level together; no role, no
// credentials; the default session duration.
func TestResolveAWS(t *testing.T) {
	const (
		readRole = "arn:aws:iam::123456789012:role/landform-read"
		prodRole = "arn:aws:iam::210987654321:role/landform-prod"
		dbRole   = "arn:aws:iam::210987654321:role/landform-db"
		netRole  = "arn:aws:iam::333333333333:role/landform-net"
	)
	top := config.AWSSection{
		AWS: config.AWS{RoleARN: readRole, ExternalID: "top-ext", Region: "eu-west-1"},
		Workspaces: []config.AWSWorkspace{
			{Match: "envs/prod/**", AWS: config.AWS{RoleARN: prodRole, ExternalID: "prod-ext", SessionDuration: 2 * time.Hour}},
			{Match: "envs/prod/db", AWS: config.AWS{Region: "us-east-1"}}, // after a matching glob: never applies
		},
	}
	infra := config.AWSSection{
		AWS: config.AWS{Region: "eu-central-1"},
		Workspaces: []config.AWSWorkspace{
			{Match: "envs/prod/db", AWS: config.AWS{RoleARN: dbRole}},
		},
	}
	net := config.AWSSection{AWS: config.AWS{RoleARN: netRole, SessionDuration: 30 * time.Minute}}
	for _, tc := range []struct {
		repo      config.AWSSection
		workspace string
		want      config.AWS
	}{
		// Top level only.
		{config.AWSSection{}, "envs/dev", config.AWS{RoleARN: readRole, ExternalID: "top-ext", Region: "eu-west-1", SessionDuration: time.Hour}},
		{config.AWSSection{}, "envs/prod/app", config.AWS{RoleARN: prodRole, ExternalID: "prod-ext", Region: "eu-west-1", SessionDuration: 2 * time.Hour}},
		{config.AWSSection{}, "envs/prod/db", config.AWS{RoleARN: prodRole, ExternalID: "prod-ext", Region: "eu-west-1", SessionDuration: 2 * time.Hour}},
		// A repo's region beats the top level's; its entry's role brings
		// no external ID with it.
		{infra, "envs/dev", config.AWS{RoleARN: readRole, ExternalID: "top-ext", Region: "eu-central-1", SessionDuration: time.Hour}},
		{infra, "envs/prod/db", config.AWS{RoleARN: dbRole, Region: "eu-central-1", SessionDuration: 2 * time.Hour}},
		// A repo's own role beats a top-level workspace entry's.
		{net, "envs/prod/app", config.AWS{RoleARN: netRole, Region: "eu-west-1", SessionDuration: 30 * time.Minute}},
	} {
		if got := config.ResolveAWS(top, tc.repo, tc.workspace); got != tc.want {
			t.Errorf("%s in %+v:\n got %+v\nwant %+v", tc.workspace, tc.repo.AWS, got, tc.want)
		}
	}
	// A plan role goes with the role next to it: a more specific level's
	// role drops a less specific level's plan role (of another account).
	withPlan := config.AWSSection{AWS: config.AWS{RoleARN: readRole, PlanRoleARN: netRole}}
	if got := config.ResolveAWS(withPlan, config.AWSSection{}, "envs/a"); got.RoleARN != readRole || got.PlanRoleARN != netRole {
		t.Errorf("plan role at the top: %+v", got)
	}
	if got := config.ResolveAWS(withPlan, infra, "envs/prod/db"); got.RoleARN != dbRole || got.PlanRoleARN != "" {
		t.Errorf("a repo entry's role under a top-level plan role: %+v, want no plan role", got)
	}
	// Without a role at any level, nothing: a region alone assumes nothing.
	regionOnly := config.AWSSection{AWS: config.AWS{Region: "eu-west-1", SessionDuration: time.Hour}}
	if got := config.ResolveAWS(regionOnly, config.AWSSection{}, "envs/a"); got != (config.AWS{}) {
		t.Errorf("no role: %+v, want zero", got)
	}
	if !(config.AWSSection{}).IsZero() || regionOnly.IsZero() || (config.AWSSection{Workspaces: []config.AWSWorkspace{{Match: "a"}}}).IsZero() {
		t.Error("IsZero")
	}
}

// awsServer writes aws at the top level and in a repo entry.
const awsServer = `aws:
  role_arn: arn:aws:iam::123456789012:role/landform-read
  region: eu-west-1
  workspaces:
    - {match: "envs/prod/**", role_arn: "arn:aws:iam::210987654321:role/landform-prod", external_id: prod-ext, session_duration: 2h}
repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    aws:
      region: eu-central-1
      workspaces: [{match: envs/prod/db, role_arn: "arn:aws:iam::210987654321:role/landform-db"}]
  - name: net
    url: https://git.example.com/org/net.git
`

func TestParseServerAWS(t *testing.T) {
	s, err := config.ParseServer("landform.yaml", []byte(awsServer))
	if err != nil {
		t.Fatal(err)
	}
	if !s.UsesAWS() {
		t.Error("UsesAWS false")
	}
	for _, tc := range []struct {
		repo, workspace string
		want            config.AWS
	}{
		{"net", "envs/dev", config.AWS{RoleARN: "arn:aws:iam::123456789012:role/landform-read", Region: "eu-west-1", SessionDuration: time.Hour}},
		{"net", "envs/prod/app", config.AWS{RoleARN: "arn:aws:iam::210987654321:role/landform-prod", ExternalID: "prod-ext", Region: "eu-west-1", SessionDuration: 2 * time.Hour}},
		{"infra", "envs/prod/app", config.AWS{RoleARN: "arn:aws:iam::210987654321:role/landform-prod", ExternalID: "prod-ext", Region: "eu-central-1", SessionDuration: 2 * time.Hour}},
		{"infra", "envs/prod/db", config.AWS{RoleARN: "arn:aws:iam::210987654321:role/landform-db", Region: "eu-central-1", SessionDuration: 2 * time.Hour}},
		{"unknown", "envs/dev", config.AWS{RoleARN: "arn:aws:iam::123456789012:role/landform-read", Region: "eu-west-1", SessionDuration: time.Hour}},
	} {
		if got := s.AWSSettings(tc.repo, tc.workspace); got != tc.want {
			t.Errorf("%s %s:\n got %+v\nwant %+v", tc.repo, tc.workspace, got, tc.want)
		}
	}

	none, err := config.ParseServer("landform.yaml", []byte("repos: [{name: infra, url: https://git.example.com/org/infra.git}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if none.UsesAWS() || none.AWSSettings("infra", "envs/a") != (config.AWS{}) {
		t.Error("no aws section: AWS used")
	}

	// plan_role_arn is parsed next to role_arn, and refused without it.
	plan, err := config.ParseServer("landform.yaml", []byte(`aws:
  role_arn: arn:aws:iam::123456789012:role/landform-apply
  plan_role_arn: arn:aws:iam::123456789012:role/landform-read
repos: [{name: infra, url: https://git.example.com/org/infra.git}]
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := plan.AWSSettings("infra", "envs/a"); got.PlanRoleARN != "arn:aws:iam::123456789012:role/landform-read" || got.RoleARN != "arn:aws:iam::123456789012:role/landform-apply" {
		t.Errorf("plan role: %+v", got)
	}
	for text, want := range map[string]string{
		"aws:\n  region: eu-west-1\n  workspaces: [{match: a, plan_role_arn: \"arn:aws:iam::123456789012:role/r\"}]\nrepos: [{name: infra, url: https://git.example.com/org/infra.git}]\n": "aws.workspaces[0].plan_role_arn: plan_role_arn goes with role_arn next to it",
		"aws: {role_arn: \"arn:aws:iam::123456789012:role/a\", plan_role_arn: \"arn:aws:iam::1234:role/r\"}\nrepos: [{name: infra, url: https://git.example.com/org/infra.git}]\n":         "aws.plan_role_arn:",
	} {
		if _, err := config.ParseServer("landform.yaml", []byte(text)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", text, err, want)
		}
	}

	// Keys in the config are refused, in a repo entry too, never echoed.
	_, err = config.ParseServer("landform.yaml", []byte(`repos:
  - name: infra
    url: https://git.example.com/org/infra.git
    aws: {role_arn: "arn:aws:iam::123456789012:role/x", secret_access_key: wJalrXUtnFEMIK7MDENGbPxRfiCY}
`))
	if err == nil || !strings.Contains(err.Error(), "landform.yaml:4:57: repos[0].aws.secret_access_key: AWS keys never go in the config") || strings.Contains(err.Error(), "wJalrXUtnFEMI") {
		t.Errorf("a secret key in a repo's aws: %v", err)
	}
}

// TestRepoConfigHasNoSayInAWS: a repository (a pull request) cannot pick
// the role its code runs with.
func TestRepoConfigHasNoSayInAWS(t *testing.T) {
	_, err := config.ParseRepo(".landform.yaml", []byte("aws: {role_arn: \"arn:aws:iam::123456789012:role/admin\"}\n"), config.RepoOptions{})
	if err == nil || !strings.Contains(err.Error(), ".landform.yaml:1:1: aws: the AWS role a run assumes is the operator's choice") {
		t.Errorf("aws in .landform.yaml: %v", err)
	}
}
