package landform

// PlanArtifact is what a plan run leaves behind: the binary plan file that
// apply consumes, its `terraform show -json` rendering and its plain-text
// rendering. SHA256 is the hex sha256 of Plan; an approval is bound to it.
type PlanArtifact struct {
	Plan   []byte
	JSON   []byte
	Text   string
	SHA256 string
}
