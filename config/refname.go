package config

import (
	"fmt"
	"strings"
)

// checkBranchName checks name against git's rules for branch names (git
// check-ref-format --branch) and returns why it is refused, "" when it is
// fine: no empty, "."-led or ".lock"-ended path element, no "..", "@{",
// "\", white space, control characters or any of ~^:?*[, no leading "-" or
// "/", no trailing "/" or ".", and not "HEAD" or "@".
func checkBranchName(name string) string {
	reason := branchNameProblem(name)
	if reason == "" {
		return ""
	}
	return fmt.Sprintf("invalid branch name %q: %s", name, reason)
}

func branchNameProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case name == "HEAD" || name == "@":
		return "reserved by git"
	case strings.HasPrefix(name, "-"):
		return `starts with "-"`
	case strings.HasPrefix(name, "/"):
		return `starts with "/"`
	case strings.HasSuffix(name, "/"):
		return `ends with "/"`
	case strings.HasSuffix(name, "."):
		return `ends with "."`
	case strings.Contains(name, ".."):
		return `contains ".."`
	case strings.Contains(name, "@{"):
		return `contains "@{"`
	case strings.Contains(name, "//"):
		return `contains "//"`
	}
	for _, r := range name {
		switch {
		case r < 0x20 || r == 0x7f:
			return "contains a control character"
		case r == ' ':
			return "contains a space"
		case strings.ContainsRune(`~^:?*[\`, r):
			return fmt.Sprintf("contains %q", string(r))
		}
	}
	for _, el := range strings.Split(name, "/") {
		if strings.HasPrefix(el, ".") {
			return fmt.Sprintf("path element %q starts with \".\"", el)
		}
		if strings.HasSuffix(el, ".lock") {
			return fmt.Sprintf("path element %q ends with \".lock\"", el)
		}
	}
	return ""
}
