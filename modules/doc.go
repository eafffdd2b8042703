// Package modules reads the Terraform and OpenTofu configuration of one
// commit — an fs.FS whose root is the repo root — and answers two
// questions: which workspaces the commit has (declared ones, and discovered
// ones when autodiscovery is on), and which of them a change between two
// commits affects, and why.
//
// Load parses every directory holding .tf, .tf.json, .tofu or .tofu.json
// files (skipping .git and .terraform) with hashicorp/hcl and
// terraform-config-inspect, and builds an Index: the local module graph
// (calls whose source starts with "./" or "../", followed transitively,
// cycles included), the required_version constraints, and the files a
// configuration reads through file(), templatefile(), fileset() and
// friends when their path is built from path.module, path.root or literal
// strings. Invalid configuration does not stop the load: it is kept per
// directory with file and line (Index.Err).
//
// AffectedBy compares two indexes and the list of changed paths; the rules
// are in its documentation. Local module sources and file references that
// leave the repository are ignored: a change there cannot show in the
// repo's diff.
//
// Loading a commit's index from scratch parses every directory. A Cache
// passed in Options keeps the parses between loads, and an fs.FS that
// implements DirHasher (a git tree hash per directory) lets Load skip the
// subtrees that did not change, so the index of a commit following a
// known one costs little more than its changed directories.
package modules
