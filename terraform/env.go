package terraform

import (
	"maps"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// Environment variables the engine owns: taken out of the parent environment
// and refused in a workspace's env map.
var ownedEnv = []string{
	"TF_CLI_CONFIG_FILE",
	"TF_CLI_ARGS",
	"TF_DATA_DIR",
	"TF_WORKSPACE",
	"TF_INPUT",
	"TF_IN_AUTOMATION",
	"TF_REATTACH_PROVIDERS",
	"TF_PLUGIN_CACHE_DIR",
	"TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE",
	"CHECKPOINT_DISABLE",
	jobMarkerEnv,
}

// Prefixes of owned variables.
var ownedEnvPrefixes = []string{"TF_CLI_ARGS_"}

// Parent variables dropped but allowed in a workspace's env map: logging
// would flood stderr, which Landform keeps for error messages. (Jobs run
// terraform through terraform-exec, which empties TF_LOG* whatever the
// environment says; see NewJob.)
var droppedEnvPrefixes = []string{"TF_LOG"}

func isOwnedEnv(k string) bool {
	if slices.Contains(ownedEnv, k) {
		return true
	}
	for _, p := range ownedEnvPrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

// Environ returns the environment of terraform child processes for a
// workspace: the parent's environment less the variables the engine owns
// (TF_CLI_CONFIG_FILE, TF_CLI_ARGS*, TF_DATA_DIR, TF_WORKSPACE, TF_INPUT,
// TF_IN_AUTOMATION, TF_REATTACH_PROVIDERS, TF_PLUGIN_CACHE_DIR,
// TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE, CHECKPOINT_DISABLE,
// LANDFORM_JOB) and TF_LOG*, plus TF_IN_AUTOMATION=1, TF_INPUT=0,
// CHECKPOINT_DISABLE=1, TF_CLI_CONFIG_FILE=the generated config, and extra
// last. Credentials (TF_TOKEN_*) and variables (TF_VAR_*) pass through.
// Returns EINVALID when extra sets a variable the engine owns. A job adds
// TF_DATA_DIR and LANDFORM_JOB (see NewJob).
//
// With a plugin cache, TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE=true
// too: without it, terraform (1.4+) re-installs a cached provider into the
// cache whenever the workspace's lock file does not list it — deleting the
// directory that concurrent plans of other workspaces are running the
// provider from. With it, init only ever adds new provider versions to the
// cache, and serializing init (lockInit) is enough. The price, a lock file
// with this platform's checksums only, does not matter to Landform: it
// plans exported trees and never commits the lock file init writes.
func (e *Engine) Environ(extra map[string]string) ([]string, error) {
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		if isOwnedEnv(k) || k == "" || strings.Contains(k, "=") {
			return nil, landform.Errorf(landform.EINVALID, "workspace env: %s is set by Landform and cannot be overridden", k)
		}
	}
	env := map[string]string{}
	for k, v := range envMap(e.environ()) {
		if isOwnedEnv(k) || hasAnyPrefix(k, droppedEnvPrefixes) {
			continue
		}
		env[k] = v
	}
	env["TF_IN_AUTOMATION"] = "1"
	env["TF_INPUT"] = "0"
	env["CHECKPOINT_DISABLE"] = "1"
	env["TF_CLI_CONFIG_FILE"] = e.cliConfigFile
	if e.cacheDir != "" {
		env["TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE"] = "true"
	}
	maps.Copy(env, extra)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// envMap turns KEY=value pairs into a map; later pairs win.
func envMap(environ []string) map[string]string {
	m := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && k != "" {
			m[k] = v
		}
	}
	return m
}
