package server

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/landform/landform"
)

// Dashboard is the web dashboard's data and actions.
type Dashboard struct {
	Reader  Reader
	Actions Actions
	// Live, when set, streams what the daemon does to the open pages
	// (GET /events), which refresh what changed; without it a page shows
	// what it had when it was loaded.
	Live *LiveUpdates
	// Ledgers say where each repository's ledger is, by repository name,
	// for the run pages; a repository missing here is shown with the
	// default ledger branch and no link.
	Ledgers map[string]Ledger
	// Now is the clock (default time.Now), for "3 min ago".
	Now func() time.Time
}

// WithDashboard serves the web dashboard: server-rendered pages that work
// without JavaScript (a small script only refreshes them when the daemon
// reports a change), for people signed in with an API token (WithAuth;
// read-only pages are open to anonymous visitors only when Auth.Anonymous
// says so). Pages:
//
//	GET  /                        repositories, what waits for a person, recent runs
//	GET  /repos/{repo}            its workspaces: last plan, drift, lock
//	GET  /repos/{repo}/drift      its drift report
//	POST /repos/{repo}/unlock     unlock a workspace (form field workspace; admin)
//	GET  /runs                    runs, filtered by repo, workspace, state, kind; ?before= pages
//	GET  /runs/{id}               a run: summary, plan, policies, approvals, apply, ledger, timings, errors
//	POST /runs/{id}/approve       approve it (approver)
//	POST /runs/{id}/apply         start its apply (approver)
//	GET  /signin, POST /signin    sign in with an API token (form with its own CSRF token)
//	POST /signout
//	GET  /events                  server-sent events for the pages (with Live)
//	GET  /static/{file}           the stylesheet and the script
//
// A page request without credentials is redirected (303) to /signin with
// next= the page. Every POST needs the session's CSRF token (field csrf),
// else 403; a role too small is 403 too. Actions answer 303 back to
// their page; their refusals (403, 409, 400, 404) are shown on it with
// that status. Every answer carries a strict Content-Security-Policy
// (no inline script or style), frame-ancestors 'none', Referrer-Policy
// same-origin and nosniff.
func WithDashboard(d Dashboard) Option {
	return func(o *options) { o.dashboard = &dashboard{d: d} }
}

type dashboard struct {
	d      Dashboard
	auth   *Auth
	logger *slog.Logger
}

// maxFormBytes bounds a posted form.
const maxFormBytes = 16 << 10

func (h *dashboard) mount(mux *http.ServeMux, auth *Auth, logger *slog.Logger) {
	h.logger = logger.With("channel", landform.ChannelWeb)
	if h.d.Reader == nil || h.d.Actions == nil {
		h.logger.Warn("dashboard: no reader or actions; the dashboard is off")
		return
	}
	if auth == nil {
		h.logger.Warn("dashboard: no authentication configured; every page is refused")
		auth = &Auth{}
	}
	h.auth = auth
	act, admin := landform.RoleApprover, landform.RoleAdmin
	mux.HandleFunc("GET /{$}", h.page(h.overview))
	mux.HandleFunc("GET /repos/{repo}", h.page(h.repo))
	mux.HandleFunc("GET /repos/{repo}/drift", h.page(h.drift))
	mux.HandleFunc("POST /repos/{repo}/unlock", h.action(admin, repoPage, h.unlock))
	mux.HandleFunc("GET /runs", h.page(h.runs))
	mux.HandleFunc("GET /runs/{id}", h.page(h.run))
	mux.HandleFunc("POST /runs/{id}/approve", h.action(act, runPage, h.approve))
	mux.HandleFunc("POST /runs/{id}/apply", h.action(act, runPage, h.apply))
	mux.HandleFunc("GET /signin", h.signinPage)
	mux.HandleFunc("POST /signin", h.signin)
	mux.HandleFunc("POST /signout", h.signout)
	mux.HandleFunc("GET /static/{file}", serveStatic)
	if h.d.Live != nil {
		mux.HandleFunc("GET /events", h.events)
	}
}

func (h *dashboard) now() time.Time {
	if h.d.Now != nil {
		return h.d.Now()
	}
	return time.Now()
}

// contentSecurityPolicy allows the page's own stylesheet, script and
// images, forms posted to itself, and nothing else: no inline script or
// style, no frames.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

// secure sets the security headers every dashboard answer carries.
func secure(w http.ResponseWriter) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// page serves a read-only page to whoever may view: a request without
// credentials is sent to the sign-in form.
func (h *dashboard) page(next func(w http.ResponseWriter, r *http.Request, p who)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		p, aerr := h.auth.identify(r)
		if aerr != nil {
			if aerr.err != nil {
				h.internal(w, r, aerr.err)
				return
			}
			http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if !p.Role.Allows(landform.RoleViewer) {
			h.refuse(w, r, p, http.StatusForbidden, "Your role may not view this page.")
			return
		}
		next(w, r, p)
	}
}

// runPage and repoPage are where the actions of a run and of a
// repository lead back to.
func runPage(r *http.Request) string  { return "/runs/" + url.PathEscape(r.PathValue("id")) }
func repoPage(r *http.Request) string { return "/repos/" + url.PathEscape(r.PathValue("repo")) }

// action serves a form posted by someone signed in with role need and
// the session's CSRF token; back is the page it belongs to.
func (h *dashboard) action(need landform.Role, back func(*http.Request) string, next func(w http.ResponseWriter, r *http.Request, p who)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		p, aerr := h.auth.identify(r)
		switch {
		case aerr != nil && aerr.err != nil:
			h.internal(w, r, aerr.err)
			return
		case aerr != nil || p.Anonymous():
			h.refuse(w, r, p, http.StatusForbidden, "Sign in to do this.", link{"Sign in", "/signin?next=" + url.QueryEscape(back(r))})
			return
		case !checkCSRF(r, p):
			h.logger.Info("dashboard: form without its CSRF token", "path", r.URL.Path, "identity", p.Identity)
			h.refuse(w, r, p, http.StatusForbidden, "This form is out of date or did not come from this site (its CSRF token is missing or wrong). Go back, reload the page and try again.",
				link{"Back", back(r)})
			return
		case !p.Role.Allows(need):
			h.refuse(w, r, p, http.StatusForbidden, "Your role, "+string(p.Role)+", may not do this: it needs "+string(need)+".", link{"Back", back(r)})
			return
		}
		next(w, r, p)
	}
}

// link is a link of an error page.
type link struct{ Text, Href string }

// refuse answers an error page with status and msg.
func (h *dashboard) refuse(w http.ResponseWriter, r *http.Request, p who, status int, msg string, links ...link) {
	data := h.base(r, p, http.StatusText(status))
	data.Page = errorView{Status: status, Message: msg, Links: links}
	h.render(w, status, "error", data)
}

// fail answers err: the root package's codes with their status and
// message, anything else as an internal error, logged, its details kept.
func (h *dashboard) fail(w http.ResponseWriter, r *http.Request, p who, err error) {
	code := landform.ErrorCode(err)
	status := statusOf(code)
	msg := landform.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		h.internal(w, r, err)
		return
	}
	h.refuse(w, r, p, status, msg)
}

// internal answers 500 for err, a failure inside (checking credentials,
// whatever its code), logged; its details never leave the process.
func (h *dashboard) internal(w http.ResponseWriter, r *http.Request, err error) {
	h.logger.Error("dashboard request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	h.refuse(w, r, who{}, http.StatusInternalServerError, internalMessage)
}

const internalMessage = "Something went wrong inside Landform; the error is in its log."

// render answers the page template name with data.
func (h *dashboard) render(w http.ResponseWriter, status int, name string, data *pageData) {
	var b bytes.Buffer
	if err := pages[name].ExecuteTemplate(&b, "layout", data); err != nil {
		// The templates are fixed and tested: this is a bug.
		h.logger.Error("dashboard: rendering a page", "page", name, "err", err)
		writeBody(w, http.StatusInternalServerError, "text/plain; charset=utf-8", []byte("internal error\n"))
		return
	}
	writeBody(w, status, "text/html; charset=utf-8", b.Bytes())
}

// base is the data every page has: who is looking, the live updates, the
// message of the action that led here.
func (h *dashboard) base(r *http.Request, p who, title string) *pageData {
	// Only someone who may view gets the events (the sign-in form does not).
	d := &pageData{Title: title, Now: h.now(), Live: h.d.Live != nil && p.Role.Allows(landform.RoleViewer), Who: viewerOf(p)}
	if p.session != nil {
		d.CSRF = p.session.CSRF
	}
	if r.Method == http.MethodGet {
		d.Flash = flashes[r.URL.Query().Get("done")]
	}
	d.Here = r.URL.RequestURI()
	return d
}

// flashes are the messages an action's redirect shows, by its done=
// parameter: fixed texts, never taken from the request.
var flashes = map[string]string{
	"approve": "Your approval is recorded.",
	"apply":   "The apply started; this page shows its outcome when it ends.",
	"unlock":  "The workspace is unlocked.",
}

// safeNext returns next when it is a path of this site, else "/": the
// sign-in form never sends anyone elsewhere.
func safeNext(next string) string {
	if next == "" || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Path == "" || u.Path[0] != '/' {
		return "/"
	}
	return u.RequestURI()
}

// pages are the dashboard's templates, each with the layout.
var pages = parsePages()

func parsePages() map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, name := range []string{"overview", "repo", "drift", "runs", "run", "signin", "error"} {
		out[name] = template.Must(template.New(name).Funcs(templateFuncs).ParseFS(webFS,
			"web/templates/layout.html", "web/templates/parts.html", "web/templates/"+name+".html"))
	}
	return out
}
