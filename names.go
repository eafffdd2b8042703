package landform

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxWorkspaceNameLen is the longest workspace name, in bytes.
const MaxWorkspaceNameLen = 255

// RootWorkspaceName is the default name of the workspace at the root of a
// repository (WorkspaceName(".", "")). Its ledger records are under
// runs/_/.
const RootWorkspaceName = "."

// CheckWorkspaceName returns nil when name can name a workspace, else an
// EINVALID error naming it and saying why:
//
//	invalid workspace name ".git/hooks": path element ".git" is reserved by git
//
// It is the one rule for workspace names: the repo config applies it to the
// names it lists and to the defaults it derives from dir and workspace, the
// workspace index to the directories it discovers, and the ledger
// (runs/<name>/<run-id>.md) relies on it. A name is typed in chat commands
// and becomes a directory of the ledger, so it is RootWorkspaceName or a path
// that CheckTreePath accepts (relative, clean, "/"-separated, no ".git"
// element in any spelling, no backslash, no control character), and also
//
//   - at most MaxWorkspaceNameLen bytes;
//   - without white space;
//   - not starting with "-" (it would read as an option on a command line);
//   - without an element that is the name of a ledger record file (a run ID
//     followed by ".md" or ".json", such as "12.md"), which would collide
//     with another workspace's records.
//
// WorkspaceName's defaults ("envs/prod", "envs/prod@blue", ".@blue") pass
// when their directory does.
func CheckWorkspaceName(name string) error {
	if reason := workspaceNameProblem(name); reason != "" {
		return Errorf(EINVALID, "invalid workspace name %q: %s", name, reason)
	}
	return nil
}

// CheckTreePath returns nil when p is a path Landform may write into a git
// tree (the ledger), else an EINVALID error naming it and saying why. p must
// be valid UTF-8, relative, clean and "/"-separated (fs.ValidPath, and not
// "." itself), hold no backslash, control character or invisible formatting
// character, and have no element that git or a checkout of the tree could
// take for ".git": ".git" in any case, with the trailing dots, spaces or
// ":stream" suffix Windows ignores, or Windows' short name "git~1" (git's
// own fsck refuses such trees, so a forge would refuse the push).
func CheckTreePath(p string) error {
	if reason := treePathProblem(p); reason != "" {
		return Errorf(EINVALID, "invalid path %q: %s", p, reason)
	}
	return nil
}

// ledgerRecordFile matches the file names of ledger records (report.LedgerFiles).
var ledgerRecordFile = regexp.MustCompile(`(?i)^[0-9]+\.(md|json)$`)

func workspaceNameProblem(name string) string {
	if name == RootWorkspaceName {
		return ""
	}
	switch {
	case name == "":
		return "empty"
	case len(name) > MaxWorkspaceNameLen:
		return fmt.Sprintf("longer than %d bytes", MaxWorkspaceNameLen)
	case strings.HasPrefix(name, "-"):
		return `starts with "-"`
	}
	if reason := treePathProblem(name); reason != "" {
		return reason
	}
	if strings.IndexFunc(name, unicode.IsSpace) >= 0 {
		return "contains white space"
	}
	for el := range strings.SplitSeq(name, "/") {
		if ledgerRecordFile.MatchString(el) {
			return fmt.Sprintf("path element %q is the name of a ledger record file", el)
		}
	}
	return ""
}

func treePathProblem(p string) string {
	switch {
	case p == "":
		return "empty"
	case !utf8.ValidString(p):
		return "not valid UTF-8"
	case strings.Contains(p, `\`):
		return `contains "\"; separate path elements with "/"`
	case strings.HasPrefix(p, "/"):
		return "absolute"
	}
	for _, r := range p {
		switch {
		case unicode.IsControl(r):
			return fmt.Sprintf("contains a control character (%U)", r)
		case unicode.Is(unicode.Cf, r):
			return fmt.Sprintf("contains an invisible formatting character (%U)", r)
		}
	}
	for el := range strings.SplitSeq(p, "/") {
		switch {
		case el == "":
			return "has an empty path element"
		case el == "." || el == "..":
			return fmt.Sprintf("has a %q path element", el)
		case isDotGit(el):
			return fmt.Sprintf("path element %q is reserved by git", el)
		}
	}
	return ""
}

// isDotGit reports whether a path element names, or could be taken on
// checkout for, a repository's .git directory: git's is_ntfs_dotgit and
// is_hfs_dotgit (the code points HFS+ ignores are formatting characters,
// refused on their own).
func isDotGit(el string) bool {
	if i := strings.IndexByte(el, ':'); i >= 0 {
		el = el[:i] // an NTFS alternate data stream: ".git::$INDEX_ALLOCATION"
	}
	el = strings.TrimRight(el, ". ") // NTFS drops trailing dots and spaces
	return strings.EqualFold(el, ".git") || strings.EqualFold(el, "git~1")
}
