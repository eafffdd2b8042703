// Package gitref checks the git ref names Landform is given — the branches
// of the server config, the ledger branch, the refs the daemon fetches —
// with go-git's rules (plumbing.ReferenceName.Validate, which follows git
// check-ref-format), so that the config refuses exactly what the git layer
// would. Both config and gitrepo import it.
package gitref

import (
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/landform/landform"
)

// CheckBranch returns nil when name is a valid short branch name ("main",
// "landform/ledger"), else an EINVALID error naming the branch and saying
// why: `invalid branch name "a b": contains a space`.
func CheckBranch(name string) error {
	if reason := BranchProblem(name); reason != "" {
		return landform.Errorf(landform.EINVALID, "invalid branch name %q: %s", name, reason)
	}
	return nil
}

// BranchProblem says why name is not a valid short branch name, "" when it
// is. The verdict is go-git's Validate of "refs/heads/"+name, with two
// more refusals: "HEAD", which git refuses as a branch name and go-git
// does not, and a name starting with "refs/", which would be taken for a
// full ref name. The reason is worded here, as go-git's error gives none.
func BranchProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case name == "HEAD":
		return "reserved by git"
	case strings.HasPrefix(name, "refs/"):
		return `starts with "refs/"; write the branch's short name (main, not refs/heads/main)`
	}
	if plumbing.NewBranchReferenceName(name).Validate() == nil {
		return ""
	}
	if reason := explain(name); reason != "" {
		return reason
	}
	return "not a valid git ref name"
}

// Full turns s into a full ref name: a name starting with "refs/"
// ("refs/pull/7/head") is kept, anything else is a branch ("main" means
// refs/heads/main). Either must pass go-git's Validate.
//
// Errors: EINVALID naming s and why.
func Full(s string) (plumbing.ReferenceName, error) {
	if !strings.HasPrefix(s, "refs/") {
		if err := CheckBranch(s); err != nil {
			return "", err
		}
		return plumbing.NewBranchReferenceName(s), nil
	}
	name := plumbing.ReferenceName(s)
	if name.Validate() != nil {
		reason := explain(strings.TrimPrefix(s, "refs/"))
		if reason == "" {
			reason = "not a valid git ref name"
		}
		return "", landform.Errorf(landform.EINVALID, "invalid ref name %q: %s", s, reason)
	}
	return name, nil
}

// explain names the first rule of git check-ref-format that name breaks,
// as a path below refs/heads/, in the order of go-git's Validate; "" when
// it breaks none. It only words a refusal: Validate decides.
func explain(name string) string {
	switch {
	case name == "@":
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
	for el := range strings.SplitSeq(name, "/") {
		switch {
		case strings.HasPrefix(el, "."):
			return fmt.Sprintf("path element %q starts with \".\"", el)
		case strings.HasSuffix(el, ".lock"):
			return fmt.Sprintf("path element %q ends with \".lock\"", el)
		case el == "@":
			return `path element "@" is reserved by git`
		}
	}
	return ""
}
