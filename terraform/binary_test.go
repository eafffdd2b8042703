package terraform

import (
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/test/tftest"
)

// closedLoopbackURL returns an http URL on 127.0.0.1 where nothing listens.
func closedLoopbackURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestBinaryFromPath(t *testing.T) {
	t.Parallel()
	e, tools := newTestEngine(t)
	ctx := testContext(t)
	for _, constraints := range [][]string{nil, {">= 1.0"}, {">= 1.0, < 2.0", "terraform"}} {
		b, err := e.Binary(ctx, constraints...)
		if err != nil {
			t.Fatalf("Binary(%q): %v", constraints, err)
		}
		if b.Path != tools.Terraform || b.Kind != KindTerraform {
			t.Errorf("Binary(%q) = %s, want %s", constraints, b, tools.Terraform)
		}
	}
	// Versions are read once and cached on disk: a second engine on the
	// same work directory runs no `version`.
	e2, err := New(WithWorkDir(e.workDir), WithCLIConfig(""), WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	e2.mu.Lock()
	_, cached := e2.versions[tools.Terraform]
	e2.mu.Unlock()
	if !cached {
		t.Errorf("version of %s not in the cache file", tools.Terraform)
	}
	start := time.Now()
	if _, err := e2.Binary(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("Binary with a warm cache took %s", time.Since(start))
}

func TestBinaryNoneSuitable(t *testing.T) {
	t.Parallel()
	releases := closedLoopbackURL(t)
	for _, install := range []bool{true, false} {
		name := "install off"
		if install {
			name = "install on, offline"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, tools := newTestEngine(t, WithInstall(install), WithReleasesURL(releases))
			ctx := testContext(t)
			if _, err := e.Binaries(ctx); err != nil { // warm the version cache
				t.Fatal(err)
			}
			start := time.Now()
			_, err := e.Binary(ctx, ">= 99")
			took := time.Since(start)
			t.Logf("took %s: %v", took, err)
			if !errors.Is(err, ErrNoSuitableBinary) || landform.ErrorCode(err) != landform.EINVALID {
				t.Fatalf("err = %v, want ErrNoSuitableBinary with EINVALID", err)
			}
			msg := landform.ErrorMessage(err)
			for _, want := range []string{`">= 99"`, "terraform 1.", "at " + tools.Terraform} {
				if !strings.Contains(msg, want) {
					t.Errorf("message lacks %q: %s", want, msg)
				}
			}
			var nerr *NoSuitableBinaryError
			if !errors.As(err, &nerr) {
				t.Fatalf("no *NoSuitableBinaryError in %v", err)
			}
			if install {
				if nerr.InstallErr == nil || !strings.Contains(msg, "installing it failed") || !strings.Contains(msg, "offline?") {
					t.Errorf("install error missing: %s", msg)
				}
				if took > 5*time.Second {
					t.Errorf("took %s offline, want under 5s", took)
				}
			} else {
				if nerr.InstallErr != nil {
					t.Errorf("install attempted: %v", nerr.InstallErr)
				}
				if took > time.Second {
					t.Errorf("took %s without installing", took)
				}
			}
			// A plan of a workspace requiring it fails the same way.
			dir := workspaceDir(t, map[string]string{"main.tf": `terraform { required_version = ">= 99" }`})
			if _, err := e.Plan(ctx, PlanRequest{Dir: dir, Constraints: []string{">= 99"}}); !errors.Is(err, ErrNoSuitableBinary) {
				t.Errorf("Plan: %v", err)
			}
		})
	}
}

func TestBinaryInvalidConstraint(t *testing.T) {
	t.Parallel()
	e, _ := newTestEngine(t)
	if _, err := e.Binary(testContext(t), "not a constraint"); landform.ErrorCode(err) != landform.EINVALID || errors.Is(err, ErrNoSuitableBinary) {
		t.Errorf("err = %v, want EINVALID", err)
	}
}

// TestBinaryBuilt chooses between PATH terraform and the one scripts/setup
// built (1.5.7), and tofu when setup built it.
func TestBinaryBuilt(t *testing.T) {
	t.Parallel()
	_, tools := newTestEngine(t)
	if tools.TerraformBuilt == "" {
		t.Skip("no built terraform; run scripts/setup --with terraform")
	}
	e, _ := newTestEngine(t, WithBinaries(tools.TerraformBuilt))
	ctx := testContext(t)
	b, err := e.Binary(ctx, "~> 1.5.0")
	if err != nil {
		t.Fatal(err)
	}
	if b.Path != tools.TerraformBuilt || b.Version.String() != "1.5.7" {
		t.Errorf("Binary(~> 1.5.0) = %s, want %s", b, tools.TerraformBuilt)
	}
	b, err = e.Binary(ctx, ">= 1.6")
	if err != nil {
		t.Fatal(err)
	}
	if b.Path != tools.Terraform {
		t.Errorf("Binary(>= 1.6) = %s, want %s", b, tools.Terraform)
	}
	// A plan runs with the chosen binary.
	dir := workspaceDir(t, map[string]string{
		"main.tf": `terraform { required_version = "~> 1.5.0" }
resource "terraform_data" "a" { input = "x" }`,
	})
	res, err := e.Plan(ctx, PlanRequest{Dir: dir, Constraints: []string{"~> 1.5.0"}, TFWorkspace: "old"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Binary.Path != tools.TerraformBuilt || res.Summary.Add != 1 {
		t.Errorf("plan with %s: %+v", res.Binary, res.Summary)
	}
}

func TestBinaryTofu(t *testing.T) {
	t.Parallel()
	_, tools := newTestEngine(t)
	if tools.Tofu == "" {
		t.Skip("no tofu; run scripts/setup --with tofu")
	}
	e, _ := newTestEngine(t, WithBinaries(tools.Tofu))
	ctx := testContext(t)
	b, err := e.Binary(ctx, "tofu")
	if err != nil {
		t.Fatal(err)
	}
	if b.Path != tools.Tofu || b.Kind != KindTofu {
		t.Errorf("Binary(tofu) = %s", b)
	}
	b, err = e.Binary(ctx, "terraform")
	if err != nil || b.Kind != KindTerraform {
		t.Errorf("Binary(terraform) = %v, %v", b, err)
	}
	// Naming no engine prefers terraform even when tofu is newer.
	b, err = e.Binary(ctx, ">= 1.0")
	if err != nil || b.Kind != KindTerraform {
		t.Errorf("Binary(>= 1.0) = %v, %v; want terraform", b, err)
	}
	dir := workspaceDir(t, map[string]string{"main.tf": timeProvider + `
resource "time_static" "t" {}
resource "terraform_data" "a" { input = "x" }`})
	res, err := e.Plan(ctx, PlanRequest{Dir: dir, Constraints: []string{"tofu"}, TFWorkspace: "blue"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Binary.Kind != KindTofu || res.Summary.Add != 2 {
		t.Errorf("tofu plan: %s %+v", res.Binary, res.Summary)
	}
}

func TestNewRejectsMissingBinary(t *testing.T) {
	t.Parallel()
	_, err := New(WithWorkDir(t.TempDir()), WithCLIConfig(""), WithBinaries(filepath.Join(t.TempDir(), "terraform")))
	if landform.ErrorCode(err) != landform.EINVALID || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("New with a missing binary = %v", err)
	}
}

// TestVersionJSON: the answer a job's wrapper script gives terraform-exec's
// version probe is what each real binary (PATH terraform, and the
// terraform and tofu scripts/setup built) prints for `version -json` in a
// directory without a lock file, byte for byte; and terraform-exec reads
// the binary's version from it.
func TestVersionJSON(t *testing.T) {
	t.Parallel()
	tools := tftest.Load(t)
	var paths []string
	for _, p := range []string{tools.Terraform, tools.TerraformBuilt, tools.Tofu} {
		if p != "" {
			paths = append(paths, p)
		}
	}
	e, _ := newTestEngine(t, WithBinaries(paths...))
	ctx := testContext(t)
	bins, err := e.Binaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env, err := e.Environ(nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, b := range bins {
		t.Logf("%s", b)
		cmd := exec.Command(b.Path, "version", "-json")
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s version -json: %v", b, err)
		}
		if got := versionJSON(b) + "\n"; got != string(out) {
			t.Errorf("%s: answer\n%s\nwant what it prints\n%s", b, got, out)
		}

		j, err := e.NewJob(ctx, JobRequest{Dir: dir, Constraints: []string{string(b.Kind), "= " + b.Version.String()}})
		if err != nil {
			t.Fatal(err)
		}
		defer j.Close()
		if j.Binary().Path != b.Path {
			t.Fatalf("job of %s runs %s", b, j.Binary())
		}
		if v, _, err := j.tf.Version(ctx, false); err != nil || !v.Equal(b.Version) {
			t.Errorf("terraform-exec's version of %s = %v, %v", b, v, err)
		}
	}
}
