package gitrepo_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
)

// served is a working copy that pushes to a bare repository under base,
// which tests serve over some protocol.
type served struct {
	*workRepo
	base string // directory holding repo.git
}

func newServed(t *testing.T) *served {
	w := newWorkRepo(t)
	w.write("envs/prod/main.tf", "# prod\n")
	w.commit("first")
	w.git("tag", "-a", "-m", "v1", "v1")
	w.git("branch", "feature")
	base := t.TempDir()
	w.git("init", "-q", "--bare", filepath.Join(base, "repo.git"))
	w.git("remote", "add", "origin", filepath.Join(base, "repo.git"))
	w.git("push", "-q", "origin", "main", "feature", "v1")
	w.git("--git-dir", filepath.Join(base, "repo.git"), "symbolic-ref", "HEAD", "refs/heads/main")
	w.git("--git-dir", filepath.Join(base, "repo.git"), "config", "http.receivepack", "true")
	return &served{workRepo: w, base: base}
}

func (s *served) push(args ...string) {
	s.git(append([]string{"push", "-q", "origin"}, args...)...)
}

// cacheDirs lists the clones in a data directory.
func cacheDirs(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "repos"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestOpenURLFile(t *testing.T) {
	s := newServed(t)
	// A pull request head, as GitHub and Gitea advertise them.
	w := s.workRepo
	w.git("checkout", "-q", "-b", "pr")
	w.write("envs/prod/main.tf", "# prod, changed in a PR\n")
	prHead := w.commit("pr")
	w.git("checkout", "-q", "main")
	s.push("pr:refs/pull/7/head")

	data := t.TempDir()
	url := "file://" + filepath.Join(s.base, "repo.git")
	r := openRepo(t, url, gitrepo.WithDataDir(data))

	main := w.git("rev-parse", "main")
	for rev, want := range map[string]string{
		"HEAD":              main,
		"main":              main,
		"origin/main":       main,
		"feature":           main,
		"v1":                main,
		"refs/pull/7/head":  prHead,
		"refs/tags/v1":      main,
		"origin/feature~0":  main,
		"refs/heads/main~0": main,
	} {
		if got, err := r.Resolve(rev); err != nil || got != want {
			t.Errorf("Resolve(%s) = %s, %v; want %s", rev, got, err, want)
		}
	}
	names := cacheDirs(t, data)
	if len(names) != 1 || !strings.HasPrefix(names[0], "repo-") || len(names[0]) != len("repo-")+12 {
		t.Errorf("clones in the data directory: %q, want one repo-<hash>", names)
	}
	// A bare clone: no working copy.
	if _, err := os.Stat(filepath.Join(data, "repos", names[0], "HEAD")); err != nil {
		t.Errorf("clone is not bare: %v", err)
	}
	paths, err := r.ChangedPaths("main", "refs/pull/7/head")
	if err != nil || len(paths) != 1 || paths[0] != "envs/prod/main.tf" {
		t.Errorf("ChangedPaths(main, pr) = %q, %v", paths, err)
	}

	// A cache directory that lost its repository is cloned again.
	clone := filepath.Join(data, "repos", names[0])
	for _, f := range []string{"HEAD", "config"} {
		if err := os.Remove(filepath.Join(clone, f)); err != nil {
			t.Fatal(err)
		}
	}
	r = openRepo(t, url, gitrepo.WithDataDir(data))
	if got, err := r.Resolve("origin/main"); err != nil || got != main {
		t.Errorf("after re-clone, Resolve(origin/main) = %s, %v", got, err)
	}

	// An empty remote.
	emptyRepo := filepath.Join(s.base, "empty.git")
	runGit(t, s.base, "init", "-q", "--bare", emptyRepo)
	_, err = gitrepo.Open(context.Background(), "file://"+emptyRepo, gitrepo.WithDataDir(data))
	wantCode(t, err, landform.EINVALID, "empty", emptyRepo)
}

func TestOpenURLGitDaemon(t *testing.T) {
	s := newServed(t)
	url := startGitDaemon(t, s.base) + "repo.git"
	data := t.TempDir()

	r := openRepo(t, url, gitrepo.WithDataDir(data))
	first := s.git("rev-parse", "main")
	if got, err := r.Resolve("main"); err != nil || got != first {
		t.Fatalf("Resolve(main) = %s, %v; want %s", got, err, first)
	}
	dirs := cacheDirs(t, data)

	// Nothing new: the clone is reused as it is.
	start := time.Now()
	openRepo(t, url, gitrepo.WithDataDir(data))
	t.Logf("second Open with nothing to fetch: %v", time.Since(start))

	// A new commit, a deleted branch, a new tag.
	s.write("envs/dev/main.tf", "# dev\n")
	second := s.commit("second")
	s.git("tag", "light")
	s.push("main", "light", ":feature")

	start = time.Now()
	r = openRepo(t, url, gitrepo.WithDataDir(data))
	t.Logf("second Open with a fetch: %v", time.Since(start))
	if got := cacheDirs(t, data); len(got) != 1 || got[0] != dirs[0] {
		t.Errorf("clones after the second Open: %q, want %q", got, dirs)
	}
	for rev, want := range map[string]string{"main": second, "HEAD": second, "light": second, "v1": first} {
		if got, err := r.Resolve(rev); err != nil || got != want {
			t.Errorf("after fetch, Resolve(%s) = %s, %v; want %s", rev, got, err, want)
		}
	}
	if _, err := r.Resolve("feature"); landform.ErrorCode(err) != landform.ENOTFOUND {
		t.Errorf("deleted branch still resolves: %v", err)
	}
	paths, err := r.ChangedPaths(first, "main")
	if err != nil || len(paths) != 1 || paths[0] != "envs/dev/main.tf" {
		t.Errorf("ChangedPaths = %q, %v", paths, err)
	}

	_, err = gitrepo.Open(context.Background(), strings.TrimSuffix(url, "repo.git")+"missing.git", gitrepo.WithDataDir(data))
	if err == nil || !strings.Contains(err.Error(), "missing.git") {
		t.Errorf("Open of a repository the daemon does not have: %v", err)
	}
}

func TestOpenURLUnreachable(t *testing.T) {
	port := strconv.Itoa(freePort(t))
	for _, tc := range []struct {
		url    string
		opts   []gitrepo.Option
		secret string
	}{
		{url: "git://127.0.0.1:" + port + "/repo.git"},
		{url: "http://127.0.0.1:" + port + "/repo.git", opts: []gitrepo.Option{gitrepo.WithToken("s3cr3t-token")}, secret: "s3cr3t-token"},
		{url: "http://someone:hunter2@127.0.0.1:" + port + "/repo.git", secret: "hunter2"},
		{url: "http://ghp_0123456789abcdef0123@127.0.0.1:" + port + "/repo.git", secret: "ghp_0123456789abcdef0123"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		_, err := gitrepo.Open(ctx, tc.url, append(tc.opts, gitrepo.WithDataDir(t.TempDir()))...)
		cancel()
		if elapsed := time.Since(start); elapsed > 5*time.Second {
			t.Errorf("Open(%s) took %v", tc.url, elapsed)
		}
		if err == nil {
			t.Fatalf("Open(%s) succeeded", tc.url)
		}
		if !strings.Contains(err.Error(), "127.0.0.1:"+port+"/repo.git") {
			t.Errorf("error %q does not name the URL", err)
		}
		if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("error %q shows a secret", err)
		}
	}
}

// gitHTTP serves the repositories under base with git http-backend behind
// HTTP basic auth.
func gitHTTP(t *testing.T, base, user, password string) string {
	t.Helper()
	return startGitHTTP(t, base, user, password).URL + "/"
}

// startGitHTTP is gitHTTP returning the server, which the test may close
// early. Pushes are accepted by repositories configured with
// http.receivepack (newServed's is). Each request is passed to seen, when
// not nil, before it is served.
func startGitHTTP(t *testing.T, base, user, password string, seen ...func(*http.Request)) *httptest.Server {
	t.Helper()
	execPath, err := exec.Command("git", "--exec-path").Output()
	if err != nil {
		t.Fatal(err)
	}
	backend := &cgi.Handler{
		Path: filepath.Join(strings.TrimSpace(string(execPath)), "git-http-backend"),
		Env:  []string{"GIT_PROJECT_ROOT=" + base, "GIT_HTTP_EXPORT_ALL=1", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null"},
		// Rejected pushes make receive-pack complain; the client sees why.
		Stderr: io.Discard,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		u, p, ok := req.BasicAuth()
		if !ok || u != user || p != password {
			w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		for _, f := range seen {
			f(req)
		}
		backend.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestOpenURLHTTPToken(t *testing.T) {
	s := newServed(t)
	url := gitHTTP(t, s.base, "x-access-token", "tok-123") + "repo.git"
	data := t.TempDir()

	r := openRepo(t, url, gitrepo.WithDataDir(data), gitrepo.WithToken("tok-123"))
	if got, err := r.Resolve("main"); err != nil || got != s.git("rev-parse", "main") {
		t.Errorf("Resolve(main) = %s, %v", got, err)
	}

	_, err := gitrepo.Open(context.Background(), url, gitrepo.WithDataDir(data), gitrepo.WithToken("wrong-token"))
	wantCode(t, err, landform.EUNAUTHORIZED, url)
	if strings.Contains(err.Error(), "wrong-token") {
		t.Errorf("error %q shows the token", err)
	}
	_, err = gitrepo.Open(context.Background(), url, gitrepo.WithDataDir(data), gitrepo.WithToken("tok-123"), gitrepo.WithUsername("oauth2"))
	wantCode(t, err, landform.EUNAUTHORIZED)
}

func TestOpenURLOptions(t *testing.T) {
	ctx := context.Background()
	_, err := gitrepo.Open(ctx, "git://127.0.0.1:1/repo.git")
	wantCode(t, err, landform.EINVALID, "data directory")
	_, err = gitrepo.Open(ctx, "git://127.0.0.1:1/repo.git", gitrepo.WithDataDir(t.TempDir()), gitrepo.WithToken("t"))
	wantCode(t, err, landform.EINVALID, "http")
	_, err = gitrepo.Open(ctx, "https://127.0.0.1:1/repo.git", gitrepo.WithDataDir(t.TempDir()), gitrepo.WithSSHKey(filepath.Join(t.TempDir(), "id"), ""))
	wantCode(t, err, landform.EINVALID, "ssh")
	_, err = gitrepo.Open(ctx, "ssh://git@127.0.0.1:1/repo.git", gitrepo.WithDataDir(t.TempDir()), gitrepo.WithSSHKey(filepath.Join(t.TempDir(), "id"), ""))
	wantCode(t, err, landform.EINVALID, "ssh key")
}

// Open reads a URL with the parser the server config uses: what it refuses
// is refused before any network, without the credentials.
func TestOpenURLInvalid(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ url, msg string }{
		{"htps://127.0.0.1:1/repo.git", `unsupported URL scheme "htps"`},
		{"https://127.0.0.1:1", "has no repository path"},
		{"https:///repo.git", "has no host"},
		{"https://127.0.0.1:1/repo.git?token=s3cr3t", "query"},
		{"https://bob:s3cr3t@/repo.git", "https://***@/repo.git has no host"},
		{"file://elsewhere/srv/repo.git", `names host "elsewhere"`},
		{"127.0.0.1:repo.git", "is not a URL or a path"},
	} {
		_, err := gitrepo.Open(ctx, tc.url, gitrepo.WithDataDir(t.TempDir()))
		wantCode(t, err, landform.EINVALID, tc.msg)
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("Open(%s): error %q shows the secret", tc.url, err)
		}
	}
}

// A local directory whose name reads as an scp-like address is opened as a
// path.
func TestOpenLocalPathLikeSCP(t *testing.T) {
	w := newWorkRepo(t)
	head := w.commit("first")
	dir := filepath.Join(t.TempDir(), "git@host:repo")
	runGit(t, w.dir, "clone", "-q", "--bare", w.dir, dir)
	t.Chdir(filepath.Dir(dir))
	r := openRepo(t, "git@host:repo")
	if got, err := r.Resolve("main"); err != nil || got != head {
		t.Errorf("Resolve(main) = %s, %v; want %s", got, err, head)
	}
}
