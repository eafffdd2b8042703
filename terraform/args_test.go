package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/landform/landform"
)

func TestParseVersionOutput(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		out     string
		kind    Kind
		version string
	}{
		{"Terraform v1.11.4\non linux_amd64\n", KindTerraform, "1.11.4"},
		{"Terraform v1.5.7\non linux_amd64\n\nYour version of Terraform is out of date!", KindTerraform, "1.5.7"},
		{"OpenTofu v1.12.6\non linux_amd64\n+ provider registry.opentofu.org/hashicorp/time v0.14.2\n", KindTofu, "1.12.6"},
		{"Terraform v1.12.0-alpha20250213\non linux_amd64\n", KindTerraform, "1.12.0-alpha20250213"},
	} {
		kind, v, err := parseVersionOutput(tc.out)
		if err != nil || kind != tc.kind || v.Original() != tc.version {
			t.Errorf("parseVersionOutput(%q) = %s %v %v, want %s %s", tc.out, kind, v, err, tc.kind, tc.version)
		}
	}
	if _, _, err := parseVersionOutput("something else v1\n"); err == nil {
		t.Error("parseVersionOutput accepted junk")
	}
}

func TestParseRequirement(t *testing.T) {
	t.Parallel()
	bin := func(kind Kind, v string) *Binary {
		return &Binary{Kind: kind, Version: version.Must(version.NewVersion(v)), Path: "/bin/" + string(kind)}
	}
	tf111, tf157, tofu := bin(KindTerraform, "1.11.4"), bin(KindTerraform, "1.5.7"), bin(KindTofu, "1.12.6")
	for _, tc := range []struct {
		constraints []string
		allows      []*Binary
		denies      []*Binary
	}{
		{nil, []*Binary{tf111, tf157, tofu}, nil},
		{[]string{"", " "}, []*Binary{tf111, tf157, tofu}, nil},
		{[]string{">= 1.0, < 2.0"}, []*Binary{tf111, tf157, tofu}, nil},
		{[]string{">= 1.6", "~> 1.11.0"}, []*Binary{tf111}, []*Binary{tf157, tofu}},
		{[]string{"~> 1.5.0"}, []*Binary{tf157}, []*Binary{tf111, tofu}},
		{[]string{"tofu"}, []*Binary{tofu}, []*Binary{tf111, tf157}},
		{[]string{">= 1.0", "terraform >= 1.6"}, []*Binary{tf111}, []*Binary{tf157, tofu}},
		{[]string{"opentofu ~> 1.12"}, []*Binary{tofu}, []*Binary{tf111}},
		{[]string{">= 99"}, nil, []*Binary{tf111, tf157, tofu}},
	} {
		r, err := parseRequirement(tc.constraints)
		if err != nil {
			t.Errorf("parseRequirement(%q): %v", tc.constraints, err)
			continue
		}
		for _, b := range tc.allows {
			if !r.allows(b) {
				t.Errorf("%q does not allow %s", tc.constraints, b)
			}
		}
		for _, b := range tc.denies {
			if r.allows(b) {
				t.Errorf("%q allows %s", tc.constraints, b)
			}
		}
	}
	for _, bad := range [][]string{{"not a version"}, {"tofu", "terraform"}, {"terraform >= x"}} {
		if _, err := parseRequirement(bad); err == nil {
			t.Errorf("parseRequirement(%q) accepted", bad)
		}
	}
}

func TestNoSuitableBinaryError(t *testing.T) {
	t.Parallel()
	nerr := &NoSuitableBinaryError{
		Wanted: ">= 99.0",
		Found: []*Binary{
			{Path: "/usr/local/bin/terraform", Kind: KindTerraform, Version: version.Must(version.NewVersion("1.11.4"))},
			{Path: "/x/terraform", Kind: KindTerraform, Version: version.Must(version.NewVersion("1.5.7"))},
		},
		InstallErr: errors.New("listing terraform releases: connection refused (offline?)"),
	}
	err := fmt.Errorf("plan of envs/prod: %w", &landform.Error{Code: landform.EINVALID, Message: nerr.Error(), Err: nerr})
	want := `no terraform binary satisfies ">= 99.0" (found: terraform 1.11.4 at /usr/local/bin/terraform, terraform 1.5.7 at /x/terraform); installing it failed: listing terraform releases: connection refused (offline?)`
	if landform.ErrorMessage(err) != want {
		t.Errorf("message = %q\nwant %q", landform.ErrorMessage(err), want)
	}
	if !errors.Is(err, ErrNoSuitableBinary) || landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("errors.Is(ErrNoSuitableBinary) = %v, code %q", errors.Is(err, ErrNoSuitableBinary), landform.ErrorCode(err))
	}
}

// TestEnviron: children get a minimal environment, not Landform's: the
// base variables, the names passed through, the engine's settings, and the
// extra (configured and workspace) variables.
func TestEnviron(t *testing.T) {
	t.Parallel()
	parent := []string{
		"PATH=/usr/bin", "HOME=/root", "LANG=C.UTF-8", "TZ=UTC", "SSL_CERT_FILE=/etc/certs.pem",
		"TF_CLI_CONFIG_FILE=/root/.terraformrc", "TF_LOG=TRACE", "TF_LOG_PATH=/tmp/x", "TF_WORKSPACE=prod",
		"TF_DATA_DIR=/elsewhere", "TF_CLI_ARGS_plan=-refresh=false", "TF_PLUGIN_CACHE_DIR=/c", "TF_INPUT=1",
		"TF_TOKEN_app_terraform_io=secret", "TF_VAR_region=eu", "CHECKPOINT_DISABLE=",
		"AWS_PROFILE=prod", "AWS_SECRET_ACCESS_KEY=daemon-secret", "INFRA_TOKEN=git-token",
	}
	e, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""), WithSandbox(SandboxOff),
		WithPassEnv("AWS_PROFILE", "TF_TOKEN_app_terraform_io", "UNSET_VAR"), withEnviron(func() []string { return parent }))
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Environ(map[string]string{"TESTCLOUD_ROOT": "/cloud", "TF_VAR_region": "us", "TF_LOG": "DEBUG"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"AWS_PROFILE=prod",
		"CHECKPOINT_DISABLE=1",
		"LANG=C.UTF-8",
		"PATH=/usr/bin",
		"SSL_CERT_FILE=/etc/certs.pem",
		"TESTCLOUD_ROOT=/cloud",
		"TF_CLI_CONFIG_FILE=" + e.CLIConfigFile(),
		"TF_INPUT=0",
		"TF_IN_AUTOMATION=1",
		"TF_LOG=DEBUG",
		"TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE=true",
		"TF_TOKEN_app_terraform_io=secret",
		"TF_VAR_region=us",
		"TZ=UTC",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Environ =\n%q\nwant\n%q", got, want)
	}
	for _, k := range []string{"TF_CLI_CONFIG_FILE", "TF_WORKSPACE", "TF_DATA_DIR", "TF_CLI_ARGS_plan", "TF_IN_AUTOMATION", "LANDFORM_SANDBOX", versionEnv, terraformEnv} {
		_, err := e.Environ(map[string]string{k: "x"})
		if landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("Environ accepted workspace env %s: %v", k, err)
		}
	}

	// Without PATH in the parent, children get a default one.
	e, err = New(WithWorkDir(t.TempDir()), WithCLIConfig(""), WithSandbox(SandboxOff), withEnviron(func() []string { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := e.Environ(nil); !slices.Contains(got, "PATH="+defaultPath) {
		t.Errorf("Environ without a parent PATH = %q", got)
	}
}

func TestWithPassEnvRefuses(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"TF_DATA_DIR", "TF_CLI_ARGS_plan", "LANDFORM_JOB", "A B", "", "1X"} {
		_, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""), WithSandbox(SandboxOff), WithPassEnv(name))
		if landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("WithPassEnv(%q): %v, want EINVALID", name, err)
		}
	}
}

func TestCleanDiagnostics(t *testing.T) {
	t.Parallel()
	in := "\x1b[31m╷\x1b[0m\n\x1b[31m│\x1b[0m \x1b[1m\x1b[31mError: \x1b[0m\x1b[1mUnsupported argument\x1b[0m\n│ \n│   on main.tf line 3:\n╵\n\n"
	want := "Error: Unsupported argument\n\n  on main.tf line 3:"
	if got := cleanDiagnostics(in); got != want {
		t.Errorf("cleanDiagnostics = %q, want %q", got, want)
	}
}

func TestStepErrorMessage(t *testing.T) {
	t.Parallel()
	err := &StepError{Step: "init", Kind: KindTerraform, Workspace: "envs/prod", ExitCode: 1,
		Stderr: "\nError: Unclosed configuration block\n\n  on main.tf line 1:\n", Err: errors.New("exit status 1")}
	if got, want := err.Error(), "terraform init in envs/prod: Error: Unclosed configuration block\n\n  on main.tf line 1:"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	cancelled := &StepError{Step: "plan", Kind: KindTofu, Workspace: "a", Err: context.Canceled}
	if !errors.Is(cancelled, context.Canceled) || !strings.Contains(cancelled.Error(), "tofu plan in a: interrupted") {
		t.Errorf("cancelled step error: %v", cancelled)
	}
}

// fakeTerraform writes a terraform stand-in, version 99.0.0, that appends
// each command line to a log, saves init's environment, fails `workspace
// select` as for a missing workspace, writes plan files, and prints a small
// plan JSON. It returns the binary, the command log and the environment
// file.
func fakeTerraform(t *testing.T) (bin, log, envFile string) {
	t.Helper()
	dir := t.TempDir()
	bin = filepath.Join(dir, "terraform")
	log = filepath.Join(dir, "commands.log")
	envFile = filepath.Join(dir, "init.env")
	script := fmt.Sprintf(`#!/bin/sh
printf '%%s\n' "$*" >>%[1]q
case "$1" in
version)
	if [ "$2" = -json ]; then
		echo '{"terraform_version":"99.0.0","platform":"linux_amd64","provider_selections":{},"terraform_outdated":false}'
	else
		printf 'Terraform v99.0.0\non linux_amd64\n'
	fi ;;
init)
	env >%[2]q
	echo "Terraform has been successfully initialized!" ;;
workspace)
	if [ "$2" = select ]; then
		echo "Workspace \"$4\" doesn't exist." >&2
		exit 1
	fi
	echo "Created and switched to workspace \"$4\"!" ;;
plan)
	for a in "$@"; do
		case "$a" in -out=*) printf fakeplan >"${a#-out=}" ;; esac
	done
	echo "No changes. Your infrastructure matches the configuration."
	exit 2 ;;
show)
	echo '{"format_version":"1.2","terraform_version":"99.0.0"}' ;;
apply)
	echo "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." ;;
esac
`, log, envFile)
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, log, envFile
}

// TestJobCommands runs every step of a job with a fake terraform and checks
// the command lines terraform-exec builds from the job's options, and the
// environment terraform gets.
func TestJobCommands(t *testing.T) {
	t.Parallel()
	bin, log, envFile := fakeTerraform(t)
	parent := []string{"PATH=/usr/bin:/bin", "HOME=/root", "TF_VAR_region=eu", "TF_LOG=TRACE", "TF_WORKSPACE=prod",
		"TF_INPUT=1", "TF_CLI_ARGS=-lock=false", "DAEMON_SECRET=x"}
	// Off: the fake writes its logs next to itself, which a sandbox hides
	// (TestSandboxJob covers the sandboxed command line).
	e, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""), WithBinaries(bin), WithSandbox(SandboxOff),
		WithPassEnv("TF_VAR_region"), withEnviron(func() []string { return parent }))
	if err != nil {
		t.Fatal(err)
	}
	dir := workspaceDir(t, map[string]string{"main.tf": ""})
	dataDir := filepath.Join(t.TempDir(), "data")
	var runLog syncBuffer
	ctx := testContext(t)
	scratch := t.TempDir()
	j, err := e.NewJob(ctx, JobRequest{
		Dir: dir, Name: "envs/fake", TFWorkspace: "blue", VarFiles: []string{"a.tfvars"},
		Env: map[string]string{"TF_VAR_from_env": "x"}, Constraints: []string{">= 99"},
		DataDir: dataDir, Scratch: scratch, Log: &runLog,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	if j.Binary().Path != bin {
		t.Fatalf("job runs %s, want the fake", j.Binary())
	}
	if err := j.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if v, _, err := j.tf.Version(ctx, false); err != nil || v.String() != "99.0.0" {
		t.Errorf("terraform-exec's version = %v, %v; want 99.0.0", v, err)
	}
	text, err := j.Plan(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "No changes.") {
		t.Errorf("plan text = %q", text)
	}
	p, raw, err := j.ShowPlanFile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.FormatVersion != "1.2" || !json.Valid(raw) {
		t.Errorf("shown plan %+v from %q", p, raw)
	}
	if _, err := j.Apply(ctx, ""); err != nil {
		t.Fatal(err)
	}

	pf := j.PlanFile()
	want := []string{
		// The engine's own probe, once per binary. terraform-exec's
		// `version -json` is answered by the wrapper script.
		"version",
		"init -no-color -input=false -backend=true -get=true -upgrade=false",
		"workspace select -no-color blue",
		"workspace new -no-color blue",
		"plan -no-color -input=false -detailed-exitcode -lock-timeout=0s -out=" + pf + " -var-file=a.tfvars -lock=true -parallelism=10 -refresh=true -refresh-only",
		"show -json -no-color " + pf,
		"apply -no-color -auto-approve -input=false -lock=true -parallelism=10 -refresh=true " + pf,
	}
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(strings.TrimSpace(string(data)), "\n"); !reflect.DeepEqual(got, want) {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	data, err = os.ReadFile(envFile)
	if err != nil {
		t.Fatal(err)
	}
	env := envMap(strings.Split(string(data), "\n"))
	for k, v := range map[string]string{
		"TF_VAR_region": "eu", "TF_VAR_from_env": "x", "TF_DATA_DIR": dataDir, "TF_INPUT": "0", "TF_IN_AUTOMATION": "1",
		"TF_CLI_CONFIG_FILE": e.CLIConfigFile(), "CHECKPOINT_DISABLE": "1", "TF_LOG": "", jobMarkerEnv: j.marker,
		"HOME": filepath.Join(scratch, "home"), "PATH": "/usr/bin:/bin",
	} {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("init env %s = %q (set: %v), want %q", k, got, ok, v)
		}
	}
	for _, k := range []string{"TF_WORKSPACE", "TF_CLI_ARGS", "DAEMON_SECRET", sandboxEnv, versionEnv, terraformEnv} {
		if v, ok := env[k]; ok {
			t.Errorf("init env has %s=%q", k, v)
		}
	}

	// The run log has the human output, not show's JSON.
	for _, s := range []string{"successfully initialized", "doesn't exist", "No changes.", "Apply complete!"} {
		if !strings.Contains(runLog.String(), s) {
			t.Errorf("run log lacks %q:\n%s", s, runLog.String())
		}
	}
	if strings.Contains(runLog.String(), "format_version") || strings.Contains(runLog.String(), "terraform_version") {
		t.Errorf("run log has JSON:\n%s", runLog.String())
	}
}
