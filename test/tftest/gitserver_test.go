package tftest

import (
	"strings"
	"testing"
)

func TestGitServerServesAndCounts(t *testing.T) {
	s := StartGitServer(t)
	bare := s.NewBare("infra")
	r := NewGitRepo(t)
	sha := r.Write(map[string]string{"main.tf": "# x\n"}).Commit("one")
	r.Git("push", "--quiet", s.URL("infra"), "main")
	if got := Git(t, bare, "rev-parse", "main"); got != sha {
		t.Fatalf("pushed %s, bare has %s", sha, got)
	}
	if s.Pushes() != 1 {
		t.Errorf("pushes = %d", s.Pushes())
	}
	out := Git(t, r.Dir, "ls-remote", s.URL("infra"))
	if !strings.Contains(out, sha+"\trefs/heads/main") {
		t.Errorf("ls-remote: %s", out)
	}
	if s.RefListings() == 0 || s.Fetches() != 0 {
		t.Errorf("after ls-remote: listings %d, fetches %d", s.RefListings(), s.Fetches())
	}
	Git(t, t.TempDir(), "clone", "--quiet", s.URL("infra"), "c")
	if s.Fetches() == 0 {
		t.Error("a clone counted no fetch")
	}

	base := StartGitDaemon(t, s.Root)
	out = Git(t, r.Dir, "ls-remote", base+"/infra.git")
	if !strings.Contains(out, sha) {
		t.Errorf("git daemon ls-remote: %s", out)
	}
}
