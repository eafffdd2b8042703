package landform

import (
	"slices"
	"strings"
)

// engineEnv are the environment variables the terraform engine sets for
// every terraform process itself; EngineEnv reports them.
var engineEnv = []string{
	"TF_CLI_CONFIG_FILE", "TF_CLI_ARGS", "TF_DATA_DIR", "TF_WORKSPACE", "TF_INPUT", "TF_IN_AUTOMATION",
	"TF_REATTACH_PROVIDERS", "TF_PLUGIN_CACHE_DIR", "TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE",
	"CHECKPOINT_DISABLE",
	// The engine's own: the job marker that interrupts find processes by,
	// the sandbox's arguments, the version answer and the binary of the
	// wrapper scripts.
	"LANDFORM_JOB", "LANDFORM_SANDBOX", "LANDFORM_VERSION_JSON", "LANDFORM_TERRAFORM",
}

// EngineEnv reports whether name is an environment variable Landform's
// terraform engine sets itself (also TF_CLI_ARGS_*): no configuration may
// set it or pass it through — not a workspace's env, terraform.env,
// terraform.pass_env nor terraform.allowed_env.
func EngineEnv(name string) bool {
	return slices.Contains(engineEnv, name) || strings.HasPrefix(name, "TF_CLI_ARGS_")
}
