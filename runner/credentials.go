package runner

import (
	"context"
	"fmt"
	"maps"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/redact"
)

// Credentials gives a run the short-lived cloud credentials of its
// workspace (package awscreds assumes an AWS role per run): env is what
// terraform gets for the run besides its usual environment (nil for
// nothing), secrets the values to mask in every text of the run. It is
// called once per plan, drift check and apply, right before terraform
// starts.
//
// An error with code EINVALID, EUNAUTHORIZED or ENOTFOUND is a refusal
// (the role's trust policy, the settings): the run is errored, and an
// apply goes back to approved, with the error's text. Any other error
// (the network, throttling, the credentials service down) is a fault of
// the environment: the daemon's workers try a plan or drift check again
// as they do when exporting the commit fails; an apply goes back to
// approved, to be asked for again. The text must name no secret.
type Credentials func(ctx context.Context, run *landform.Run) (env map[string]string, secrets []string, err error)

// WithCredentials gives every run the environment c returns for it.
// Default: none.
func WithCredentials(c Credentials) Option { return func(r *Runner) { r.credentials = c } }

// EnvWith returns base (the server's terraform env) with the job's own
// environment over it: what terraform gets besides the workspace's env.
// base is not modified.
func (j PlanJob) EnvWith(base map[string]string) map[string]string {
	if len(j.Env) == 0 {
		return base
	}
	out := maps.Clone(base)
	if out == nil {
		out = make(map[string]string, len(j.Env))
	}
	maps.Copy(out, j.Env)
	return out
}

// credentialsFor asks r.credentials for run's environment and puts it in
// job: job.Env is set, the workspace's env loses the names it sets (a
// repository's env never overrides a run's credentials), and *red masks
// its secrets from here on, whatever the outcome.
func (r *Runner) credentialsFor(ctx context.Context, run *landform.Run, job *PlanJob, red **redact.Redactor) error {
	if r.credentials == nil {
		return nil
	}
	env, secrets, err := r.credentials(ctx, run)
	*red = (*red).With(secrets...)
	if err != nil {
		return fmt.Errorf("cloud credentials: %w", err)
	}
	if len(env) == 0 {
		return nil
	}
	job.Env = env
	if len(job.Workspace.Env) > 0 {
		ws := maps.Clone(job.Workspace.Env)
		for k := range env {
			delete(ws, k)
		}
		job.Workspace.Env = ws
	}
	return nil
}

// credentialsRefused reports whether err, from credentialsFor, is a
// refusal rather than a fault of the environment (see Credentials).
func credentialsRefused(err error) bool {
	switch landform.ErrorCode(err) {
	case landform.EINVALID, landform.EUNAUTHORIZED, landform.ENOTFOUND:
		return true
	}
	return false
}
