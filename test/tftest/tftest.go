// Package tftest is the test harness every Landform test that touches
// Terraform or git uses: it locates the tools scripts/setup installed, builds
// a controlled environment for terraform child processes, and makes
// throwaway infrastructure git repositories.
//
// The harness never lets a test reach the network: providers come from the
// filesystem mirror scripts/setup builds, and the CLI config it writes has no
// direct installation method.
package tftest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Tools are the binaries and files scripts/setup installed under .tools/.
type Tools struct {
	// Root is the repository root (the directory holding go.mod).
	Root string
	// Terraform is the binary setup chose: the first on PATH, else the one
	// it built.
	Terraform string
	// TerraformBuilt is the terraform setup built from source (1.5.7), or ""
	// when it did not build one.
	TerraformBuilt string
	// Tofu is the OpenTofu binary from `setup --with tofu`, or "".
	Tofu string
	// Mirror is the provider filesystem mirror.
	Mirror string
	// CLIConfig is setup's CLI config: the mirror plus a shared plugin cache.
	CLIConfig string
	// PluginCache is the plugin cache directory named in CLIConfig.
	PluginCache string
	// Gitea and VersityGW are the optional service binaries, or "".
	Gitea     string
	VersityGW string
	// GiteaStaticRoot is the Gitea source tree `setup --with gitea` keeps
	// for the binary's locale files and templates (app.ini's [server]
	// STATIC_ROOT_PATH), or "".
	GiteaStaticRoot string
}

var (
	loadOnce  sync.Once
	loaded    *Tools
	loadError error
)

// Load returns the tools scripts/setup installed. It fails the test, telling
// the reader to run scripts/setup, when they are missing.
func Load(t testing.TB) *Tools {
	t.Helper()
	loadOnce.Do(func() { loaded, loadError = load() })
	if loadError != nil {
		t.Fatalf("tftest: %v\nrun scripts/setup (or make setup) first", loadError)
	}
	return loaded
}

func load() (*Tools, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	envFile := filepath.Join(root, ".tools", "tools.env")
	f, err := os.Open(envFile)
	if err != nil {
		return nil, fmt.Errorf("reading tool list: %w", err)
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok {
			vals[k] = v
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", envFile, err)
	}
	tl := &Tools{
		Root:           root,
		Terraform:      vals["TERRAFORM"],
		TerraformBuilt: vals["TERRAFORM_BUILT"],
		Tofu:           vals["TOFU"],
		Mirror:         vals["MIRROR"],
		CLIConfig:      vals["CLI_CONFIG"],
		PluginCache:    vals["PLUGIN_CACHE"],
		Gitea:          vals["GITEA_BIN"],
		VersityGW:      vals["VERSITYGW"],

		GiteaStaticRoot: vals["GITEA_STATIC_ROOT"],
	}
	for name, p := range map[string]string{"TERRAFORM": tl.Terraform, "MIRROR": tl.Mirror, "CLI_CONFIG": tl.CLIConfig} {
		if p == "" {
			return nil, fmt.Errorf("%s: no %s", envFile, name)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", envFile, name, err)
		}
	}
	return tl, nil
}

// repoRoot walks up from the working directory (a test's package directory)
// to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// MirrorConfig writes a CLI config for one test: the provider mirror and a
// plugin cache of the test's own, so parallel tests never share a cache.
// It returns the file's path.
func (tl *Tools) MirrorConfig(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	cache := filepath.Join(dir, "plugin-cache")
	if err := os.Mkdir(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "terraformrc")
	cfg := fmt.Sprintf(`plugin_cache_dir = %q
disable_checkpoint = true
provider_installation {
  filesystem_mirror {
    path    = %q
    include = ["registry.terraform.io/*/*", "registry.opentofu.org/*/*"]
  }
}
`, cache, tl.Mirror)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Env returns an environment for terraform child processes: the test
// process's own, less every TF_* variable (the machine's TF_CLI_CONFIG_FILE
// points at a missing file), plus TF_CLI_CONFIG_FILE=cliConfig, automation
// settings, and extra ("KEY=value") last.
func Env(cliConfig string, extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "TF_") || strings.HasPrefix(kv, "CHECKPOINT_") {
			continue
		}
		env = append(env, kv)
	}
	env = append(env,
		"TF_CLI_CONFIG_FILE="+cliConfig,
		"TF_IN_AUTOMATION=1",
		"TF_INPUT=0",
		"CHECKPOINT_DISABLE=1",
	)
	return append(env, extra...)
}

// TF runs one terraform (or tofu) binary in one directory.
type TF struct {
	t   testing.TB
	Bin string
	Dir string
	Env []string
}

// NewTF returns a runner of bin in dir with a fresh mirror-only CLI config.
// extraEnv ("KEY=value") is added to every command, e.g. TESTCLOUD_ROOT.
func (tl *Tools) NewTF(t testing.TB, bin, dir string, extraEnv ...string) *TF {
	t.Helper()
	return &TF{t: t, Bin: bin, Dir: dir, Env: Env(tl.MirrorConfig(t), extraEnv...)}
}

// Exec runs terraform with args and returns its stdout and stderr. A
// command that runs longer than two minutes is killed.
func (tf *TF) Exec(args ...string) (stdout, stderr string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, tf.Bin, args...)
	cmd.Dir = tf.Dir
	cmd.Env = tf.Env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// Run runs terraform with args and fails the test, showing stderr, when it
// exits non-zero. It returns stdout.
func (tf *TF) Run(args ...string) string {
	tf.t.Helper()
	out, errOut, err := tf.Exec(args...)
	if err != nil {
		tf.t.Fatalf("%s %s in %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(tf.Bin), strings.Join(args, " "), tf.Dir, err, out, errOut)
	}
	return out
}

// WriteFiles writes files (path relative to dir → content) under dir,
// creating directories as needed.
func WriteFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
