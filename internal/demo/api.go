package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/apiclient"
)

// ErrUnreachable is in the chain of a Client's error when the daemon did
// not answer at all (not listening yet, or gone). Callers use errors.Is.
var ErrUnreachable = errors.New("the demo's daemon does not answer")

// Client is the demo's view of its daemon: the REST API (docs/api.md) as
// the demo user. Approving and applying go through apiclient, as `landform
// approve --server` does; the reads the demo shows are here.
type Client struct {
	*apiclient.Client
	base  string
	token string
	http  *http.Client
}

// NewClient returns a client of the daemon at base (BaseURL) with the demo
// user's token.
func NewClient(base, token string) (*Client, error) {
	c, err := apiclient.New(base, token)
	if err != nil {
		return nil, err
	}
	return &Client{Client: c, base: base, token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// Base is the daemon's base URL.
func (c *Client) Base() string { return c.base }

// get asks GET path of the API and decodes its JSON answer into v (text
// answers: v is a *string). An error answer becomes a *landform.Error with
// the API's code and message.
func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("reading the answer of GET %s: %w", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error.Code != "" {
			return landform.Errorf(e.Error.Code, "GET %s: %s", path, e.Error.Message)
		}
		return fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, body)
	}
	if s, ok := v.(*string); ok {
		*s = string(body)
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: the answer is not JSON: %w", path, err)
	}
	return nil
}

// Alive reports whether the daemon answers GET /healthz.
func (c *Client) Alive(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// Repo is what the daemon says of the example repository.
type Repo struct {
	// Head is the last commit of the tracked branch the daemon
	// processed, "" before its first poll.
	Head string `json:"head"`
	// Workspaces counts the workspaces at Head (0 while unknown).
	Workspaces int `json:"workspaces"`
}

// Repo returns what the daemon says of the example repository.
func (c *Client) Repo(ctx context.Context) (Repo, error) {
	var r struct {
		Repo Repo `json:"repo"`
	}
	err := c.get(ctx, "/api/v1/repos/"+url.PathEscape(RepoName), &r)
	return r.Repo, err
}

// PlanRuns returns the example repository's plan runs, newest first (the
// API's first page).
func (c *Client) PlanRuns(ctx context.Context) ([]*landform.Run, error) {
	var r struct {
		Runs []*landform.Run `json:"runs"`
	}
	err := c.get(ctx, "/api/v1/runs?repo="+url.QueryEscape(RepoName)+"&kind="+string(landform.RunPlan), &r)
	return r.Runs, err
}

// PlanText returns run id's plan as terraform shows it (redacted).
func (c *Client) PlanText(ctx context.Context, id string) (string, error) {
	var s string
	err := c.get(ctx, "/api/v1/runs/"+url.PathEscape(id)+"/plan", &s)
	return s, err
}

// Drift returns the example repository's latest drift report (each
// workspace's newest finished check) and its one-line summary.
func (c *Client) Drift(ctx context.Context) (*landform.DriftReport, string, error) {
	var r struct {
		Report  *landform.DriftReport `json:"report"`
		Summary string                `json:"summary"`
	}
	err := c.get(ctx, "/api/v1/repos/"+url.PathEscape(RepoName)+"/drift", &r)
	if err == nil && r.Report == nil {
		err = fmt.Errorf("GET the drift report: the answer has no report")
	}
	return r.Report, r.Summary, err
}
