package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/landform/landform"
)

// The drift report as a Slack message (an incoming webhook's JSON). Slack's
// mrkdwn has no escapes but &amp;, &lt; and &gt;: untrusted names go into
// code spans (where Slack formats nothing and, "<" escaped, links and
// mentions nobody), with their backticks replaced.

// Bounds of a Slack message: Slack refuses a section's text over 3,000
// characters.
const (
	maxSlackWorkspaces = 10
	maxSlackNameRunes  = 100
)

// DriftSlackMessage renders r as the JSON body of a Slack incoming
// webhook: "text" (the notification's plain text: the repository and the
// summary) and "blocks" in mrkdwn: the heading and summary line, the first
// 10 workspaces that are not clean (ordered as in DriftMarkdown) with
// their counts or the first line of their error, how many more there are
// and how many are clean, and a link to link (the web page) when it is
// not "".
func DriftSlackMessage(r *landform.DriftReport, link string) []byte {
	notClean, clean := sortedDrift(r)
	head := "*Drift report for " + slackCode(r.Repo) + "*\n" + slackEscape(r.Summary())
	if line := slackChecked(r); line != "" {
		head += "\n" + line
	}
	blocks := []slackBlock{slackSection(head)}
	if len(notClean) > 0 {
		var lines []string
		for _, w := range notClean[:min(len(notClean), maxSlackWorkspaces)] {
			v := viewDrift(w)
			line := "• " + v.symbol + " " + slackCode(w.Workspace) + " " + v.words
			switch {
			case w.Error != "":
				line += ": " + slackCode(FirstLine(w.Error))
			case len(w.Resources) > 0:
				line += ": " + driftCounts(w)
			}
			lines = append(lines, line)
		}
		blocks = append(blocks, slackSection(strings.Join(lines, "\n")))
	}
	var more []string
	if n := len(notClean) - maxSlackWorkspaces; n > 0 {
		more = append(more, fmt.Sprintf("… and %d more %s with drift, errors or unapplied code", n, plural(n, "workspace", "workspaces")))
	}
	if len(clean) > 0 {
		more = append(more, fmt.Sprintf("%d clean", len(clean)))
	}
	if len(more) > 0 {
		blocks = append(blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: strings.Join(more, "; ")}}})
	}
	if link != "" {
		blocks = append(blocks, slackSection("<"+slackURL(link)+"|View the drift report>"))
	}
	msg := slackMessage{
		Text:   slackEscape("Drift report for " + landform.OneLine(Field(r.Repo), maxSlackNameRunes) + ": " + r.Summary()),
		Blocks: blocks,
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // Slack's escapes are done; keep the JSON readable
	_ = enc.Encode(msg)      // strings only: cannot fail
	return bytes.TrimSuffix(b.Bytes(), []byte("\n"))
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func slackSection(mrkdwn string) slackBlock {
	return slackBlock{Type: "section", Text: &slackText{Type: "mrkdwn", Text: mrkdwn}}
}

func slackChecked(r *landform.DriftReport) string {
	t := driftCheckedAt(r)
	if t.IsZero() && r.Commit == "" {
		return ""
	}
	s := "Checked"
	if !t.IsZero() {
		s += " " + driftTime(t)
	}
	if r.Commit != "" {
		s += " at " + slackCode(landform.ShortSHA(r.Commit))
	}
	return s + "."
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// slackEscape escapes the three characters Slack's mrkdwn requires.
func slackEscape(s string) string { return slackEscaper.Replace(s) }

// slackCode renders untrusted s as a code span on one line, at most
// maxSlackNameRunes runes: control characters quoted (Field), backticks,
// which Slack cannot escape, replaced by "ˋ" (U+02CB).
func slackCode(s string) string {
	s = strings.ReplaceAll(Field(s), "`", "ˋ")
	return "`" + slackEscape(cutRunes(s, maxSlackNameRunes)) + "`"
}

// slackURL makes a URL Landform built safe in Slack's <url|text>: the
// characters that end it are percent-encoded, white space dropped.
func slackURL(u string) string {
	u = strings.Join(strings.Fields(u), "")
	return strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C").Replace(u)
}
