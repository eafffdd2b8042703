// Package apiclient speaks Landform's REST API (docs/api.md) for the CLI's
// --server mode: the same approve and apply as the local store, through a
// running daemon, authenticated with a bearer token.
package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/landform/landform"
)

// Client is a daemon's API.
type Client struct {
	base  *url.URL
	token string
	http  *http.Client
}

// New returns a client of the daemon at baseURL ("http://127.0.0.1:8080")
// authenticating with token. Returns EINVALID for a URL that is not
// http(s).
func New(baseURL, token string) (*Client, error) {
	u, err := url.Parse(strings.TrimSuffix(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, landform.Errorf(landform.EINVALID, "--server %q: want an http(s) URL such as http://127.0.0.1:8080", baseURL)
	}
	if token == "" {
		return nil, landform.Errorf(landform.EINVALID, "--server needs an API token (--token-env names the variable holding it)")
	}
	return &Client{base: u, token: token, http: &http.Client{}}, nil
}

// runReply is the API's answer about a run.
type runReply struct {
	Run   *landform.Run `json:"run"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// do sends a request and decodes the run in the answer; an error answer
// becomes a *landform.Error with the API's code and message.
func (c *Client) do(ctx context.Context, method, path string) (*landform.Run, error) {
	u := c.base.JoinPath(path)
	if i := strings.IndexByte(path, '?'); i >= 0 {
		u = c.base.JoinPath(path[:i])
		u.RawQuery = path[i+1:]
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of %s: %w", c.base, err)
	}
	var r runReply
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s answered %s, not JSON: %.200s", c.base, resp.Status, body)
	}
	if r.Error != nil {
		return nil, landform.Errorf(r.Error.Code, "%s", r.Error.Message)
	}
	if resp.StatusCode >= 300 || r.Run == nil {
		return nil, fmt.Errorf("%s answered %s without a run", c.base, resp.Status)
	}
	return r.Run, nil
}

// Run returns run id.
func (c *Client) Run(ctx context.Context, id string) (*landform.Run, error) {
	return c.do(ctx, http.MethodGet, "/api/v1/runs/"+url.PathEscape(id))
}

// Approve approves run id as the token's identity.
func (c *Client) Approve(ctx context.Context, id string) (*landform.Run, error) {
	return c.do(ctx, http.MethodPost, "/api/v1/runs/"+url.PathEscape(id)+"/approve")
}

// Apply applies run id and waits for the outcome (at most timeout; 0: as
// long as ctx lets it).
func (c *Client) Apply(ctx context.Context, id string, timeout time.Duration) (*landform.Run, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	return c.do(ctx, http.MethodPost, "/api/v1/runs/"+url.PathEscape(id)+"/apply?wait=true")
}
