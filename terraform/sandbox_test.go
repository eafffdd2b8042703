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

// TestSandboxScriptArguments runs the wrapper script with a stand-in for
// bwrap that prints its arguments: bwrap gets the arguments of
// LANDFORM_SANDBOX, whatever characters they hold, then the script's own.
func TestSandboxScriptArguments(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dump := filepath.Join(dir, "dump args")
	if err := os.WriteFile(dump, []byte("#!/bin/sh\nfor a; do printf '%s\\0' \"$a\"; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "sandbox.sh")
	if err := os.WriteFile(script, sandboxScript(dump), 0o755); err != nil {
		t.Fatal(err)
	}
	sandboxArgs := []string{"--bind", "/a b/it's", "/a b/it's", "--setenv", "X", "$HOME `id` \"q\" \\ *", "--", "/bin/terraform"}
	own := []string{"plan", "-out=/x y/plan", "", "-var=a='b'", "line\nbreak"}
	cmd := exec.Command(script, own...)
	cmd.Env = []string{"PATH=/usr/bin:/bin", sandboxEnv + "=" + shellWords(sandboxArgs)}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if want := slices.Concat(sandboxArgs, own); !reflect.DeepEqual(got, want) {
		t.Errorf("bwrap got\n%q\nwant\n%q", got, want)
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
					env("DAEMON_SECRET") + env("PASSED") + env("HOME") + env("LANDFORM_SANDBOX"),
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
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("outputs =\n%v\nwant\n%v", got, want)
			}
		})
	}
}
