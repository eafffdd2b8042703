// Package gitlab is Landform's forge.Client for one project on GitLab
// (gitlab.com or self-managed), written with GitLab's Go client
// (gitlab.com/gitlab-org/api/client-go). Pull requests are merge requests,
// numbered by their IID; comments are the merge request's notes.
//
// What GitLab's API makes the client do:
//
//   - Pages. Every listing follows X-Next-Page, or the Link header's
//     rel="next" when GitLab gives one (keyset pagination), to the end.
//   - Base SHA. The listing of merge requests gives the head ("sha") but
//     not diff_refs; the merge request itself does. The client fetches a
//     merge request when its head or target branch is new to it and keeps
//     diff_refs.base_sha (the merge base) until they change. While GitLab
//     is still preparing the diff of a new head (diff_refs.head_sha is not
//     yet "sha"), BaseSHA is "" and the next listing asks again.
//   - Mergeability is detailed_merge_status: "mergeable" is
//     MergeableYes; "unchecked", "checking", "preparing" and
//     "approvals_syncing" (GitLab still computing) are MergeableUnknown;
//     anything else blocks the merge (conflict, need_rebase, not_approved,
//     draft_status, ci_must_pass, ci_still_running, ...) and is
//     MergeableNo. Landform's own commit statuses count: GitLab makes an
//     external pipeline of them.
//   - Rate limits and failures are retried by forge.NewTransport only:
//     client-go's own retries (go-retryablehttp) are turned off. client-go
//     still paces requests at two thirds of the RateLimit-Limit GitLab
//     announces, which avoids most 429s.
//   - Errors GitLab answered are *landform.Error with the status code and
//     GitLab's message; 404 is ENOTFOUND, 401 and 403 EUNAUTHORIZED, 400
//     and 422 EINVALID, 409 ECONFLICT. Other errors (network, 5xx, a rate
//     limit not waited out) are wrapped without a code.
package gitlab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
)

// Options configure a Client.
type Options struct {
	// BaseURL is GitLab's root URL: "" for https://gitlab.com; the API is
	// under BaseURL/api/v4/.
	BaseURL string
	// Token is a personal, project or group access token with the api
	// scope (sent as PRIVATE-TOKEN).
	Token string
	// Project is the project's path ("group/subgroup/name") or numeric ID.
	Project string
	// Retry is how requests are retried.
	Retry forge.RetryOptions
	// HTTPClient, when set, sends the requests (tests); the retry wraps
	// its transport. Nil means forge.NewHTTPClient(Retry).
	HTTPClient *http.Client
}

// Client is one GitLab project. It is safe for concurrent use.
type Client struct {
	api     *gl.Client
	project string

	mu sync.Mutex
	// bases is the base SHA of each open merge request (by IID) for the
	// head and target branch it was read at.
	bases map[int64]baseSHA
}

type baseSHA struct {
	head, target string
	sha          string
}

var _ forge.Client = (*Client)(nil)

const (
	defaultBaseURL = "https://gitlab.com"
	// pageSize is the most GitLab gives per page.
	pageSize = 100
	// maxPages bounds a listing, against a server that always announces
	// a next page.
	maxPages = 10_000
	// maxDescription is GitLab's limit on a commit status's description.
	maxDescription = 255
)

// New returns a client of project o.Project. It makes no request. It
// returns EINVALID when BaseURL is not an http(s) URL or Project or Token
// is empty.
func New(o Options) (*Client, error) {
	if o.Project == "" {
		return nil, landform.Errorf(landform.EINVALID, "gitlab: no project")
	}
	if o.Token == "" {
		return nil, landform.Errorf(landform.EINVALID, "gitlab: no token for %s", o.Project)
	}
	base := o.BaseURL
	if base == "" {
		base = defaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, landform.Errorf(landform.EINVALID, "gitlab: base URL %q is not an http(s) URL", o.BaseURL)
	}
	var hc *http.Client
	if o.HTTPClient != nil {
		c := *o.HTTPClient
		c.Transport = forge.NewTransport(c.Transport, o.Retry)
		hc = &c
	} else {
		hc = forge.NewHTTPClient(o.Retry)
	}
	api, err := gl.NewClient(o.Token,
		gl.WithBaseURL(base),
		gl.WithHTTPClient(hc),
		gl.WithoutRetries(), // forge.NewTransport retries
		gl.WithURLWarningLogger(slog.New(slog.DiscardHandler)), // the URL is checked above
		gl.WithUserAgent("landform"),
	)
	if err != nil {
		return nil, landform.Errorf(landform.EINVALID, "gitlab: %w", err)
	}
	return &Client{api: api, project: o.Project, bases: map[int64]baseSHA{}}, nil
}

// Kind is forge.GitLab.
func (c *Client) Kind() forge.Kind { return forge.GitLab }

// MaxCommentLength is forge.MaxCommentGitLab.
func (c *Client) MaxCommentLength() int { return forge.MaxCommentGitLab }

// ListPullRequests returns the opened merge requests, every page, with
// their base SHA (see the package doc).
func (c *Client) ListPullRequests(ctx context.Context) ([]forge.PullRequest, error) {
	opt := &gl.ListProjectMergeRequestsOptions{
		ListOptions: gl.ListOptions{PerPage: pageSize},
		State:       gl.Ptr("opened"),
	}
	var mrs []*gl.BasicMergeRequest
	err := eachPage(ctx, func(opts ...gl.RequestOptionFunc) (*gl.Response, bool, error) {
		page, resp, err := c.api.MergeRequests.ListProjectMergeRequests(c.project, opt, opts...)
		if err != nil {
			return nil, false, c.fail(resp, err, "listing the merge requests")
		}
		mrs = append(mrs, page...)
		return resp, true, nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]forge.PullRequest, 0, len(mrs))
	open := map[int64]bool{}
	for _, mr := range mrs {
		open[mr.IID] = true
		base, err := c.baseSHA(ctx, mr)
		if err != nil {
			return nil, err
		}
		out = append(out, forge.PullRequest{
			Number:     int(mr.IID),
			Title:      mr.Title,
			Author:     username(mr.Author),
			HeadSHA:    mr.SHA,
			BaseSHA:    base,
			HeadBranch: mr.SourceBranch,
			BaseBranch: mr.TargetBranch,
			Mergeable:  mergeable(mr),
			URL:        mr.WebURL,
		})
	}
	c.mu.Lock()
	for iid := range c.bases {
		if !open[iid] {
			delete(c.bases, iid)
		}
	}
	c.mu.Unlock()
	return out, nil
}

// baseSHA returns diff_refs.base_sha of mr, from memory while mr's head and
// target branch are those it was read at, else from GitLab.
func (c *Client) baseSHA(ctx context.Context, mr *gl.BasicMergeRequest) (string, error) {
	c.mu.Lock()
	b, ok := c.bases[mr.IID]
	c.mu.Unlock()
	if ok && b.head == mr.SHA && b.target == mr.TargetBranch {
		return b.sha, nil
	}
	full, resp, err := c.api.MergeRequests.GetMergeRequest(c.project, mr.IID, nil, gl.WithContext(ctx))
	if err != nil {
		return "", c.fail(resp, err, "getting merge request !%d", mr.IID)
	}
	refs := full.DiffRefs
	if refs.BaseSha == "" || refs.HeadSha != mr.SHA {
		return "", nil // the diff of this head is not ready yet
	}
	c.mu.Lock()
	c.bases[mr.IID] = baseSHA{head: mr.SHA, target: mr.TargetBranch, sha: refs.BaseSha}
	c.mu.Unlock()
	return refs.BaseSha, nil
}

// mergeable reads detailed_merge_status (see the package doc); a GitLab
// before 15.6 has none, and then only has_conflicts says anything.
func mergeable(mr *gl.BasicMergeRequest) forge.Mergeable {
	switch mr.DetailedMergeStatus {
	case "mergeable":
		return forge.MergeableYes
	case "unchecked", "checking", "preparing", "approvals_syncing":
		return forge.MergeableUnknown
	case "":
		if mr.HasConflicts {
			return forge.MergeableNo
		}
		return forge.MergeableUnknown
	}
	return forge.MergeableNo
}

func username(u *gl.BasicUser) string {
	if u == nil {
		return ""
	}
	return u.Username
}

// ListComments returns the notes of merge request number that people wrote
// (not GitLab's system notes), oldest first, every page; with since not
// zero, only those created or updated at or after it (GitLab cannot filter
// notes by time, so the client does).
func (c *Client) ListComments(ctx context.Context, number int, since time.Time) ([]forge.Comment, error) {
	opt := &gl.ListMergeRequestNotesOptions{
		ListOptions: gl.ListOptions{PerPage: pageSize},
		OrderBy:     gl.Ptr("created_at"),
		Sort:        gl.Ptr("asc"),
	}
	var out []forge.Comment
	err := eachPage(ctx, func(opts ...gl.RequestOptionFunc) (*gl.Response, bool, error) {
		notes, resp, err := c.api.Notes.ListMergeRequestNotes(c.project, int64(number), opt, opts...)
		if err != nil {
			return nil, false, c.fail(resp, err, "listing the notes of !%d", number)
		}
		for _, n := range notes {
			cm := comment(n)
			if n.System || (!since.IsZero() && cm.CreatedAt.Before(since) && cm.UpdatedAt.Before(since)) {
				continue
			}
			out = append(out, cm)
		}
		return resp, true, nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(out, func(a, b forge.Comment) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

func comment(n *gl.Note) forge.Comment {
	cm := forge.Comment{ID: n.ID, Author: n.Author.Username, Body: n.Body}
	if n.CreatedAt != nil {
		cm.CreatedAt = *n.CreatedAt
	}
	if n.UpdatedAt != nil {
		cm.UpdatedAt = *n.UpdatedAt
	}
	return cm
}

// CreateComment adds a note to merge request number.
func (c *Client) CreateComment(ctx context.Context, number int, body string) (forge.Comment, error) {
	n, resp, err := c.api.Notes.CreateMergeRequestNote(c.project, int64(number),
		&gl.CreateMergeRequestNoteOptions{Body: &body}, gl.WithContext(ctx))
	if err != nil {
		return forge.Comment{}, c.fail(resp, err, "commenting on !%d", number)
	}
	return comment(n), nil
}

// EditComment replaces the body of note id of merge request number.
func (c *Client) EditComment(ctx context.Context, number int, id int64, body string) error {
	_, resp, err := c.api.Notes.UpdateMergeRequestNote(c.project, int64(number), id,
		&gl.UpdateMergeRequestNoteOptions{Body: &body}, gl.WithContext(ctx))
	if err != nil {
		return c.fail(resp, err, "editing note %d of !%d", id, number)
	}
	return nil
}

// DeleteComment removes note id of merge request number.
func (c *Client) DeleteComment(ctx context.Context, number int, id int64) error {
	resp, err := c.api.Notes.DeleteMergeRequestNote(c.project, int64(number), id, gl.WithContext(ctx))
	if err != nil {
		return c.fail(resp, err, "deleting note %d of !%d", id, number)
	}
	return nil
}

// SetStatus sets a commit status: s.Context is GitLab's "name", the states
// are GitLab's pending, success and failed (for failure and error alike),
// and the description is made one line and cut to GitLab's 255 characters.
// Setting the state a status already has (GitLab answers 400 "Cannot
// transition status") is not an error; the description then stays as it
// was. Returns EINVALID for an unknown state or an empty SHA or context.
func (c *Client) SetStatus(ctx context.Context, s forge.Status) error {
	var state gl.BuildStateValue
	switch s.State {
	case forge.StatusPending:
		state = gl.Pending
	case forge.StatusSuccess:
		state = gl.Success
	case forge.StatusFailure, forge.StatusError:
		state = gl.Failed
	default:
		return landform.Errorf(landform.EINVALID, "gitlab: unknown commit status state %q", s.State)
	}
	if s.SHA == "" || s.Context == "" {
		return landform.Errorf(landform.EINVALID, "gitlab: a commit status needs a SHA and a context (got %q, %q)", s.SHA, s.Context)
	}
	opt := &gl.SetCommitStatusOptions{
		State:       state,
		Name:        gl.Ptr(s.Context),
		Description: gl.Ptr(landform.OneLine(s.Description, maxDescription)),
	}
	if s.TargetURL != "" {
		opt.TargetURL = gl.Ptr(s.TargetURL)
	}
	_, resp, err := c.api.Commits.SetCommitStatus(c.project, s.SHA, opt, gl.WithContext(ctx))
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusBadRequest && strings.Contains(message(resp.StatusCode, err), "Cannot transition status") {
			return nil
		}
		return c.fail(resp, err, "setting status %q on %s", s.Context, s.SHA)
	}
	return nil
}

// CreateIssue opens an issue.
func (c *Client) CreateIssue(ctx context.Context, title, body string) (forge.Issue, error) {
	is, resp, err := c.api.Issues.CreateIssue(c.project,
		&gl.CreateIssueOptions{Title: &title, Description: &body}, gl.WithContext(ctx))
	if err != nil {
		return forge.Issue{}, c.fail(resp, err, "opening issue %q", title)
	}
	return issue(is), nil
}

// EditIssue replaces an issue's title and body and opens (state_event
// reopen) or closes (close) it.
func (c *Client) EditIssue(ctx context.Context, number int, title, body string, open bool) (forge.Issue, error) {
	event := "close"
	if open {
		event = "reopen"
	}
	is, resp, err := c.api.Issues.UpdateIssue(c.project, int64(number),
		&gl.UpdateIssueOptions{Title: &title, Description: &body, StateEvent: &event}, gl.WithContext(ctx))
	if err != nil {
		return forge.Issue{}, c.fail(resp, err, "editing issue #%d", number)
	}
	return issue(is), nil
}

// FindIssue returns the newest issue, open or closed, whose description
// contains marker, nil when there is none. It reads the project's issues
// newest first up to the first match (GitLab's search parameter does not
// match an HTML comment reliably): a project without one costs a request
// per 100 issues.
func (c *Client) FindIssue(ctx context.Context, marker string) (*forge.Issue, error) {
	opt := &gl.ListProjectIssuesOptions{
		ListOptions: gl.ListOptions{PerPage: pageSize},
		OrderBy:     gl.Ptr("created_at"),
		Sort:        gl.Ptr("desc"),
	}
	var found *forge.Issue
	err := eachPage(ctx, func(opts ...gl.RequestOptionFunc) (*gl.Response, bool, error) {
		list, resp, err := c.api.Issues.ListProjectIssues(c.project, opt, opts...)
		if err != nil {
			return nil, false, c.fail(resp, err, "listing the issues")
		}
		for _, is := range list {
			if strings.Contains(is.Description, marker) {
				i := issue(is)
				found = &i
				return resp, false, nil
			}
		}
		return resp, true, nil
	})
	return found, err
}

func issue(is *gl.Issue) forge.Issue {
	return forge.Issue{
		Number: int(is.IID),
		Title:  is.Title,
		Body:   is.Description,
		Open:   is.State == "opened",
		URL:    is.WebURL,
	}
}

// eachPage calls list for the first page and then for each next one, until
// there is none or list returns false. list passes its options to the
// client-go call: ctx and, after the first page, the next page's.
func eachPage(ctx context.Context, list func(opts ...gl.RequestOptionFunc) (*gl.Response, bool, error)) error {
	opts := []gl.RequestOptionFunc{gl.WithContext(ctx)}
	for range maxPages {
		resp, more, err := list(opts...)
		if err != nil || !more {
			return err
		}
		next, ok := gl.WithNext(resp)
		if !ok {
			return nil
		}
		opts = []gl.RequestOptionFunc{gl.WithContext(ctx), next}
	}
	return fmt.Errorf("gitlab: a listing of more than %d pages", maxPages)
}

// fail wraps err, a client-go call's error, with what the client was doing
// (format and args) and, when GitLab answered, the status code and
// GitLab's message; see the package doc for the codes.
func (c *Client) fail(resp *gl.Response, err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...) + " of " + c.project
	if resp == nil || resp.Response == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("gitlab: %s: %w", what, err)
	}
	msg := fmt.Sprintf("gitlab: %s: %d %s", what, resp.StatusCode, message(resp.StatusCode, err))
	code := forge.ErrorCode(resp.StatusCode)
	if code == "" {
		return &apiError{msg: msg, err: err}
	}
	return &landform.Error{Code: code, Message: msg, Err: err}
}

// message is GitLab's message in err ("message" or "error" of the answer's
// JSON, without the status GitLab often repeats at its start), or the
// status text when there is none.
func message(status int, err error) string {
	var er *gl.ErrorResponse
	if errors.As(err, &er) && len(er.Body) > 0 {
		var body struct {
			Message any    `json:"message"`
			Error   string `json:"error"`
		}
		msg := er.Message
		if json.Unmarshal(er.Body, &body) == nil {
			switch m := body.Message.(type) {
			case string:
				msg = m
			case map[string]any: // {"field": ["is invalid", ...], ...}
				msg = fieldErrors(m)
			}
			if msg == "" {
				msg = body.Error
			}
		}
		msg = strings.TrimPrefix(msg, strconv.Itoa(status)+" ")
		if msg != "" {
			return msg
		}
	}
	return http.StatusText(status)
}

// fieldErrors renders GitLab's validation errors, {"field": ["is too
// long", ...]}, as "field is too long; ...", fields sorted.
func fieldErrors(m map[string]any) string {
	var out []string
	for _, field := range slices.Sorted(maps.Keys(m)) {
		switch v := m[field].(type) {
		case []any:
			for _, e := range v {
				out = append(out, fmt.Sprintf("%s %v", field, e))
			}
		default:
			out = append(out, fmt.Sprintf("%s %v", field, v))
		}
	}
	return strings.Join(out, "; ")
}

// apiError is an answer of GitLab with no code for callers to branch on:
// its message says what GitLab said; it unwraps to client-go's error.
type apiError struct {
	msg string
	err error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }
