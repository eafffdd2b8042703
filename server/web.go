package server

import (
	"log/slog"
	"net/http"
)

// Dashboard is the web dashboard's data and actions.
type Dashboard struct {
	Reader  Reader
	Actions Actions
}

// WithDashboard serves the web dashboard at /.
func WithDashboard(d Dashboard) Option {
	return func(o *options) { o.dashboard = &dashboard{d: d} }
}

type dashboard struct {
	d Dashboard
}

func (h *dashboard) mount(mux *http.ServeMux, auth *Auth, logger *slog.Logger) {}
