package terraform

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/test/tftest"
)

func TestMountArgs(t *testing.T) {
	t.Parallel()
	got := mountArgs([]mount{
		{path: "/usr", kind: mountTry},
		{path: "/tmp", kind: mountTmpfs},
		{path: "/work/tree", kind: mountRW},
		{path: "/work/tree/envs/a", kind: mountRW},        // inside a read-write bind: left out
		{path: "/work/cache", kind: mountRO},              // read-only ...
		{path: "/work/cache", kind: mountRW},              // ... and read-write: read-write
		{path: "/usr/local/bin/terraform", kind: mountRO}, // inside /usr: left out
		{path: "/tmp/job/scratch", kind: mountRW},         // after the tmpfs that would hide it
		{path: "/work/tree/secrets", kind: mountRO},       // read-only inside read-write: kept, after its parent
		{path: "/proc", kind: mountProc},
		{path: "/bin", kind: mountSymlink, target: "usr/bin"},
	})
	want := []string{
		"--symlink", "usr/bin", "/bin",
		"--proc", "/proc",
		"--tmpfs", "/tmp",
		"--bind", "/tmp/job/scratch", "/tmp/job/scratch",
		"--ro-bind-try", "/usr", "/usr",
		"--bind", "/work/cache", "/work/cache",
		"--bind", "/work/tree", "/work/tree",
		"--ro-bind", "/work/tree/secrets", "/work/tree/secrets",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("mountArgs =\n%q\nwant\n%q", got, want)
	}
}

// TestWrapperScripts runs the wrapper scripts, the sandbox's with a
// stand-in for bwrap and the plain one with a stand-in for terraform, both
// of which print their arguments and what they see of the wrapper's
// variables. The stand-in gets LANDFORM_SANDBOX's arguments (sandboxed),
// whatever characters they hold, then the script's own, and neither
// LANDFORM_VERSION_JSON nor LANDFORM_TERRAFORM. Exactly `version -json`
// with LANDFORM_VERSION_JSON set is answered with the variable's value,
// without running the stand-in.
func TestWrapperScripts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dump := filepath.Join(dir, "dump args")
	if err := os.WriteFile(dump, []byte(`#!/bin/sh
for a; do printf '%s\0' "$a"; done
printf 'version=%s terraform=%s\0' "${`+versionEnv+`-unset}" "${`+terraformEnv+`-unset}"
`), 0o755); err != nil {
		t.Fatal(err)
	}
	sandboxArgs := []string{"--bind", "/a b/it's", "/a b/it's", "--setenv", "X", "$HOME `id` \"q\" \\ *", "--", "/bin/terraform"}
	answer := "{\n  \"terraform_version\": \"1.2.3\",\n  \"odd\": \"$HOME `id` \\\\ %s\"\n}"
	for _, w := range []struct {
		name   string
		script []byte
		env    []string // besides PATH
		prefix []string // the stand-in's arguments before the script's own
	}{
		{"sandbox", sandboxScript(dump), []string{sandboxEnv + "=" + shellWords(sandboxArgs)}, sandboxArgs},
		{"plain", plainScript(), []string{terraformEnv + "=" + dump}, nil},
	} {
		script := filepath.Join(dir, w.name+".sh")
		if err := os.WriteFile(script, w.script, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			args    []string
			version bool // LANDFORM_VERSION_JSON set
			answer  bool // answered by the script
		}{
			{[]string{"version", "-json"}, true, true},
			{[]string{"plan", "-out=/x y/plan", "", "-var=a='b'", "line\nbreak"}, true, false},
			{[]string{"version", "-json"}, false, false},
			{[]string{"version"}, true, false},
			{[]string{"version -json"}, true, false},
			{[]string{"version", "-json", "-no-color"}, true, false},
			{[]string{"-json", "version"}, true, false},
		} {
			cmd := exec.Command(script, tc.args...)
			cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, w.env...)
			if tc.version {
				cmd.Env = append(cmd.Env, versionEnv+"="+answer)
			}
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("%s %q: %v", w.name, tc.args, err)
			}
			if tc.answer {
				if string(out) != answer+"\n" {
					t.Errorf("%s %q printed %q, want %q", w.name, tc.args, out, answer+"\n")
				}
				continue
			}
			got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
			want := slices.Concat(w.prefix, tc.args, []string{"version=unset terraform=unset"})
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s %q: the stand-in got\n%q\nwant\n%q", w.name, tc.args, got, want)
			}
		}
	}
}

func TestProviderPaths(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		want      []string
	}{
		{"hcl", `
plugin_cache_dir = "/cache"
provider_installation {
  filesystem_mirror {
    path    = "/mirror/a"
    include = ["registry.terraform.io/*/*"]
  }
  filesystem_mirror {
    path = "/mirror/b"
  }
  dev_overrides {
    "hashicorp/z" = "/dev/z"
    "hashicorp/a" = "/dev/a"
  }
  direct {}
}
`, []string{"/mirror/a", "/mirror/b", "/dev/a", "/dev/z"}},
		{"json", `{"provider_installation": {"filesystem_mirror": [{"path": "/j1"}, {"path": "/j2"}]}}`, []string{"/j1", "/j2"}},
		{"none", `plugin_cache_dir = "/cache"`, nil},
		{"broken", `provider_installation {`, nil},
	} {
		if got := providerPaths([]byte(tc.src)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: providerPaths = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestParseSandboxMode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]SandboxMode{"": SandboxRequired, "required": SandboxRequired, "off": SandboxOff} {
		if got, err := ParseSandboxMode(in); err != nil || got != want {
			t.Errorf("ParseSandboxMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseSandboxMode("on"); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("ParseSandboxMode(on) = %v, want EINVALID", err)
	}
}

// TestSandboxWithoutBwrap: a required sandbox without bwrap fails at New,
// saying what to do.
func TestSandboxWithoutBwrap(t *testing.T) {
	t.Parallel()
	env := []string{"PATH=" + t.TempDir()}
	_, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""), withEnviron(func() []string { return env }))
	if landform.ErrorCode(err) != landform.EINVALID {
		t.Fatalf("New without bwrap = %v, want EINVALID", err)
	}
	for _, s := range []string{"bwrap not found", "install bubblewrap", "sandbox: off", "--sandbox=off"} {
		if !strings.Contains(landform.ErrorMessage(err), s) {
			t.Errorf("error lacks %q: %s", s, landform.ErrorMessage(err))
		}
	}
	if _, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""), WithSandbox(SandboxOff), withEnviron(func() []string { return env })); err != nil {
		t.Errorf("New without bwrap, sandbox off: %v", err)
	}
}

// TestSandboxView plans a configuration that looks at files inside and
// outside its tree and at its environment, sandboxed and not. Sandboxed,
// it sees its tree, its scratch directory and the engine's CLI config, not
// other files of the machine or the engine's work directory; and of
// Landform's environment only what is passed.
func TestSandboxView(t *testing.T) {
	t.Parallel()
	needTestcloud(t)
	tools := tftest.Load(t)
	outside := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(outside, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	parent := []string{"PATH=" + os.Getenv("PATH"), "DAEMON_SECRET=hunter2", "PASSED=yes"}
	for _, mode := range []SandboxMode{SandboxRequired, SandboxOff} {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			workDir := t.TempDir()
			e, err := New(WithWorkDir(workDir), WithCLIConfig(tools.MirrorConfig(t)), WithSandbox(mode),
				WithPassEnv("PASSED"), withEnviron(func() []string { return parent }), WithLogger(testLogger(t)))
			if err != nil {
				t.Fatal(err)
			}
			root := filepath.Join(t.TempDir(), "tree")
			scratch := t.TempDir()
			dir := filepath.Join(root, "envs", "a")
			env := func(name string) string {
				return fmt.Sprintf("data \"testcloud_env\" %q { name = %q }\n"+
					"output \"env_%s\" { value = data.testcloud_env.%s.set ? data.testcloud_env.%s.value : \"(unset)\" }\n",
					name, name, name, name, name)
			}
			tftest.WriteFiles(t, root, map[string]string{
				"shared.txt": "shared",
				"envs/a/main.tf": testcloudProvider + fmt.Sprintf(`
output "own_tree"   { value = fileexists("${path.module}/../../shared.txt") }
output "cli_config" { value = fileexists(%q) }
output "outside"    { value = fileexists(%q) }
output "work_dir"   { value = fileexists(%q) }
`, e.CLIConfigFile(), outside, filepath.Join(workDir, versionCacheFile)) +
					env("DAEMON_SECRET") + env("PASSED") + env("HOME") +
					env(sandboxEnv) + env(versionEnv) + env(terraformEnv),
			})
			res, err := e.Plan(testContext(t), PlanRequest{Dir: dir, Root: root, Scratch: scratch,
				PlanFile: filepath.Join(scratch, "plan"), DataDir: filepath.Join(scratch, ".terraform"),
				Env: map[string]string{"TESTCLOUD_ROOT": filepath.Join(scratch, "cloud")}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]any{}
			for k, o := range res.JSON.PlannedValues.Outputs {
				got[k] = o.Value
			}
			sandboxed := mode == SandboxRequired
			want := map[string]any{
				"own_tree":   true,
				"cli_config": true,
				"outside":    !sandboxed,
				"work_dir":   !sandboxed,
				// Landform's environment is not passed, sandboxed or not.
				"env_DAEMON_SECRET":    "(unset)",
				"env_PASSED":           "yes",
				"env_HOME":             filepath.Join(scratch, "home"),
				"env_LANDFORM_SANDBOX": "(unset)",
				// Nor the wrapper script's.
				"env_LANDFORM_VERSION_JSON": "(unset)",
				"env_LANDFORM_TERRAFORM":    "(unset)",
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("outputs =\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// TestSandboxPaths: a directory outside the run's tree is invisible to a
// sandboxed provider unless the operator lists it (read-write here).
func TestSandboxPaths(t *testing.T) {
	t.Parallel()
	needTestcloud(t)
	cloud := t.TempDir() // outside every job's directories
	files := map[string]string{"main.tf": testcloudProvider + `
data "testcloud_hang" "h" {
  name    = "seen"
  seconds = 0
}
`}
	plan := func(e *Engine) error {
		_, err := e.Plan(testContext(t), PlanRequest{Dir: workspaceDir(t, files), Name: "envs/x", Env: map[string]string{"TESTCLOUD_ROOT": cloud}})
		return err
	}
	marker := filepath.Join(cloud, "hang", "seen.json")
	closed, _ := newTestEngine(t, WithSandbox(SandboxRequired))
	_ = plan(closed) // the provider may write: into the sandbox's private /tmp
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a sandboxed provider wrote outside its tree")
	}
	open, _ := newTestEngine(t, WithSandbox(SandboxRequired), WithSandboxPaths(nil, []string{cloud}))
	if err := plan(open); err != nil {
		t.Fatalf("with the cloud listed read-write: %v", err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("the provider's write did not reach the listed directory: %v", err)
	}
	for _, bad := range [][]string{{"relative/dir"}, {filepath.Join(cloud, "missing")}} {
		if _, err := New(WithWorkDir(t.TempDir()), WithSandboxPaths(bad, nil)); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("sandbox path %s: %v, want EINVALID", bad[0], err)
		}
	}
}
