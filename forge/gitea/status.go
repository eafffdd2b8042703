package gitea

import (
	"context"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
)

// SetStatus creates a commit status on s.SHA. The description is cut to
// its first line and to forge.MaxStatusDescription characters.
func (c *Client) SetStatus(ctx context.Context, s forge.Status) error {
	_, resp, err := c.api(ctx).CreateStatus(c.owner, c.repo, s.SHA, sdk.CreateStatusOption{
		State:       sdk.StatusState(s.State),
		TargetURL:   s.TargetURL,
		Description: firstLine(s.Description),
		Context:     s.Context,
	})
	if err != nil {
		return c.fail(resp, err, "setting status %q on %s", s.Context, s.SHA)
	}
	return nil
}

// firstLine is d's first line, at most forge.MaxStatusDescription
// characters.
func firstLine(d string) string {
	d, _, _ = strings.Cut(d, "\n")
	return landform.OneLine(d, forge.MaxStatusDescription)
}
