package terraform

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl"
	"github.com/landform/landform"
)

// operatorCLIConfig returns the operator's CLI config file: the configured
// one, else TF_CLI_CONFIG_FILE when that file exists, else ~/.terraformrc
// when it exists, else "".
func (e *Engine) operatorCLIConfig() string {
	if e.cliConfigSet {
		return e.cliConfig
	}
	env := envMap(e.environ())
	if p := env["TF_CLI_CONFIG_FILE"]; p != "" && isFile(p) {
		return p
	}
	if home := env["HOME"]; home != "" {
		if p := filepath.Join(home, ".terraformrc"); isFile(p) {
			return p
		}
	}
	return ""
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// setupCLIConfig reads the operator's CLI config, decides the plugin cache
// in effect and writes the generated config.
func (e *Engine) setupCLIConfig() error {
	var src []byte
	opPath := e.operatorCLIConfig()
	if opPath != "" {
		var err error
		if src, err = os.ReadFile(opPath); err != nil {
			return landform.Errorf(landform.EINVALID, "reading terraform CLI config: %w", err)
		}
	}
	out, cache, err := mergeCLIConfig(src, isJSONConfig(opPath, src), e.pluginCache)
	if err != nil {
		return landform.Errorf(landform.EINVALID, "terraform CLI config %s: %w", opPath, err)
	}
	e.cacheDir = cache
	e.providerPaths = providerPaths(src)
	if filepath.IsAbs(cache) {
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return fmt.Errorf("creating plugin cache: %w", err)
		}
	}
	// The name carries the content's hash: engines of several processes
	// sharing a work directory never overwrite each other's file with a
	// different content.
	sum := sha256.Sum256(out)
	name := "terraformrc-" + hex.EncodeToString(sum[:6])
	if isJSONConfig(opPath, src) {
		name += ".json"
	}
	e.cliConfigFile = filepath.Join(e.workDir, name)
	if old, err := os.ReadFile(e.cliConfigFile); err == nil && bytes.Equal(old, out) {
		return nil
	}
	if err := writeFileAtomic(e.cliConfigFile, out, 0o644); err != nil {
		return fmt.Errorf("writing terraform CLI config: %w", err)
	}
	e.logger.Debug("terraform CLI config", "operator", opPath, "generated", e.cliConfigFile, "plugin_cache_dir", cache)
	return nil
}

// isJSONConfig reports whether a CLI config is in JSON syntax, which
// Terraform recognises by content, not by name.
func isJSONConfig(path string, src []byte) bool {
	if strings.HasSuffix(path, ".json") {
		return true
	}
	return bytes.HasPrefix(bytes.TrimSpace(src), []byte("{"))
}

// mergeCLIConfig returns the operator's CLI config src with
// plugin_cache_dir = cacheDir added, unless src already sets one; cache is
// the plugin cache in effect (theirs or ours, environment variables
// expanded as Terraform does). src may be empty.
func mergeCLIConfig(src []byte, isJSON bool, cacheDir string) (out []byte, cache string, err error) {
	var cfg struct {
		PluginCacheDir string `hcl:"plugin_cache_dir"`
	}
	if len(bytes.TrimSpace(src)) > 0 {
		if err := hcl.Decode(&cfg, string(src)); err != nil {
			return nil, "", err
		}
	}
	if cfg.PluginCacheDir != "" {
		// Keep theirs; adding ours would be a duplicate attribute.
		return src, os.ExpandEnv(cfg.PluginCacheDir), nil
	}
	if cacheDir == "" {
		return src, "", nil
	}
	if isJSON {
		m := map[string]any{}
		if len(bytes.TrimSpace(src)) > 0 {
			if err := json.Unmarshal(src, &m); err != nil {
				return nil, "", err
			}
		}
		m["plugin_cache_dir"] = cacheDir
		out, err := json.MarshalIndent(m, "", "  ")
		if err != nil {
			return nil, "", err
		}
		return append(out, '\n'), cacheDir, nil
	}
	var b bytes.Buffer
	b.Write(src)
	if len(src) > 0 && !bytes.HasSuffix(src, []byte("\n")) {
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "\n# Added by Landform: its shared provider plugin cache.\nplugin_cache_dir = %s\n", hclString(cacheDir))
	return b.Bytes(), cacheDir, nil
}

// hclString quotes s as an HCL (version 1, the CLI config's syntax) string
// literal.
func hclString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// writeFileAtomic writes data to path, with permissions perm, through a
// temporary file and a rename, so that a concurrent reader never sees a
// partial file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), perm); err != nil && !errors.Is(err, fs.ErrNotExist) {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return err
	}
	return nil
}
