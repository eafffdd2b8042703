// Package terraform runs Terraform and OpenTofu for Landform. It is the only
// package that knows how to find, install and drive the engine binaries.
//
// An [Engine] is built once with constructor options and is safe for
// concurrent use. It
//
//   - discovers engine binaries (configured paths, terraform and tofu on PATH,
//     binaries it installed earlier) and picks one per workspace from the
//     workspace's version constraints ([Engine.Binary]); versions are read
//     once per binary and cached on disk, so a one-shot CLI run does not pay
//     a `version` process per binary;
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
//   - runs plans ([Engine.Plan]): init, optional workspace selection, plan,
//     show -json, and turns the JSON into a [landform.PlanSummary] and drift.
//
// Commands are built as argument lists apart from running them (see args.go),
// the way hashicorp/terraform-exec builds its commands, but this package runs
// them itself rather than through tfexec: every tfexec.Terraform runs an extra
// `terraform version` before init and before show to check flag
// compatibility, which would add two processes to each plan. A cancelled
// context sends SIGINT to terraform's process group (terraform then stops its
// providers and releases its state lock) and, when terraform has not exited
// after the engine's grace period, SIGKILL to the whole group.
//
// Failures of terraform itself are returned as *[StepError] (inside a
// *landform.Error with code EINVALID) whose message names the step and the
// workspace and carries terraform's diagnostics, colour-free.
package terraform
