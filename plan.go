package landform

import "errors"

// PlanArtifact is what a plan run leaves behind: the binary plan file that
// apply consumes, its `terraform show -json` rendering and its plain-text
// rendering. SHA256 is the hex sha256 of Plan; an approval is bound to it.
type PlanArtifact struct {
	Plan   []byte
	JSON   []byte
	Text   string
	SHA256 string
}

// ErrStalePlan is in the chain of the error of applying a saved plan when
// the state moved since the plan was made (terraform and tofu: "Saved plan
// is stale"): the run becomes stale and is planned again.
var ErrStalePlan = errors.New("saved plan is stale")
