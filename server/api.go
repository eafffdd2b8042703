package server

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/landform/landform"
)

// API is the REST API's data and actions.
type API struct {
	Reader  Reader
	Actions Actions
}

// WithAPI serves the REST API under /api/v1 (docs/api.md is its
// reference). Who a request is comes from WithAuth: a bearer token, or a
// dashboard session (whose POSTs need its CSRF token in X-CSRF-Token);
// without credentials the anonymous role applies when configured, else
// 401 with a WWW-Authenticate: Bearer challenge.
//
// Reading needs the viewer role, approving and applying approver, unlocking
// admin (403 otherwise). Errors are {"error": {"code": "…", "message": "…"}}
// with the root package's code and its status: not_found 404,
// unauthorized 403, conflict 409, invalid 400; unauthenticated 401;
// anything else internal 500 with a generic message, the error being
// logged.
//
// Actions get a context detached from the request, ending after 30
// seconds: a client that hangs up does not cut an approval or the start
// of an apply in half.
func WithAPI(a API) Option {
	return func(o *options) { o.api = &api{a: a} }
}

type api struct {
	a      API
	auth   *Auth
	logger *slog.Logger
}

func (h *api) mount(mux *http.ServeMux, auth *Auth, logger *slog.Logger) {
	h.logger = logger.With("channel", landform.ChannelAPI)
	if h.a.Reader == nil || h.a.Actions == nil {
		h.logger.Warn("api: no reader or actions; the REST API is off")
		return
	}
	if auth == nil {
		h.logger.Warn("api: no authentication configured; every API request is refused")
		auth = &Auth{}
	}
	h.auth = auth
	view, act, admin := landform.RoleViewer, landform.RoleApprover, landform.RoleAdmin
	mux.HandleFunc("GET /api/v1/whoami", h.with(view, h.whoami))
	mux.HandleFunc("GET /api/v1/repos", h.with(view, h.repos))
	mux.HandleFunc("GET /api/v1/repos/{repo}", h.with(view, h.repo))
	mux.HandleFunc("GET /api/v1/repos/{repo}/workspaces", h.with(view, h.workspaces))
	mux.HandleFunc("GET /api/v1/repos/{repo}/drift", h.with(view, h.drift))
	mux.HandleFunc("GET /api/v1/repos/{repo}/locks", h.with(view, h.locks))
	mux.HandleFunc("DELETE /api/v1/repos/{repo}/locks/{workspace...}", h.with(admin, h.unlock))
	mux.HandleFunc("GET /api/v1/locks", h.with(view, h.locks))
	mux.HandleFunc("GET /api/v1/runs", h.with(view, h.runs))
	mux.HandleFunc("GET /api/v1/runs/{id}", h.with(view, h.getRun))
	mux.HandleFunc("GET /api/v1/runs/{id}/plan", h.with(view, h.planText))
	mux.HandleFunc("GET /api/v1/runs/{id}/plan.json", h.with(view, h.planJSON))
	mux.HandleFunc("POST /api/v1/runs/{id}/approve", h.with(act, h.approve))
	mux.HandleFunc("POST /api/v1/runs/{id}/apply", h.with(act, h.apply))
}

// runBody is the JSON of an answer about a run.
type runBody struct {
	Run *landform.Run `json:"run"`
}

type errorBody struct {
	Error apiError `json:"error"`
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// codeUnauthenticated is the code of a 401: no credentials, or unknown
// ones (a root package code would say what the caller may not do, 403).
const codeUnauthenticated = "unauthenticated"

// maxTokenLen bounds a bearer token's length.
const maxTokenLen = 4096

// bearerToken returns the token of r's one Authorization header, "Bearer
// TOKEN" (the scheme in any case); ok false when there is none, or it is
// malformed.
func bearerToken(r *http.Request) (string, bool) {
	vs := r.Header.Values("Authorization")
	if len(vs) != 1 {
		return "", false
	}
	scheme, token, ok := strings.Cut(vs[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimLeft(token, " ")
	if token == "" || len(token) > maxTokenLen {
		return "", false
	}
	for i := 0; i < len(token); i++ {
		if c := token[i]; c <= ' ' || c > '~' {
			return "", false
		}
	}
	return token, true
}

// with runs next for a request whose principal has role need: else 401
// (nobody, or anonymous asking to act) or 403 (a role too small, or a
// session's POST without its CSRF token).
func (h *api) with(need landform.Role, next func(w http.ResponseWriter, r *http.Request, p who)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, aerr := h.auth.identify(r)
		if aerr != nil {
			if aerr.err != nil {
				h.logger.Error("api: checking credentials failed", "method", r.Method, "path", r.URL.Path, "err", aerr.err)
				h.write(w, http.StatusInternalServerError, errorBody{apiError{Code: landform.EINTERNAL, Message: "internal error"}})
				return
			}
			h.logger.Info("api: unauthenticated request", "method", r.Method, "path", r.URL.Path, "why", aerr.msg)
			h.unauthenticated(w, aerr.challenge, aerr.msg)
			return
		}
		if p.Anonymous() && need != landform.RoleViewer {
			h.unauthenticated(w, `Bearer realm="landform"`, "sign in, or give an API token, to act")
			return
		}
		if !p.Role.Allows(need) {
			h.write(w, http.StatusForbidden, errorBody{apiError{Code: landform.EUNAUTHORIZED,
				Message: "role " + string(p.Role) + " may not do this: it needs " + string(need)}})
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && !p.Anonymous() && !checkCSRF(r, p) {
			h.write(w, http.StatusForbidden, errorBody{apiError{Code: landform.EUNAUTHORIZED,
				Message: "missing or wrong CSRF token (X-CSRF-Token) for a signed-in session"}})
			return
		}
		next(w, r, p)
	}
}

func (h *api) unauthenticated(w http.ResponseWriter, challenge, msg string) {
	if challenge == "" {
		challenge = `Bearer realm="landform"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	h.write(w, http.StatusUnauthorized, errorBody{apiError{Code: codeUnauthenticated, Message: msg}})
}

// statusOf maps an error code to its HTTP status.
func statusOf(code string) int {
	switch code {
	case landform.ENOTFOUND:
		return http.StatusNotFound
	case landform.EUNAUTHORIZED:
		return http.StatusForbidden
	case landform.ECONFLICT:
		return http.StatusConflict
	case landform.EINVALID:
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// fail answers err. Internal errors are logged and answered with a
// generic message; the others are the caller's to read.
func (h *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := landform.ErrorCode(err)
	status := statusOf(code)
	msg := landform.ErrorMessage(err)
	if status == http.StatusInternalServerError {
		h.logger.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		code, msg = landform.EINTERNAL, "internal error"
	}
	h.write(w, status, errorBody{apiError{Code: code, Message: msg}})
}

func (h *api) write(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		h.logger.Error("api: encoding the answer", "err", err)
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	b = append(b, '\n')
	writeBody(w, status, "application/json", b)
}

// writeBody answers status with body of type ctype, never cached.
func writeBody(w http.ResponseWriter, status int, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// maxRunIDLen is the most digits of a run ID (chatops reads no more).
const maxRunIDLen = 18

// validRunID reports whether id can be a run's: a decimal number without
// leading zeros.
func validRunID(id string) bool {
	ok := id != "" && len(id) <= maxRunIDLen && id[0] != '0'
	for i := 0; ok && i < len(id); i++ {
		ok = '0' <= id[i] && id[i] <= '9'
	}
	return ok
}

// runID returns the request's run ID, or answers 404 for one that cannot
// be a run's.
func (h *api) runID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !validRunID(id) {
		h.write(w, http.StatusNotFound, errorBody{apiError{Code: landform.ENOTFOUND, Message: "no such run: run IDs are decimal numbers"}})
		return "", false
	}
	return id, true
}

func (h *api) whoami(w http.ResponseWriter, _ *http.Request, p who) {
	h.write(w, http.StatusOK, map[string]any{"principal": p.Principal})
}

func (h *api) repos(w http.ResponseWriter, r *http.Request, _ who) {
	repos, err := h.a.Reader.Repos(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, http.StatusOK, map[string]any{"repos": repos})
}

func (h *api) repo(w http.ResponseWriter, r *http.Request, _ who) {
	repos, err := h.a.Reader.Repos(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	name := r.PathValue("repo")
	for _, rv := range repos {
		if rv.Repo == name {
			h.write(w, http.StatusOK, map[string]any{"repo": rv})
			return
		}
	}
	h.fail(w, r, landform.Errorf(landform.ENOTFOUND, "no repository %q is watched", name))
}

func (h *api) workspaces(w http.ResponseWriter, r *http.Request, _ who) {
	ws, err := h.a.Reader.Workspaces(r.Context(), r.PathValue("repo"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, http.StatusOK, map[string]any{"workspaces": ws})
}

func (h *api) drift(w http.ResponseWriter, r *http.Request, _ who) {
	rep, err := h.a.Reader.DriftReport(r.Context(), r.PathValue("repo"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, http.StatusOK, map[string]any{"report": rep, "summary": rep.Summary()})
}

func (h *api) locks(w http.ResponseWriter, r *http.Request, _ who) {
	locks, err := h.a.Reader.Locks(r.Context(), r.PathValue("repo"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, http.StatusOK, map[string]any{"locks": locks})
}

func (h *api) unlock(w http.ResponseWriter, r *http.Request, p who) {
	repo, ws := r.PathValue("repo"), r.PathValue("workspace")
	ctx, cancel := detached(r)
	defer cancel()
	l, err := h.a.Actions.UnlockWorkspace(ctx, repo, ws)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.logger.Info("api: workspace unlocked", "repo", repo, "workspace", ws, "holder", l.Holder, "by", p.Identity)
	h.write(w, http.StatusOK, map[string]any{"lock": l})
}

// maxRunsPage is the most runs one page lists; defaultRunsPage when the
// request says nothing.
const (
	maxRunsPage     = 500
	defaultRunsPage = 50
)

// RunFilterOf reads a runs list's filter from query: repo, workspace,
// kind, state (repeated or comma-separated), limit (1 to 500, default
// 50), before (a run ID: the page after it). EINVALID names the bad
// parameter.
func RunFilterOf(q map[string][]string) (landform.RunFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := landform.RunFilter{Repo: get("repo"), Workspace: get("workspace"), Kind: landform.RunKind(get("kind")), Limit: defaultRunsPage}
	switch f.Kind {
	case "", landform.RunPlan, landform.RunApply, landform.RunDrift:
	default:
		return f, landform.Errorf(landform.EINVALID, "kind: one of plan, apply, drift, got %q", f.Kind)
	}
	for _, v := range q["state"] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			if !knownState(landform.RunState(s)) {
				return f, landform.Errorf(landform.EINVALID, "state: unknown run state %q", s)
			}
			f.States = append(f.States, landform.RunState(s))
		}
	}
	if v := get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRunsPage {
			return f, landform.Errorf(landform.EINVALID, "limit: a number from 1 to %d, got %q", maxRunsPage, v)
		}
		f.Limit = n
	}
	if v := get("before"); v != "" {
		if !validRunID(v) {
			return f, landform.Errorf(landform.EINVALID, "before: a run ID, got %q", v)
		}
		f.Before = v
	}
	return f, nil
}

// knownState reports whether s is a run state.
func knownState(s landform.RunState) bool {
	switch s {
	case landform.StateQueued, landform.StateRunning, landform.StatePlanned, landform.StateNoChanges, landform.StateErrored,
		landform.StatePolicyFailed, landform.StateAwaitingApproval, landform.StateApproved, landform.StateApplying,
		landform.StateApplied, landform.StateApplyFailed, landform.StateSuperseded, landform.StateStale, landform.StateInterrupted:
		return true
	}
	return false
}

// listRuns lists a page of runs and the ID to ask the next page from
// ("" when this one is the last).
func listRuns(r *http.Request, rd Reader, f landform.RunFilter) ([]*landform.Run, string, error) {
	want := f.Limit
	f.Limit = want + 1 // one more says whether there is a next page
	runs, err := rd.Runs(r.Context(), f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(runs) > want {
		runs = runs[:want]
		next = runs[want-1].ID
	}
	return runs, next, nil
}

func (h *api) runs(w http.ResponseWriter, r *http.Request, _ who) {
	f, err := RunFilterOf(r.URL.Query())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	runs, next, err := listRuns(r, h.a.Reader, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	body := map[string]any{"runs": runs}
	if next != "" {
		body["next"] = next
	}
	h.write(w, http.StatusOK, body)
}

func (h *api) getRun(w http.ResponseWriter, r *http.Request, _ who) {
	id, ok := h.runID(w, r)
	if !ok {
		return
	}
	run, err := h.a.Reader.Run(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, http.StatusOK, runBody{run})
}

func (h *api) plan(w http.ResponseWriter, r *http.Request) (*landform.PlanArtifact, bool) {
	id, ok := h.runID(w, r)
	if !ok {
		return nil, false
	}
	a, err := h.a.Reader.Plan(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return a, true
}

func (h *api) planText(w http.ResponseWriter, r *http.Request, _ who) {
	if a, ok := h.plan(w, r); ok {
		w.Header().Set("X-Plan-SHA256", a.SHA256)
		writeBody(w, http.StatusOK, "text/plain; charset=utf-8", []byte(a.Text))
	}
}

func (h *api) planJSON(w http.ResponseWriter, r *http.Request, _ who) {
	a, ok := h.plan(w, r)
	if !ok {
		return
	}
	if len(a.JSON) == 0 {
		h.fail(w, r, landform.Errorf(landform.ENOTFOUND, "run %s has no plan JSON", r.PathValue("id")))
		return
	}
	w.Header().Set("X-Plan-SHA256", a.SHA256)
	writeBody(w, http.StatusOK, "application/json", a.JSON)
}

func (h *api) approve(w http.ResponseWriter, r *http.Request, p who) {
	id, ok := h.runID(w, r)
	if !ok {
		return
	}
	ctx, cancel := detached(r)
	defer cancel()
	run, err := h.a.Actions.Approve(ctx, id, p.Identity, channelOf(p))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.logger.Info("api: run approved", "run", id, "by", p.Identity)
	h.write(w, http.StatusOK, runBody{run})
}

// channelOf is the channel of an action: the API for a token, the
// dashboard for a session.
func channelOf(p who) string {
	if p.session != nil {
		return landform.ChannelWeb
	}
	return landform.ChannelAPI
}

func (h *api) apply(w http.ResponseWriter, r *http.Request, p who) {
	id, ok := h.runID(w, r)
	if !ok {
		return
	}
	wait := false
	if v := r.URL.Query().Get("wait"); v != "" {
		var err error
		if wait, err = strconv.ParseBool(v); err != nil {
			h.write(w, http.StatusBadRequest, errorBody{apiError{Code: landform.EINVALID, Message: "wait is true or false"}})
			return
		}
	}
	ctx, cancel := detached(r)
	defer cancel()
	run, done, err := h.a.Actions.StartApply(ctx, id, p.Identity, channelOf(p))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.logger.Info("api: apply started", "run", id, "by", p.Identity, "wait", wait)
	if !wait || done == nil {
		h.write(w, http.StatusAccepted, runBody{run})
		return
	}
	select {
	case <-done:
	case <-r.Context().Done():
		h.write(w, http.StatusAccepted, runBody{run})
		return
	}
	// The run as recorded, with a fresh deadline: the apply may have
	// taken longer than actionTimeout.
	ctx, cancel = detached(r)
	defer cancel()
	run, err = h.a.Reader.Run(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, http.StatusOK, runBody{run})
}
