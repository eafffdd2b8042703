package report

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/landform/landform"
)

// What changed since the previous push: the line under a preview's heading.

// maxAddressRunes caps a resource address where the preview lists it (the
// plan text has it whole).
const maxAddressRunes = 200

// diffItem is one difference between two pushes' previews.
type diffItem struct {
	ws   string
	text string
	// whole says the item is about the whole workspace (it entered or left
	// the plan); other items are listed under their workspace's name.
	whole bool
}

// sinceLine renders what changed from prev to cur: "Since `abc`: + `envs/dev`
// (new); `envs/prod`: +`aws_s3_bucket.logs` (create), −`aws_instance.web`",
// at most maxDiffItems items.
func sinceLine(prev, cur *Preview) string {
	since := code(landform.ShortSHA(prev.HeadCommit))
	items := previewDiff(prev, cur)
	if len(items) == 0 {
		return "No change since the previous push (" + since + ")."
	}
	return "Since " + since + ": " + renderDiff(items) + "."
}

// previewDiff lists the differences between prev and cur by workspace name
// and, within a workspace, state first then resources by address.
func previewDiff(prev, cur *Preview) []diffItem {
	before, after := byWorkspace(prev.Workspaces), byWorkspace(cur.Workspaces)
	var items []diffItem
	for _, name := range sortedKeys(before, after) {
		b, wasIn := before[name]
		a, isIn := after[name]
		switch {
		case !wasIn:
			items = append(items, diffItem{ws: name, text: "+ " + code(name) + " (new)", whole: true})
		case !isIn:
			why := "no longer affected"
			if slices.Contains(cur.Deleted, name) {
				why = "deleted"
			}
			items = append(items, diffItem{ws: name, text: "− " + code(name) + " (" + why + ")", whole: true})
		default:
			items = append(items, workspaceDiff(name, b, a)...)
		}
	}
	return items
}

func workspaceDiff(name string, before, after PreviewWorkspace) []diffItem {
	var items []diffItem
	if was, is := viewState(before.Run.State).words, viewState(after.Run.State).words; was != is {
		items = append(items, diffItem{ws: name, text: was + " → " + is})
	}
	addrs := sortedKeys(before.Changes, after.Changes)
	slices.SortFunc(addrs, compareAddresses)
	for _, addr := range addrs {
		was, wasIn := before.Changes[addr]
		is, isIn := after.Changes[addr]
		a := code(truncateRunes(addr, maxAddressRunes))
		switch {
		case !wasIn:
			items = append(items, diffItem{ws: name, text: "+" + a + " (" + actionWord(is) + ")"})
		case !isIn:
			items = append(items, diffItem{ws: name, text: "−" + a})
		case was != is:
			items = append(items, diffItem{ws: name, text: a + " (" + actionWord(was) + " → " + actionWord(is) + ")"})
		}
	}
	return items
}

// renderDiff joins items, those of one workspace after its name, within
// maxDiffItems and maxDiffRunes, then "and N more".
func renderDiff(items []diffItem) string {
	var b strings.Builder
	shown, group, inGroup := 0, "", false
	for _, it := range items {
		if shown == maxDiffItems || runeLen(b.String()) > maxDiffRunes {
			break
		}
		same := inGroup && !it.whole && it.ws == group
		switch {
		case same:
			b.WriteString(", ")
		case shown > 0:
			b.WriteString("; ")
		}
		if !it.whole && !same {
			b.WriteString(code(it.ws) + ": ")
		}
		b.WriteString(it.text)
		group, inGroup = it.ws, !it.whole
		shown++
	}
	if rest := len(items) - shown; rest > 0 {
		b.WriteString("; and " + strconv.Itoa(rest) + " more")
	}
	return b.String()
}

// actionWord renders a resource change's action: one of terraform's words
// as it is, anything else as code.
func actionWord(a string) string {
	switch a {
	case "create", "update", "delete", "replace", "read", "no-op":
		return a
	}
	return code(a)
}

func byWorkspace(ws []PreviewWorkspace) map[string]PreviewWorkspace {
	m := make(map[string]PreviewWorkspace, len(ws))
	for _, w := range ws {
		m[w.Run.Workspace] = w
	}
	return m
}

// sortedKeys returns the keys of a and b, sorted, each once.
func sortedKeys[V any](a, b map[string]V) []string {
	keys := slices.AppendSeq(slices.Collect(maps.Keys(a)), maps.Keys(b))
	slices.Sort(keys)
	return slices.Compact(keys)
}
