package awscreds_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/landform/landform"
	"github.com/landform/landform/awscreds"
	"github.com/landform/landform/awscreds/ststest"
)

// No real STS runs here: the machines reach no AWS, and the one STS that
// builds here (versitygw's IAM API) answers only AssumeRoleWithWebIdentity.
// These tests talk to ststest, an httptest server speaking STS's wire
// format (form-encoded AssumeRole, XML answers and errors) that checks
// each call's SigV4 signature with the caller's secret key.

const (
	baseKey    = "AKIDLANDFORMBASE0001"
	baseSecret = "base-secret-never-in-terraform-0001"
	role       = "arn:aws:iam::123456789012:role/landform-infra"
	// The assumed keys: the canaries of the redaction tests.
	assumedKey    = "ASIALANDFORMASSUMED1"
	assumedSecret = "assumed-secret-canary-7d1f0c"
	assumedToken  = "FwoGZXIvYXdzEBYaDassumed-token-canary-93be"
)

// newProvider is a Provider of rules calling sts with the base keys, its
// clock now, the SDK retrying nothing (errors come back at once).
func newProvider(t *testing.T, sts *ststest.Server, rules awscreds.Rules, now func() time.Time) *awscreds.Provider {
	t.Helper()
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	p, err := awscreds.New(context.Background(), rules,
		awscreds.WithEndpoint(sts.URL), awscreds.WithClock(now),
		awscreds.WithLoadOptions(
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(baseKey, baseSecret, "")),
			config.WithRetryMaxAttempts(1),
		))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// only gives settings to workspace envs/prod of infra.
func only(s awscreds.Settings) awscreds.Rules {
	return func(repo, workspace string) awscreds.Settings {
		if repo == "infra" && workspace == "envs/prod" {
			return s
		}
		return awscreds.Settings{}
	}
}

func run(id string) *landform.Run {
	return &landform.Run{ID: id, Repo: "infra", Workspace: "envs/prod", Kind: landform.RunPlan, State: landform.StateRunning}
}

func TestAssumeRoleForARun(t *testing.T) {
	sts := ststest.New(t, baseKey, baseSecret)
	sts.Trust(role, "landform-ext-1", ststest.Credentials{AccessKeyID: assumedKey, SecretAccessKey: assumedSecret, SessionToken: assumedToken})
	p := newProvider(t, sts, only(awscreds.Settings{RoleARN: role, ExternalID: "landform-ext-1", SessionDuration: 2 * time.Hour, Region: "eu-west-1"}), time.Now)

	env, secrets, err := p.Credentials(context.Background(), run("42"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"AWS_ACCESS_KEY_ID": assumedKey, "AWS_SECRET_ACCESS_KEY": assumedSecret, "AWS_SESSION_TOKEN": assumedToken,
		"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1", "AWS_PROFILE": "",
	}
	if len(env) != len(want) {
		t.Errorf("env has %d variables, want %d: %v", len(env), len(want), keys(env))
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("env[%s] = %q (set %v), want %q", k, got, ok, v)
		}
	}
	for _, s := range []string{assumedKey, assumedSecret, assumedToken} {
		if !contains(secrets, s) {
			t.Errorf("secrets %d values, lack one of the assumed credentials", len(secrets))
		}
	}
	if contains(secrets, baseSecret) || contains(secrets, "eu-west-1") {
		t.Error("secrets hold more than the assumed credentials")
	}

	reqs := sts.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d calls to STS, want 1", len(reqs))
	}
	f := reqs[0].Form
	for k, v := range map[string]string{
		"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": role,
		"RoleSessionName": "landform-run-42", "ExternalId": "landform-ext-1", "DurationSeconds": "7200",
	} {
		if got := f.Get(k); got != v {
			t.Errorf("request %s = %q, want %q", k, got, v)
		}
	}
	// Signed (and verified by the server) with the base keys, for STS in
	// the workspace's region.
	if reqs[0].AccessKeyID != baseKey || reqs[0].Region != "eu-west-1" || !strings.HasPrefix(reqs[0].Authorization, "AWS4-HMAC-SHA256 Credential="+baseKey+"/") {
		t.Errorf("signature: key %s, region %s, %q", reqs[0].AccessKeyID, reqs[0].Region, reqs[0].Authorization)
	}
}

// With a plan role, plans and drift checks assume it and applies the
// other: a pull request's code never holds the apply role's keys.
func TestPlanRoleForPlansAndDriftApplyRoleForApplies(t *testing.T) {
	const readRole = "arn:aws:iam::123456789012:role/landform-infra-read"
	sts := ststest.New(t, baseKey, baseSecret)
	sts.Trust(role, "ext-1", ststest.Credentials{AccessKeyID: assumedKey, SecretAccessKey: assumedSecret, SessionToken: assumedToken})
	sts.Trust(readRole, "ext-1", ststest.Credentials{AccessKeyID: "ASIALANDFORMREADONLY", SecretAccessKey: "read-secret-canary", SessionToken: "read-token-canary"})
	p := newProvider(t, sts, only(awscreds.Settings{RoleARN: role, PlanRoleARN: readRole, ExternalID: "ext-1", Region: "eu-west-1"}), time.Now)
	plan, drift, apply := run("1"), run("2"), run("1")
	drift.Kind = landform.RunDrift
	apply.State = landform.StateApplying
	for _, tc := range []struct {
		what    string
		run     *landform.Run
		role    string
		key     string
		session string
	}{
		{"plan", plan, readRole, "ASIALANDFORMREADONLY", "landform-run-1"},
		{"drift check", drift, readRole, "ASIALANDFORMREADONLY", "landform-run-2"},
		{"apply", apply, role, assumedKey, "landform-run-1-apply"},
	} {
		env, _, err := p.Credentials(context.Background(), tc.run)
		if err != nil {
			t.Fatalf("%s: %v", tc.what, err)
		}
		reqs := sts.Requests()
		last := reqs[len(reqs)-1].Form
		if env["AWS_ACCESS_KEY_ID"] != tc.key || last.Get("RoleArn") != tc.role || last.Get("RoleSessionName") != tc.session {
			t.Errorf("%s: key %s, role %s, session %s; want %s, %s, %s", tc.what, env["AWS_ACCESS_KEY_ID"], last.Get("RoleArn"), last.Get("RoleSessionName"), tc.key, tc.role, tc.session)
		}
		if got := awscreds.RoleFor(awscreds.Settings{RoleARN: role, PlanRoleARN: readRole}, tc.run); got != tc.role {
			t.Errorf("RoleFor(%s) = %s", tc.what, got)
		}
	}
}

func TestSessionsAndDefaults(t *testing.T) {
	sts := ststest.New(t, baseKey, baseSecret)
	sts.Trust(role, "", ststest.Credentials{AccessKeyID: assumedKey, SecretAccessKey: assumedSecret, SessionToken: assumedToken})
	p := newProvider(t, sts, only(awscreds.Settings{RoleARN: role}), time.Now)
	ctx := context.Background()

	// The apply of a plan has a session of its own.
	apply := run("42")
	apply.State = landform.StateApplying
	env, _, err := p.Credentials(ctx, apply)
	if err != nil {
		t.Fatal(err)
	}
	// No region: none for terraform; STS in the partition's default.
	if _, ok := env["AWS_REGION"]; ok {
		t.Errorf("AWS_REGION set without a region: %q", env["AWS_REGION"])
	}
	reqs := sts.Requests()
	if f := reqs[0].Form; f.Get("RoleSessionName") != "landform-run-42-apply" || f.Get("DurationSeconds") != "3600" || f.Has("ExternalId") {
		t.Errorf("request %v", f)
	}
	if reqs[0].Region != "us-east-1" {
		t.Errorf("STS called in %s, want us-east-1", reqs[0].Region)
	}

	// Another workspace: no role, no call, nothing.
	other := run("43")
	other.Workspace = "envs/dev"
	env, secrets, err := p.Credentials(ctx, other)
	if env != nil || secrets != nil || err != nil || len(sts.Requests()) != 1 {
		t.Errorf("a workspace without a role: %v %v %v, %d calls", env, secrets, err, len(sts.Requests()))
	}

	for id, want := range map[string]string{
		"42":                     "landform-run-42",
		"7 x/y":                  "landform-run-7-x-y",
		strings.Repeat("9", 80):  "landform-run-" + strings.Repeat("9", 64-len("landform-run-")),
		"ünïcode@host,=+.-_done": "landform-run---n--code@host,=+.-_done",
	} {
		if got := awscreds.SessionName(&landform.Run{ID: id}); got != want {
			t.Errorf("SessionName(%q) = %q, want %q", id, got, want)
		}
	}
}

func TestAssumeRoleErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		settings awscreds.Settings
		fail     func(*ststest.Server)
		code     string
		parts    []string
	}{
		{"the trust policy refuses", awscreds.Settings{RoleARN: role + "-other", Region: "eu-west-1"}, nil, landform.EUNAUTHORIZED,
			[]string{"assuming role " + role + "-other for workspace envs/prod of infra", "AccessDenied", "not authorized to perform: sts:AssumeRole", "trust policy", "(request c6104cbe"}},
		{"a wrong external ID", awscreds.Settings{RoleARN: role, ExternalID: "guessed", Region: "eu-west-1"}, nil, landform.EUNAUTHORIZED,
			[]string{"AccessDenied", "external_id"}},
		{"a duration over the role's maximum", awscreds.Settings{RoleARN: role, Region: "eu-west-1"}, func(s *ststest.Server) {
			s.Fail(http.StatusBadRequest, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
		}, landform.EINVALID, []string{"ValidationError", "MaxSessionDuration"}},
		{"throttled: an environment fault", awscreds.Settings{RoleARN: role, Region: "eu-west-1"}, func(s *ststest.Server) {
			s.Fail(http.StatusBadRequest, "Throttling", "Rate exceeded")
		}, landform.EINTERNAL, []string{"Throttling", "Rate exceeded"}},
		{"STS failing: an environment fault", awscreds.Settings{RoleARN: role, Region: "eu-west-1"}, func(s *ststest.Server) {
			s.Fail(http.StatusServiceUnavailable, "ServiceUnavailable", "Service is unavailable")
		}, landform.EINTERNAL, []string{"ServiceUnavailable"}},
		{"no region anywhere", awscreds.Settings{RoleARN: "arn:aws-iso:iam::123456789012:role/x"}, nil, landform.EINVALID,
			[]string{"no region to call STS in; set aws.region"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sts := ststest.New(t, baseKey, baseSecret)
			sts.Trust(role, "landform-ext-1", ststest.Credentials{AccessKeyID: assumedKey, SecretAccessKey: assumedSecret, SessionToken: assumedToken})
			if tc.fail != nil {
				tc.fail(sts)
			}
			_, _, err := newProvider(t, sts, only(tc.settings), time.Now).Credentials(ctx, run("42"))
			if err == nil {
				t.Fatal("no error")
			}
			if got := landform.ErrorCode(err); got != tc.code {
				t.Errorf("code %s, want %s: %v", got, tc.code, err)
			}
			for _, p := range tc.parts {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error lacks %q: %v", p, err)
				}
			}
			for _, secret := range []string{baseSecret, assumedSecret, assumedToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error holds a secret: %v", err)
				}
			}
		})
	}

	// The daemon's own keys are wrong: STS refuses the signature.
	sts := ststest.New(t, baseKey, "another secret")
	sts.Trust(role, "", ststest.Credentials{AccessKeyID: assumedKey, SecretAccessKey: assumedSecret})
	_, _, err := newProvider(t, sts, only(awscreds.Settings{RoleARN: role, Region: "eu-west-1"}), time.Now).Credentials(ctx, run("42"))
	if landform.ErrorCode(err) != landform.EUNAUTHORIZED || !strings.Contains(err.Error(), "SignatureDoesNotMatch") || strings.Contains(err.Error(), baseSecret) {
		t.Errorf("wrong base keys: %v", err)
	}

	// STS unreachable: an environment fault.
	p, err := awscreds.New(ctx, only(awscreds.Settings{RoleARN: role, Region: "eu-west-1"}), awscreds.WithEndpoint("http://127.0.0.1:1"),
		awscreds.WithLoadOptions(config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(baseKey, baseSecret, "")), config.WithRetryMaxAttempts(1)))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = p.Credentials(ctx, run("42"))
	if err == nil || landform.ErrorCode(err) != landform.EINTERNAL || !strings.Contains(err.Error(), "assuming role "+role) {
		t.Errorf("STS unreachable: %v (code %s)", err, landform.ErrorCode(err))
	}
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestLogHandlerMasksLiveCredentials: the daemon's log never shows keys
// handed out, while they are valid; expired ones are forgotten.
func TestLogHandlerMasksLiveCredentials(t *testing.T) {
	clk := &fakeClock{t: time.Now()}
	sts := ststest.New(t, baseKey, baseSecret)
	sts.Trust(role, "", ststest.Credentials{AccessKeyID: assumedKey, SecretAccessKey: assumedSecret, SessionToken: assumedToken,
		Expiration: clk.now().Add(15 * time.Minute)})
	p := newProvider(t, sts, only(awscreds.Settings{RoleARN: role, Region: "eu-west-1", SessionDuration: 15 * time.Minute}), clk.now)
	var buf bytes.Buffer
	log := slog.New(p.LogHandler(slog.NewTextHandler(&buf, nil)))
	early := log.With("run", "42") // attributes added before any key exists

	log.Info("before: " + assumedSecret)
	if !strings.Contains(buf.String(), assumedSecret) {
		t.Fatal("masked a value before it was handed out")
	}
	buf.Reset()
	if _, _, err := p.Credentials(context.Background(), run("42")); err != nil {
		t.Fatal(err)
	}
	log.Info("terraform said: invalid key "+assumedSecret, "token", assumedToken, "err", &testError{assumedKey})
	early.With("secret", assumedSecret).WithGroup("g").Info("x", "k", assumedToken)
	if out := buf.String(); strings.Contains(out, assumedSecret) || strings.Contains(out, assumedToken) || strings.Contains(out, assumedKey) || !strings.Contains(out, "invalid key ***") {
		t.Errorf("log shows live credentials:\n%s", out)
	}
	buf.Reset()
	clk.advance(16 * time.Minute)
	log.Info("after: " + assumedSecret)
	if !strings.Contains(buf.String(), assumedSecret) {
		t.Error("still masking credentials past their expiry: the set would only grow")
	}
}

type testError struct{ s string }

func (e *testError) Error() string { return "signed with " + e.s }

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
