package terraform

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl"
	"github.com/landform/landform"
)

const mirrorOnly = `# the operator's: a mirror and a credentials block
provider_installation {
  filesystem_mirror {
    path    = "/srv/mirror"
    include = ["registry.terraform.io/*/*"]
  }
}
credentials "app.terraform.io" {
  token = "secret"
}
`

func TestMergeCLIConfig(t *testing.T) {
	t.Parallel()
	t.Run("adds our cache to the operator's mirror", func(t *testing.T) {
		out, cache, err := mergeCLIConfig([]byte(mirrorOnly), false, "/data/plugin-cache")
		if err != nil {
			t.Fatal(err)
		}
		if cache != "/data/plugin-cache" {
			t.Errorf("cache = %q", cache)
		}
		if !strings.HasPrefix(string(out), mirrorOnly) {
			t.Errorf("operator's config not kept verbatim:\n%s", out)
		}
		var cfg struct {
			PluginCacheDir string                   `hcl:"plugin_cache_dir"`
			Install        []map[string]interface{} `hcl:"provider_installation"`
		}
		if err := hcl.Decode(&cfg, string(out)); err != nil {
			t.Fatalf("generated config does not parse: %v\n%s", err, out)
		}
		if cfg.PluginCacheDir != "/data/plugin-cache" || len(cfg.Install) != 1 {
			t.Errorf("generated config = %+v\n%s", cfg, out)
		}
	})
	t.Run("keeps the operator's cache", func(t *testing.T) {
		src := "plugin_cache_dir = \"$HOME/.terraform.d/plugin-cache\"\n" + mirrorOnly
		out, cache, err := mergeCLIConfig([]byte(src), false, "/data/plugin-cache")
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != src {
			t.Errorf("config changed:\n%s", out)
		}
		if strings.Count(string(out), "plugin_cache_dir") != 1 {
			t.Errorf("duplicate plugin_cache_dir:\n%s", out)
		}
		if want := os.ExpandEnv("$HOME/.terraform.d/plugin-cache"); cache != want {
			t.Errorf("cache = %q, want %q", cache, want)
		}
	})
	t.Run("no operator config", func(t *testing.T) {
		out, cache, err := mergeCLIConfig(nil, false, `/data/odd "dir"`)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			PluginCacheDir string `hcl:"plugin_cache_dir"`
		}
		if err := hcl.Decode(&cfg, string(out)); err != nil || cfg.PluginCacheDir != `/data/odd "dir"` || cache != cfg.PluginCacheDir {
			t.Errorf("config %q: %+v, %v", out, cfg, err)
		}
	})
	t.Run("JSON", func(t *testing.T) {
		src := `{"provider_installation": {"filesystem_mirror": {"path": "/srv/mirror"}}}`
		out, cache, err := mergeCLIConfig([]byte(src), true, "/data/plugin-cache")
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if m["plugin_cache_dir"] != "/data/plugin-cache" || m["provider_installation"] == nil || cache != "/data/plugin-cache" {
			t.Errorf("merged JSON = %s", out)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		if _, _, err := mergeCLIConfig([]byte("provider_installation {"), false, "/c"); err == nil {
			t.Error("accepted an invalid config")
		}
	})
}

func TestOperatorCLIConfigDefault(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	explicit := filepath.Join(t.TempDir(), "tfrc")
	if err := os.WriteFile(explicit, []byte("disable_checkpoint = true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	newEngine := func(env ...string) *Engine {
		t.Helper()
		e, err := New(WithWorkDir(t.TempDir()), withEnviron(func() []string { return env }))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// TF_CLI_CONFIG_FILE naming a missing file (this machine's case) and
	// no ~/.terraformrc: no operator config.
	if got := newEngine("HOME="+home, "TF_CLI_CONFIG_FILE=/nonexistent/.terraformrc").operatorCLIConfig(); got != "" {
		t.Errorf("operator config = %q, want none", got)
	}
	rc := filepath.Join(home, ".terraformrc")
	if err := os.WriteFile(rc, []byte(mirrorOnly), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEngine("HOME="+home, "TF_CLI_CONFIG_FILE=/nonexistent/.terraformrc")
	if got := e.operatorCLIConfig(); got != rc {
		t.Errorf("operator config = %q, want %q", got, rc)
	}
	gen, err := os.ReadFile(e.CLIConfigFile())
	if err != nil || !strings.Contains(string(gen), "/srv/mirror") || !strings.Contains(string(gen), e.PluginCacheDir()) {
		t.Errorf("generated config %s:\n%s (%v)", e.CLIConfigFile(), gen, err)
	}
	if got := newEngine("HOME="+home, "TF_CLI_CONFIG_FILE="+explicit).operatorCLIConfig(); got != explicit {
		t.Errorf("operator config = %q, want TF_CLI_CONFIG_FILE %q", got, explicit)
	}
	// A configured file that does not exist is an error.
	_, err = New(WithWorkDir(t.TempDir()), WithCLIConfig(filepath.Join(home, "missing")))
	if landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("missing CLI config: %v", err)
	}
}
