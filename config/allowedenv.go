package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/landform/landform"
	"gopkg.in/yaml.v3"
)

// tfVarPrefix starts the names of the variables that set Terraform input
// variables, which any repo config may set.
const tfVarPrefix = "TF_VAR_"

// EnvAllowed reports whether a workspace's env may set the variable name:
// a TF_VAR_ variable (with a name after the prefix), or one of AllowedEnv.
// Everything else — PATH, HOME, LD_PRELOAD, GIT_SSH_COMMAND, TF_CLI_ARGS —
// would let a repository's content change what the daemon runs.
func (o RepoOptions) EnvAllowed(name string) bool {
	if !envName.MatchString(name) {
		return false
	}
	if v, ok := strings.CutPrefix(name, tfVarPrefix); ok && v != "" {
		return true
	}
	return slices.Contains(o.AllowedEnv, name)
}

// envRefused says why a repo config may not set the variable key.
func envRefused(key string, allowed []string) string {
	list := "none"
	if len(allowed) > 0 {
		list = strings.Join(allowed, ", ")
	}
	return fmt.Sprintf("%q may not be set by the repo config: only TF_VAR_* variables and those the server config allows in terraform.allowed_env (%s)", key, list)
}

// decodeAllowedEnv reads the server config's terraform.allowed_env at p:
// valid names, each once, none of them TF_VAR_* (always allowed) or one
// Landform sets itself.
func decodeAllowedEnv(d *decoder, p string, v *yaml.Node) []string {
	var out []string
	d.stringList(v, p, func(name, ip string, n *yaml.Node) {
		switch {
		case !envName.MatchString(name):
			d.errorf(n, ip, "%q is not a valid environment variable name", name)
		case strings.HasPrefix(name, tfVarPrefix):
			d.errorf(n, ip, "%q: TF_VAR_* variables are always allowed; list only other names", name)
		case landform.EngineEnv(name):
			d.errorf(n, ip, "%q is set by Landform itself; a repo config may not set it", name)
		case slices.Contains(out, name):
			d.errorf(n, ip, "%q listed twice", name)
		default:
			out = append(out, name)
		}
	})
	return out
}
