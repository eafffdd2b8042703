package gitrepo_test

import (
	"context"
	"errors"
	"maps"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
)

// protocol serves the repositories under base and returns the URL prefix
// and the options that reach it.
type protocol struct {
	name  string
	serve func(t *testing.T, base string) (string, []gitrepo.Option)
}

var protocols = []protocol{
	{"git", func(t *testing.T, base string) (string, []gitrepo.Option) {
		return startGitDaemon(t, base), nil
	}},
	{"http", func(t *testing.T, base string) (string, []gitrepo.Option) {
		return gitHTTP(t, base, "x-access-token", "tok-123"), []gitrepo.Option{gitrepo.WithToken("tok-123")}
	}},
}

func openRemote(t *testing.T, url string, opts ...gitrepo.Option) *gitrepo.Repo {
	t.Helper()
	r, err := gitrepo.OpenRemote(context.Background(), url, opts...)
	if err != nil {
		t.Fatalf("OpenRemote(%s): %v", url, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// watch returns a Watcher of r.
func watch(t *testing.T, r *gitrepo.Repo) *gitrepo.Watcher {
	t.Helper()
	w, err := gitrepo.NewWatcher(r)
	if err != nil {
		t.Fatalf("NewWatcher(%s): %v", r, err)
	}
	return w
}

func listRefs(t *testing.T, w *gitrepo.Watcher) map[string]string {
	t.Helper()
	refs, err := w.ListRemoteRefs(context.Background())
	if err != nil {
		t.Fatalf("ListRemoteRefs: %v", err)
	}
	return refs
}

func localRefs(t *testing.T, r *gitrepo.Repo) map[string]string {
	t.Helper()
	refs, err := r.LocalRefs()
	if err != nil {
		t.Fatalf("LocalRefs: %v", err)
	}
	return refs
}

func wantStats(t *testing.T, w *gitrepo.Watcher, want gitrepo.Stats) {
	t.Helper()
	if got := w.Stats(); got != want {
		t.Errorf("Stats() = %+v, want %+v", got, want)
	}
}

func TestWatchRemote(t *testing.T) {
	for _, p := range protocols {
		t.Run(p.name, func(t *testing.T) {
			ctx := context.Background()
			s := newServed(t)
			remote := filepath.Join(s.base, "repo.git")
			prefix, opts := p.serve(t, s.base)
			url := prefix + "repo.git"
			opts = append(opts, gitrepo.WithDataDir(t.TempDir()))

			r := openRemote(t, url, opts...)
			w := watch(t, r)
			wantStats(t, w, gitrepo.Stats{Lists: 1, Fetches: 1}) // the clone

			main1 := s.git("rev-parse", "main")
			want := map[string]string{"HEAD": main1, "refs/heads/main": main1, "refs/heads/feature": main1}
			refs := listRefs(t, w)
			if diff := cmp.Diff(want, refs); diff != "" {
				t.Errorf("ListRemoteRefs (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(refs, localRefs(t, r)); diff != "" {
				t.Errorf("LocalRefs after the clone (-remote +local):\n%s", diff)
			}
			// Nothing moved: listing again costs one listing, no fetch.
			if diff := cmp.Diff(refs, listRefs(t, w)); diff != "" {
				t.Errorf("second listing differs:\n%s", diff)
			}
			wantStats(t, w, gitrepo.Stats{Lists: 3, Fetches: 1})
			if b, err := w.DefaultBranch(ctx); err != nil || b != "main" {
				t.Errorf("DefaultBranch = %q, %v", b, err)
			}
			wantStats(t, w, gitrepo.Stats{Lists: 3, Fetches: 1})

			// A pull request branched from main1, then a new commit on main.
			s.git("checkout", "-q", "-b", "pr7")
			s.write("envs/prod/main.tf", "# prod, in PR 7\n")
			pr7 := s.commit("pr 7")
			s.git("checkout", "-q", "main")
			s.write("envs/dev/main.tf", "# dev\n")
			main2 := s.commit("second")
			s.push("main", "pr7")
			runGit(t, s.base, "--git-dir", remote, "update-ref", "refs/pull/7/head", pr7)

			refs = listRefs(t, w)
			want = map[string]string{"HEAD": main2, "refs/heads/main": main2, "refs/heads/feature": main1,
				"refs/heads/pr7": pr7, "refs/pull/7/head": pr7}
			if diff := cmp.Diff(want, refs); diff != "" {
				t.Errorf("ListRemoteRefs after pushes (-want +got):\n%s", diff)
			}
			wantStats(t, w, gitrepo.Stats{Lists: 4, Fetches: 1})
			if _, err := r.Resolve(main2); landform.ErrorCode(err) != landform.ENOTFOUND {
				t.Errorf("Resolve(new commit) before Fetch: %v", err)
			}

			// Fetch exactly what the daemon watches and saw move.
			local := localRefs(t, r)
			var moved []string
			for _, name := range []string{"refs/heads/main", "refs/pull/7/head"} {
				if refs[name] != local[name] {
					moved = append(moved, name)
				}
			}
			if len(moved) != 2 {
				t.Fatalf("moved refs: %q", moved)
			}
			if err := w.Fetch(ctx, moved...); err != nil {
				t.Fatalf("Fetch(%q): %v", moved, err)
			}
			wantStats(t, w, gitrepo.Stats{Lists: 4, Fetches: 2})
			for rev, want := range map[string]string{main2: main2, "main": main2, "refs/pull/7/head": pr7, "HEAD": main2} {
				if got, err := r.Resolve(rev); err != nil || got != want {
					t.Errorf("after Fetch, Resolve(%s) = %s, %v; want %s", rev, got, err, want)
				}
			}
			if base, err := r.MergeBase("refs/pull/7/head", "main"); err != nil || base != main1 {
				t.Errorf("MergeBase(PR head, main) = %s, %v; want %s", base, err, main1)
			}
			if paths, err := r.ChangedPaths(main1, "refs/pull/7/head"); err != nil || len(paths) != 1 || paths[0] != "envs/prod/main.tf" {
				t.Errorf("ChangedPaths(base, PR head) = %q, %v", paths, err)
			}
			if _, ok := localRefs(t, r)["refs/heads/pr7"]; ok {
				t.Errorf("Fetch brought a ref it was not asked for")
			}

			err := w.Fetch(ctx, "refs/pull/99/head")
			wantCode(t, err, landform.ENOTFOUND, "refs/pull/99/head", url)
			wantCode(t, w.Fetch(ctx, "refs/heads/*"), landform.EINVALID)

			// Fetch of everything: one listing, and a fetch as pr7 is missing.
			if err := w.Fetch(ctx); err != nil {
				t.Fatalf("Fetch(): %v", err)
			}
			if diff := cmp.Diff(listRefs(t, w), localRefs(t, r)); diff != "" {
				t.Errorf("LocalRefs after Fetch() (-remote +local):\n%s", diff)
			}
			before := w.Stats()
			if err := w.Fetch(ctx); err != nil {
				t.Fatalf("Fetch(): %v", err)
			}
			if got := w.Stats(); got.Fetches != before.Fetches || got.Lists != before.Lists+1 {
				t.Errorf("Fetch() with nothing new: stats went from %+v to %+v", before, got)
			}

			// Opening again reuses the clone without the network.
			r2 := openRemote(t, url, opts...)
			w2 := watch(t, r2)
			wantStats(t, w2, gitrepo.Stats{})
			if got, err := r2.Resolve("refs/pull/7/head"); err != nil || got != pr7 {
				t.Errorf("reopened clone: Resolve(PR head) = %s, %v", got, err)
			}
			if b, err := w2.DefaultBranch(ctx); err != nil || b != "main" {
				t.Errorf("reopened clone: DefaultBranch = %q, %v", b, err)
			}
			wantStats(t, w2, gitrepo.Stats{})
		})
	}
}

// A clone stays usable without its remote, and the remote's new default
// branch is followed.
func TestWatchRemoteOffline(t *testing.T) {
	ctx := context.Background()
	s := newServed(t)
	var mu sync.Mutex
	var requests []string
	srv := startGitHTTP(t, s.base, "u", "p", func(req *http.Request) {
		mu.Lock()
		requests = append(requests, req.Method+" "+req.URL.RequestURI())
		mu.Unlock()
	})
	served := func() []string {
		mu.Lock()
		defer mu.Unlock()
		r := requests
		requests = nil
		return r
	}
	url := srv.URL + "/repo.git"
	data := t.TempDir()
	opts := []gitrepo.Option{gitrepo.WithDataDir(data), gitrepo.WithToken("p"), gitrepo.WithUsername("u")}
	r := openRemote(t, url, opts...)
	w := watch(t, r)
	served()

	// What the server sees of a poll with nothing new: one ref listing each.
	listRefs(t, w)
	listRefs(t, w)
	listing := "GET /repo.git/info/refs?service=git-upload-pack"
	if diff := cmp.Diff([]string{listing, listing}, served()); diff != "" {
		t.Errorf("requests for two listings (-want +got):\n%s", diff)
	}
	// Fetching a ref the clone has as the remote does sends no request for
	// a pack; one that moved does.
	if err := w.Fetch(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{listing}, served()); diff != "" {
		t.Errorf("requests for a fetch of nothing new (-want +got):\n%s", diff)
	}
	s.write("new.tf", "# new\n")
	s.commit("new")
	s.push("main")
	if err := w.Fetch(ctx, "main"); err != nil {
		t.Fatal(err)
	}
	if got := served(); len(got) != 2 || got[0] != listing || got[1] != "POST /repo.git/git-upload-pack" {
		t.Errorf("requests for a fetch: %q", got)
	}

	runGit(t, s.base, "--git-dir", filepath.Join(s.base, "repo.git"), "symbolic-ref", "HEAD", "refs/heads/feature")
	refs := listRefs(t, w)
	if refs["HEAD"] != refs["refs/heads/feature"] {
		t.Errorf("HEAD = %s, want feature's %s", refs["HEAD"], refs["refs/heads/feature"])
	}
	if b, err := w.DefaultBranch(ctx); err != nil || b != "feature" {
		t.Errorf("DefaultBranch after the remote changed it = %q, %v", b, err)
	}
	if err := w.Fetch(ctx, "feature"); err != nil {
		t.Fatal(err)
	}

	srv.Close()
	start := time.Now()
	_, err := w.ListRemoteRefs(ctx)
	if time.Since(start) > 5*time.Second {
		t.Errorf("ListRemoteRefs of a closed server took %v", time.Since(start))
	}
	wantUnreachable(t, err, url)
	wantUnreachable(t, w.Fetch(ctx, "main"), url)

	r2 := openRemote(t, url, opts...)
	w2 := watch(t, r2)
	if got, err := r2.Resolve("main"); err != nil || got != s.git("rev-parse", "main") {
		t.Errorf("offline clone: Resolve(main) = %s, %v", got, err)
	}
	if b, err := w2.DefaultBranch(ctx); err != nil || b != "feature" {
		t.Errorf("offline clone: DefaultBranch = %q, %v", b, err)
	}
}

// wantUnreachable checks err is a *RemoteError naming url with no code.
func wantUnreachable(t *testing.T, err error, url string) {
	t.Helper()
	var re *gitrepo.RemoteError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T) is not a *gitrepo.RemoteError", err, err)
	}
	if !strings.Contains(err.Error(), url) || re.URL != url {
		t.Errorf("error %q does not name %s", err, url)
	}
	if code := landform.ErrorCode(err); code != landform.EINTERNAL {
		t.Errorf("error %q has code %s", err, code)
	}
}

func TestWatchRemoteUnreachable(t *testing.T) {
	ctx := context.Background()
	closed := "127.0.0.1:" + strconv.Itoa(freePort(t))

	// A server that accepts connections and never answers.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
		for _, c := range conns {
			c.Close()
		}
	})
	silent := l.Addr().String()

	for _, tc := range []struct {
		url     string
		timeout time.Duration
	}{
		{url: "git://" + closed + "/repo.git"},
		{url: "http://" + closed + "/repo.git"},
		{url: "git://" + silent + "/repo.git", timeout: 300 * time.Millisecond},
		{url: "http://" + silent + "/repo.git", timeout: 300 * time.Millisecond},
	} {
		opts := []gitrepo.Option{gitrepo.WithDataDir(t.TempDir())}
		if tc.timeout > 0 {
			opts = append(opts, gitrepo.WithListTimeout(tc.timeout))
		}
		start := time.Now()
		_, err := gitrepo.OpenRemote(ctx, tc.url, opts...)
		if elapsed := time.Since(start); elapsed > 3*time.Second {
			t.Errorf("OpenRemote(%s) took %v", tc.url, elapsed)
		}
		wantUnreachable(t, err, tc.url)
		if tc.timeout > 0 && !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("OpenRemote(%s): %v, want a deadline error", tc.url, err)
		}
	}
	_, err = gitrepo.OpenRemote(ctx, "git://"+closed+"/r.git", gitrepo.WithDataDir(t.TempDir()), gitrepo.WithListTimeout(-time.Second))
	wantCode(t, err, landform.EINVALID, "timeout")
}

// A local repository is watched in place: listing reads its refs.
func TestWatchLocal(t *testing.T) {
	ctx := context.Background()
	w := newWorkRepo(t)
	w.write("a.tf", "# a\n")
	first := w.commit("first")
	r := openRemote(t, w.dir)
	wt := watch(t, r)

	refs := listRefs(t, wt)
	if diff := cmp.Diff(map[string]string{"HEAD": first, "refs/heads/main": first}, refs); diff != "" {
		t.Errorf("ListRemoteRefs (-want +got):\n%s", diff)
	}
	if b, err := wt.DefaultBranch(ctx); err != nil || b != "main" {
		t.Errorf("DefaultBranch = %q, %v", b, err)
	}

	// New commits, packed by git gc: Fetch makes them visible.
	w.write("b.tf", "# b\n")
	second := w.commit("second")
	w.git("update-ref", "refs/pull/3/head", second)
	w.git("gc", "-q", "--prune=now")
	refs = listRefs(t, wt)
	if refs["refs/heads/main"] != second || refs["refs/pull/3/head"] != second {
		t.Errorf("ListRemoteRefs after a commit: %v", refs)
	}
	if err := wt.Fetch(ctx, "main", "refs/pull/3/head"); err != nil {
		t.Fatal(err)
	}
	if paths, err := r.ChangedPaths(first, second); err != nil || len(paths) != 1 || paths[0] != "b.tf" {
		t.Errorf("ChangedPaths after gc = %q, %v", paths, err)
	}
	wantCode(t, wt.Fetch(ctx, "nope"), landform.ENOTFOUND, "refs/heads/nope")
	wantStats(t, wt, gitrepo.Stats{Lists: 2})

	w.git("checkout", "-q", "--detach")
	refs = listRefs(t, wt)
	if refs["HEAD"] != second || !maps.Equal(refs, localRefs(t, r)) {
		t.Errorf("detached: ListRemoteRefs = %v", refs)
	}
	_, err := wt.DefaultBranch(ctx)
	wantCode(t, err, landform.ENOTFOUND, "HEAD")

	_, err = gitrepo.NewWatcher(nil)
	wantCode(t, err, landform.EINVALID)
}
