package terraform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/landform/landform"
)

// StepError is a terraform command that failed: it ran and exited non-zero,
// or it was interrupted. Its message names the step and the workspace and
// carries terraform's diagnostics without colour, e.g.
//
//	terraform plan in envs/prod: Error: Unsupported argument
//
//	  on main.tf line 3, in resource "terraform_data" "a":
//	   3:   bogus = 1
//	...
type StepError struct {
	// Step is the subcommand: "version", "init", "workspace select",
	// "workspace new", "plan", "show", "apply".
	Step string
	Kind Kind
	// Workspace labels the workspace in messages (its name, else its dir).
	Workspace string
	ExitCode  int
	// Stderr is terraform's whole stderr, as it wrote it.
	Stderr string
	// Err is the process error; context.Canceled or DeadlineExceeded when
	// the command was interrupted.
	Err error
}

func (e *StepError) Error() string {
	prefix := fmt.Sprintf("%s %s in %s", e.Kind, e.Step, e.Workspace)
	diags := cleanDiagnostics(e.Stderr)
	switch {
	case errors.Is(e.Err, context.Canceled), errors.Is(e.Err, context.DeadlineExceeded):
		if diags == "" {
			return fmt.Sprintf("%s: interrupted: %v", prefix, e.Err)
		}
		return fmt.Sprintf("%s: interrupted: %v\n%s", prefix, e.Err, diags)
	case diags == "":
		return fmt.Sprintf("%s: %v", prefix, e.Err)
	}
	return prefix + ": " + diags
}

func (e *StepError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrStalePlan) true when terraform refused to apply
// a saved plan because the state changed since the plan was made.
func (e *StepError) Is(target error) bool {
	return target == ErrStalePlan && strings.Contains(cleanDiagnostics(e.Stderr), "Saved plan is stale")
}

// ErrStalePlan is in the chain of the error Job.Apply returns when the
// state moved since the plan was made (terraform: "Saved plan is stale");
// callers use errors.Is and plan again.
var ErrStalePlan = landform.ErrStalePlan

var ansiRe = regexp.MustCompile(`\x1b\[[0-9;?]*[ -/]*[@-~]`)

// cleanDiagnostics strips colour codes, the box drawing terraform frames
// diagnostics with when colour is on, and surrounding blank lines.
func cleanDiagnostics(s string) string {
	s = ansiRe.ReplaceAllString(s, "")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimRight(l, " \r")
		switch {
		case l == "╷" || l == "╵":
			continue
		case strings.HasPrefix(l, "│ "):
			l = l[len("│ "):]
		case l == "│":
			l = ""
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// logOutput says whether a step's stdout goes to the run log: the human
// output of init, plan and apply does, show's JSON does not.
type logOutput bool

const (
	toLog  logOutput = true
	notLog logOutput = false
)

// run runs one step of the job: f runs one terraform command through j.tf
// with the context it is given, and run returns what the command printed
// on stdout. stderr is kept for the error. f's context is not ctx: when ctx
// is done, run interrupts terraform itself (see interrupt), because
// cancelling terraform-exec's context sends SIGINT to terraform alone and,
// after the wait delay, SIGKILL to terraform alone, leaving its providers
// running. f's context is cancelled only once terraform's process group has
// been killed.
//
// A non-zero exit is returned as a *StepError inside a *landform.Error
// (EINVALID); an interrupted step as a *StepError whose Err is ctx.Err();
// anything else (terraform did not start, a version terraform-exec refuses,
// unreadable output) wrapped with the step and the workspace.
func (j *Job) run(ctx context.Context, step string, out logOutput, f func(ctx context.Context) error) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, &StepError{Step: step, Kind: j.bin.Kind, Workspace: j.name, ExitCode: -1, Err: err}
	}
	var stdout, stderr bytes.Buffer
	if out == toLog {
		j.tf.SetStdout(io.MultiWriter(&stdout, j.log))
	} else {
		j.tf.SetStdout(&stdout)
	}
	j.tf.SetStderr(io.MultiWriter(&stderr, j.log))

	tctx, cancelTF := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelTF()
	exited := make(chan struct{})
	watched := make(chan struct{})
	var interrupted bool
	go func() {
		defer close(watched)
		select {
		case <-exited:
			return
		case <-ctx.Done():
		}
		interrupted = true
		j.engine.logger.Info("interrupting terraform", "step", step, "workspace", j.name, "grace", j.engine.grace)
		j.interrupt(exited, cancelTF)
	}()

	start := time.Now()
	err := f(tctx)
	close(exited)
	<-watched
	j.engine.logger.Debug("ran terraform", "step", step, "workspace", j.name, "duration", time.Since(start), "err", err)

	exitCode := -1
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		exitCode = exitErr.ExitCode()
	}
	if interrupted {
		// Whatever terraform started and left behind goes too.
		j.killLeftovers()
		return stdout.Bytes(), &StepError{Step: step, Kind: j.bin.Kind, Workspace: j.name,
			ExitCode: exitCode, Stderr: stderr.String(), Err: ctx.Err()}
	}
	if err == nil {
		return stdout.Bytes(), nil
	}
	if exitErr == nil {
		return stdout.Bytes(), fmt.Errorf("%s %s in %s: %w", j.bin.Kind, step, j.name, err)
	}
	serr := &StepError{Step: step, Kind: j.bin.Kind, Workspace: j.name,
		ExitCode: exitCode, Stderr: stderr.String(), Err: exitErr}
	if strings.TrimSpace(serr.Stderr) == "" {
		// Some failures (init's) may print only to stdout.
		serr.Stderr = tail(stdout.String(), 4000)
	}
	return stdout.Bytes(), &landform.Error{Code: landform.EINVALID, Message: serr.Error(), Err: serr}
}

// lockedWriter serializes writes: terraform-exec copies stdout and stderr
// in two goroutines, and both go to the run log.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
