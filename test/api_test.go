package test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// apiGet calls the daemon's REST API with token and returns the status
// and body.
func apiGet(t *testing.T, addr, method, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// A token made with `landform token create` works at once against the
// running daemon with its role, and stops working when revoked; the API
// reads what the daemon did.
func TestTokensAndAPIAgainstDaemon(t *testing.T) {
	t.Parallel()
	w := watchInfra(t, infraFiles(), "ledger: false")
	addr := w.d.listenAddr()

	create := func(identity, role string) string {
		res := landform(t, "--data-dir", w.dataDir, "token", "create", "--identity", identity, "--role", role)
		if res.Code != 0 {
			t.Fatalf("token create: exit %d: %s", res.Code, res.Stderr)
		}
		return strings.TrimSpace(res.Stdout)
	}
	viewer, admin := create("vera", "viewer"), create("ada", "admin")
	if !strings.HasPrefix(viewer, "lf_") || viewer == admin {
		t.Fatalf("tokens %q, %q", viewer, admin)
	}
	if code, body := apiGet(t, addr, "GET", "/api/v1/whoami", viewer); code != 200 || !strings.Contains(body, `"identity":"vera","role":"viewer"`) {
		t.Fatalf("whoami: %d %s", code, body)
	}
	if code, _ := apiGet(t, addr, "GET", "/api/v1/runs", ""); code != 401 {
		t.Errorf("anonymous runs list: %d, want 401 (closed by default)", code)
	}

	sha := w.work.change("refs/heads/main", map[string]string{"envs/a/main.tf": `resource "terraform_data" "a" { input = "a2" }` + "\n"})
	w.d.waitRuns(60*time.Second, "the plan to finish", func(rs []daemonRun) bool { return len(rs) > 0 && rs[0].State == "planned" })
	code, body := apiGet(t, addr, "GET", "/api/v1/runs?repo=infra&workspace=envs/a", viewer)
	var page struct {
		Runs []struct{ ID, State, Commit string } `json:"runs"`
	}
	if err := json.Unmarshal([]byte(body), &page); code != 200 || err != nil || len(page.Runs) != 1 || page.Runs[0].Commit != sha {
		t.Fatalf("runs: %d %s (%v)", code, body, err)
	}
	id := page.Runs[0].ID
	if code, body := apiGet(t, addr, "GET", "/api/v1/runs/"+id+"/plan", viewer); code != 200 || !strings.Contains(body, "terraform_data.a") {
		t.Errorf("plan text: %d %s", code, body)
	}
	if code, body := apiGet(t, addr, "GET", "/api/v1/runs/"+id+"/plan.json", viewer); code != 200 || !json.Valid([]byte(body)) || !strings.Contains(body, `"resource_changes"`) {
		t.Errorf("plan JSON: %d %.200s", code, body)
	}
	if code, body := apiGet(t, addr, "GET", "/api/v1/repos/infra/workspaces", viewer); code != 200 || !strings.Contains(body, `"name":"envs/b"`) || !strings.Contains(body, `"at_head":true`) {
		t.Errorf("workspaces: %d %s", code, body)
	}
	if code, body := apiGet(t, addr, "GET", "/api/v1/repos", viewer); code != 200 || !strings.Contains(body, `"head":"`+sha+`"`) {
		t.Errorf("repos: %d %s", code, body)
	}
	if code, _ := apiGet(t, addr, "POST", "/api/v1/runs/"+id+"/approve", viewer); code != 403 {
		t.Errorf("a viewer's approval: %d, want 403", code)
	}
	if code, _ := apiGet(t, addr, "DELETE", "/api/v1/repos/infra/locks/envs/a", admin); code != 404 {
		t.Errorf("unlocking an unlocked workspace: %d, want 404", code)
	}

	res := landform(t, "--data-dir", w.dataDir, "token", "list", "--json")
	if res.Code != 0 || !strings.Contains(res.Stdout, `"identity": "vera"`) || strings.Contains(res.Stdout, viewer) {
		t.Errorf("token list: %d %s", res.Code, res.Stdout)
	}
	var list struct {
		Tokens []struct{ ID, Identity string } `json:"tokens"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil || len(list.Tokens) != 2 {
		t.Fatalf("token list: %v %s", err, res.Stdout)
	}
	if res := landform(t, "--data-dir", w.dataDir, "token", "revoke", list.Tokens[0].ID); res.Code != 0 {
		t.Fatalf("token revoke: %s", res.Stderr)
	}
	if code, _ := apiGet(t, addr, "GET", "/api/v1/whoami", viewer); code != 401 {
		t.Errorf("a revoked token: %d, want 401", code)
	}
	if res := landform(t, "--data-dir", w.dataDir, "token", "create", "--identity", "x", "--role", "root"); res.Code == 0 || !strings.Contains(res.Stderr, `unknown role "root"`) {
		t.Errorf("token create with a bad role: %d %s", res.Code, res.Stderr)
	}
}
