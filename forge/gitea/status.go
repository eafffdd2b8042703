package gitea

import (
	"context"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/landform/landform/forge"
)

// maxDescription is the longest status description the client sends, in
// characters. Gitea stores descriptions as TEXT and sets no limit; the
// client keeps to GitHub's 140 so that a status reads the same on every
// forge (as forge.MaxCommentGitea keeps to GitHub's comment limit).
const maxDescription = 140

// SetStatus creates a commit status on s.SHA. The description is cut to
// its first line and to maxDescription characters.
func (c *Client) SetStatus(ctx context.Context, s forge.Status) error {
	_, resp, err := c.api(ctx).CreateStatus(c.owner, c.repo, s.SHA, sdk.CreateStatusOption{
		State:       sdk.StatusState(s.State),
		TargetURL:   s.TargetURL,
		Description: description(s.Description),
		Context:     s.Context,
	})
	if err != nil {
		return c.fail(resp, err, "setting status %q on %s", s.Context, s.SHA)
	}
	return nil
}

// description is d's first line, at most maxDescription characters, ending
// in "…" when cut.
func description(d string) string {
	d, _, _ = strings.Cut(d, "\n")
	d = strings.TrimSpace(d)
	if r := []rune(d); len(r) > maxDescription {
		d = string(r[:maxDescription-1]) + "…"
	}
	return d
}
