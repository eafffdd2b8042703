// Package gitrepo is Landform's git layer, built on go-git. It has three
// types, one per job:
//
//   - Repo reads: it opens a local repository in place or keeps a bare
//     clone of a remote in the data directory (Open, OpenRemote), resolves
//     revisions, lists the paths changed between two commits, and reads a
//     commit's tree without a checkout, as an fs.FS (FS, a TreeFS) or as a
//     clean copy on disk (Export, ExportPaths).
//   - Watcher (NewWatcher) watches a Repo's remote cheaply for the daemon:
//     ListRemoteRefs is one ref listing, Fetch brings only the refs that
//     moved, DefaultBranch follows the remote's HEAD.
//   - Ledger (NewLedger) writes one ledger branch of a Repo: one commit per
//     Write, pushed to the remote, rebuilt and pushed again when someone
//     else moved the branch first.
//
// Only a Ledger writes to a local repository given by path, and only git
// objects and the ledger branch's ref: its working copy, index and HEAD are
// left alone. Clones under the data directory are written to freely.
//
// All three are safe for concurrent use. go-git's filesystem object storage
// is not (it opens pack indexes and packfiles lazily, without locks), so
// every read of git objects goes through one mutex per Repo. TreeFS caches
// what it decodes, so that lock is rarely held for long. Fetches and pushes
// run on a storage of their own, outside that lock, one at a time per Repo.
package gitrepo
