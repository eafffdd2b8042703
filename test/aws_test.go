package test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform/awscreds/ststest"
	"github.com/landform/landform/internal/s3test"
	"github.com/landform/landform/test/tftest"
)

// Per-workspace AWS credentials against the real daemon, real terraform
// and a real S3 server (versitygw). No real STS runs here: the machines
// reach no AWS, and the one STS that builds here (versitygw's IAM API)
// answers only AssumeRoleWithWebIdentity, not AssumeRole. The daemon's
// STS is ststest, an httptest server in this test process speaking STS's
// wire format (form-encoded AssumeRole, XML answers) and verifying each
// call's SigV4 signature with the daemon's base secret key; the daemon
// reaches it through the SDK's own AWS_ENDPOINT_URL_STS.

const (
	// The daemon's own credentials: they sign the AssumeRole calls and
	// must reach no terraform.
	awsBaseKey    = "AKIDLANDFORMDAEMON01"
	awsBaseSecret = "daemon-base-secret-never-in-terraform"
	// What envs/seen's role answers: the canaries.
	awsCanaryKey    = "ASIALANDFORMCANARY01"
	awsCanarySecret = "canary-secret-access-key-5be1d93f"
	awsCanaryToken  = "canary-session-token-IQoJb3JpZ2luX2VjE"

	seenRole  = "arn:aws:iam::123456789012:role/landform-seen"
	stateRole = "arn:aws:iam::123456789012:role/landform-state"
)

// awsSeenWorkspace records, in a terraform_data the plan shows, what
// terraform's environment holds: hashes of the keys it was given, its
// region, and the secret key itself, which the stored plan must mask.
const awsSeenWorkspace = `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
provider "testcloud" {}
data "testcloud_env" "key" { name = "AWS_ACCESS_KEY_ID" }
data "testcloud_env" "secret" { name = "AWS_SECRET_ACCESS_KEY" }
data "testcloud_env" "token" { name = "AWS_SESSION_TOKEN" }
data "testcloud_env" "region" { name = "AWS_REGION" }
resource "terraform_data" "seen" {
  input = {
    key_sha256    = sha256(data.testcloud_env.key.value)
    secret_sha256 = sha256(data.testcloud_env.secret.value)
    token_sha256  = sha256(data.testcloud_env.token.value)
    region        = data.testcloud_env.region.value
    secret        = data.testcloud_env.secret.value
  }
}
`

// awsNoneWorkspace has no role: it sees no AWS key at all, not the
// daemon's.
const awsNoneWorkspace = `terraform {
  required_providers {
    testcloud = { source = "landform/testcloud" }
  }
}
provider "testcloud" {}
data "testcloud_env" "key" { name = "AWS_ACCESS_KEY_ID" }
data "testcloud_env" "secret" { name = "AWS_SECRET_ACCESS_KEY" }
resource "terraform_data" "none" {
  input = { key_set = data.testcloud_env.key.set, secret_set = data.testcloud_env.secret.set }
}
`

// awsStateWorkspace keeps its state in bucket on the S3 server at
// endpoint, with the credentials terraform is given: the backend block
// names none.
func awsStateWorkspace(endpoint, bucket string) string {
	return fmt.Sprintf(`terraform {
  backend "s3" {
    bucket                      = %q
    key                         = "envs/state/terraform.tfstate"
    endpoints                   = { s3 = %q }
    use_path_style              = true
    skip_credentials_validation = true
    skip_region_validation      = true
    skip_requesting_account_id  = true
    skip_metadata_api_check     = true
    skip_s3_checksum            = true
  }
}
resource "terraform_data" "state" { input = "kept-in-the-bucket" }
`, bucket, endpoint)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// TestAWSCredentialsPerWorkspace: the daemon assumes each workspace's role
// for each of its runs (session landform-run-<id>, the external ID, signed
// with its own keys), terraform gets the assumed keys in its environment
// and nothing else of AWS, the canary secret key appears in no log, store
// file, ledger file or stored plan text; a workspace on the S3 backend
// plans, is approved and applied, with its state in the bucket.
func TestAWSCredentialsPerWorkspace(t *testing.T) {
	t.Parallel()
	s3 := s3test.Start(t)
	bucket := s3.Bucket(t, "tfstate")
	sts := ststest.New(t, awsBaseKey, awsBaseSecret)
	sts.Trust(seenRole, "landform-e2e", ststest.Credentials{AccessKeyID: awsCanaryKey, SecretAccessKey: awsCanarySecret, SessionToken: awsCanaryToken})
	// The S3 backend's role answers versitygw's own keys, without a
	// session token: versitygw refuses any X-Amz-Security-Token with a
	// permanent key (auth.ResolveDerivedKey: ErrInvalidSessionToken), and
	// mints temporary keys only through AssumeRoleWithWebIdentity. The
	// daemon's base keys are unknown to versitygw: state reaches the bucket
	// only with the assumed keys.
	sts.Trust(stateRole, "", ststest.Credentials{AccessKeyID: s3.AccessKey, SecretAccessKey: s3.SecretKey})

	srv := tftest.StartGitServer(t)
	bare := srv.NewBare("infra")
	work := newPushRepo(t, srv.URL("infra"), map[string]string{"README.md": "# infra\n"})
	dataDir := t.TempDir()
	cfg := daemonConfig(t, dataDir, repoYAML("infra", srv.URL("infra"),
		"aws:",
		"  workspaces: [{match: envs/state, role_arn: \""+stateRole+"\", region: "+s3.Region+"}]"),
		"  sandbox_paths: {read_write: [{{cloud}}]}",
		"approvals: {approvers: [carol]}",
		"api: {tokens: [{identity: carol, token_env: CAROL_API_TOKEN}]}",
		"aws:",
		"  region: eu-west-1",
		"  session_duration: 15m",
		"  workspaces:",
		"    - {match: envs/seen, role_arn: \""+seenRole+"\", external_id: landform-e2e}")
	env := []string{"CAROL_API_TOKEN=" + approveAPIToken, "LANDFORM_TOKEN=" + approveAPIToken}
	d := startDaemon(t, cfg, dataDir, append(env,
		"AWS_ACCESS_KEY_ID="+awsBaseKey, "AWS_SECRET_ACCESS_KEY="+awsBaseSecret, "AWS_SESSION_TOKEN=",
		"AWS_ENDPOINT_URL_STS="+sts.URL, "AWS_EC2_METADATA_DISABLED=true", "AWS_REGION=", "AWS_PROFILE=",
		"AWS_CONFIG_FILE="+filepath.Join(t.TempDir(), "none"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(t.TempDir(), "none"))...)
	d.waitLog(30*time.Second, "watching branch", "infra")

	head := work.change("refs/heads/main", map[string]string{
		"envs/seen/main.tf":  awsSeenWorkspace,
		"envs/none/main.tf":  awsNoneWorkspace,
		"envs/state/main.tf": awsStateWorkspace(s3.Endpoint, bucket),
	})
	runs := d.waitRuns(3*time.Minute, "three plans", func(rs []daemonRun) bool {
		done := runsOf(rs, func(r daemonRun) bool { return r.Commit == head && r.State != "queued" && r.State != "running" })
		return len(done) == 3
	})
	byWorkspace := map[string]daemonRun{}
	for _, r := range runsOf(runs, func(r daemonRun) bool { return r.Commit == head }) {
		byWorkspace[r.Workspace] = r
		if r.State != "planned" {
			t.Errorf("%s: %s %q, want planned", r.Workspace, r.State, r.Error)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	seen, none, state := byWorkspace["envs/seen"], byWorkspace["envs/none"], byWorkspace["envs/state"]

	// Terraform saw the assumed keys and region, the secret masked in the
	// stored plan text.
	seenPlan := landformCode(t, 0, nil, "--data-dir", dataDir, "show", seen.ID)
	for _, want := range []string{
		`key_sha256    = "` + sha256Hex(awsCanaryKey) + `"`,
		`secret_sha256 = "` + sha256Hex(awsCanarySecret) + `"`,
		`token_sha256  = "` + sha256Hex(awsCanaryToken) + `"`,
		`region        = "eu-west-1"`,
		`secret        = "***"`,
	} {
		if !strings.Contains(seenPlan, want) {
			t.Errorf("the plan of envs/seen lacks %s:\n%s", want, seenPlan)
		}
	}
	// No role, no AWS keys: not the daemon's either.
	if nonePlan := landformCode(t, 0, nil, "--data-dir", dataDir, "show", none.ID); !strings.Contains(nonePlan, "key_set    = false") || !strings.Contains(nonePlan, "secret_set = false") {
		t.Errorf("the plan of envs/none:\n%s", nonePlan)
	}

	// The state workspace: approved and applied through the API, its state
	// in the bucket, written with the keys its role's session gave.
	api := "http://" + d.listenAddr()
	landformCode(t, 0, env, "approve", state.ID, "--server", api)
	landformCode(t, 0, env, "apply", state.ID, "--server", api)
	obj, err := os.ReadFile(filepath.Join(s3.Dir, bucket, "envs", "state", "terraform.tfstate"))
	if err != nil || !strings.Contains(string(obj), "kept-in-the-bucket") || !strings.Contains(string(obj), "terraform_data") {
		t.Errorf("state object in the bucket: %v\n%.500s", err, obj)
	}

	// Every AssumeRole: signed with the daemon's keys, one session per run
	// and one for the apply, the external ID where the role needs it.
	sessions := map[string]string{}
	for _, r := range sts.Requests() {
		if r.AccessKeyID != awsBaseKey {
			t.Errorf("AssumeRole signed with %s, want the daemon's %s", r.AccessKeyID, awsBaseKey)
		}
		sessions[r.Form.Get("RoleSessionName")] = r.Form.Get("RoleArn") + " ext=" + r.Form.Get("ExternalId") + " " + r.Form.Get("DurationSeconds") + "s in " + r.Region
	}
	want := map[string]string{
		"landform-run-" + seen.ID:             seenRole + " ext=landform-e2e 900s in eu-west-1",
		"landform-run-" + state.ID:            stateRole + " ext= 900s in us-east-1",
		"landform-run-" + state.ID + "-apply": stateRole + " ext= 900s in us-east-1",
	}
	for name, w := range want {
		if sessions[name] != w {
			t.Errorf("session %s: %q, want %q", name, sessions[name], w)
		}
	}
	if len(sessions) != len(want) {
		t.Errorf("sessions %v, want %v", sessions, want)
	}

	// The ledger records every run: wait for the apply's record.
	var ledger string
	waitFor(t, time.Minute, "the apply on the ledger", func() bool {
		out, err := gitOutput(bare, "log", "-p", "--all", "--format=%H %s")
		ledger = out
		return err == nil && strings.Contains(out, "runs/envs/state/"+state.ID+".json") && strings.Contains(out, `"state": "applied"`)
	})

	// The canaries — the assumed secret key and token, the S3 role's
	// secret key, the daemon's own secret — appear in no log, no file of
	// the data directory but the stored plans (plan files and their JSON
	// hold a plan's values by design: planstore/s3 encrypts them), no
	// ledger file, no stored plan text. Pull request comments and commit
	// statuses are rendered from the same stored texts
	// (TestGiteaCanariesReachNoOutlet checks those outlets).
	secrets := map[string]string{"assumed secret key": awsCanarySecret, "assumed session token": awsCanaryToken,
		"assumed access key": awsCanaryKey, "S3 role's secret key": s3.SecretKey, "daemon's secret key": awsBaseSecret}
	texts := map[string]string{"daemon log": d.logs.String(), "ledger": ledger, "plan of envs/seen": seenPlan,
		"apply": landformCode(t, 0, nil, "--data-dir", dataDir, "show", state.ID, "--json")}
	err = filepath.WalkDir(dataDir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && e.Name() == "plans" {
			return filepath.SkipDir
		}
		if e.Type().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			texts[path] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := texts[filepath.Join(dataDir, "landform.db")]; !ok || !strings.Contains(texts["daemon log"], "landform serving") {
		t.Fatalf("looked at too little: %d texts, no database or no log", len(texts))
	}
	for where, text := range texts {
		for what, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("the %s appears in %s", what, where)
			}
		}
	}
}
