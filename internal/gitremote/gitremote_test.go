package gitremote_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/landform/landform"
	"github.com/landform/landform/internal/gitremote"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in       string
		kind     gitremote.Kind
		scp      bool
		user     string
		password string
		host     string
		path     string
		shown    string // String()
		redacted string // Redacted()
	}{
		{in: "/srv/git/infra", kind: gitremote.Local, path: "/srv/git/infra", shown: "/srv/git/infra"},
		{in: "repos/infra", kind: gitremote.Local, path: "repos/infra", shown: "repos/infra"},
		{in: "./a:b", kind: gitremote.Local, path: "./a:b", shown: "./a:b"},
		{in: "~/repos/x", kind: gitremote.Local, path: "~/repos/x", shown: "~/repos/x"},
		{in: "file:///srv/git/files.git", kind: gitremote.File, path: "/srv/git/files.git", shown: "file:///srv/git/files.git"},
		{in: "file://localhost/srv/x.git", kind: gitremote.File, path: "/srv/x.git", shown: "file://localhost/srv/x.git"},
		{in: "https://git.example.com/org/infra.git", kind: gitremote.HTTP, host: "git.example.com", path: "/org/infra.git", shown: "https://git.example.com/org/infra.git"},
		{in: "HTTP://git.example.com:8080/org/infra.git", kind: gitremote.HTTP, host: "git.example.com:8080", path: "/org/infra.git", shown: "http://git.example.com:8080/org/infra.git"},
		{in: "https://bob:s3cr3t@git.example.com/org/infra.git", kind: gitremote.HTTP, user: "bob", password: "s3cr3t", host: "git.example.com", path: "/org/infra.git",
			shown: "https://git.example.com/org/infra.git", redacted: "https://***@git.example.com/org/infra.git"},
		{in: "https://ghp_0123456789abcdef@github.com/org/infra.git", kind: gitremote.HTTP, user: "ghp_0123456789abcdef", host: "github.com", path: "/org/infra.git",
			shown: "https://github.com/org/infra.git", redacted: "https://***@github.com/org/infra.git"},
		{in: "ssh://git@git.example.com:2222/org/net.git", kind: gitremote.SSH, user: "git", host: "git.example.com:2222", path: "/org/net.git",
			shown: "ssh://git.example.com:2222/org/net.git", redacted: "ssh://***@git.example.com:2222/org/net.git"},
		{in: "git@git.example.com:org/net.git", kind: gitremote.SSH, scp: true, user: "git", host: "git.example.com", path: "org/net.git",
			shown: "git@git.example.com:org/net.git", redacted: "***@git.example.com:org/net.git"},
		{in: "git:s3cr3t@git.example.com:org/net.git", kind: gitremote.SSH, scp: true, user: "git", password: "s3cr3t", host: "git.example.com", path: "org/net.git",
			shown: "git.example.com:org/net.git", redacted: "***@git.example.com:org/net.git"},
		{in: "git://127.0.0.1:9418/repo.git", kind: gitremote.Git, host: "127.0.0.1:9418", path: "/repo.git", shown: "git://127.0.0.1:9418/repo.git"},
	} {
		r, err := gitremote.Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if tc.redacted == "" {
			tc.redacted = tc.shown
		}
		if r.Kind != tc.kind || r.SCP != tc.scp || r.Username() != tc.user || r.Password() != tc.password ||
			r.Host != tc.host || r.Path != tc.path || r.Raw != tc.in || r.IsURL() != (tc.kind != gitremote.Local) {
			t.Errorf("Parse(%q) = %+v (user %q, password %q)", tc.in, r, r.Username(), r.Password())
		}
		if r.String() != tc.shown || r.Redacted() != tc.redacted {
			t.Errorf("Parse(%q): String %q, Redacted %q; want %q, %q", tc.in, r.String(), r.Redacted(), tc.shown, tc.redacted)
		}
	}
}

func TestParseRefused(t *testing.T) {
	for _, tc := range []struct{ in, want, secret string }{
		{"", "must not be empty", ""},
		{"htps://git.example.com/org/a.git", `unsupported URL scheme "htps" (want https, http, ssh, git or file)`, ""},
		{"https:///org/b.git", `URL "https:///org/b.git" has no host`, ""},
		{"https://git.example.com", `URL "https://git.example.com" has no repository path`, ""},
		{"git.example.com:org/d.git", `"git.example.com:org/d.git" is not a URL or a path: write an SSH address as user@host:path (git@git.example.com:org/d.git) or ssh://host/path; a local path with a ":" needs a "./" in front`, ""},
		{"file://server/srv/e.git", `file URL "file://server/srv/e.git" names host "server"; want file:///absolute/path`, ""},
		{"file:///", `file URL "file:///" has no path`, ""},
		{"http://git.example.com:x/h.git", `invalid URL "http://git.example.com:x/h.git": invalid port ":x" after host`, ""},
		{"https://bob:s3cr3t@git.example.com:x/infra.git", "invalid URL (not shown: it may hold credentials)", "s3cr3t"},
		{"https://bob:s3cr3t@/infra.git", "URL https://***@/infra.git has no host", "s3cr3t"},
		{"https://git.example.com/org/infra.git?private_token=s3cr3t", "a repository URL must not have a query (?…) or fragment (#…)", "s3cr3t"},
		{"https://git.example.com/org/infra.git#s3cr3t", "a repository URL must not have a query (?…) or fragment (#…)", "s3cr3t"},
		{"@host:org/x.git", `address "@host:org/x.git" has an empty user`, ""},
		{"git@:org/x.git", `address "git@:org/x.git" has no host`, ""},
		{"git@host:", `address "git@host:" has no repository path`, ""},
		{"git:s3cr3t@host:", "address ***@host: has no repository path", "s3cr3t"},
		{"git:s3cr3t@host/x", "address ***@host/x is not a URL or a path", "s3cr3t"},
	} {
		_, err := gitremote.Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", tc.in)
			continue
		}
		if landform.ErrorCode(err) != landform.EINVALID || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Parse(%q):\n got %v\nwant %s", tc.in, err, tc.want)
		}
		if tc.secret != "" && strings.Contains(err.Error(), tc.secret) {
			t.Errorf("Parse(%q): error %q shows the secret", tc.in, err)
		}
	}
	_, err := gitremote.Parse("ftp://host/x.git")
	var se *gitremote.SchemeError
	if !errors.As(err, &se) || se.Scheme != "ftp" {
		t.Errorf("Parse(ftp URL) = %v, want a *SchemeError", err)
	}
}
