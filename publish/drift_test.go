package publish

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/landform/landform"
)

// TestSlackDriftReport: a report with drift is posted to the incoming
// webhook as JSON; a clean one is not; a failing webhook is an error that
// does not show the webhook's URL (a secret).
func TestSlackDriftReport(t *testing.T) {
	var (
		mu     sync.Mutex
		posted []string
		status = http.StatusOK
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with %q", r.Method, r.Header.Get("Content-Type"))
		}
		posted = append(posted, string(body))
		w.WriteHeader(status)
		io.WriteString(w, "no_service")
	}))
	defer srv.Close()
	secretURL := srv.URL + "/services/T000/B000/secret-token"
	s := NewSlack(secretURL, "https://landform.example.com")
	at := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	clean := &landform.DriftReport{Repo: "infra", CheckedAt: at, Workspaces: []landform.WorkspaceDrift{{Workspace: "a", Resources: []landform.DriftedResource{}}}}
	drifted := &landform.DriftReport{Repo: "infra", CheckedAt: at, Workspaces: []landform.WorkspaceDrift{{Workspace: "a", Drifted: true,
		Resources: []landform.DriftedResource{{Address: "testcloud_bucket.b", Kind: landform.DriftChanged, Action: "update"}}}}}

	if err := s.DriftReport(t.Context(), clean); err != nil {
		t.Fatal(err)
	}
	if err := s.DriftReport(t.Context(), drifted); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(posted) != 1 || !strings.Contains(posted[0], "1 of 1 workspaces drifted") {
		t.Errorf("posted %q, want the drifted report only", posted)
	}
	status = http.StatusNotFound
	mu.Unlock()
	err := s.DriftReport(t.Context(), drifted)
	if err == nil || !strings.Contains(err.Error(), "404") || strings.Contains(err.Error(), "secret-token") {
		t.Errorf("a failing webhook: %v", err)
	}
}
