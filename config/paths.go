package config

import (
	"fmt"
	"path"
	"strings"

	"github.com/landform/landform/modules"
)

// cleanRepoPath checks p, a path relative to the repository root, and
// returns it cleaned ("/"-separated, "." for the root). On failure it
// returns a message saying why p is refused: empty, "\"-separated,
// absolute, under "~", or climbing out of the repository.
func cleanRepoPath(p string) (string, string) {
	if msg := checkRelative(p); msg != "" {
		return "", msg
	}
	c := path.Clean(p)
	if escapes(c) {
		return "", fmt.Sprintf("%q escapes the repository", p)
	}
	return c, ""
}

// checkRelative refuses the paths that cannot be relative to anything.
func checkRelative(p string) string {
	switch {
	case p == "":
		return "must not be empty"
	case strings.Contains(p, `\`):
		return fmt.Sprintf(`%q contains "\"; separate path elements with "/"`, p)
	case path.IsAbs(p):
		return fmt.Sprintf("%q escapes the repository (absolute path)", p)
	case strings.HasPrefix(p, "~"):
		return fmt.Sprintf("%q escapes the repository (home directory)", p)
	}
	return ""
}

// escapes reports whether the clean relative path c climbs above its base.
func escapes(c string) bool {
	return c == ".." || strings.HasPrefix(c, "../")
}

// cleanVarFile checks f, a var file relative to the workspace directory
// dir, and returns it cleaned (still relative to dir). dir is "" when it is
// unknown (missing or invalid); f is then only checked on its own.
func cleanVarFile(dir, f string) (string, string) {
	if msg := checkRelative(f); msg != "" {
		return "", msg
	}
	c := path.Clean(f)
	if base := path.Base(c); base == "." || base == ".." {
		return "", fmt.Sprintf("%q names a directory, not a file", f)
	}
	if dir != "" && escapes(path.Join(dir, c)) {
		return "", fmt.Sprintf("%q escapes the repository (relative to dir %q)", f, dir)
	}
	return c, ""
}

// cleanGlob checks a glob as modules.MatchGlob matches them (when_modified
// globs, against repository-relative paths; the workspaces of policy sets
// and approvals, against workspace names) and returns it cleaned. Each
// "/"-separated element is a path.Match pattern, or "**" alone, which
// matches any number of elements; braces hold alternatives.
func cleanGlob(g string) (string, string) {
	switch {
	case g == "":
		return "", "must not be empty"
	case path.IsAbs(g):
		return "", fmt.Sprintf("%q is absolute; globs are relative to the repository root", g)
	}
	c := path.Clean(g)
	if escapes(c) {
		return "", fmt.Sprintf("%q escapes the repository", g)
	}
	for _, el := range strings.Split(c, "/") {
		if el == "**" {
			continue
		}
		if strings.Contains(el, "**") {
			return "", fmt.Sprintf(`invalid glob %q: "**" must be a whole path element`, g)
		}
		if _, err := path.Match(el, ""); err != nil {
			return "", fmt.Sprintf("invalid glob %q: %v", g, err)
		}
	}
	// The matcher's own check too (an unclosed "{"): what the config
	// accepts, the matcher never refuses.
	if _, err := modules.MatchGlob(c, ""); err != nil {
		return "", fmt.Sprintf("invalid glob %q: %v", g, strings.TrimPrefix(err.Error(), fmt.Sprintf("glob %q: ", c)))
	}
	return c, ""
}
