package terraform

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/landform/landform"
)

// baseEnv are the variables of the parent environment every child process
// gets when they are set: what programs need to run (PATH), to format text
// and times (LANG, LC_ALL, TZ), and to find the CA certificates when the
// machine keeps them in an unusual place (SSL_CERT_FILE, SSL_CERT_DIR).
// HOME is the job's own (see NewJob).
var baseEnv = []string{"PATH", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR"}

// defaultPath is PATH when the parent environment has none.
const defaultPath = "/usr/local/bin:/usr/bin:/bin"

var envNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// isOwnedEnv reports the variables the engine sets itself (refused in a
// workspace's env map and in the names passed through).
func isOwnedEnv(k string) bool { return landform.EngineEnv(k) }

// WithPassEnv names variables of Landform's own environment that terraform
// and its providers get too (e.g. AWS_PROFILE, TF_TOKEN_app_terraform_io):
// nothing else of it is passed but the base set (see Engine.Environ). A
// name that is not a valid variable name or that the engine sets itself
// (TF_CLI_CONFIG_FILE, TF_DATA_DIR, ...) makes New fail with EINVALID.
func WithPassEnv(names ...string) Option {
	return func(e *Engine) error {
		for _, n := range names {
			switch {
			case !envNameRe.MatchString(n):
				return fmt.Errorf("pass_env: %q is not a valid environment variable name", n)
			case isOwnedEnv(n):
				return fmt.Errorf("pass_env: %s is set by Landform and cannot be passed through", n)
			}
			if !slices.Contains(e.passEnv, n) {
				e.passEnv = append(e.passEnv, n)
			}
		}
		return nil
	}
}

// Environ returns the environment of terraform child processes for a
// workspace, built from nothing rather than from Landform's own
// environment, which holds the daemon's secrets (repository tokens, cloud
// credentials meant for other workspaces):
//
//   - of the parent environment, only PATH (default /usr/local/bin:/usr/bin:/bin),
//     LANG, LC_ALL, TZ, SSL_CERT_FILE and SSL_CERT_DIR when set, and the
//     variables named with WithPassEnv when set;
//   - the engine's settings: TF_IN_AUTOMATION=1, TF_INPUT=0,
//     CHECKPOINT_DISABLE=1, TF_CLI_CONFIG_FILE=the generated config, and
//     with a plugin cache TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE=true;
//   - extra last (the server config's terraform.env and the workspace's
//     env): credentials for providers come through WithPassEnv or extra.
//
// Returns EINVALID when extra sets a variable the engine owns
// (TF_CLI_CONFIG_FILE, TF_CLI_ARGS*, TF_DATA_DIR, TF_WORKSPACE, TF_INPUT,
// TF_IN_AUTOMATION, TF_REATTACH_PROVIDERS, TF_PLUGIN_CACHE_DIR,
// TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE, CHECKPOINT_DISABLE,
// LANDFORM_JOB, LANDFORM_SANDBOX, LANDFORM_VERSION_JSON,
// LANDFORM_TERRAFORM). A job adds HOME (a directory in its scratch
// directory, unless extra or the passed names set HOME), TF_DATA_DIR,
// LANDFORM_VERSION_JSON, and LANDFORM_JOB and LANDFORM_TERRAFORM or,
// sandboxed, LANDFORM_SANDBOX (see NewJob); of these, terraform gets
// LANDFORM_JOB only: the wrapper script and bwrap remove the others.
//
// With a plugin cache, TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE=true:
// without it, terraform (1.4+) re-installs a cached provider into the
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
	parent := envMap(e.environ())
	env := map[string]string{"PATH": defaultPath}
	for _, k := range append(slices.Clone(baseEnv), e.passEnv...) {
		if v, ok := parent[k]; ok {
			env[k] = v
		}
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
