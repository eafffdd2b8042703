package demo

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/datadir"
)

func TestWriteRepoPutsTheStateOutside(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "infra")
	state := `/data/with "quotes" and ${x}`
	if err := WriteRepo(context.Background(), dir, state); err != nil {
		t.Fatal(err)
	}
	for _, ws := range []string{"envs/prod", "envs/staging", "global/dns"} {
		b, err := os.ReadFile(filepath.Join(dir, ws, "backend.tf"))
		if err != nil {
			t.Fatal(err)
		}
		want := `path = "/data/with \"quotes\" and $${x}/` + strings.ReplaceAll(ws, "/", "-") + `.tfstate"`
		if !strings.Contains(string(b), want) {
			t.Errorf("%s/backend.tf lacks %s:\n%s", ws, want, b)
		}
	}
	if out, err := Git(context.Background(), dir, "status", "--porcelain"); err != nil || out != "" {
		t.Errorf("the example is not committed whole: %q %v", out, err)
	}
}

func TestServerConfig(t *testing.T) {
	l := NewLayout("/data", "/tools/terraformrc", map[string]string{"EXTRA": "1"})
	cfg, err := ServerConfig(l, Settings{DataDir: "/data", Listen: "127.0.0.1:8080", RepoURL: "git://127.0.0.1:9/infra.git", DriftEvery: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	rules := cfg.ApprovalRules(RepoName, "envs/prod", nil)
	if len(rules.Approvers) != 1 || rules.Approvers[0] != Identity || rules.Required != 1 || !rules.AllowSelf || rules.Mode != landform.ApplyBeforeMerge {
		t.Errorf("approval rules: %+v", rules)
	}
	if d := cfg.DriftSettings(RepoName, "envs/prod"); d.Schedule != "@every 30s" || !d.Ledger {
		t.Errorf("drift settings: %+v", d)
	}
	if tok := cfg.API.Tokens; len(tok) != 1 || tok[0].Identity != Identity || tok[0].Role != landform.RoleAdmin || tok[0].TokenFile != l.TokenFile {
		t.Errorf("api tokens: %+v", tok)
	}
	if cfg.Web.Anonymous != landform.RoleViewer || cfg.ExternalURL != "http://127.0.0.1:8080" {
		t.Errorf("web: %+v, external URL %s", cfg.Web, cfg.ExternalURL)
	}
	if env := cfg.Terraform.Env; env["TESTCLOUD_ROOT"] != l.CloudDir || env["EXTRA"] != "1" {
		t.Errorf("terraform env: %v", env)
	}
	if rw := cfg.Terraform.SandboxReadWrite; len(rw) != 2 || rw[0] != l.CloudDir || rw[1] != l.StateDir {
		t.Errorf("sandbox paths: %v", rw)
	}

	// Not on loopback: nothing opens without signing in.
	cfg, err = ServerConfig(l, Settings{DataDir: "/data", Listen: "0.0.0.0:8080", DriftEvery: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Web.Anonymous != "" || cfg.ExternalURL != "http://127.0.0.1:8080" {
		t.Errorf("on 0.0.0.0: web %+v, external URL %s", cfg.Web, cfg.ExternalURL)
	}

	for _, s := range []Settings{
		{Listen: "127.0.0.1:0", DriftEvery: time.Minute},
		{Listen: "127.0.0.1", DriftEvery: time.Minute},
		{Listen: "127.0.0.1:8080", DriftEvery: 1500 * time.Millisecond},
		{Listen: "127.0.0.1:8080"},
	} {
		if _, err := ServerConfig(l, s); landform.ErrorCode(err) != landform.EINVALID {
			t.Errorf("ServerConfig(%+v): %v, want EINVALID", s, err)
		}
	}
}

func TestFreeListen(t *testing.T) {
	got, err := FreeListen("127.0.0.1:0")
	if err != nil || !strings.HasPrefix(got, "127.0.0.1:") || got == "127.0.0.1:0" {
		t.Errorf("FreeListen(127.0.0.1:0) = %q, %v", got, err)
	}
	// A port given stays, when it is free; a taken one is refused.
	l, err := net.Listen("tcp", got)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := FreeListen(got); landform.ErrorCode(err) != landform.EINVALID || !strings.Contains(err.Error(), "--listen 127.0.0.1:0") {
		t.Errorf("FreeListen(%s) while taken: %v, want EINVALID suggesting port 0", got, err)
	}
	l.Close()
	if again, err := FreeListen(got); again != got || err != nil {
		t.Errorf("FreeListen(%s) = %q, %v", got, again, err)
	}
	if _, err := FreeListen("8080"); landform.ErrorCode(err) != landform.EINVALID {
		t.Errorf("FreeListen(8080): %v, want EINVALID", err)
	}
}

// cloudWithBucket returns a test cloud holding the bucket the demo edits,
// as the testcloud provider writes it.
func cloudWithBucket(t *testing.T, tags map[string]string) string {
	t.Helper()
	cloud := t.TempDir()
	obj := map[string]any{"id": driftID, "name": driftID, "versioning": true, "tags": tags}
	b, _ := json.Marshal(obj)
	if err := os.MkdirAll(filepath.Join(cloud, "bucket"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cloud, "bucket", driftID+".json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return cloud
}

func TestMakeDrift(t *testing.T) {
	cloud := cloudWithBucket(t, map[string]string{"env": "prod", "retention": "90d"})
	e, err := MakeDrift(cloud)
	if err != nil {
		t.Fatal(err)
	}
	if e.Attribute != "tags.retention" || e.Before != "90d" || e.After != "7d" || e.Address != DriftAddress || e.Workspace != "envs/prod" {
		t.Errorf("first edit: %+v", e)
	}
	// Again: another value, so that the next check shows a change.
	if e, err = MakeDrift(cloud); err != nil || e.Before != "7d" || e.After != "1d" {
		t.Errorf("second edit: %+v, %v", e, err)
	}
	objs, err := Objects(cloud)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || strings.Join(objs[0].Attributes, " ") != "tags.env=prod tags.retention=1d versioning=true" {
		t.Errorf("objects: %+v", objs)
	}

	if _, err := MakeDrift(t.TempDir()); landform.ErrorCode(err) != landform.ENOTFOUND || !strings.Contains(err.Error(), "apply") {
		t.Errorf("MakeDrift on an empty cloud: %v, want ENOTFOUND saying to apply first", err)
	}
}

func TestObjectsHidesSecrets(t *testing.T) {
	cloud := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cloud, "secret"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cloud, "secret", "db.json"), []byte(`{"id":"db","name":"db","value":"hunter2"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	objs, err := Objects(cloud)
	if err != nil || len(objs) != 1 || strings.Contains(strings.Join(objs[0].Attributes, " "), "hunter2") {
		t.Errorf("objects: %+v, %v", objs, err)
	}
}

func TestFindSession(t *testing.T) {
	dataDir := t.TempDir()
	l := NewLayout(dataDir, "", nil)
	if _, err := FindSession(l, dataDir); !errors.Is(err, ErrNoDemo) || landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("no session: %v, want ErrNoDemo", err)
	}
	if err := l.Reset(); err != nil {
		t.Fatal(err)
	}
	want := Session{URL: "http://127.0.0.1:8080", TokenFile: l.TokenFile, PID: os.Getpid(), StartedAt: time.Now().UTC().Truncate(time.Second), DriftEvery: "30s"}
	if err := WriteSession(l.SessionFile, want); err != nil {
		t.Fatal(err)
	}
	if _, err := FindSession(l, dataDir); !errors.Is(err, ErrNoDemo) || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("a session nobody holds: %v, want ErrNoDemo saying it stopped", err)
	}
	lock, err := datadir.Acquire(dataDir, "landform serve")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	got, err := FindSession(l, dataDir)
	if err != nil || got != want {
		t.Errorf("FindSession = %+v, %v; want %+v", got, err, want)
	}
	if err := WriteToken(l.TokenFile, "lf_abc"); err != nil {
		t.Fatal(err)
	}
	if tok, err := got.Token(); tok != "lf_abc" || err != nil {
		t.Errorf("Token() = %q, %v", tok, err)
	}
}
