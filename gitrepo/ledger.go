package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/backoff"
	"github.com/landform/landform/internal/gitref"
)

// Ledger retries: attempts in all, and the backoff between them (doubled
// each time up to the cap, with jitter).
const ledgerAttempts = 8

var ledgerBackoff = backoff.Policy{Base: 50 * time.Millisecond, Cap: 2 * time.Second}

// LedgerFile is a file to add to the ledger, or to overwrite there.
type LedgerFile struct {
	// Path is relative to the branch's root, '/'-separated, such as
	// "runs/envs/prod/42.md".
	Path string
	Data []byte
}

// LedgerEntry is one event recorded in the ledger: its files, and a commit
// message.
type LedgerEntry struct {
	Message string
	Files   []LedgerFile
	// Replaces says whether the entry may overwrite what the ledger
	// branch holds at its paths with other content (a record of the same
	// run, updated), given the content the branch holds at each of the
	// entry's paths it has. Without it, or when it returns false, the
	// entry is refused: Write never overwrites a ledger file otherwise.
	Replaces func(existing map[string][]byte) bool
}

// Signature is the author and committer of ledger commits. The zero value
// means "Landform <landform@localhost>".
type Signature struct {
	Name  string
	Email string
}

var defaultSignature = Signature{Name: "Landform", Email: "landform@localhost"}

// Ledger writes the ledger branch of a Repo: an orphan branch (its first
// commit has no parent, and it shares no history with the code) that holds
// the records of runs. Write calls on one Ledger are made one at a time;
// Ledgers of the same branch in other processes (another daemon, a person
// with git) are reconciled by the compare-and-swap of the push or of the
// ref update.
type Ledger struct {
	r   *Repo
	ref plumbing.ReferenceName
	now func() time.Time
	// signer signs each commit; nil: commits are not signed.
	signer Signer

	// mu serializes Write calls.
	mu sync.Mutex
}

// LedgerOption configures NewLedger.
type LedgerOption func(*Ledger) error

// WithClock sets the clock that dates ledger commits (default time.Now).
func WithClock(now func() time.Time) LedgerOption {
	return func(l *Ledger) error {
		if now == nil {
			return landform.Errorf(landform.EINVALID, "nil clock")
		}
		l.now = now
		return nil
	}
}

// WithLedgerSigner signs every commit the Ledger makes with s (see
// LoadSigner), the ones rebuilt on a tip someone else moved included, so
// that `git verify-commit` and `git log --show-signature` tell who wrote
// them. Commits of others on the branch are left as they are.
func WithLedgerSigner(s Signer) LedgerOption {
	return func(l *Ledger) error {
		if s == nil {
			return landform.Errorf(landform.EINVALID, "nil ledger signer")
		}
		l.signer = s
		return nil
	}
}

// NewLedger returns the writer of the ledger branch branch of r
// (landform.DefaultLedgerBranch when branch is ""), a short branch name. For
// a clone the branch is the remote's, and each Write pushes; for a local
// repository it is written in place. r must stay open while the Ledger is
// used.
//
// Errors: EINVALID for a nil Repo, an invalid branch name (go-git's rules,
// as gitref.CheckBranch applies them: a full ref name such as
// "refs/heads/x" is refused too) or a bad option.
func NewLedger(r *Repo, branch string, opts ...LedgerOption) (*Ledger, error) {
	if r == nil {
		return nil, landform.Errorf(landform.EINVALID, "no repository for the ledger")
	}
	if branch == "" {
		branch = landform.DefaultLedgerBranch
	}
	if reason := gitref.BranchProblem(branch); reason != "" {
		return nil, landform.Errorf(landform.EINVALID, "invalid ledger branch name %q: %s", branch, reason)
	}
	l := &Ledger{r: r, ref: plumbing.NewBranchReferenceName(branch), now: time.Now}
	for _, opt := range opts {
		if err := opt(l); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Branch returns the short name of the ledger branch ("landform/ledger").
func (l *Ledger) Branch() string { return l.ref.Short() }

// Write records entries in the ledger branch in one commit, and returns
// that commit's SHA. The commit's tree is the previous ledger tree with the
// entries' files added or overwritten; its message is the entry's, or for
// several entries a summary line followed by each entry's first line. Trees
// and commits are built from git objects; no working copy is involved.
//
// For a clone of a remote the commit is made on the remote branch's tip and
// pushed. When someone else moved the branch first (another Landform, a
// person), the new tip is fetched and the same files are committed again on
// top of it, up to 8 attempts with jittered exponential backoff: nothing
// anyone pushed is lost and the history stays linear. For a local
// repository the branch's ref is updated in place, with git's own lock
// protocol (ref.lock) as a compare-and-swap, retried the same way; objects
// and that ref are all Write writes there.
//
// When the files are already in the tip with the same content (a retried
// write that had succeeded), no commit is made and the tip's SHA returned.
//
// With WithLedgerSigner, each commit is signed before it is pushed or the
// ref updated, on every attempt.
//
// A file the branch already holds with other content is overwritten only
// when its entry's Replaces allows it; otherwise the entry is refused, an
// *EntryError (ECONFLICT) naming it and the file, and nothing is written:
// a lost database that hands out a run ID again cannot overwrite the
// record of the run that had it.
//
// A clone's own ref of the branch is only a guess of the remote's tip: a
// write that cannot be built or pushed on it fetches the remote's tip
// (resetting the clone's ref to it, or removing it when the remote has no
// such branch) and builds again on that, so a branch someone force-pushed
// or deleted never blocks later writes.
//
// Errors: EINVALID for no entries or a bad signature; an *EntryError
// (EINVALID) naming the entry for an entry without files or with a path
// that is not relative and clean, that has a .git element, or that is a
// file in one entry and a directory in another, and (ECONFLICT) for an
// entry that would overwrite a file its Replaces does not allow; ECONFLICT
// when a path needs a directory where the remote's ledger has a file (or
// the reverse), when the ledger branch is checked out in a local
// repository, or when every attempt lost a race; for the remote, a
// *RemoteError or ENOTFOUND or EUNAUTHORIZED, as Watcher's methods return
// them; the context's error when it ends during a wait; the Signer's error
// when signing fails (EINVALID for LoadSigner's, such as an OpenPGP key
// that has expired since).
func (l *Ledger) Write(ctx context.Context, author Signature, entries []LedgerEntry) (string, error) {
	sig, err := author.orDefault()
	if err != nil {
		return "", err
	}
	root, err := ledgerTree(entries)
	if err != nil {
		return "", entryFault(entries, err)
	}
	w := &ledgerWrite{l: l, r: l.r, ref: l.ref, sig: sig, msg: ledgerMessage(entries), root: root, entries: entries}

	l.mu.Lock()
	defer l.mu.Unlock()
	if err := w.writeBlobs(root); err != nil {
		return "", err
	}
	if l.r.rm == nil {
		return w.local(ctx)
	}
	return w.remote(ctx)
}

// EntryError is Write's error for an entry that cannot be written: one
// that cannot be whatever the branch holds — a path the ledger refuses, no
// files, or a path that is a file in an earlier entry of the same call and
// a directory in this one (or the reverse): EINVALID — or one that would
// overwrite a file the branch holds with other content, which its
// Replaces does not allow: ECONFLICT. Index is the entry's position in the
// entries given to Write; without that entry the others may be written.
// It unwraps to the coded error.
type EntryError struct {
	Index int
	Err   error
}

func (e *EntryError) Error() string { return e.Err.Error() }

func (e *EntryError) Unwrap() error { return e.Err }

// entryFault names the entry at fault for err, ledgerTree's error on
// entries: the first whose addition to the ones before makes it fail.
func entryFault(entries []LedgerEntry, err error) error {
	for i := range entries {
		if _, perr := ledgerTree(entries[:i+1]); perr != nil {
			return &EntryError{Index: i, Err: perr}
		}
	}
	return err
}

func (s Signature) orDefault() (Signature, error) {
	if s.Name == "" {
		s.Name = defaultSignature.Name
	}
	if s.Email == "" {
		s.Email = defaultSignature.Email
	}
	if strings.ContainsAny(s.Name+s.Email, "<>\n\x00") {
		return s, landform.Errorf(landform.EINVALID, "invalid ledger signature %q <%s>", s.Name, s.Email)
	}
	return s, nil
}

// ledgerWrite is one Write call.
type ledgerWrite struct {
	l       *Ledger
	r       *Repo
	ref     plumbing.ReferenceName
	sig     Signature
	msg     string
	root    *ledgerDir
	entries []LedgerEntry
}

// remote commits on the remote branch's tip and pushes, retrying when the
// branch moved under it.
func (w *ledgerWrite) remote(ctx context.Context) (string, error) {
	// The clone's ref is where the branch was at the last fetch or push: a
	// guess that saves a round trip when no one else wrote since. It is
	// trusted only until it fails: a push it makes rejected, or a commit
	// that cannot be built on it (a person force-pushed another layout, the
	// commit is gone), and the remote's tip is fetched, which resets the
	// clone's ref to it (or removes it when the remote has no such branch)
	// before the next attempt. Otherwise a stale ref would fail every write
	// of every later process on this clone.
	parent := w.localTip()
	fresh := false
	var lastErr error
	for attempt := 1; ; attempt++ {
		commit, changed, err := w.commit(parent)
		if err != nil && !fresh {
			w.r.log.Debug("ledger: cannot build on the clone's ref; fetching the remote's", "repo", w.r.src, "branch", w.ref.Short(), "err", err)
			if parent, err = w.fetchTip(ctx); err != nil {
				return "", err
			}
			fresh = true
			commit, changed, err = w.commit(parent)
		}
		if err != nil {
			return "", err
		}
		if !changed && fresh {
			return parent.String(), nil
		}
		if changed {
			err := w.push(ctx, commit, parent)
			if err == nil {
				return commit.String(), nil
			}
			if ctx.Err() != nil || !retryablePush(err) {
				return "", err
			}
			lastErr = err
			w.r.log.Debug("ledger push rejected", "repo", w.r.src, "branch", w.ref.Short(), "attempt", attempt, "err", err)
		}
		if attempt == ledgerAttempts {
			return "", landform.Errorf(landform.ECONFLICT, "writing ledger branch %s of %s: gave up after %d attempts: %w", w.ref.Short(), w.r.src, attempt, lastErr)
		}
		if fresh {
			// Lost a race on a tip just fetched: let the others through.
			if err := ledgerBackoff.Wait(ctx, attempt-1); err != nil {
				return "", err
			}
		}
		tip, err := w.fetchTip(ctx)
		if err != nil {
			return "", err
		}
		if changed && tip == parent && !transientPushError(lastErr) {
			return "", lastErr // rejected for another reason than a race
		}
		parent, fresh = tip, true
	}
}

// signCommit signs c, which commit is about to write, when the ledger has
// a Signer: the signature covers c encoded without it, which is what git
// verifies.
func (w *ledgerWrite) signCommit(c *object.Commit) error {
	if w.l.signer == nil {
		return nil
	}
	payload := &plumbing.MemoryObject{}
	if err := c.EncodeWithoutSignature(payload); err != nil {
		return err
	}
	rd, err := payload.Reader()
	if err != nil {
		return err
	}
	sig, err := w.l.signer.Sign(rd)
	if err != nil {
		return fmt.Errorf("signing ledger commit in %s: %w", w.r.src, err)
	}
	c.PGPSignature = string(sig)
	return nil
}

// localTip returns the clone's ref of the ledger branch, zero if none.
func (w *ledgerWrite) localTip() plumbing.Hash {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	ref, err := w.r.git.Storer.Reference(w.ref)
	if err != nil || ref.Type() != plumbing.HashReference {
		return plumbing.ZeroHash
	}
	return ref.Hash()
}

// fetchTip fetches the ledger branch and returns its tip, zero when the
// remote has no such branch (then the clone's ref is removed too).
func (w *ledgerWrite) fetchTip(ctx context.Context) (plumbing.Hash, error) {
	err := w.fetch(ctx)
	if errors.Is(err, git.NoMatchingRefSpecError{}) {
		w.r.mu.Lock()
		defer w.r.mu.Unlock()
		if err := w.r.git.Storer.RemoveReference(w.ref); err != nil {
			return plumbing.ZeroHash, fmt.Errorf("removing ref %s in clone of %s: %w", w.ref, w.r.src, err)
		}
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	return w.localTip(), nil
}

// fetch fetches the ledger branch into the clone.
func (w *ledgerWrite) fetch(ctx context.Context) error {
	r := w.r
	r.netMu.Lock()
	defer r.netMu.Unlock()
	side, err := r.openSide()
	if err != nil {
		return err
	}
	defer side.close()
	defer r.reindex()
	return r.fetchRefs(ctx, side, []plumbing.ReferenceName{w.ref})
}

// push pushes commit to the ledger branch, provided the remote's branch is
// still at parent (absent when parent is zero): go-git checks the
// advertised value, and the remote's receive-pack swaps the ref only if it
// still has that value.
func (w *ledgerWrite) push(ctx context.Context, commit, parent plumbing.Hash) error {
	r := w.r
	r.netMu.Lock()
	defer r.netMu.Unlock()
	side, err := r.openSide()
	if err != nil {
		return err
	}
	defer side.close()

	opts := &git.PushOptions{
		RemoteName: "origin",
		RemoteURL:  r.rm.url,
		RefSpecs:   []config.RefSpec{config.RefSpec(commit.String() + ":" + w.ref.String())},
		Auth:       r.rm.auth,
	}
	if !parent.IsZero() {
		opts.RequireRemoteRefs = []config.RefSpec{config.RefSpec(parent.String() + ":" + w.ref.String())}
	}
	remote := git.NewRemote(side.git.Storer, &config.RemoteConfig{Name: "origin", URLs: []string{r.rm.url}})
	r.pushes.Add(1)
	r.log.Debug("pushing ledger", "repo", r.src, "branch", w.ref.Short(), "commit", commit)
	err = remote.PushContext(ctx, opts)
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return r.rm.error("pushing to", err)
	}
	if err := side.git.Storer.SetReference(plumbing.NewHashReference(w.ref, commit)); err != nil {
		return fmt.Errorf("updating ref %s in clone of %s: %w", w.ref, r.src, err)
	}
	return nil
}

// retryablePush reports whether a failed push may succeed on a new tip:
// not when the remote refused access or does not exist.
func retryablePush(err error) bool {
	switch landform.ErrorCode(err) {
	case landform.ENOTFOUND, landform.EUNAUTHORIZED, landform.EINVALID:
		return false
	}
	return true
}

// transientPushError reports whether err is a push rejection caused by a
// concurrent update of the ref: go-git's own check against the advertised
// value, or the remote failing to lock or update the ref.
func transientPushError(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return true // the advertised tip is a commit we do not have
	}
	msg := err.Error()
	for _, s := range []string{"non-fast-forward", "required to be", "failed to update ref", "failed to lock", "cannot lock", "reference already exists"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// local updates the ledger branch of a local repository in place.
func (w *ledgerWrite) local(ctx context.Context) (string, error) {
	r := w.r
	r.mu.Lock()
	head, err := r.git.Storer.Reference(plumbing.HEAD)
	r.mu.Unlock()
	if err == nil && head.Type() == plumbing.SymbolicReference && head.Target() == w.ref {
		return "", landform.Errorf(landform.ECONFLICT, "ledger branch %s is checked out in %s", w.ref.Short(), r.src)
	}
	var lastErr error
	for attempt := 1; ; attempt++ {
		parent, err := readRef(r.dir, w.ref)
		if err != nil {
			return "", fmt.Errorf("reading ref %s in %s: %w", w.ref, r.src, err)
		}
		commit, changed, err := w.commit(parent)
		if err != nil {
			return "", err
		}
		if !changed {
			return parent.String(), nil
		}
		err = casRef(r.dir, w.ref, parent, commit)
		if err == nil {
			return commit.String(), nil
		}
		if !errors.Is(err, errRefMoved) && !errors.Is(err, errRefLocked) {
			return "", fmt.Errorf("updating ref %s in %s: %w", w.ref, r.src, err)
		}
		lastErr = err
		if attempt == ledgerAttempts {
			return "", landform.Errorf(landform.ECONFLICT, "writing ledger branch %s of %s: gave up after %d attempts: %w", w.ref.Short(), r.src, attempt, lastErr)
		}
		if err := ledgerBackoff.Wait(ctx, attempt-1); err != nil {
			return "", err
		}
	}
}
