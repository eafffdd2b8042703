// Package config reads Landform's configuration files: the repo config
// (.landform.yaml at the root of an infrastructure repository; ParseRepo,
// LoadRepo) and the server config (landform.yaml, what the daemon watches
// and how it runs; ParseServer, LoadServer, and Server.CheckEnvironment for
// what the file refers to outside itself).
//
// Files are decoded strictly. Every problem of a file is collected, not only
// the first, and returned together as one error with code
// landform.EINVALID whose cause is a *ValidationError. Each problem names the
// file, the line and column and the field, one per line:
//
//	.landform.yaml:2:1: unknown field "wokspaces", did you mean "workspaces"?
//	.landform.yaml:7:10: workspaces[1].dir: "../x" escapes the repository
//	landform.yaml:12:20: repos[1].poll_interval: invalid duration "5 minutes" (want e.g. "30s", "1m" or "1h30m")
//
// The repo config is repository content, which anyone who can open a pull
// request writes: RepoOptions carry what the server allows it (the
// environment variables its workspaces may set beyond TF_VAR_*) and its
// limits (file size, workspaces listed), and every workspace name must pass
// landform.CheckWorkspaceName, the rule the ledger is written with.
//
// The server config holds no secrets, only the names of the environment
// variables and files that hold them (Auth.Token reads them); a token,
// password or key written inline, in a key or in a repository URL, is a
// problem whose message never shows it.
//
// Approvals (who may approve a workspace's plans and what its apply needs)
// are set at three levels: the server config's top level, its repo
// entries, and each repository's .landform.yaml, of which only the default
// branch's is ever used; Server.ApprovalRules resolves them, field by
// field, for one workspace. The server config also holds the teams and
// identities approvers are checked against, the Slack app and the API's
// bearer tokens (API.Identity).
//
// Reading the file (I/O) fails with a plain wrapped error, which
// landform.ErrorCode reports as landform.EINTERNAL; a server config that
// does not exist is landform.ENOTFOUND.
package config
