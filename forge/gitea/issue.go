package gitea

import (
	"context"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/landform/landform/forge"
)

// CreateIssue opens an issue.
func (c *Client) CreateIssue(ctx context.Context, title, body string) (forge.Issue, error) {
	is, resp, err := c.api(ctx).CreateIssue(c.owner, c.repo, sdk.CreateIssueOption{Title: title, Body: body})
	if err != nil {
		return forge.Issue{}, c.fail(resp, err, "creating issue %q", title)
	}
	return issue(is), nil
}

// EditIssue replaces issue number's title and body and opens or closes it.
func (c *Client) EditIssue(ctx context.Context, number int, title, body string, open bool) (forge.Issue, error) {
	state := sdk.StateClosed
	if open {
		state = sdk.StateOpen
	}
	is, resp, err := c.api(ctx).EditIssue(c.owner, c.repo, int64(number), sdk.EditIssueOption{
		Title: title,
		Body:  &body,
		State: &state,
	})
	if err != nil {
		return forge.Issue{}, c.fail(resp, err, "editing issue #%d", number)
	}
	return issue(is), nil
}

// FindIssue returns the newest issue, open or closed, whose body contains
// marker, nil when none does. It lists the issues (not pull requests)
// newest first, page by page, and stops at the first match. It does not
// use Gitea's keyword search, which goes through the issue indexer and may
// not have indexed a new issue yet; a listing without a keyword reads the
// database.
func (c *Client) FindIssue(ctx context.Context, marker string) (*forge.Issue, error) {
	api := c.api(ctx)
	for page, n := 1, 0; page != 0; n++ {
		if n == maxPages {
			return nil, c.fail(nil, errNoPages, "looking for the issue marked %q", marker)
		}
		issues, resp, err := api.ListRepoIssues(c.owner, c.repo, sdk.ListIssueOption{
			ListOptions: c.listOptions(page),
			State:       sdk.StateAll,
			Type:        sdk.IssueTypeIssue,
		})
		if err != nil {
			return nil, c.fail(resp, err, "listing issues (page %d)", page)
		}
		for _, is := range issues {
			if is != nil && is.PullRequest == nil && strings.Contains(is.Body, marker) {
				found := issue(is)
				return &found, nil
			}
		}
		page = resp.NextPage
	}
	return nil, nil
}

func issue(is *sdk.Issue) forge.Issue {
	return forge.Issue{
		Number: int(is.Index),
		Title:  is.Title,
		Body:   is.Body,
		Open:   is.State == sdk.StateOpen,
		URL:    is.HTMLURL,
	}
}
