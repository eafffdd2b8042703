// Package github is Landform's forge.Client for one repository on GitHub or
// GitHub Enterprise Server, written with go-github
// (github.com/google/go-github/v75).
//
// Three choices shape it:
//
//   - Mergeability. GitHub's listing of pull requests does not compute
//     "mergeable"; only the pull request itself does (and starts computing
//     it when asked). ListPullRequests therefore fetches each open pull
//     request that the listing left without an answer, one request per pull
//     request, one after the other (GitHub asks integrations not to send
//     requests concurrently). A pull request still being computed is
//     MergeableUnknown; the next listing asks again.
//   - Rate limits. go-github refuses, without a request, to call GitHub
//     again before a spent rate limit resets. That check is turned off:
//     every request goes to forge.NewTransport, which waits for the reset
//     (up to RetryOptions.MaxWait) and tries again, so rate limits are
//     handled in one place for every forge.
//   - Errors. An error GitHub answered is a *landform.Error whose message
//     is the action, the status code and GitHub's message; 404 is
//     ENOTFOUND, 401 and 403 EUNAUTHORIZED, 400 and 422 EINVALID, 409
//     ECONFLICT. Other errors (network, 5xx, a rate limit not waited out)
//     are wrapped without a code.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v75/github"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
)

// Options configure a Client.
type Options struct {
	// BaseURL is the API's root: "" for https://api.github.com/; for
	// GitHub Enterprise Server https://HOST/api/v3/ (a URL without the
	// /api/v3/ suffix gets it).
	BaseURL string
	// Token is a personal, app installation or Actions token; it needs
	// pull requests and issues (write) and commit statuses (write).
	Token string
	// Owner and Repo name the repository (owner/repo).
	Owner, Repo string
	// Retry is how requests are retried.
	Retry forge.RetryOptions
	// HTTPClient, when set, sends the requests (tests); the retry wraps
	// its transport. Nil means forge.NewHTTPClient(Retry).
	HTTPClient *http.Client
}

// Client is one GitHub repository. It is safe for concurrent use.
type Client struct {
	gh          *gh.Client
	owner, repo string
}

var _ forge.Client = (*Client)(nil)

// pageSize is the most GitHub gives per page.
const pageSize = 100

// maxPages bounds a listing, against a server that always announces a next
// page.
const maxPages = 10_000

// maxDescription is GitHub's limit on a commit status's description.
const maxDescription = 140

// New returns a client of repository o.Owner/o.Repo. It makes no request.
// It returns EINVALID when BaseURL is not an http(s) URL or Owner, Repo or
// Token is empty.
func New(o Options) (*Client, error) {
	if o.Owner == "" || o.Repo == "" {
		return nil, landform.Errorf(landform.EINVALID, "github: owner %q and repo %q must both be set", o.Owner, o.Repo)
	}
	if o.Token == "" {
		return nil, landform.Errorf(landform.EINVALID, "github: no token for %s/%s", o.Owner, o.Repo)
	}
	var hc *http.Client
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		c.Transport = forge.NewTransport(c.Transport, o.Retry)
		hc = &c
	} else {
		hc = forge.NewHTTPClient(o.Retry)
	}
	api := gh.NewClient(hc).WithAuthToken(o.Token)
	if o.BaseURL != "" {
		u, err := url.Parse(o.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, landform.Errorf(landform.EINVALID, "github: base URL %q is not an http(s) URL", o.BaseURL)
		}
		// Landform uploads nothing; the upload URL is only set right.
		uploads := u.Scheme + "://" + u.Host + "/api/uploads/"
		if api, err = api.WithEnterpriseURLs(o.BaseURL, uploads); err != nil {
			return nil, landform.Errorf(landform.EINVALID, "github: base URL %q: %w", o.BaseURL, err)
		}
	}
	api.DisableRateLimitCheck = true // see the package doc
	return &Client{gh: api, owner: o.Owner, repo: o.Repo}, nil
}

// Kind is forge.GitHub.
func (c *Client) Kind() forge.Kind { return forge.GitHub }

// MaxCommentLength is forge.MaxCommentGitHub.
func (c *Client) MaxCommentLength() int { return forge.MaxCommentGitHub }

// ListPullRequests returns the open pull requests, every page, each fetched
// again for its mergeability when the listing does not say it (see the
// package doc).
func (c *Client) ListPullRequests(ctx context.Context) ([]forge.PullRequest, error) {
	opts := &gh.PullRequestListOptions{State: "open", ListOptions: gh.ListOptions{PerPage: pageSize}}
	var out []forge.PullRequest
	for range maxPages {
		prs, resp, err := c.gh.PullRequests.List(ctx, c.owner, c.repo, opts)
		if err != nil {
			return nil, c.fail(resp, err, "listing the pull requests")
		}
		for _, pr := range prs {
			if pr.Mergeable == nil {
				full, resp, err := c.gh.PullRequests.Get(ctx, c.owner, c.repo, pr.GetNumber())
				if err != nil {
					return nil, c.fail(resp, err, "getting pull request #%d", pr.GetNumber())
				}
				pr = full
			}
			out = append(out, pullRequest(pr))
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
	return nil, fmt.Errorf("github: listing the pull requests of %s/%s: more than %d pages", c.owner, c.repo, maxPages)
}

func pullRequest(pr *gh.PullRequest) forge.PullRequest {
	return forge.PullRequest{
		Number:     pr.GetNumber(),
		Title:      pr.GetTitle(),
		Author:     pr.GetUser().GetLogin(),
		HeadSHA:    pr.GetHead().GetSHA(),
		BaseSHA:    pr.GetBase().GetSHA(),
		HeadBranch: pr.GetHead().GetRef(),
		BaseBranch: pr.GetBase().GetRef(),
		Mergeable:  mergeable(pr),
		URL:        pr.GetHTMLURL(),
	}
}

// mergeable reads "mergeable" and "mergeable_state" as Atlantis does: only
// clean, unstable (non-passing checks that are not required) and has_hooks
// can be merged; dirty (conflicts), blocked (a required review or check,
// Landform's own pending statuses included when they are required),
// behind (the branch must be brought up to date) and draft cannot;
// unknown, or no answer yet, is MergeableUnknown.
func mergeable(pr *gh.PullRequest) forge.Mergeable {
	if pr.Mergeable == nil {
		return forge.MergeableUnknown
	}
	switch pr.GetMergeableState() {
	case "unknown", "":
		return forge.MergeableUnknown
	case "clean", "unstable", "has_hooks":
		if pr.GetMergeable() {
			return forge.MergeableYes
		}
	}
	return forge.MergeableNo
}

// ListComments returns the comments of pull request (or issue) number,
// oldest first, every page; GitHub filters by since (updated at or after).
func (c *Client) ListComments(ctx context.Context, number int, since time.Time) ([]forge.Comment, error) {
	opts := &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{PerPage: pageSize}}
	if !since.IsZero() {
		opts.Since = &since
	}
	var out []forge.Comment
	for range maxPages {
		cs, resp, err := c.gh.Issues.ListComments(ctx, c.owner, c.repo, number, opts)
		if err != nil {
			return nil, c.fail(resp, err, "listing the comments of #%d", number)
		}
		for _, ic := range cs {
			out = append(out, comment(ic))
		}
		if resp.NextPage == 0 {
			slices.SortStableFunc(out, func(a, b forge.Comment) int { return a.CreatedAt.Compare(b.CreatedAt) })
			return out, nil
		}
		opts.Page = resp.NextPage
	}
	return nil, fmt.Errorf("github: listing the comments of #%d of %s/%s: more than %d pages", number, c.owner, c.repo, maxPages)
}

func comment(ic *gh.IssueComment) forge.Comment {
	return forge.Comment{
		ID:        ic.GetID(),
		Author:    ic.GetUser().GetLogin(),
		Body:      ic.GetBody(),
		CreatedAt: ic.GetCreatedAt().Time,
		UpdatedAt: ic.GetUpdatedAt().Time,
		URL:       ic.GetHTMLURL(),
	}
}

// CreateComment adds a comment to pull request (or issue) number.
func (c *Client) CreateComment(ctx context.Context, number int, body string) (forge.Comment, error) {
	ic, resp, err := c.gh.Issues.CreateComment(ctx, c.owner, c.repo, number, &gh.IssueComment{Body: &body})
	if err != nil {
		return forge.Comment{}, c.fail(resp, err, "commenting on #%d", number)
	}
	return comment(ic), nil
}

// EditComment replaces the body of comment id (number is not needed).
func (c *Client) EditComment(ctx context.Context, number int, id int64, body string) error {
	_, resp, err := c.gh.Issues.EditComment(ctx, c.owner, c.repo, id, &gh.IssueComment{Body: &body})
	if err != nil {
		return c.fail(resp, err, "editing comment %d of #%d", id, number)
	}
	return nil
}

// DeleteComment removes comment id (number is not needed).
func (c *Client) DeleteComment(ctx context.Context, number int, id int64) error {
	resp, err := c.gh.Issues.DeleteComment(ctx, c.owner, c.repo, id)
	if err != nil {
		return c.fail(resp, err, "deleting comment %d of #%d", id, number)
	}
	return nil
}

// SetStatus sets a commit status; its description is made one line and cut
// to GitHub's 140 characters. Returns EINVALID for a state GitHub does not
// know or an empty SHA or context.
func (c *Client) SetStatus(ctx context.Context, s forge.Status) error {
	switch s.State {
	case forge.StatusPending, forge.StatusSuccess, forge.StatusFailure, forge.StatusError:
	default:
		return landform.Errorf(landform.EINVALID, "github: unknown commit status state %q", s.State)
	}
	if s.SHA == "" || s.Context == "" {
		return landform.Errorf(landform.EINVALID, "github: a commit status needs a SHA and a context (got %q, %q)", s.SHA, s.Context)
	}
	st := &gh.RepoStatus{
		State:       gh.Ptr(string(s.State)),
		Context:     gh.Ptr(s.Context),
		Description: gh.Ptr(landform.OneLine(s.Description, maxDescription)),
	}
	if s.TargetURL != "" {
		st.TargetURL = gh.Ptr(s.TargetURL)
	}
	if _, resp, err := c.gh.Repositories.CreateStatus(ctx, c.owner, c.repo, s.SHA, st); err != nil {
		return c.fail(resp, err, "setting status %q on %s", s.Context, s.SHA)
	}
	return nil
}

// CreateIssue opens an issue.
func (c *Client) CreateIssue(ctx context.Context, title, body string) (forge.Issue, error) {
	is, resp, err := c.gh.Issues.Create(ctx, c.owner, c.repo, &gh.IssueRequest{Title: &title, Body: &body})
	if err != nil {
		return forge.Issue{}, c.fail(resp, err, "opening issue %q", title)
	}
	return issue(is), nil
}

// EditIssue replaces an issue's title and body and opens or closes it.
func (c *Client) EditIssue(ctx context.Context, number int, title, body string, open bool) (forge.Issue, error) {
	state := "closed"
	if open {
		state = "open"
	}
	is, resp, err := c.gh.Issues.Edit(ctx, c.owner, c.repo, number, &gh.IssueRequest{Title: &title, Body: &body, State: &state})
	if err != nil {
		return forge.Issue{}, c.fail(resp, err, "editing issue #%d", number)
	}
	return issue(is), nil
}

// FindIssue returns the newest issue, open or closed, whose body contains
// marker, nil when there is none. It reads the repository's issues newest
// first (not the search API, whose index lags and whose limits are
// stricter), up to the first match: a repository without one costs a
// request per 100 issues.
func (c *Client) FindIssue(ctx context.Context, marker string) (*forge.Issue, error) {
	opts := &gh.IssueListByRepoOptions{
		State:       "all",
		Sort:        "created",
		Direction:   "desc",
		ListOptions: gh.ListOptions{PerPage: pageSize},
	}
	for range maxPages {
		list, resp, err := c.gh.Issues.ListByRepo(ctx, c.owner, c.repo, opts)
		if err != nil {
			return nil, c.fail(resp, err, "listing the issues")
		}
		for _, is := range list {
			if !is.IsPullRequest() && strings.Contains(is.GetBody(), marker) {
				found := issue(is)
				return &found, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.ListOptions.Page = resp.NextPage
	}
	return nil, fmt.Errorf("github: listing the issues of %s/%s: more than %d pages", c.owner, c.repo, maxPages)
}

func issue(is *gh.Issue) forge.Issue {
	return forge.Issue{
		Number: is.GetNumber(),
		Title:  is.GetTitle(),
		Body:   is.GetBody(),
		Open:   is.GetState() == "open",
		URL:    is.GetHTMLURL(),
	}
}

// fail wraps err, a go-github call's error, with what the client was doing
// (format and args) and, when GitHub answered, the status code and GitHub's
// message; see the package doc for the codes.
func (c *Client) fail(resp *gh.Response, err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...) + " of " + c.owner + "/" + c.repo
	if resp == nil || resp.Response == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("github: %s: %w", what, err)
	}
	msg := fmt.Sprintf("github: %s: %d %s", what, resp.StatusCode, message(resp.StatusCode, err))
	code := forge.ErrorCode(resp.StatusCode)
	var limited *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	if code == "" || errors.As(err, &limited) || errors.As(err, &abuse) {
		return &apiError{msg: msg, err: err}
	}
	return &landform.Error{Code: code, Message: msg, Err: err}
}

// message is GitHub's message in err, its details included, or the status
// text when there is none.
func message(status int, err error) string {
	var (
		er      *gh.ErrorResponse
		limited *gh.RateLimitError
		abuse   *gh.AbuseRateLimitError
		msg     string
		details []string
	)
	switch {
	case errors.As(err, &er):
		msg = er.Message
		for _, e := range er.Errors {
			if e.Message != "" {
				details = append(details, e.Message)
			} else {
				details = append(details, strings.TrimSpace(e.Resource+" "+e.Field+" "+e.Code))
			}
		}
	case errors.As(err, &limited):
		msg = limited.Message
	case errors.As(err, &abuse):
		msg = abuse.Message
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	if len(details) > 0 {
		msg += " (" + strings.Join(details, "; ") + ")"
	}
	return msg
}

// apiError is an answer of GitHub with no code for callers to branch on:
// its message says what GitHub said; it unwraps to go-github's error.
type apiError struct {
	msg string
	err error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }
