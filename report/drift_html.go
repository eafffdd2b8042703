package report

import (
	"html/template"
	"strings"

	"github.com/landform/landform"
)

// The drift report as HTML for Landform's web page: a fragment, without
// scripts or styles of its own (classes name its parts for the page's
// stylesheet), every value escaped by html/template.

// driftHTMLView is what the template shows of a report.
type driftHTMLView struct {
	Repo, Summary, Checked, Commit string
	Workspaces                     []workspaceHTMLView
	Clean                          []string
}

type workspaceHTMLView struct {
	Name, Dir, Status, Symbol, Words string
	DriftedSince, Checked            string
	Commit, Run, Remediation         string
	Error                            string
	Resources                        []resourceHTMLView
}

type resourceHTMLView struct {
	Address, Kind, Action string
	Attributes            []attributeHTMLView
}

type attributeHTMLView struct {
	Path          string
	Before, After valueHTMLView
}

// valueHTMLView is an attribute's value as JSON, or landform.SensitiveValue.
type valueHTMLView struct {
	Text      string
	Sensitive bool
}

var driftTemplate = template.Must(template.New("drift").Parse(
	`{{define "value"}}<td>{{if .Sensitive}}<em>{{.Text}}</em>{{else}}<code>{{.Text}}</code>{{end}}</td>{{end -}}
<section class="landform-drift">
<h2>Drift report for <code>{{.Repo}}</code></h2>
{{- if or .Checked .Commit}}
<p class="checked">Checked{{with .Checked}} {{.}}{{end}}{{with .Commit}} at <code>{{.}}</code>{{end}}.</p>
{{- end}}
<p class="summary"><strong>{{.Summary}}</strong></p>
{{- range .Workspaces}}
<section class="workspace status-{{.Status}}">
<h3>{{.Symbol}} <code>{{.Name}}</code> — {{.Words}}</h3>
<dl>
{{- with .DriftedSince}}
<dt>Drifted since</dt><dd>{{.}}</dd>
{{- end}}
{{- with .Checked}}
<dt>Checked</dt><dd>{{.}}</dd>
{{- end}}
{{- with .Commit}}
<dt>Commit</dt><dd><code>{{.}}</code></dd>
{{- end}}
{{- with .Run}}
<dt>Run</dt><dd><code>{{.}}</code></dd>
{{- end}}
{{- with .Remediation}}
<dt>Remediation run</dt><dd><code>{{.}}</code></dd>
{{- end}}
{{- with .Dir}}
<dt>Directory</dt><dd><code>{{.}}</code></dd>
{{- end}}
</dl>
{{- with .Error}}
<pre class="error">{{.}}</pre>
{{- end}}
{{- with .Resources}}
<table class="resources">
<thead><tr><th>Resource</th><th>Drift</th><th>Action</th></tr></thead>
<tbody>
{{- range .}}
<tr><td><code>{{.Address}}</code></td><td>{{.Kind}}</td><td>{{.Action}}</td></tr>
{{- end}}
</tbody>
</table>
{{- range .}}{{if .Attributes}}
<table class="attributes">
<caption>Attributes of <code>{{.Address}}</code> that changed</caption>
<thead><tr><th>Attribute</th><th>Before</th><th>After</th></tr></thead>
<tbody>
{{- range .Attributes}}
<tr><td><code>{{.Path}}</code></td>
{{- template "value" .Before}}{{template "value" .After}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}{{end}}
{{- end}}
</section>
{{- end}}
{{- with .Clean}}
<details class="clean"><summary>✅ {{len .}} clean</summary>
<ul>
{{- range .}}
<li><code>{{.}}</code></li>
{{- end}}
</ul>
</details>
{{- end}}
</section>
`))

// DriftHTML renders r as an HTML fragment for Landform's web page: a
// <section class="landform-drift"> with the heading, the summary line, a
// section per workspace that is not clean (ordered as in DriftMarkdown)
// with its status, times, commit, run, remediation run, directory, error (at most 4,000
// bytes), a table of its resources and a table per resource of the
// attributes that moved (sensitive ones as landform.SensitiveValue), and
// the clean workspaces in a <details> list. It has no script, and every
// value is escaped by html/template; names, addresses and paths with
// control characters are quoted (Field), as in the Markdown.
func DriftHTML(r *landform.DriftReport) string {
	var b strings.Builder
	if err := driftTemplate.Execute(&b, newDriftHTMLView(r)); err != nil {
		// The template and its data are fixed: this is a bug.
		return "<p>Cannot render the drift report: " + template.HTMLEscapeString(err.Error()) + "</p>\n"
	}
	return b.String()
}

func newDriftHTMLView(r *landform.DriftReport) driftHTMLView {
	notClean, clean := sortedDrift(r)
	v := driftHTMLView{Repo: Field(r.Repo), Summary: r.Summary(), Commit: Field(landform.ShortSHA(r.Commit))}
	for _, name := range clean {
		v.Clean = append(v.Clean, Field(name))
	}
	if t := driftCheckedAt(r); !t.IsZero() {
		v.Checked = driftTime(t)
	}
	for _, w := range notClean {
		view := viewDrift(w)
		wv := workspaceHTMLView{Name: Field(w.Workspace), Status: w.Status(), Symbol: view.symbol, Words: view.words,
			Commit: Field(w.Commit), Run: Field(w.RunID), Remediation: Field(w.Remediation), Error: truncate(w.Error, maxLedgerError)}
		if w.Dir != w.Workspace {
			wv.Dir = Field(w.Dir)
		}
		if !w.DriftedSince.IsZero() {
			wv.DriftedSince = driftTime(w.DriftedSince)
		}
		if !w.CheckedAt.IsZero() {
			wv.Checked = driftTime(w.CheckedAt)
		}
		for _, res := range w.Resources {
			rv := resourceHTMLView{Address: Field(res.Address), Kind: driftKindWords(res.Kind), Action: Field(res.Action)}
			for _, a := range res.Attributes {
				rv.Attributes = append(rv.Attributes, attributeHTMLView{Path: Field(a.Path),
					Before: valueHTML(a, a.Before), After: valueHTML(a, a.After)})
			}
			wv.Resources = append(wv.Resources, rv)
		}
		v.Workspaces = append(v.Workspaces, wv)
	}
	return v
}

func valueHTML(a landform.AttributeChange, v any) valueHTMLView {
	text, sensitive := driftValue(a, v, maxDriftErrRunes)
	return valueHTMLView{Text: text, Sensitive: sensitive}
}
