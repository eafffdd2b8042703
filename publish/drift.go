package publish

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
)

// DriftReport keeps the repository's one drift issue up to date: opened
// (or reopened) and edited in place while a workspace is drifted, has
// unapplied code or failed to check; closed, saying so, once everything is
// clean again. A clean report with no issue says nothing.
func (f *Forge) DriftReport(ctx context.Context, r *landform.DriftReport) error {
	clean := true
	for i := range r.Workspaces {
		if r.Workspaces[i].Status() != "clean" {
			clean = false
		}
	}
	issue, err := f.client.FindIssue(ctx, report.DriftIssueMarker)
	if err != nil {
		return fmt.Errorf("finding the drift issue: %w", err)
	}
	if clean {
		if issue == nil || !issue.Open {
			return nil
		}
		title, body := report.DriftIssueClean(r)
		_, err := f.client.EditIssue(ctx, issue.Number, title, body, false)
		return err
	}
	title, body := report.DriftIssue(r, report.DriftOptions{MaxLen: f.client.MaxCommentLength(), RemediationCommand: remediationCommand})
	if issue == nil {
		_, err := f.client.CreateIssue(ctx, title, body)
		return err
	}
	_, err = f.client.EditIssue(ctx, issue.Number, title, body, true)
	return err
}

// remediationCommand is the approve command of a workspace's remediation
// plan, "" without one.
func remediationCommand(w *landform.WorkspaceDrift) string {
	if w.Remediation == "" {
		return ""
	}
	return "landform approve " + w.Remediation
}

// Slack posts drift reports to a Slack incoming webhook.
type Slack struct {
	url    string
	link   string
	client *http.Client
}

// NewSlack returns the outlet posting to the incoming webhook url (a
// secret: it never appears in errors); link is the web page of reports
// ("" for none).
func NewSlack(url, link string) *Slack {
	return &Slack{url: url, link: link, client: &http.Client{Timeout: 30 * time.Second}}
}

// DriftReport posts r when a workspace is not clean.
func (s *Slack) DriftReport(ctx context.Context, r *landform.DriftReport) error {
	clean := true
	for i := range r.Workspaces {
		if r.Workspaces[i].Status() != "clean" {
			clean = false
		}
	}
	if clean {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(report.DriftSlackMessage(r, s.link)))
	if err != nil {
		return fmt.Errorf("slack: the webhook URL is invalid")
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("slack: posting the drift report failed (the webhook did not answer)")
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("slack: the webhook answered %s: %s", resp.Status, landform.OneLine(string(body), 200))
	}
	return nil
}
