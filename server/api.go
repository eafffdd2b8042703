package server

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/landform/landform"
)

// API is the REST API's access and actions.
type API struct {
	// Identity returns who a bearer token acts as: ok false for an
	// unknown token; an error when it cannot tell (answered 500 whatever
	// its code, and logged). It should compare tokens in constant time
	// (config.API.Identity does). A nil Identity refuses every request.
	Identity func(token string) (identity string, ok bool, err error)
	// Runs are the actions (runner.ChatActions implements them).
	Runs RunActions
}

// RunActions are what the REST API does to runs.
type RunActions interface {
	// Run returns run id; ENOTFOUND for an unknown one.
	Run(ctx context.Context, id string) (*landform.Run, error)
	// Approve records by's approval of run runID, through channel;
	// EUNAUTHORIZED when by may not approve it, ECONFLICT when the run
	// is not awaiting approval.
	Approve(ctx context.Context, runID, by, channel string) (*landform.Run, error)
	// StartApply starts the apply of run runID's approved plan and returns
	// the run in state applying; done is closed once the apply's outcome
	// is recorded.
	StartApply(ctx context.Context, runID, by, channel string) (run *landform.Run, done <-chan struct{}, err error)
}

// WithAPI serves the REST API (docs/api.md is its reference):
//
//	GET  /api/v1/runs/{id}          200 {"run": {…}}
//	POST /api/v1/runs/{id}/approve  200 {"run": {…}}, approved through channel "api"
//	POST /api/v1/runs/{id}/apply    202 {"run": {…}} in state applying;
//	                                with ?wait=true, 200 {"run": {…}} as recorded once the apply is done
//
// Every request needs "Authorization: Bearer TOKEN" with a token a's
// Identity knows; the action is that identity's. Without one: 401 with a
// WWW-Authenticate: Bearer challenge. Request bodies are ignored.
//
// Errors are {"error": {"code": "…", "message": "…"}}, with the code of
// the error (landform.ErrorCode) and its status: not_found 404,
// unauthorized 403, conflict 409, invalid 400; unauthenticated 401 (no or
// an unknown token); anything else internal 500 with a generic message,
// the error being logged. A run ID that is not a decimal number is
// not_found.
//
// Actions get a context detached from the request, ending after 30
// seconds: a client that hangs up does not cut an approval or the start
// of an apply in half. ?wait=true waits as long as the request lasts; the
// apply goes on when the client leaves (answered 202 then, to no one).
func WithAPI(a API) Option {
	return func(o *options) { o.api = &api{a: a} }
}

type api struct {
	a      API
	logger *slog.Logger
}

func (h *api) mount(mux *http.ServeMux, logger *slog.Logger) {
	h.logger = logger.With("channel", landform.ChannelAPI)
	if h.a.Runs == nil {
		h.logger.Warn("api: no run actions; the REST API is off")
		return
	}
	if h.a.Identity == nil {
		h.logger.Warn("api: no token check; every API request is refused")
	}
	mux.HandleFunc("GET /api/v1/runs/{id}", h.authed(h.getRun))
	mux.HandleFunc("POST /api/v1/runs/{id}/approve", h.authed(h.approve))
	mux.HandleFunc("POST /api/v1/runs/{id}/apply", h.authed(h.apply))
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

// codeUnauthenticated is the code of a 401: no token, or an unknown one
// (a root package code would say what the caller may not do, 403).
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

// authed runs next with the identity of the request's bearer token, or
// answers 401.
func (h *api) authed(next func(w http.ResponseWriter, r *http.Request, identity string)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearerToken(r)
		if !ok || h.a.Identity == nil {
			h.unauthenticated(w, `Bearer realm="landform"`, "an API token is needed: Authorization: Bearer TOKEN")
			return
		}
		identity, ok, err := h.a.Identity(token)
		if err != nil {
			// Whatever its code, the server's problem (a token file
			// that cannot be read), not the caller's.
			h.logger.Error("api: checking a token failed", "method", r.Method, "path", r.URL.Path, "err", err)
			h.write(w, http.StatusInternalServerError, errorBody{apiError{Code: landform.EINTERNAL, Message: "internal error"}})
			return
		}
		if !ok || identity == "" {
			h.logger.Info("api: unknown token", "method", r.Method, "path", r.URL.Path)
			h.unauthenticated(w, `Bearer realm="landform", error="invalid_token"`, "unknown API token")
			return
		}
		next(w, r, identity)
	}
}

func (h *api) unauthenticated(w http.ResponseWriter, challenge, msg string) {
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
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	if _, err := w.Write(b); err != nil {
		h.logger.Debug("api: writing the answer", "err", err)
	}
}

// maxRunIDLen is the most digits of a run ID (chatops reads no more).
const maxRunIDLen = 18

// runID returns the request's run ID, or answers 404 for one that cannot
// be a run's: a decimal number without leading zeros.
func (h *api) runID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	ok := id != "" && len(id) <= maxRunIDLen && id[0] != '0'
	for i := 0; ok && i < len(id); i++ {
		ok = '0' <= id[i] && id[i] <= '9'
	}
	if !ok {
		h.write(w, http.StatusNotFound, errorBody{apiError{Code: landform.ENOTFOUND, Message: "no such run: run IDs are decimal numbers"}})
	}
	return id, ok
}

func (h *api) getRun(w http.ResponseWriter, r *http.Request, _ string) {
	id, ok := h.runID(w, r)
	if !ok {
		return
	}
	run, err := h.a.Runs.Run(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, http.StatusOK, runBody{run})
}

func (h *api) approve(w http.ResponseWriter, r *http.Request, identity string) {
	id, ok := h.runID(w, r)
	if !ok {
		return
	}
	ctx, cancel := detached(r)
	defer cancel()
	run, err := h.a.Runs.Approve(ctx, id, identity, landform.ChannelAPI)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.logger.Info("api: run approved", "run", id, "by", identity)
	h.write(w, http.StatusOK, runBody{run})
}

func (h *api) apply(w http.ResponseWriter, r *http.Request, identity string) {
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
	run, done, err := h.a.Runs.StartApply(ctx, id, identity, landform.ChannelAPI)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.logger.Info("api: apply started", "run", id, "by", identity, "wait", wait)
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
	run, err = h.a.Runs.Run(ctx, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.write(w, http.StatusOK, runBody{run})
}
