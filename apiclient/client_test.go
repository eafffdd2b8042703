package apiclient

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/landform/landform"
)

// TestClient: the client sends the bearer token and the documented paths,
// decodes a run, and turns an error answer into the error code it names.
func TestClient(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "unauthenticated", "message": "no token"}})
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "POST /api/v1/runs/42/approve":
			json.NewEncoder(w).Encode(map[string]any{"run": landform.Run{ID: "42", State: landform.StateApproved}})
		case "POST /api/v1/runs/42/apply":
			if r.URL.Query().Get("wait") != "true" {
				t.Errorf("apply without wait=true: %s", r.URL)
			}
			json.NewEncoder(w).Encode(map[string]any{"run": landform.Run{ID: "42", State: landform.StateApplied}})
		default:
			w.WriteHeader(http.StatusConflict)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": landform.ECONFLICT, "message": "run 7: is superseded"}})
		}
	}))
	defer srv.Close()

	c, err := New(srv.URL+"/", "tok")
	if err != nil {
		t.Fatal(err)
	}
	if run, err := c.Approve(t.Context(), "42"); err != nil || run.State != landform.StateApproved {
		t.Errorf("Approve: %v, %+v", err, run)
	}
	if run, err := c.Apply(t.Context(), "42", 0); err != nil || run.State != landform.StateApplied {
		t.Errorf("Apply: %v, %+v", err, run)
	}
	_, err = c.Apply(t.Context(), "7", 0)
	if landform.ErrorCode(err) != landform.ECONFLICT || !strings.Contains(err.Error(), "superseded") {
		t.Errorf("a refused apply: %v", err)
	}
	bad, _ := New(srv.URL, "wrong")
	if _, err := bad.Run(t.Context(), "42"); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Errorf("a wrong token: %v", err)
	}
	for _, u := range []string{"ftp://x", "127.0.0.1:8080", ""} {
		if _, err := New(u, "tok"); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("New(%q): %v, want EINVALID", u, err)
		}
	}
	if _, err := New(srv.URL, ""); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("New without a token: %v", err)
	}
}
