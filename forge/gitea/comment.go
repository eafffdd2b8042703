package gitea

import (
	"context"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/landform/landform/forge"
)

// ListComments returns the comments of pull request (or issue) number,
// oldest first. Gitea 1.26 answers them all at once (the endpoint takes no
// page); the client still follows a next page should Gitea announce one.
// With since not zero, Gitea returns the comments updated at or after it,
// to the second: a comment of since's own second is included.
func (c *Client) ListComments(ctx context.Context, number int, since time.Time) ([]forge.Comment, error) {
	api := c.api(ctx)
	var out []forge.Comment
	seen := map[int64]bool{}
	for page, n := 1, 0; page != 0; n++ {
		if n == maxPages {
			return nil, c.fail(nil, errNoPages, "listing the comments of #%d", number)
		}
		comments, resp, err := api.ListIssueComments(c.owner, c.repo, int64(number), sdk.ListIssueCommentOptions{
			ListOptions: c.listOptions(page),
			Since:       since,
		})
		if err != nil {
			return nil, c.fail(resp, err, "listing the comments of #%d (page %d)", number, page)
		}
		for _, cm := range comments {
			if cm == nil || seen[cm.ID] {
				continue
			}
			seen[cm.ID] = true
			out = append(out, comment(cm))
		}
		page = resp.NextPage
	}
	return out, nil
}

// CreateComment adds a comment to pull request (or issue) number.
func (c *Client) CreateComment(ctx context.Context, number int, body string) (forge.Comment, error) {
	cm, resp, err := c.api(ctx).CreateIssueComment(c.owner, c.repo, int64(number), sdk.CreateIssueCommentOption{Body: body})
	if err != nil {
		return forge.Comment{}, c.fail(resp, err, "commenting on #%d", number)
	}
	return comment(cm), nil
}

// EditComment replaces the body of comment id; Gitea needs no number.
func (c *Client) EditComment(ctx context.Context, number int, id int64, body string) error {
	_, resp, err := c.api(ctx).EditIssueComment(c.owner, c.repo, id, sdk.EditIssueCommentOption{Body: body})
	if err != nil {
		return c.fail(resp, err, "editing comment %d on #%d", id, number)
	}
	return nil
}

// DeleteComment removes comment id; Gitea needs no number.
func (c *Client) DeleteComment(ctx context.Context, number int, id int64) error {
	resp, err := c.api(ctx).DeleteIssueComment(c.owner, c.repo, id)
	if err != nil {
		return c.fail(resp, err, "deleting comment %d on #%d", id, number)
	}
	return nil
}

func comment(cm *sdk.Comment) forge.Comment {
	return forge.Comment{
		ID:        cm.ID,
		Author:    login(cm.Poster),
		Body:      cm.Body,
		CreatedAt: cm.Created,
		UpdatedAt: cm.Updated,
		URL:       cm.HTMLURL,
	}
}
