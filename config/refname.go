package config

import "github.com/landform/landform/internal/gitref"

// checkBranchName checks name as a branch name with the rules the git layer
// applies (gitref.CheckBranch: go-git's, plus "HEAD" and a "refs/" prefix
// refused) and returns why it is refused, "" when it is fine:
// `invalid branch name "a b": contains a space`.
func checkBranchName(name string) string {
	if err := gitref.CheckBranch(name); err != nil {
		return err.Error()
	}
	return ""
}
