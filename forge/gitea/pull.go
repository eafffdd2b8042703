package gitea

import (
	"context"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/landform/landform/forge"
)

// ListPullRequests returns the open pull requests, oldest first, every
// page. Gitea's "mergeable" is a bool: true is forge.MergeableYes, false
// forge.MergeableNo. Gitea also says false while it is still checking a new
// head (usually a second or so after a push) and for a work-in-progress
// ("WIP:") title; its API does not tell these apart from a conflict, so
// the client never reports forge.MergeableUnknown.
func (c *Client) ListPullRequests(ctx context.Context) ([]forge.PullRequest, error) {
	api := c.api(ctx)
	var out []forge.PullRequest
	seen := map[int64]bool{} // a pull request opened between two pages shifts none (oldest first), but be safe
	for page, n := 1, 0; page != 0; n++ {
		if n == maxPages {
			return nil, c.fail(nil, errNoPages, "listing pull requests")
		}
		prs, resp, err := api.ListRepoPullRequests(c.owner, c.repo, sdk.ListPullRequestsOptions{
			ListOptions: c.listOptions(page),
			State:       sdk.StateOpen,
			Sort:        "oldest",
		})
		if err != nil {
			return nil, c.fail(resp, err, "listing pull requests (page %d)", page)
		}
		for _, pr := range prs {
			if pr == nil || seen[pr.Index] {
				continue
			}
			seen[pr.Index] = true
			out = append(out, pullRequest(pr))
		}
		page = resp.NextPage
	}
	return out, nil
}

func pullRequest(pr *sdk.PullRequest) forge.PullRequest {
	p := forge.PullRequest{
		Number:    int(pr.Index),
		Title:     pr.Title,
		Author:    login(pr.Poster),
		Mergeable: forge.MergeableNo,
		URL:       pr.HTMLURL,
	}
	if pr.Mergeable {
		p.Mergeable = forge.MergeableYes
	}
	if pr.Head != nil {
		p.HeadSHA, p.HeadBranch = pr.Head.Sha, pr.Head.Ref
	}
	if pr.Base != nil {
		p.BaseSHA, p.BaseBranch = pr.Base.Sha, pr.Base.Ref
	}
	return p
}
