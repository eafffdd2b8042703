package runner

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
	planfs "github.com/landform/landform/planstore/fs"
	"github.com/landform/landform/store/sqlite"
)

// A run's cloud credentials, as awscreds gives them: the canaries.
const (
	credKey    = "ASIACREDENTIALSKEY01"
	credSecret = "run-secret-access-key-canary-51c2"
	credToken  = "run-session-token-canary-aa07"
)

// fakeCredentials hands every run the same credentials, or fails as the
// test says, and records the runs it was asked for.
type fakeCredentials struct {
	mu    sync.Mutex
	asked []landform.Run // copies, as they were when asked
	fails int            // the next n calls fail with err; negative: all
	err   error
}

func (c *fakeCredentials) get(_ context.Context, run *landform.Run) (map[string]string, []string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked = append(c.asked, *run)
	if c.fails != 0 {
		c.fails--
		return nil, nil, c.err
	}
	env := map[string]string{"AWS_ACCESS_KEY_ID": credKey, "AWS_SECRET_ACCESS_KEY": credSecret, "AWS_SESSION_TOKEN": credToken, "AWS_REGION": "eu-west-1"}
	return env, []string{credKey, credSecret, credToken}, nil
}

func (c *fakeCredentials) set(f func(*fakeCredentials)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}

func (c *fakeCredentials) calls() []landform.Run {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]landform.Run(nil), c.asked...)
}

// batchRunner is a runner on a fresh store, with the planner, drift
// checker and logger given, and creds.
func batchRunner(t *testing.T, p Planner, dc DriftChecker, logs slog.Handler, creds Credentials) (*Runner, *sqlite.DB, *planfs.Store) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "landform.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	plans, err := planfs.New(filepath.Join(t.TempDir(), "plans"))
	if err != nil {
		t.Fatal(err)
	}
	r := New(db, plans, p, WithWorkDir(t.TempDir()), WithRedactor(redact.New([]string{serverSecret})),
		WithLogger(slog.New(logs)), WithDriftChecker(dc), WithCredentials(creds))
	return r, db, plans
}

type driftFunc func(ctx context.Context, job PlanJob) (*PlanOutput, error)

func (f driftFunc) Drift(ctx context.Context, job PlanJob) (*PlanOutput, error) { return f(ctx, job) }

// TestCredentialsReachTheJobAndAreRedacted: a plan and a drift check get
// their run's credentials in the job, over the server's env and the
// workspace's; whatever text of the run echoes them is stored and logged
// masked.
func TestCredentialsReachTheJobAndAreRedacted(t *testing.T) {
	ctx := context.Background()
	echo := "Error: validating provider credentials: key " + credKey + " secret " + credSecret + " token " + credToken
	base := map[string]string{"TESTCLOUD_ROOT": "/srv/cloud", "AWS_REGION": "us-east-1"}
	for _, tc := range []struct {
		name string
		kind landform.RunKind
		out  *PlanOutput
		err  error
	}{
		{"a plan's text", landform.RunPlan, &PlanOutput{Artifact: landform.PlanArtifact{Plan: []byte("plan"), JSON: []byte("{}"),
			Text: `  + input = "` + credSecret + `"` + "\n" + echo}, Changes: true}, nil},
		{"a plan's error", landform.RunPlan, nil, errors.New(echo)},
		{"a drift check's error", landform.RunDrift, nil, errors.New(echo)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				mu  sync.Mutex
				got []PlanJob
			)
			step := func(_ context.Context, job PlanJob) (*PlanOutput, error) {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, job)
				return tc.out, tc.err
			}
			creds := &fakeCredentials{}
			logs := &logRecorder{}
			r, db, plans := batchRunner(t, plannerFunc(step), driftFunc(step), logs, creds.get)
			src := envSource{env: map[string]string{"TF_VAR_region": "eu-west-1", "AWS_SECRET_ACCESS_KEY": "from-the-repo"}}
			b := Batch{Repo: "infra", Commit: "c1", Targets: []landform.Target{{Workspace: landform.Workspace{Name: "app", Dir: "app"}}}}
			batch := r.PlanBatch
			if tc.kind == landform.RunDrift {
				batch = r.DriftBatch
			}
			runs, err := batch(ctx, src, b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("%d jobs, want 1", len(got))
			}
			job := got[0]
			wantEnv, _, _ := (&fakeCredentials{}).get(ctx, &landform.Run{})
			if !maps.Equal(job.Env, wantEnv) {
				t.Errorf("job env %v, want the run's credentials", slices.Sorted(maps.Keys(job.Env)))
			}
			if _, ok := job.Workspace.Env["AWS_SECRET_ACCESS_KEY"]; ok || job.Workspace.Env["TF_VAR_region"] != "eu-west-1" {
				t.Errorf("workspace env %v: want its own variables but none the credentials set", slices.Sorted(maps.Keys(job.Workspace.Env)))
			}
			merged := job.EnvWith(base)
			if merged["AWS_SECRET_ACCESS_KEY"] != credSecret || merged["AWS_REGION"] != "eu-west-1" || merged["TESTCLOUD_ROOT"] != "/srv/cloud" || base["AWS_REGION"] != "us-east-1" {
				t.Errorf("EnvWith: credentials over the server's env, the server's kept, base untouched: got %d variables, base %v", len(merged), base)
			}
			asked := creds.calls()
			if len(asked) != 1 || asked[0].ID != runs[0].ID || asked[0].Repo != "infra" || asked[0].Workspace != "app" || asked[0].Kind != tc.kind {
				t.Errorf("credentials asked for %+v, want run %s once", asked, runs[0].ID)
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
			}
			if !strings.Contains(stored, "key "+redact.Mask+" secret "+redact.Mask+" token "+redact.Mask) {
				t.Errorf("stored text %q, want the credentials masked", stored)
			}
			for what, text := range map[string]string{"stored": stored, "logged": logs.messages()} {
				for _, secret := range []string{credKey, credSecret, credToken} {
					if strings.Contains(text, secret) {
						t.Errorf("%s text holds %q: %q", what, secret, text)
					}
				}
			}
		})
	}
}

// TestCredentialsRefusedErrorsTheRun: a refusal (the role's trust policy)
// is an errored run saying so, terraform never started, not retried.
func TestCredentialsRefusedErrorsTheRun(t *testing.T) {
	creds := &fakeCredentials{fails: -1, err: landform.Errorf(landform.EUNAUTHORIZED,
		"assuming role arn:aws:iam::123456789012:role/x for workspace app of infra: STS said AccessDenied: not authorized")}
	planner := newFakePlanner()
	r, _, _ := batchRunner(t, planner, nil, &logRecorder{}, creds.get)
	runs, err := r.PlanBatch(context.Background(), envSource{}, Batch{Repo: "infra", Commit: "c1",
		Targets: []landform.Target{{Workspace: landform.Workspace{Name: "app", Dir: "app"}}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := runs[0]
	if run.State != landform.StateErrored || !strings.HasPrefix(run.Error, "cloud credentials: assuming role arn:aws:iam::123456789012:role/x") ||
		!strings.Contains(run.Error, "AccessDenied") || strings.Contains(run.Error, "environment fault") {
		t.Errorf("run %s %q, want errored with the refusal", run.State, run.Error)
	}
	if n := planner.callsOf("app"); n != 0 {
		t.Errorf("planned %d times without credentials", n)
	}
}

// TestCredentialsFaultIsRetried: the credentials service failing (the
// network, throttling) is the environment's fault: the daemon tries the
// run again, as for a failed export, and plans it once they come.
func TestCredentialsFaultIsRetried(t *testing.T) {
	creds := &fakeCredentials{fails: 2, err: errors.New("assuming role R: operation error STS: AssumeRole: dial tcp 52.94.241.129:443: i/o timeout")}
	src := newFakeSource(map[string]string{mainRef: "c1"})
	src.affect("c2", "app")
	h := newHarnessWith(t, harnessConfig{opts: []Option{WithCredentials(creds.get)}}, repo("infra", src))
	h.start()
	ev := h.polled("infra")
	src.setRef(mainRef, "c2")
	h.round(ev)
	for i, r := range h.retried(2) {
		if r.Count != i+1 || !strings.Contains(r.Err.Error(), "cloud credentials: assuming role R") {
			t.Errorf("retry %d: attempt %d, err %v", i+1, r.Count, r.Err)
		}
	}
	if run := h.finished("app"); run.State != landform.StatePlanned || run.Error != "" {
		t.Errorf("run whose credentials failed twice: %s %q, want planned", run.State, run.Error)
	}
	if n, c := h.planner.callsOf("app"), len(creds.calls()); n != 1 || c != 3 {
		t.Errorf("planned %d times, credentials asked %d times; want 1 and 3", n, c)
	}
}

// envApplier is a fakeApplier that records the jobs' environments.
type envApplier struct {
	*fakeApplier
	mu   sync.Mutex
	envs []map[string]string
}

func (a *envApplier) Apply(ctx context.Context, job ApplyJob) (*ApplyOutput, error) {
	a.mu.Lock()
	a.envs = append(a.envs, job.EnvWith(nil))
	a.mu.Unlock()
	out, err := a.fakeApplier.Apply(ctx, job)
	if out != nil {
		out.Output += "\nprovider said: " + credSecret // an echo, masked when stored
	}
	return out, err
}

// TestApplyGetsCredentialsOfItsOwn: an apply asks for credentials again,
// as the apply it is (state applying), and terraform gets them; when they
// are refused, nothing is applied and the run goes back to approved,
// saying why.
func TestApplyGetsCredentialsOfItsOwn(t *testing.T) {
	pol, ap := newFakePolicy("carol"), &envApplier{fakeApplier: newFakeApplier()}
	creds := &fakeCredentials{}
	src := newFakeSource(map[string]string{mainRef: "m1"})
	f := newFakeForge(landform.PullRequest{Number: 7, Author: "alice", BaseBranch: "main", Mergeable: landform.MergeableYes})
	h := newHarnessWith(t, harnessConfig{opts: []Option{WithApplier(ap), WithCredentials(creds.get)}, dopts: []DaemonOption{WithApprovalPolicy(pol)}}, forgeRepo(src, f))
	h.start()
	ev := h.polled("infra")
	run, _ := planPR(h, src, ev, "p1", "app")
	if run.State != landform.StatePlanned {
		t.Fatalf("plan: %s %q", run.State, run.Error)
	}
	if _, err := approve(h, run.ID, "carol"); err != nil {
		t.Fatal(err)
	}

	// Refused at apply time: not applied, approved again, the reason kept.
	creds.set(func(c *fakeCredentials) {
		c.fails, c.err = 1, landform.Errorf(landform.EUNAUTHORIZED, "assuming role R for workspace app of infra: STS said AccessDenied")
	})
	got, err := applyAndWait(t, h, run.ID, "carol")
	if err != nil || got.State != landform.StateApproved || got.Apply == nil || !strings.Contains(got.Apply.Error, "not applied: cloud credentials: assuming role R") || ap.count("app") != 0 {
		t.Fatalf("apply with refused credentials: %v, %s %+v, applied %d times", err, got.State, got.Apply, ap.count("app"))
	}

	got, err = applyAndWait(t, h, run.ID, "carol")
	if err != nil || got.State != landform.StateApplied || ap.count("app") != 1 {
		t.Fatalf("apply: %v, %s %+v", err, got.State, got.Apply)
	}
	if env := ap.envs[0]; env["AWS_SECRET_ACCESS_KEY"] != credSecret || env["AWS_SESSION_TOKEN"] != credToken {
		t.Errorf("the applier's env lacks the credentials: %v", slices.Sorted(maps.Keys(env)))
	}
	if strings.Contains(got.Apply.Output, credSecret) || !strings.Contains(got.Apply.Output, "provider said: "+redact.Mask) {
		t.Errorf("stored apply output %q, want the credentials masked", got.Apply.Output)
	}
	asked := creds.calls()
	if len(asked) != 3 || asked[0].State != landform.StateRunning || asked[1].State != landform.StateApplying || asked[2].State != landform.StateApplying || asked[2].ID != run.ID {
		var states []landform.RunState
		for _, a := range asked {
			states = append(states, a.State)
		}
		t.Errorf("credentials asked for runs in states %v, want the plan's then the applies'", states)
	}
}

func TestEnvWith(t *testing.T) {
	base := map[string]string{"A": "1", "B": "2"}
	if got := (PlanJob{}).EnvWith(base); !maps.Equal(got, base) {
		t.Errorf("no job env: %v", got)
	}
	got := PlanJob{Env: map[string]string{"B": "job", "C": "3"}}.EnvWith(base)
	if want := map[string]string{"A": "1", "B": "job", "C": "3"}; !maps.Equal(got, want) || base["B"] != "2" {
		t.Errorf("EnvWith = %v, want %v; base %v untouched", got, want, base)
	}
	if got := (PlanJob{Env: map[string]string{"C": "3"}}).EnvWith(nil); !maps.Equal(got, map[string]string{"C": "3"}) {
		t.Errorf("nil base: %v", got)
	}
}
