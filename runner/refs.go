package runner

import (
	"cmp"
	"slices"
	"strings"
)

// Ref name forms the daemon watches.
const (
	branchPrefix = "refs/heads/"
	pullPrefix   = "refs/pull/"
	mrPrefix     = "refs/merge-requests/"
)

// pullRequest returns the holder name of a pull/merge request head ref
// ("pr/12", "mr/3") and whether ref is one.
func pullRequest(ref string) (holder string, ok bool) {
	for _, p := range []struct{ prefix, holder string }{{pullPrefix, "pr/"}, {mrPrefix, "mr/"}} {
		rest, found := strings.CutPrefix(ref, p.prefix)
		if !found {
			continue
		}
		num, found := strings.CutSuffix(rest, "/head")
		if !found || num == "" || strings.Contains(num, "/") {
			return "", false
		}
		return p.holder + num, true
	}
	return "", false
}

// refFor returns the ref a lock holder names: "pr/12" → refs/pull/12/head.
func refFor(holder string) (string, bool) {
	switch {
	case strings.HasPrefix(holder, "pr/"):
		return pullPrefix + strings.TrimPrefix(holder, "pr/") + "/head", true
	case strings.HasPrefix(holder, "mr/"):
		return mrPrefix + strings.TrimPrefix(holder, "mr/") + "/head", true
	}
	return "", false
}

// watchedRefs picks from the remote's refs those the repo watches: its
// branches (the default branch when none is configured) and, with pull
// requests on, every pull/merge request head. It returns them sorted:
// branches first.
func watchedRefs(repo WatchedRepo, refs map[string]string, defaultBranch string) []string {
	var out []string
	branches := repo.Branches
	if len(branches) == 0 && defaultBranch != "" {
		branches = []string{defaultBranch}
	}
	for _, b := range branches {
		ref := branchPrefix + strings.TrimPrefix(b, branchPrefix)
		if _, ok := refs[ref]; ok {
			out = append(out, ref)
		}
	}
	if repo.PullRequests {
		var prs []string
		for ref := range refs {
			if _, ok := pullRequest(ref); ok {
				prs = append(prs, ref)
			}
		}
		sortRefs(prs)
		out = append(out, prs...)
	}
	return out
}

// sortRefs sorts pull request refs by number (shorter numbers first), then
// by name.
func sortRefs(refs []string) {
	num := func(r string) int {
		h, _ := pullRequest(r)
		_, n, _ := strings.Cut(h, "/")
		return len(n)
	}
	slices.SortFunc(refs, func(a, b string) int {
		return cmp.Or(cmp.Compare(num(a), num(b)), cmp.Compare(a, b))
	})
}
