// Package gitea is Landform's forge.Client for one repository on Gitea,
// written with Gitea's Go SDK (code.gitea.io/sdk/gitea) and tested against
// a real Gitea 1.26 (test/giteatest).
//
// Two things of the SDK shape the client. The SDK keeps a request's context
// in its client (SetContext), not per call, so one SDK client shared by
// concurrent calls cannot give each call its own context: every call makes a
// fresh SDK client, which costs a small allocation and no request. And the
// SDK's NewClient asks the server for its version unless told a version:
// the client passes SetGiteaVersion(""), so New never calls the server (and
// the SDK's workarounds for servers older than 1.14 are off).
//
// Requests go through forge.NewHTTPClient, which retries rate-limited and
// failed (5xx, network) requests.
//
// Gitea's API answers in ways the forge contract has to absorb, each noted
// where it matters: a pull request's "mergeable" is a bool that is also
// false while Gitea is still checking a new head, the comments of an issue
// come in one unpaginated answer, and a status description has no limit.
package gitea

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/landform/landform"
	"github.com/landform/landform/forge"
)

// Options configure a Client.
type Options struct {
	// BaseURL is Gitea's root URL, e.g. https://gitea.example.com or
	// https://example.com/gitea (the API is under BaseURL/api/v1).
	BaseURL string
	// Token is an access token; it needs write:issue and write:repository
	// (statuses) on the repository.
	Token string
	// Owner and Repo name the repository (owner/repo).
	Owner string
	Repo  string
	// Retry says how the default HTTP client retries rate-limited and
	// failed requests; the zero value is forge's defaults. It is ignored
	// with HTTPClient.
	Retry forge.RetryOptions
	// HTTPClient sends the requests. Nil means forge.NewHTTPClient(Retry).
	HTTPClient *http.Client
}

// Client is one Gitea repository. It is safe for concurrent use.
type Client struct {
	baseURL string
	token   string
	owner   string
	repo    string
	http    *http.Client
	// pageSize is the number of items asked for per page; 0 leaves it to
	// the server (DEFAULT_PAGING_NUM, 30 by default). Tests make it small.
	pageSize int
}

var _ forge.Client = (*Client)(nil)

// New returns a client of repository o.Owner/o.Repo on the Gitea at
// o.BaseURL. It makes no request. It returns an EINVALID error when
// BaseURL is not an http(s) URL or Owner, Repo or Token is empty.
func New(o Options) (*Client, error) {
	u, err := url.Parse(o.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, landform.Errorf(landform.EINVALID, "gitea: base URL %q is not an http(s) URL", o.BaseURL)
	}
	if o.Owner == "" || o.Repo == "" {
		return nil, landform.Errorf(landform.EINVALID, "gitea: owner %q and repo %q must both be set", o.Owner, o.Repo)
	}
	if o.Token == "" {
		return nil, landform.Errorf(landform.EINVALID, "gitea: no token for %s/%s", o.Owner, o.Repo)
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = forge.NewHTTPClient(o.Retry)
	}
	return &Client{
		baseURL: strings.TrimSuffix(o.BaseURL, "/"),
		token:   o.Token,
		owner:   o.Owner,
		repo:    o.Repo,
		http:    hc,
	}, nil
}

// Kind is forge.Gitea.
func (c *Client) Kind() forge.Kind { return forge.Gitea }

// MaxCommentLength is forge.MaxCommentGitea.
func (c *Client) MaxCommentLength() int { return forge.MaxCommentGitea }

// api returns an SDK client whose requests carry ctx (see the package doc).
func (c *Client) api(ctx context.Context) *sdk.Client {
	cl, err := sdk.NewClient(c.baseURL,
		sdk.SetToken(c.token),
		sdk.SetHTTPClient(c.http),
		sdk.SetContext(ctx),
		sdk.SetUserAgent("landform"),
		sdk.SetGiteaVersion(""), // no version request
	)
	if err != nil {
		// None of these options fails, and with SetGiteaVersion("")
		// NewClient makes no request that could.
		panic(fmt.Sprintf("gitea: NewClient: %v", err))
	}
	return cl
}

// listOptions is the page-th page of c's page size.
func (c *Client) listOptions(page int) sdk.ListOptions {
	return sdk.ListOptions{Page: page, PageSize: c.pageSize}
}

// fail wraps err, an SDK call's error, with what the client was doing and
// the HTTP status Gitea answered: 404 is ENOTFOUND, 401 and 403
// EUNAUTHORIZED, 400 and 422 EINVALID, 409 ECONFLICT; anything else
// (network, 5xx) carries no code.
func (c *Client) fail(resp *sdk.Response, err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if resp == nil || resp.Response == nil {
		return fmt.Errorf("gitea: %s of %s/%s: %w", what, c.owner, c.repo, err)
	}
	code := forge.ErrorCode(resp.StatusCode)
	if code == "" {
		return fmt.Errorf("gitea: %s of %s/%s: %s: %w", what, c.owner, c.repo, resp.Status, err)
	}
	return landform.Errorf(code, "gitea: %s of %s/%s: %s: %w", what, c.owner, c.repo, resp.Status, err)
}

// errNoPages is returned when a listing does not end: Gitea kept
// announcing a next page.
var errNoPages = errors.New("more than maxPages pages")

// maxPages bounds a listing, against a server that always announces a next
// page.
const maxPages = 10_000

// login is a user's login, "" for none (a deleted user).
func login(u *sdk.User) string {
	if u == nil {
		return ""
	}
	return u.UserName
}
