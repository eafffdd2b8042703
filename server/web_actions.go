package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/landform/landform"
)

// The dashboard's forms: approve, apply, unlock, sign in and out.

func (h *dashboard) approve(w http.ResponseWriter, r *http.Request, p who) {
	id := r.PathValue("id")
	if !validRunID(id) {
		h.fail(w, r, p, landform.Errorf(landform.ENOTFOUND, "no such run: run IDs are decimal numbers"))
		return
	}
	ctx, cancel := detached(r)
	defer cancel()
	if _, err := h.d.Actions.Approve(ctx, id, p.Identity, channelOf(p)); err != nil {
		h.refusedOnRun(w, r, p, id, err)
		return
	}
	h.logger.Info("dashboard: run approved", "run", id, "by", p.Identity)
	http.Redirect(w, r, "/runs/"+id+"?done=approve", http.StatusSeeOther)
}

func (h *dashboard) apply(w http.ResponseWriter, r *http.Request, p who) {
	id := r.PathValue("id")
	if !validRunID(id) {
		h.fail(w, r, p, landform.Errorf(landform.ENOTFOUND, "no such run: run IDs are decimal numbers"))
		return
	}
	ctx, cancel := detached(r)
	defer cancel()
	// The apply goes on in the daemon; the run's page shows its outcome.
	if _, _, err := h.d.Actions.StartApply(ctx, id, p.Identity, channelOf(p)); err != nil {
		h.refusedOnRun(w, r, p, id, err)
		return
	}
	h.logger.Info("dashboard: apply started", "run", id, "by", p.Identity)
	http.Redirect(w, r, "/runs/"+id+"?done=apply", http.StatusSeeOther)
}

// refusedOnRun answers the refusal err of an action on run id: the run's
// page with the message and the code's status; internal errors and
// unknown runs as fail does.
func (h *dashboard) refusedOnRun(w http.ResponseWriter, r *http.Request, p who, id string, err error) {
	status := statusOf(landform.ErrorCode(err))
	if status == http.StatusInternalServerError || status == http.StatusNotFound {
		h.fail(w, r, p, err)
		return
	}
	run, rerr := h.d.Reader.Run(r.Context(), id)
	if rerr != nil {
		h.fail(w, r, p, err)
		return
	}
	h.logger.Info("dashboard: action refused", "path", r.URL.Path, "by", p.Identity, "err", err)
	h.showRun(w, r, p, run, status, landform.ErrorMessage(err))
}

func (h *dashboard) unlock(w http.ResponseWriter, r *http.Request, p who) {
	repo, ws := r.PathValue("repo"), r.PostFormValue("workspace")
	if ws == "" {
		h.fail(w, r, p, landform.Errorf(landform.EINVALID, "which workspace? The form has no workspace."))
		return
	}
	ctx, cancel := detached(r)
	defer cancel()
	l, err := h.d.Actions.UnlockWorkspace(ctx, repo, ws)
	if err != nil {
		status := statusOf(landform.ErrorCode(err))
		if status == http.StatusInternalServerError {
			h.fail(w, r, p, err)
			return
		}
		h.showRepo(w, r, p, status, landform.ErrorMessage(err))
		return
	}
	h.logger.Info("dashboard: workspace unlocked", "repo", repo, "workspace", ws, "holder", l.Holder, "by", p.Identity)
	http.Redirect(w, r, "/repos/"+url.PathEscape(repo)+"?done=unlock", http.StatusSeeOther)
}

// signinPage serves the sign-in form; someone signed in already goes on
// to next.
func (h *dashboard) signinPage(w http.ResponseWriter, r *http.Request) {
	secure(w)
	next := safeNext(r.URL.Query().Get("next"))
	if p, aerr := h.auth.identify(r); aerr == nil && p.session != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.signinForm(w, r, http.StatusOK, next, "")
}

// signinForm answers the sign-in form with status and msg, the error of
// the last try.
func (h *dashboard) signinForm(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	d := h.base(r, who{}, "Sign in")
	d.Nav = "signin"
	d.Page = signinView{CSRF: h.auth.signinCSRF(w, r), Next: next, Error: msg}
	h.render(w, status, "signin", d)
}

// signin checks the form's token and starts a session: 303 to next; 403
// without the form's CSRF token, 401 for a token that is not one.
func (h *dashboard) signin(w http.ResponseWriter, r *http.Request) {
	secure(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	next := safeNext(r.PostFormValue("next"))
	if !checkSigninCSRF(r) {
		h.signinForm(w, r, http.StatusForbidden, next,
			"The sign-in form expired or did not come from this site (its CSRF token is missing or wrong). Try again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		h.signinForm(w, r, http.StatusBadRequest, next, "Paste an API token.")
		return
	}
	s, aerr := h.auth.signIn(r.Context(), w, token)
	if aerr != nil {
		if aerr.err != nil {
			h.internal(w, r, aerr.err)
			return
		}
		h.logger.Info("dashboard: sign-in refused", "why", aerr.msg)
		h.signinForm(w, r, aerr.status, next, "That token is unknown or expired.")
		return
	}
	h.logger.Info("dashboard: signed in", "identity", s.Identity, "role", s.Role)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout ends the session (its form carries the CSRF token) and goes
// to the sign-in form.
func (h *dashboard) signout(w http.ResponseWriter, r *http.Request) {
	secure(w)
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	p, aerr := h.auth.identify(r)
	if aerr == nil && p.session != nil && !checkCSRF(r, p) {
		h.refuse(w, r, p, http.StatusForbidden, "This form is out of date or did not come from this site (its CSRF token is missing or wrong). Reload the page and try again.")
		return
	}
	if err := h.auth.signOut(w, r); err != nil {
		h.internal(w, r, err)
		return
	}
	if p.session != nil {
		h.logger.Info("dashboard: signed out", "identity", p.Identity)
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}
