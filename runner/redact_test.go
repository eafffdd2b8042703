package runner

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
	planfs "github.com/landform/landform/planstore/fs"
	"github.com/landform/landform/store/sqlite"
)

// envSource is a Source whose one workspace has an env map.
type envSource struct{ env map[string]string }

func (s envSource) Target(_ context.Context, _, name string) (landform.Target, error) {
	return landform.Target{Workspace: landform.Workspace{Name: name, Dir: name, Env: s.env}}, nil
}

func (envSource) ExportPaths(context.Context, string, string, []string) error { return nil }

// Secrets a run might echo: one Landform passes (the server's), one of
// the workspace's env map, one the plan marks sensitive.
const (
	serverSecret    = "server-token-0123456789"
	workspaceSecret = "TF-VAR-db-password-hunter2"
	sensitiveSecret = "s3cr3t-from-the-plan"
)

// sensitivePlan is `terraform show -json` of a plan with a sensitive
// variable.
const sensitivePlan = `{"variables": {"db": {"value": "` + sensitiveSecret + `"}},
	"configuration": {"root_module": {"variables": {"db": {"sensitive": true}}}}}`

func TestRunTextIsRedacted(t *testing.T) {
	ctx := context.Background()
	echo := "Error: invalid credentials " + serverSecret + " for " + workspaceSecret + " (value " + sensitiveSecret + ")"
	for _, tc := range []struct {
		name string
		out  *PlanOutput
		err  error
	}{
		{"a planner error", &PlanOutput{Artifact: landform.PlanArtifact{JSON: []byte(sensitivePlan)}}, errors.New(echo)},
		{"a plan's text", &PlanOutput{Artifact: landform.PlanArtifact{Plan: []byte("plan"), JSON: []byte(sensitivePlan), Text: "  + password = " + echo}, Changes: true}, nil},
		// Without a plan, no value is known sensitive: the echo holds none.
		{"a megabyte of error", nil, errors.New(strings.TrimSuffix(echo, " (value "+sensitiveSecret+")") + strings.Repeat("x", 1<<20))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "landform.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			plans, err := planfs.New(filepath.Join(t.TempDir(), "plans"))
			if err != nil {
				t.Fatal(err)
			}
			logs := &logRecorder{}
			r := New(db, plans, plannerFunc(func(context.Context, PlanJob) (*PlanOutput, error) { return tc.out, tc.err }),
				WithWorkDir(t.TempDir()), WithRedactor(redact.New([]string{serverSecret})), WithLogger(slog.New(logs)))
			src := envSource{env: map[string]string{"TF_VAR_db_password": workspaceSecret, "TF_LOG": "off"}}
			runs, err := r.PlanBatch(ctx, src, Batch{Repo: "infra", Commit: "c1", Targets: []landform.Target{{Workspace: landform.Workspace{Name: "app", Dir: "app"}}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			run, err := db.GetRun(ctx, runs[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			stored := run.Error
			if tc.err == nil {
				art, err := plans.Get(ctx, run.ID)
				if err != nil {
					t.Fatal(err)
				}
				stored = art.Text
			} else if !strings.Contains(stored, "invalid credentials "+redact.Mask) {
				t.Errorf("stored error %.200q, want the message with the secrets masked", stored)
			}
			for what, text := range map[string]string{"stored": stored, "logged": logs.messages()} {
				for _, secret := range []string{serverSecret, workspaceSecret, sensitiveSecret} {
					if strings.Contains(text, secret) {
						t.Errorf("%s text holds %q: %.300q", what, secret, text)
					}
				}
			}
			if len(run.Error) > redact.MaxError+100 {
				t.Errorf("stored error of %d bytes, want at most %d and a note", len(run.Error), redact.MaxError)
			}
			if tc.name == "a megabyte of error" && !strings.Contains(run.Error, "more bytes not kept") {
				t.Errorf("a bounded error says nothing of what was cut: %.100q", run.Error[len(run.Error)-100:])
			}
		})
	}
}
