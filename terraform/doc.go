// Package terraform runs Terraform and OpenTofu for Landform. It is the only
// package that knows how to find, install and drive the engine binaries, and
// the only one that imports terraform-exec and hc-install.
//
// An [Engine] is built once with constructor options and is safe for
// concurrent use. It
//
//   - discovers engine binaries (configured paths, terraform and tofu on PATH
//     through hc-install's fs sources, binaries it installed earlier) and
//     picks one per workspace from the workspace's version constraints
//     ([Engine.Binary]); versions are read once per binary and cached on
//     disk, so a one-shot CLI run does not pay a `version` process per
//     binary;
//   - honours the operator's CLI configuration (provider mirrors,
//     credentials) and adds only its own plugin_cache_dir, in a generated
//     file passed to every child process through TF_CLI_CONFIG_FILE;
//   - gives child processes a controlled environment (see [Engine.Environ]);
//   - makes the shared plugin cache safe for parallel runs
//     (hashicorp/terraform#31964): `init` is serialized per cache directory,
//     inside the process and across processes (flock), and children run
//     with TF_PLUGIN_CACHE_MAY_BREAK_DEPENDENCY_LOCK_FILE=true so that an
//     init never re-installs (deletes and recreates) a cached provider that
//     other workspaces' plans are running (see Engine.Environ);
//   - makes jobs ([Engine.NewJob]). A [Job] runs terraform for one workspace
//     through one tfexec.Terraform (github.com/hashicorp/terraform-exec),
//     step by step: [Job.Init] (init, and the Terraform workspace's
//     selection), [Job.Plan], [Job.ShowPlanFile], [Job.Apply];
//   - makes plans ([Engine.Plan]) from those steps, and turns the plan JSON
//     into a [landform.PlanSummary], drift and whether anything changes.
//
// Failures of terraform itself are returned as *[StepError] (inside a
// *landform.Error with code EINVALID) whose message names the step and the
// workspace and carries terraform's diagnostics, colour-free.
//
// # What terraform-exec does not do, and how this package covers it
//
// Facts of terraform-exec v0.26.0 (tfexec/cmd_linux.go, tfexec/cmd.go).
//
// Interrupting. tfexec starts terraform in a process group of its own
// (Setpgid) with Pdeathsig SIGKILL, but when the context of a command ends
// it sends SIGINT to terraform alone (exec.Cmd.Cancel) and, after the wait
// delay (SetWaitDelay, default 60 s), SIGKILL to terraform alone. The
// providers, terraform's children in its group, get neither. A provider
// stuck in a call that ignores terraform's stop request therefore outlives
// the killed terraform, reparented to init (TestPlanInterruptStopsProviders
// fails that way with tfexec's cancellation alone). Nor can a caller send
// SIGINT itself and then cancel tfexec's context: that delivers a second
// SIGINT, on which terraform exits at once, its state lock held. So a Job
// never hands the caller's context to tfexec. Each command gets a context
// that only the job cancels, and every process of the job carries
// LANDFORM_JOB=<random> in its environment (terraform passes its
// environment to its providers). When the caller's context ends, the job
// finds those processes in /proc and sends SIGINT, once, to each of their
// process groups, as Ctrl-C in a terminal does: terraform stops its
// providers and releases its state lock. When the command has not ended
// after the engine's grace period ([WithInterruptGrace]), it sends SIGKILL
// to the groups and to every marked process, also those that left the group
// or were reparented, and only then cancels tfexec's context. After an
// interrupted step it kills whatever marked process is left and waits until
// none is. Without /proc (not Linux) a job falls back on tfexec's own
// cancellation. What nobody covers: when Landform itself dies, Pdeathsig
// kills terraform but not its providers.
//
// Output. tfexec reads terraform's stdout and stderr until they close
// before it waits for the process. A background process that a provisioner
// starts and that keeps them open holds the step until it exits; an
// interrupted job kills it with the rest.
//
// Environment. tfexec's SetEnv refuses TF_VAR_*, TF_INPUT and
// TF_IN_AUTOMATION (hashicorp/terraform-exec#584), which the controlled
// environment and workspaces set; the job adds them to the map tfexec keeps
// (see setTFEnv). tfexec empties TF_LOG*: a workspace's TF_LOG is ignored,
// with a warning.
//
// Workspaces. tfexec has no `workspace select -or-create`: Init selects,
// and creates the workspace with `workspace new` when select fails.
//
// Version probe. Every tfexec.Terraform runs `terraform version -json`
// once, before its first command, to check flag compatibility, and nothing
// lets a caller give it the version the engine already knows. A job runs
// the probe first, outside the plugin cache lock, and records its duration
// in [Timings].Version: 35–50 ms, 7–8 % of a small plan (docs/benchmarks.md,
// "terraform-exec's version probe").
//
// Exit codes. tfexec always passes -detailed-exitcode to plan. Its answer is
// ignored: changes and drift are read from the plan JSON (terraform 1.11
// reports drift where there is none, hashicorp/terraform#36403).
package terraform
