package terraform

import (
	"testing"

	"github.com/landform/landform"
)

// Every variable the engine sets itself is one no configuration may set
// (landform.EngineEnv is the list config validates against).
func TestEngineVariablesAreOwned(t *testing.T) {
	for _, name := range []string{jobMarkerEnv, sandboxEnv, versionEnv, terraformEnv, "TF_CLI_CONFIG_FILE", "TF_DATA_DIR", "TF_CLI_ARGS_plan"} {
		if !landform.EngineEnv(name) {
			t.Errorf("%s is set by the engine but landform.EngineEnv does not say so", name)
		}
	}
	if landform.EngineEnv("AWS_PROFILE") || landform.EngineEnv("TF_VAR_x") {
		t.Error("EngineEnv claims an operator's variable")
	}
}
