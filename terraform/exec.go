package terraform

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	// Step is the subcommand: "init", "workspace select", "plan", "show".
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

// command is one terraform invocation.
type command struct {
	bin       *Binary
	dir       string
	args      []string
	env       []string
	step      string
	workspace string // label for messages
}

// output is what a command printed.
type output struct {
	stdout []byte
	stderr []byte
}

// run runs c and waits for it. When ctx is cancelled, terraform's process
// group gets SIGINT, and SIGKILL after the engine's grace period. A non-zero
// exit or an interruption is returned as a *StepError inside a
// *landform.Error (EINVALID for a failure terraform reported); a command that
// cannot start is returned as is.
func (e *Engine) run(ctx context.Context, c command) (output, error) {
	if err := ctx.Err(); err != nil {
		return output{}, &StepError{Step: c.step, Kind: c.bin.Kind, Workspace: c.workspace, ExitCode: -1, Err: err}
	}
	cmd := exec.Command(c.bin.Path, c.args...)
	cmd.Dir = c.dir
	cmd.Env = c.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	startInGroup(cmd)
	// Providers inherit the output pipes; if one outlives a killed
	// terraform, stop waiting for the pipes to close after this long.
	cmd.WaitDelay = 2 * time.Second

	start := time.Now()
	if err := cmd.Start(); err != nil {
		return output{}, fmt.Errorf("starting %s %s in %s: %w", c.bin.Kind, c.step, c.workspace, err)
	}

	var (
		mu          sync.Mutex
		exited      bool
		interrupted bool
	)
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if exited {
			return
		}
		interrupted = true
		e.logger.Info("interrupting terraform", "step", c.step, "workspace", c.workspace, "grace", e.grace)
		_ = interruptGroup(cmd.Process)
		time.AfterFunc(e.grace, func() {
			mu.Lock()
			defer mu.Unlock()
			if !exited {
				e.logger.Warn("killing terraform after grace period", "step", c.step, "workspace", c.workspace)
				_ = killGroup(cmd.Process)
			}
		})
	})
	err := cmd.Wait()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState.Success() {
		// terraform succeeded; something it started held the output
		// pipes open past WaitDelay.
		e.logger.Warn("terraform exited but its output stayed open", "step", c.step, "workspace", c.workspace)
		err = nil
	}
	mu.Lock()
	exited = true
	wasInterrupted := interrupted
	mu.Unlock()
	stop()

	out := output{stdout: stdout.Bytes(), stderr: stderr.Bytes()}
	e.logger.Debug("ran terraform", "step", c.step, "workspace", c.workspace, "args", c.args, "duration", time.Since(start), "err", err)
	if wasInterrupted {
		return out, &StepError{Step: c.step, Kind: c.bin.Kind, Workspace: c.workspace,
			ExitCode: cmd.ProcessState.ExitCode(), Stderr: stderr.String(), Err: ctx.Err()}
	}
	if err != nil {
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
			return out, fmt.Errorf("%s %s in %s: %w", c.bin.Kind, c.step, c.workspace, err)
		}
		serr := &StepError{Step: c.step, Kind: c.bin.Kind, Workspace: c.workspace,
			ExitCode: cmd.ProcessState.ExitCode(), Stderr: stderr.String(), Err: err}
		if strings.TrimSpace(serr.Stderr) == "" {
			// Some failures (init's) may print only to stdout.
			serr.Stderr = tail(stdout.String(), 4000)
		}
		return out, &landform.Error{Code: landform.EINVALID, Message: serr.Error(), Err: serr}
	}
	return out, nil
}

// tail returns at most the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
