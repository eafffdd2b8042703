package landform

import "time"

// Approval channels: where an approval (or its refusal) came from.
const (
	ChannelComment = "comment" // a pull request comment
	ChannelSlack   = "slack"   // a Slack slash command
	ChannelAPI     = "api"     // the REST API
	ChannelCLI     = "cli"     // the landform command line
)

// Approval is one decision on a run's plan: an approval bound to the run,
// its commit and its plan's sha256 (an apply checks all three), or a
// refused one with the reason — refusals are recorded too.
type Approval struct {
	// ID is assigned by the store.
	ID      string `json:"id"`
	RunID   string `json:"run"`
	By      string `json:"by"`
	Channel string `json:"channel"`
	// Commit and PlanSHA256 are what was approved.
	Commit     string `json:"commit"`
	PlanSHA256 string `json:"plan_sha256"`
	// Approved is false for a refused approval; Reason says why (or, for
	// an approval, the approver's note).
	Approved bool      `json:"approved"`
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}
