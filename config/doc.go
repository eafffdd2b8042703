// Package config reads Landform's configuration files: the repo config
// (.landform.yaml at the root of an infrastructure repository) and, later,
// the server config (landform.yaml).
//
// Files are decoded strictly. Every problem of a file is collected, not only
// the first, and returned together as one error with code
// landform.EINVALID whose cause is a *ValidationError. Each problem names the
// file, the line and column and the field, one per line:
//
//	.landform.yaml:2:1: unknown field "wokspaces", did you mean "workspaces"?
//	.landform.yaml:7:10: workspaces[1].dir: "../x" escapes the repository
//
// Reading the file (I/O) fails with a plain wrapped error, which
// landform.ErrorCode reports as landform.EINTERNAL.
package config
