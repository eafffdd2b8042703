package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/landform/landform/config"

	"github.com/spf13/cobra"

	"github.com/landform/landform"
)

// app holds what every command shares: the global flags and the output
// streams. Commands read it; nothing else is global.
type app struct {
	stdout io.Writer
	stderr io.Writer

	dataDir   string
	logLevel  string
	logFormat string

	logger *slog.Logger

	// storeCfg and plansCfg are the stores a server config names (zero:
	// SQLite and a directory in the data directory).
	storeCfg config.Store
	plansCfg config.Plans

	// atExit run when the command has returned, last added first.
	atExit []func()
}

// exitError carries a specific process exit code (e.g. 2 for drift found)
// without a message of its own when err is nil.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// Run runs the landform command line args and returns the process exit code:
// 0 ok, 1 error, or a command's own code (drift --exit-code returns 2).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	defer func() {
		for i := len(a.atExit) - 1; i >= 0; i-- {
			a.atExit[i]()
		}
	}()
	cmd := newRootCmd(a)
	cmd.SetArgs(args)
	cmd.SetOut(stdout)
	cmd.SetErr(stderr)
	err := cmd.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "landform:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "landform:", errorText(err))
	return 1
}

// errorText is what the CLI prints for err: the coded message for
// application errors, the whole chain otherwise (a CLI user is the operator,
// so internal details are useful here).
func errorText(err error) string {
	if landform.ErrorCode(err) != landform.EINTERNAL {
		return landform.ErrorMessage(err)
	}
	return err.Error()
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "landform",
		Short:         "Landform: a GitOps runner for Terraform and OpenTofu",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := newLogger(a.stderr, a.logLevel, a.logFormat)
			if err != nil {
				return err
			}
			a.logger = logger
			// Every path derived from the data directory (plan files,
			// terraform's data directory, the work root's name) is
			// absolute from the start: terraform resolves relative ones
			// against the workspace directory.
			if a.dataDir, err = filepath.Abs(a.dataDir); err != nil {
				return fmt.Errorf("--data-dir: %w", err)
			}
			return nil
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.dataDir, "data-dir", defaultDataDir(), "directory for Landform's database, plans and repository cache")
	pf.StringVar(&a.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.StringVar(&a.logFormat, "log-format", "text", "log format: text or json")

	root.AddCommand(
		newVersionCmd(a),
		newWorkspacesCmd(a),
		newAffectedCmd(a),
		newPlanCmd(a),
		newRunsCmd(a),
		newShowCmd(a),
		newDemoCmd(a),
		newServeCmd(a),
		newValidateCmd(a),
		newUnlockCmd(a),
		newApproveCmd(a),
		newApplyCmd(a),
		newDriftCmd(a),
		newPolicyCmd(a),
		newLedgerCmd(a),
		newLocksCmd(a),
		newTokenCmd(a),
	)
	return root
}

func newLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, landform.Errorf(landform.EINVALID, "--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, landform.Errorf(landform.EINVALID, "--log-format %q: want text or json", format)
}

func defaultDataDir() string { return "./.landform" }
