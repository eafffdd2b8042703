package server

import (
	"html/template"
	"net/http"
	"net/url"

	"github.com/landform/landform"
	"github.com/landform/landform/report"
	"github.com/landform/landform/runner"
)

// The dashboard's read-only pages.

// overviewLimit is how many runs each list of the overview shows.
const overviewLimit = 10

func (h *dashboard) overview(w http.ResponseWriter, r *http.Request, p who) {
	ctx := r.Context()
	repos, err := h.d.Reader.Repos(ctx)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v := overviewView{Repos: repos}
	for _, rv := range repos {
		v.Workspaces += rv.Workspaces
		if rv.LastError != "" || rv.LedgerError != "" {
			v.Failing++
		}
	}
	lists := []struct {
		f    landform.RunFilter
		runs *[]*landform.Run
		more *bool
	}{
		{landform.RunFilter{Kind: landform.RunPlan, States: []landform.RunState{landform.StatePlanned, landform.StateAwaitingApproval, landform.StateApproved}},
			&v.Waiting, &v.WaitingMore},
		{landform.RunFilter{States: []landform.RunState{landform.StateQueued, landform.StateRunning, landform.StateApplying}}, &v.Active, &v.ActiveMore},
		{landform.RunFilter{}, &v.Recent, new(bool)},
	}
	for _, l := range lists {
		l.f.Limit = overviewLimit
		runs, next, err := listRuns(r, h.d.Reader, l.f)
		if err != nil {
			h.fail(w, r, p, err)
			return
		}
		*l.runs, *l.more = runs, next != ""
	}
	d := h.base(r, p, "Overview")
	d.Nav, d.Watch, d.Page = "overview", watch{Events: "run repo drift", Pending: len(v.Active) > 0}, v
	h.render(w, http.StatusOK, "overview", d)
}

// watchedRepo returns the watched repository named name; ENOTFOUND
// otherwise.
func (h *dashboard) watchedRepo(r *http.Request, name string) (runner.RepoView, error) {
	repos, err := h.d.Reader.Repos(r.Context())
	if err != nil {
		return runner.RepoView{}, err
	}
	for _, rv := range repos {
		if rv.Repo == name {
			return rv, nil
		}
	}
	return runner.RepoView{}, landform.Errorf(landform.ENOTFOUND, "no repository %q is watched", name)
}

func (h *dashboard) repo(w http.ResponseWriter, r *http.Request, p who) {
	h.showRepo(w, r, p, http.StatusOK, "")
}

// showRepo answers a repository's page with status, and msg, the
// refusal of an action, above it.
func (h *dashboard) showRepo(w http.ResponseWriter, r *http.Request, p who, status int, msg string) {
	rv, err := h.watchedRepo(r, r.PathValue("repo"))
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	ws, err := h.d.Reader.Workspaces(r.Context(), rv.Repo)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v := repoView{Repo: rv, Workspaces: ws, Error: msg}
	d := h.base(r, p, rv.Repo)
	d.Nav, d.Watch, d.Page = "repos", watch{Events: "run repo drift", Repo: rv.Repo}, v
	h.render(w, status, "repo", d)
}

func (h *dashboard) drift(w http.ResponseWriter, r *http.Request, p who) {
	name := r.PathValue("repo")
	rep, err := h.d.Reader.DriftReport(r.Context(), name)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v := driftView{Repo: name, Report: rep}
	if len(rep.Workspaces) > 0 {
		// report.DriftHTML escapes every value it shows.
		v.HTML = template.HTML(report.DriftHTML(rep))
	}
	d := h.base(r, p, "Drift of "+name)
	d.Nav, d.Watch, d.Page = "repos", watch{Events: "drift", Repo: name}, v
	h.render(w, http.StatusOK, "drift", d)
}

func (h *dashboard) runs(w http.ResponseWriter, r *http.Request, p who) {
	q := r.URL.Query()
	f, err := RunFilterOf(q)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	repos, err := h.d.Reader.Repos(r.Context())
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	runs, next, err := listRuns(r, h.d.Reader, f)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	v := runsView{Filter: f, Runs: runs, States: allStates, Kinds: []landform.RunKind{landform.RunPlan, landform.RunApply, landform.RunDrift}}
	if len(f.States) == 1 {
		v.State = string(f.States[0])
	}
	for _, rv := range repos {
		v.Repos = append(v.Repos, rv.Repo)
	}
	// The links keep the filter: the page's own query without its
	// cursor and message.
	keep := url.Values{}
	for _, k := range []string{"repo", "workspace", "state", "kind", "limit"} {
		for _, s := range q[k] {
			if s != "" {
				keep.Add(k, s)
			}
		}
	}
	if next != "" {
		older := cloneValues(keep)
		older.Set("before", next)
		v.OlderURL = "/runs?" + older.Encode()
	}
	if f.Before != "" {
		v.NewestURL = "/runs"
		if len(keep) > 0 {
			v.NewestURL += "?" + keep.Encode()
		}
	}
	d := h.base(r, p, "Runs")
	d.Nav, d.Watch, d.Page = "runs", watch{Events: "run", Repo: f.Repo}, v
	h.render(w, http.StatusOK, "runs", d)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (h *dashboard) run(w http.ResponseWriter, r *http.Request, p who) {
	id := r.PathValue("id")
	if !validRunID(id) {
		h.fail(w, r, p, landform.Errorf(landform.ENOTFOUND, "no such run: run IDs are decimal numbers"))
		return
	}
	run, err := h.d.Reader.Run(r.Context(), id)
	if err != nil {
		h.fail(w, r, p, err)
		return
	}
	h.showRun(w, r, p, run, http.StatusOK, "")
}

// showRun answers run's page with status, and msg, the refusal of an
// action, above it.
func (h *dashboard) showRun(w http.ResponseWriter, r *http.Request, p who, run *landform.Run, status int, msg string) {
	v := runView{Run: run, Ledger: h.ledgerOf(run), Error: msg}
	if run.Kind != landform.RunDrift || run.PlanSHA256 != "" {
		a, err := h.d.Reader.Plan(r.Context(), run.ID)
		switch {
		case err == nil && a.Text != "":
			v.Plan, v.PlanCut = planLines(a.Text)
		case err == nil || landform.ErrorCode(err) == landform.ENOTFOUND:
			v.PlanNote = "No plan is stored for this run."
		default:
			h.logger.Error("dashboard: reading a run's plan", "run", run.ID, "err", err)
			v.PlanNote = "The plan cannot be read now; the error is in Landform's log."
		}
	}
	if run.Drift != nil {
		v.Drift = template.HTML(report.DriftHTML(&landform.DriftReport{Repo: run.Repo, Commit: run.Drift.Commit,
			CheckedAt: run.Drift.CheckedAt, Workspaces: []landform.WorkspaceDrift{*run.Drift}}))
	}
	who := viewerOf(p)
	if run.Kind == landform.RunPlan {
		switch run.State {
		case landform.StatePlanned, landform.StateAwaitingApproval:
			v.CanApprove = who.Can(landform.RoleApprover)
			v.Hint = actionHint(who, "approve")
		case landform.StateApproved:
			v.CanApply = who.Can(landform.RoleApprover)
			v.Hint = actionHint(who, "apply")
		}
	}
	d := h.base(r, p, "Run "+run.ID)
	d.Nav, d.Watch, d.Page = "runs", watch{Events: "run", Run: run.ID, Pending: pending(run)}, v
	h.render(w, status, "run", d)
}

// actionHint says why the viewer sees no button to do what, "" when
// they do.
func actionHint(v viewer, what string) string {
	switch {
	case v.Can(landform.RoleApprover):
		return ""
	case !v.SignedIn:
		return "Sign in as an approver to " + what + " this run."
	}
	return "Your role, " + string(v.Role) + ", may not " + what + " runs: that needs approver."
}
