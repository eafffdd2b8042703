package gitrepo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/landform/landform"
)

// DefaultLedgerBranch is the branch WriteLedger writes when given none.
const DefaultLedgerBranch = "landform/ledger"

// Ledger retries: attempts in all, and the backoff between them (doubled
// each time up to the cap, with jitter).
const (
	ledgerAttempts   = 8
	ledgerBackoff    = 50 * time.Millisecond
	ledgerBackoffCap = 2 * time.Second
)

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
}

// Signature is the author and committer of ledger commits. The zero value
// means "Landform <landform@localhost>".
type Signature struct {
	Name  string
	Email string
}

var defaultSignature = Signature{Name: "Landform", Email: "landform@localhost"}

// WithClock sets the clock that dates ledger commits (default time.Now).
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now == nil {
			return landform.Errorf(landform.EINVALID, "nil clock")
		}
		o.now = now
		return nil
	}
}

// WriteLedger records entries in the ledger branch (DefaultLedgerBranch when
// branch is "") in one commit, and returns that commit's SHA. The commit's
// tree is the previous ledger tree with the entries' files added or
// overwritten; its message is the entry's, or for several entries a summary
// line followed by each entry's first line. The branch is an orphan: its
// first commit has no parent and it shares no history with the code. Trees
// and commits are built from git objects; no working copy is involved.
//
// For a clone of a remote the commit is made on the remote branch's tip and
// pushed. When someone else moved the branch first (another Landform, a
// person), the new tip is fetched and the same files are committed again on
// top of it, up to 8 attempts with jittered exponential backoff: nothing
// anyone pushed is lost and the history stays linear. For a local
// repository the branch's ref is updated in place, with git's own lock
// protocol (ref.lock) as a compare-and-swap, retried the same way; objects
// and that ref are all WriteLedger writes there.
//
// When the files are already in the tip with the same content (a retried
// write that had succeeded), no commit is made and the tip's SHA returned.
//
// Errors: EINVALID for no entries, an entry without files, a path that is
// not relative and clean or that has a .git element, a bad branch name or
// signature; ECONFLICT when a path needs a directory where the ledger has a
// file (or the reverse), when the ledger branch is checked out in a local
// repository, or when every attempt lost a race; those of Fetch and
// ListRemoteRefs for the remote (a *RemoteError, ENOTFOUND, EUNAUTHORIZED).
func (r *Repo) WriteLedger(ctx context.Context, branch string, author Signature, entries []LedgerEntry) (string, error) {
	if branch == "" {
		branch = DefaultLedgerBranch
	}
	ref := plumbing.NewBranchReferenceName(branch)
	if strings.HasPrefix(branch, "refs/") || ref.Validate() != nil {
		return "", landform.Errorf(landform.EINVALID, "invalid ledger branch name %q", branch)
	}
	sig, err := author.orDefault()
	if err != nil {
		return "", err
	}
	root, err := ledgerTree(entries)
	if err != nil {
		return "", err
	}
	w := &ledgerWrite{r: r, ref: ref, sig: sig, msg: ledgerMessage(entries), root: root}

	r.ledgerMu.Lock()
	defer r.ledgerMu.Unlock()
	if err := w.writeBlobs(root); err != nil {
		return "", err
	}
	if r.rm == nil {
		return w.local(ctx)
	}
	return w.remote(ctx)
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

// ledgerMessage is the commit message for entries.
func ledgerMessage(entries []LedgerEntry) string {
	summary := func(e LedgerEntry) string {
		first, _, _ := strings.Cut(strings.TrimSpace(e.Message), "\n")
		if first = strings.TrimSpace(first); first == "" {
			first = "Record " + e.Files[0].Path
		}
		return first
	}
	if len(entries) == 1 {
		if m := strings.TrimSpace(entries[0].Message); m != "" {
			return m + "\n"
		}
		return summary(entries[0]) + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Record %d ledger entries\n\n", len(entries))
	for _, e := range entries {
		fmt.Fprintf(&b, "- %s\n", summary(e))
	}
	return b.String()
}

// ledgerDir is what to write under one directory of the ledger.
type ledgerDir struct {
	files map[string]*ledgerBlob
	dirs  map[string]*ledgerDir
}

type ledgerBlob struct {
	data []byte
	hash plumbing.Hash // set by writeBlobs
}

func newLedgerDir() *ledgerDir {
	return &ledgerDir{files: map[string]*ledgerBlob{}, dirs: map[string]*ledgerDir{}}
}

// ledgerTree validates entries and arranges their files by directory; a
// later file with the same path wins.
func ledgerTree(entries []LedgerEntry) (*ledgerDir, error) {
	if len(entries) == 0 {
		return nil, landform.Errorf(landform.EINVALID, "no ledger entries to write")
	}
	root := newLedgerDir()
	for i, e := range entries {
		if len(e.Files) == 0 {
			return nil, landform.Errorf(landform.EINVALID, "ledger entry %d has no files", i+1)
		}
		for _, f := range e.Files {
			if err := validLedgerPath(f.Path); err != nil {
				return nil, err
			}
			d := root
			elems := strings.Split(f.Path, "/")
			for j, name := range elems[:len(elems)-1] {
				if _, ok := d.files[name]; ok {
					return nil, landform.Errorf(landform.EINVALID, "ledger path %s: %s is also a file", f.Path, strings.Join(elems[:j+1], "/"))
				}
				sub, ok := d.dirs[name]
				if !ok {
					sub = newLedgerDir()
					d.dirs[name] = sub
				}
				d = sub
			}
			name := elems[len(elems)-1]
			if _, ok := d.dirs[name]; ok {
				return nil, landform.Errorf(landform.EINVALID, "ledger path %s is also a directory", f.Path)
			}
			d.files[name] = &ledgerBlob{data: f.Data}
		}
	}
	return root, nil
}

// validLedgerPath accepts relative, clean, '/'-separated paths without a
// .git element (in any case) or characters a tree entry cannot hold.
func validLedgerPath(p string) error {
	if !fs.ValidPath(p) || p == "." || strings.ContainsAny(p, "\\\x00") {
		return landform.Errorf(landform.EINVALID, "invalid ledger path %q: want a clean relative path", p)
	}
	for elem := range strings.SplitSeq(p, "/") {
		if strings.EqualFold(elem, ".git") {
			return landform.Errorf(landform.EINVALID, "invalid ledger path %q: .git is reserved", p)
		}
	}
	return nil
}

// ledgerWrite is one WriteLedger call.
type ledgerWrite struct {
	r    *Repo
	ref  plumbing.ReferenceName
	sig  Signature
	msg  string
	root *ledgerDir
}

// writeBlobs stores the files' contents; they stay valid across attempts.
func (w *ledgerWrite) writeBlobs(d *ledgerDir) error {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	var walk func(d *ledgerDir) error
	walk = func(d *ledgerDir) error {
		for _, b := range d.files {
			obj := w.r.storer().NewEncodedObject()
			obj.SetType(plumbing.BlobObject)
			obj.SetSize(int64(len(b.data)))
			wr, err := obj.Writer()
			if err != nil {
				return err
			}
			if _, err := wr.Write(b.data); err != nil {
				return err
			}
			if err := wr.Close(); err != nil {
				return err
			}
			if b.hash, err = w.r.storer().SetEncodedObject(obj); err != nil {
				return err
			}
		}
		for _, sub := range d.dirs {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d); err != nil {
		return fmt.Errorf("writing ledger objects in %s: %w", w.r.src, err)
	}
	return nil
}

// commit makes the commit that adds the files on top of parent (zero for
// the branch's first commit). It returns parent and false when the files
// are all there already.
func (w *ledgerWrite) commit(parent plumbing.Hash) (plumbing.Hash, bool, error) {
	w.r.mu.Lock()
	defer w.r.mu.Unlock()
	var base plumbing.Hash
	if !parent.IsZero() {
		c, err := object.GetCommit(w.r.storer(), parent)
		if errors.Is(err, plumbing.ErrObjectNotFound) && w.r.store != nil {
			// Packed by another process since the pack list was read.
			w.r.store.Reindex()
			c, err = object.GetCommit(w.r.storer(), parent)
		}
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("reading ledger commit %s in %s: %w", parent, w.r.src, err)
		}
		base = c.TreeHash
	}
	tree, err := w.tree(base, w.root, "")
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	if tree == base {
		return parent, false, nil
	}
	when := w.r.now()
	c := &object.Commit{
		Author:    object.Signature{Name: w.sig.Name, Email: w.sig.Email, When: when},
		Committer: object.Signature{Name: w.sig.Name, Email: w.sig.Email, When: when},
		Message:   w.msg,
		TreeHash:  tree,
	}
	if !parent.IsZero() {
		c.ParentHashes = []plumbing.Hash{parent}
	}
	obj := w.r.storer().NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, false, err
	}
	h, err := w.r.storer().SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, false, fmt.Errorf("writing ledger commit in %s: %w", w.r.src, err)
	}
	return h, true, nil
}

// tree returns the hash of tree base (zero: empty) with d's files written
// into it. The caller holds r.mu.
func (w *ledgerWrite) tree(base plumbing.Hash, d *ledgerDir, dir string) (plumbing.Hash, error) {
	var entries []object.TreeEntry
	if !base.IsZero() {
		t, err := object.GetTree(w.r.storer(), base)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("reading ledger tree %s in %s: %w", base, w.r.src, err)
		}
		entries = append(entries, t.Entries...)
	}
	index := make(map[string]int, len(entries))
	for i, e := range entries {
		index[e.Name] = i
	}
	set := func(e object.TreeEntry) {
		if i, ok := index[e.Name]; ok {
			entries[i] = e
			return
		}
		index[e.Name] = len(entries)
		entries = append(entries, e)
	}
	for name, b := range d.files {
		if i, ok := index[name]; ok && entries[i].Mode == filemode.Dir {
			return plumbing.ZeroHash, landform.Errorf(landform.ECONFLICT, "ledger path %s is a directory in branch %s", join(dir, name), w.ref.Short())
		}
		set(object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: b.hash})
	}
	for name, sub := range d.dirs {
		var subBase plumbing.Hash
		if i, ok := index[name]; ok {
			if entries[i].Mode != filemode.Dir {
				return plumbing.ZeroHash, landform.Errorf(landform.ECONFLICT, "ledger path %s is a file in branch %s", join(dir, name), w.ref.Short())
			}
			subBase = entries[i].Hash
		}
		h, err := w.tree(subBase, sub, join(dir, name))
		if err != nil {
			return plumbing.ZeroHash, err
		}
		set(object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
	}
	sort.Sort(object.TreeEntrySorter(entries))
	obj := w.r.storer().NewEncodedObject()
	if err := (&object.Tree{Entries: entries}).Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := w.r.storer().SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("writing ledger tree in %s: %w", w.r.src, err)
	}
	return h, nil
}

// remote commits on the remote branch's tip and pushes, retrying when the
// branch moved under it.
func (w *ledgerWrite) remote(ctx context.Context) (string, error) {
	// The clone's ref is where the branch was at the last fetch or push: a
	// guess that saves a round trip when no one else wrote since. A wrong
	// guess fails the push, and the tip is fetched.
	parent := w.localTip()
	fresh := false
	var lastErr error
	for attempt := 1; ; attempt++ {
		commit, changed, err := w.commit(parent)
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
			if err := backoff(ctx, attempt); err != nil {
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
	err := w.r.Fetch(ctx, w.ref.String())
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

// backoff waits before attempt+1: ledgerBackoff doubled per attempt up to
// ledgerBackoffCap, between half and all of it at random.
func backoff(ctx context.Context, attempt int) error {
	d := ledgerBackoff << min(attempt-1, 16)
	d = min(d, ledgerBackoffCap)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errRefMoved and errRefLocked make a local ref update try again.
var (
	errRefMoved  = errors.New("ref moved")
	errRefLocked = errors.New("ref is locked")
)

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
		if err := backoff(ctx, attempt); err != nil {
			return "", err
		}
	}
}

// readRef reads ref from the git directory dir as git stores it: a loose
// file, else a line of packed-refs. It returns zero when there is no such
// ref.
func readRef(dir string, ref plumbing.ReferenceName) (plumbing.Hash, error) {
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref.String())))
	if err == nil {
		s := strings.TrimSpace(string(b))
		if !plumbing.IsHash(s) {
			return plumbing.ZeroHash, fmt.Errorf("%s is not a commit ref: %q", ref, s)
		}
		return plumbing.NewHash(s), nil
	}
	// A missing file, or a file where a directory of the name should be.
	if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
		return plumbing.ZeroHash, err
	}
	f, err := os.Open(filepath.Join(dir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		// "SHA NAME" lines, between a "# pack-refs" header and "^SHA" peeled
		// values of tags.
		sha, name, ok := strings.Cut(sc.Text(), " ")
		if ok && name == ref.String() && plumbing.IsHash(sha) {
			return plumbing.NewHash(sha), nil
		}
	}
	return plumbing.ZeroHash, sc.Err()
}

// casRef sets ref in the git directory dir to new if it is still old (zero:
// absent), the way git does: it creates ref.lock exclusively, checks the
// current value, writes the new one into the lock file and renames it over
// the ref. git itself and other Landform processes honour the lock.
func casRef(dir string, ref plumbing.ReferenceName, old, new plumbing.Hash) (err error) {
	path := filepath.Join(dir, filepath.FromSlash(ref.String()))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	lock := path + ".lock"
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%w: %s exists (remove it if no git process is running)", errRefLocked, lock)
	}
	if err != nil {
		return err
	}
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(lock)
		}
	}()
	cur, err := readRef(dir, ref)
	if err != nil {
		return err
	}
	if cur != old {
		return fmt.Errorf("%w: %s is at %s, not %s", errRefMoved, ref, cur, old)
	}
	if _, err := f.WriteString(new.String() + "\n"); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(lock, path); err != nil {
		return err
	}
	renamed = true
	return nil
}
