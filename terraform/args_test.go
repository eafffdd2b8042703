package terraform

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-version"
	"github.com/landform/landform"
)

func TestArgs(t *testing.T) {
	t.Parallel()
	v := func(s string) *version.Version { return version.Must(version.NewVersion(s)) }
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"init", initArgs(), []string{"init", "-input=false", "-no-color", "-upgrade=false"}},
		{"plan", planArgs("/w/landform.tfplan", false, nil),
			[]string{"plan", "-input=false", "-no-color", "-out=/w/landform.tfplan"}},
		{"refresh-only plan with var files", planArgs("p", true, []string{"a.tfvars", "env/b.tfvars"}),
			[]string{"plan", "-input=false", "-no-color", "-out=p", "-refresh-only", "-var-file=a.tfvars", "-var-file=env/b.tfvars"}},
		{"show", showArgs("p"), []string{"show", "-json", "-no-color", "p"}},
		{"workspace on terraform 1.11", workspaceArgs(&Binary{Kind: KindTerraform, Version: v("1.11.4")}, "blue"),
			[]string{"workspace", "select", "-or-create=true", "-no-color", "blue"}},
		{"workspace on tofu", workspaceArgs(&Binary{Kind: KindTofu, Version: v("1.12.6")}, "blue"),
			[]string{"workspace", "select", "-or-create=true", "-no-color", "blue"}},
		{"workspace on terraform 1.3", workspaceArgs(&Binary{Kind: KindTerraform, Version: v("1.3.9")}, "blue"),
			[]string{"workspace", "select", "-no-color", "blue"}},
		{"workspace new", workspaceNewArgs("blue"), []string{"workspace", "new", "-no-color", "blue"}},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: args = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
	for _, a := range planArgs("p", true, nil) {
		if strings.Contains(a, "detailed-exitcode") {
			t.Error("plan must not use -detailed-exitcode")
		}
	}
}

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

func TestEnviron(t *testing.T) {
	t.Parallel()
	parent := []string{
		"PATH=/usr/bin", "HOME=/root",
		"TF_CLI_CONFIG_FILE=/root/.terraformrc", "TF_LOG=TRACE", "TF_LOG_PATH=/tmp/x", "TF_WORKSPACE=prod",
		"TF_DATA_DIR=/elsewhere", "TF_CLI_ARGS_plan=-refresh=false", "TF_PLUGIN_CACHE_DIR=/c", "TF_INPUT=1",
		"TF_TOKEN_app_terraform_io=secret", "TF_VAR_region=eu", "CHECKPOINT_DISABLE=",
	}
	e, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""), withEnviron(func() []string { return parent }))
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Environ(map[string]string{"TESTCLOUD_ROOT": "/cloud", "TF_VAR_region": "us", "TF_LOG": "DEBUG"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"CHECKPOINT_DISABLE=1",
		"HOME=/root",
		"PATH=/usr/bin",
		"TESTCLOUD_ROOT=/cloud",
		"TF_CLI_CONFIG_FILE=" + e.CLIConfigFile(),
		"TF_INPUT=0",
		"TF_IN_AUTOMATION=1",
		"TF_LOG=DEBUG",
		"TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE=true",
		"TF_TOKEN_app_terraform_io=secret",
		"TF_VAR_region=us",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Environ =\n%q\nwant\n%q", got, want)
	}
	for _, k := range []string{"TF_CLI_CONFIG_FILE", "TF_WORKSPACE", "TF_DATA_DIR", "TF_CLI_ARGS_plan", "TF_IN_AUTOMATION"} {
		_, err := e.Environ(map[string]string{k: "x"})
		if landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("Environ accepted workspace env %s: %v", k, err)
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
