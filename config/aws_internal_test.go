package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// decodeAWSText decodes text as an aws section at path "aws" of a file
// named landform.yaml, and returns it with the problems' texts.
func decodeAWSText(t *testing.T, text string) (AWSSection, []string) {
	t.Helper()
	sp := &serverParser{d: &decoder{file: "landform.yaml"}, base: "/etc/landform", pos: map[string]position{}}
	root, ok := sp.d.parseDocument([]byte(text))
	if !ok || root == nil {
		t.Fatalf("parsing %q: %v", text, sp.d.errs)
	}
	a := sp.decodeAWS("aws", root)
	var errs []string
	for _, e := range sp.d.errs {
		errs = append(errs, e.Error())
	}
	return a, errs
}

func TestDecodeAWS(t *testing.T) {
	a, errs := decodeAWSText(t, `role_arn: arn:aws:iam::123456789012:role/landform-read
session_duration: 2h
region: eu-west-1
workspaces:
  - match: "./envs/prod/**"
    role_arn: arn:aws-us-gov:iam::210987654321:role/ops/landform-prod
    external_id: landform-prod:7f3a
  - {match: "sandbox/*", region: us-east-1, session_duration: 15m}
`)
	if len(errs) > 0 {
		t.Fatalf("errors: %q", errs)
	}
	want := AWSSection{
		AWS: AWS{RoleARN: "arn:aws:iam::123456789012:role/landform-read", SessionDuration: 2 * time.Hour, Region: "eu-west-1"},
		Workspaces: []AWSWorkspace{
			{Match: "envs/prod/**", AWS: AWS{RoleARN: "arn:aws-us-gov:iam::210987654321:role/ops/landform-prod", ExternalID: "landform-prod:7f3a"}},
			{Match: "sandbox/*", AWS: AWS{Region: "us-east-1", SessionDuration: 15 * time.Minute}},
		},
	}
	if diff := cmp.Diff(want, a); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

func TestDecodeAWSProblems(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string // each a problem's text, in order
	}{
		{"scalar", `arn:aws:iam::123456789012:role/x`, []string{"landform.yaml:1:1: aws: expected a mapping such as {role_arn:"}},
		{"static keys refused, values never echoed", "role_arn: arn:aws:iam::123456789012:role/x\naccess_key_id: AKIAEXAMPLEKEY\nsecret_access_key: wJalrXUtnFEMI/K7MDENG\n", []string{
			"landform.yaml:2:1: aws.access_key_id: AWS keys never go in the config: Landform assumes role_arn with the daemon's own credentials",
			"landform.yaml:3:1: aws.secret_access_key: AWS keys never go in the config",
		}},
		{"static keys in an entry", "workspaces:\n  - {match: a, aws_secret_access_key: wJalrXUtnFEMI}\n", []string{
			"landform.yaml:2:16: aws.workspaces[0].aws_secret_access_key: AWS keys never go in the config",
		}},
		{"role ARN shapes", "role_arn: arn:aws:iam::12345:role/x\nworkspaces:\n  - {match: a, role_arn: \"arn:aws:iam::123456789012:user/bob\"}\n  - {match: b, role_arn: \"arn:aws:s3:::bucket\"}\n", []string{
			`landform.yaml:1:11: aws.role_arn: invalid role ARN "arn:aws:iam::12345:role/x": want arn:aws:iam::ACCOUNT:role/NAME, ACCOUNT 12 digits`,
			`landform.yaml:3:26: aws.workspaces[0].role_arn: invalid role ARN "arn:aws:iam::123456789012:user/bob"`,
			`landform.yaml:4:26: aws.workspaces[1].role_arn: invalid role ARN "arn:aws:s3:::bucket"`,
		}},
		{"a role name too long", "role_arn: arn:aws:iam::123456789012:role/" + strings.Repeat("r", 65) + "\n", []string{
			"landform.yaml:1:11: aws.role_arn: invalid role ARN",
		}},
		{"session durations", "session_duration: 5m\nworkspaces:\n  - {match: a, session_duration: 13h}\n  - {match: b, session_duration: 20m0.5s}\n  - {match: c, session_duration: soon}\n", []string{
			"landform.yaml:1:19: aws.session_duration: must be from 15m to 12h (what STS takes), got 5m",
			"landform.yaml:3:34: aws.workspaces[0].session_duration: must be from 15m to 12h (what STS takes), got 13h",
			"landform.yaml:4:34: aws.workspaces[1].session_duration: takes whole seconds, got 20m0.5s",
			`landform.yaml:5:34: aws.workspaces[2].session_duration: invalid duration "soon"`,
		}},
		{"regions", "region: EU-West-1\nworkspaces: [{match: a, region: eu-west}]\n", []string{
			`landform.yaml:1:9: aws.region: "EU-West-1" is not a region such as us-east-1`,
			`landform.yaml:2:33: aws.workspaces[0].region: "eu-west" is not a region such as us-east-1`,
		}},
		{"external ID without a role next to it", "role_arn: arn:aws:iam::123456789012:role/x\nworkspaces:\n  - {match: a, external_id: abc}\n", []string{
			"landform.yaml:3:29: aws.workspaces[0].external_id: external_id goes with role_arn next to it",
		}},
		{"external ID shape", "role_arn: arn:aws:iam::123456789012:role/x\nexternal_id: \"a b\"\n", []string{
			`landform.yaml:2:14: aws.external_id: invalid external ID: want 2 to 1224 letters, digits and "+=,.@:/-_"`,
		}},
		{"entries", "workspaces:\n  - {region: us-east-1}\n  - {match: \"envs/*\"}\n  - {match: \"./envs/*\", region: us-east-1}\n  - {match: \"../x\"}\n", []string{
			`landform.yaml:2:5: aws.workspaces[0]: missing required field "match"`,
			`landform.yaml:4:13: aws.workspaces[2].match: "envs/*" is the glob of aws.workspaces[1] already, whose entry applies first: this one would never apply`,
			`landform.yaml:5:13: aws.workspaces[3].match: "../x" escapes the repository`,
		}},
		{"unknown field", "role_arm: arn:aws:iam::123456789012:role/x\n", []string{
			`landform.yaml:1:1: aws: unknown field "role_arm", did you mean "role_arn"?`,
		}},
		{"a profile is no AWS setting", "workspaces: [{match: a, profile: prod}]\n", []string{
			`landform.yaml:1:25: aws.workspaces[0]: unknown field "profile"`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := decodeAWSText(t, tc.text)
			if len(errs) != len(tc.want) {
				t.Fatalf("problems:\n%s\nwant %d:\n%s", strings.Join(errs, "\n"), len(tc.want), strings.Join(tc.want, "\n"))
			}
			for i, w := range tc.want {
				if !strings.HasPrefix(errs[i], w) {
					t.Errorf("problem %d:\n %s\nwant it to start with\n %s", i, errs[i], w)
				}
			}
			for _, secret := range []string{"AKIAEXAMPLEKEY", "wJalrXUtnFEMI"} {
				if strings.Contains(strings.Join(errs, "\n"), secret) {
					t.Errorf("a problem echoes the secret %q: %q", secret, errs)
				}
			}
		})
	}
}
