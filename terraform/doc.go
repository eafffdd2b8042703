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
//   - gives child processes an environment built from nothing, not from
//     Landform's own (see [Engine.Environ], [WithPassEnv]);
//   - runs every terraform process in a bubblewrap sandbox that sees only
//     its job's files (see "The sandbox" below, [WithSandbox]);
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
//     into a [landform.PlanSummary], drift and whether anything changes;
//   - checks drift ([Engine.Drift]): a refresh-only plan and a normal plan
//     in one job, classified into what changed or was deleted outside
//     Terraform (attribute by attribute, sensitive values masked) and the
//     code not yet applied ([UnappliedResources] states the rule).
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
// cancellation. When Landform itself dies, Pdeathsig kills terraform (or,
// sandboxed, bwrap) but not terraform's providers: only the sandbox's PID
// namespace covers that (see below).
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
// Version probe. Every tfexec.Terraform runs `TERRAFORM version -json`
// once, before its first command (tfexec/version.go), to learn the version
// it builds command lines for (init's flags of releases before 0.15,
// show -json from 0.12 on), and nothing lets a caller give it the version
// the engine already knows (Engine.Binary reads it once per binary and
// caches it). So tfexec never runs the binary itself: a job's exec path is
// always a wrapper script that the engine writes once, in its work
// directory, with the sandbox off too. The job sets LANDFORM_VERSION_JSON
// to what the binary prints for `version -json` in a directory without a
// lock file (its version, the platform, no provider selections, and for
// terraform terraform_outdated false; TestVersionJSON compares it, byte for
// byte, with what the test setup's binaries print: terraform 1.11 and 1.5,
// OpenTofu 1.12). Given
// exactly `version -json` and that variable, the script prints it and
// exits: the probe starts neither terraform nor bwrap, and costs one
// /bin/sh of about 1 ms instead of a terraform process of 35–50 ms, 7–10 %
// of a small plan (docs/benchmarks.md, "terraform-exec's version probe").
// tfexec's version checks see the binary's own version. Every other
// command goes to terraform, without the variable: with the sandbox off
// the script execs the binary named in LANDFORM_TERRAFORM (unset too),
// with it bwrap (see "The sandbox"). A job runs the probe first, in Init,
// outside the plugin cache lock, and records its duration in
// [Timings].Version. (On Windows, which runs no shell script, tfexec runs
// the binary, and the probe is a terraform process.)
//
// # The sandbox
//
// A plan runs code of whoever wrote the configuration: providers, external
// data sources, file() and templatefile() reading the disk. For a pull
// request that is its author. With [SandboxRequired] (the default) every
// terraform process runs in a bubblewrap (bwrap) sandbox, and every
// provider it starts with it. The sandbox sees, at their own paths:
//
//   - the job's tree (JobRequest.Root, default Dir) and scratch directory
//     (JobRequest.Scratch: HOME is Scratch/home), the data directory and
//     the plan file's directory, read-write;
//   - the binary, the generated CLI config, the plugin cache, the
//     operator's filesystem mirrors and dev_overrides, and the targets of
//     the symbolic links in the cache and the mirrors (a cached provider
//     links to its mirror directory, a mirror's binary to where it was
//     built; they are resolved when the engine is made), read-only; the
//     plugin cache is writable during `init`, which installs providers but
//     starts none; Apply of a plan file from elsewhere sees its directory,
//     read-only;
//   - system directories, read-only when they exist (/usr, /bin, /sbin,
//     /lib*, CA certificates in /etc/ssl, /etc/pki, /etc/ca-certificates,
//     name resolution in /etc/resolv.conf, /etc/hosts, /etc/nsswitch.conf,
//     users in /etc/passwd and /etc/group, /etc/localtime, and
//     SSL_CERT_FILE and SSL_CERT_DIR), a private /tmp, a /proc of its own,
//     a minimal /dev;
//   - the network, which providers need.
//
// Nothing else: no other job's files, nor Landform's database, plans or
// clones (callers keep the jobs' trees out of the data directory, so that
// no bind reaches it), nor the engine's work directory. A path the
// configuration expects elsewhere on the machine (a local backend's state
// file) is missing, or an empty directory of the sandbox's own.
//
// Terraform runs in a PID namespace of its own as its first process
// (--as-pid-1): it cannot see or signal Landform's processes nor read
// their environment in /proc, and when it exits, whatever it started dies
// with it, before bwrap, and so the step, returns. It is in a session of
// its own (--new-session: no terminal to push input into), with IPC
// namespaced, and dies with bwrap (--die-with-parent), which dies with
// Landform (terraform-exec's Pdeathsig, which an exec of a setuid bwrap
// would clear; distributions' bwrap is no longer setuid): `kill -9` of
// Landform leaves no terraform or provider process behind
// (test/sandbox_test.go). bwrap drops all capabilities, also when Landform
// runs as root. The one terraform process outside a sandbox is the
// engine's own `terraform version`, run once per binary (and cached) in
// the engine's work directory, which reads no configuration.
//
// How. terraform-exec runs an executable path with arguments it builds, so
// a job gives it a wrapper script instead of the binary: the engine writes
// the script once, in its work directory (which no sandbox sees, so a step
// cannot change how the next one runs), and each command passes bwrap's
// arguments to it in LANDFORM_SANDBOX, quoted for the shell; the script runs
// `bwrap ARGS -- TERRAFORM "$@"`, and bwrap removes LANDFORM_SANDBOX from
// terraform's environment. terraform-exec's version probe is answered by
// the script before any of that (see "Version probe" above): it runs no
// terraform process, in or out of a sandbox. LANDFORM_JOB is set inside the sandbox only (--setenv), so the
// interrupt (above) signals terraform's process group, never bwrap's: a
// SIGINT would kill bwrap, and with it terraform at once, its state lock
// held. New checks once, by running `true` in a sandbox, that bubblewrap
// works, so a machine without it fails at start with a message saying to
// install bubblewrap or turn the sandbox off. The sandbox costs about one
// bwrap start, some 5 ms, per terraform command: three per plan (init,
// plan, show; docs/benchmarks.md, "Sandbox overhead").
//
// Exit codes. tfexec always passes -detailed-exitcode to plan. Its answer is
// ignored: changes and drift are read from the plan JSON (terraform 1.11
// reports drift where there is none, hashicorp/terraform#36403: after a
// reference between resources is added to the code, the refresh-only plan
// exits 2 with "No changes" and an empty resource_drift; TestDriftClean).
package terraform
