package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/landform/landform"
)

// The drift records of the ledger: drift/<date>/<workspace>.md and .json
// per workspace checked, and drift/<date>/summary.md for the repository.

// DriftLedgerFiles renders r as ledger files under drift/<YYYY-MM-DD>/,
// the day r was checked in UTC (driftCheckedAt): for every workspace
// checked, <workspace>.md (WorkspaceDriftMarkdown) and <workspace>.json
// (the workspace as DriftJSON shows it, its error capped at 4,000 bytes),
// in r's order; then summary.md, DriftMarkdown of r without a size limit.
// A later sweep of the same day writes the same paths again: the ledger
// entry must allow replacing them.
//
// The path of a workspace's files follows LedgerPath's rules (see
// DriftLedgerPath), so that no two workspaces' files, nor summary.md, can
// collide, nor a file of one be a directory of another, whatever sweep of
// the day wrote them. A workspace listed twice in r is recorded once (its
// first entry).
func DriftLedgerFiles(r *landform.DriftReport) []File {
	dir := driftLedgerDir(r)
	var files []File
	seen := map[string]bool{}
	for i := range r.Workspaces {
		w := &r.Workspaces[i]
		if seen[w.Workspace] {
			continue
		}
		seen[w.Workspace] = true
		rec := newWorkspaceDriftRecord(w)
		rec.Error = truncate(rec.Error, maxLedgerError)
		base := dir + "/" + DriftLedgerPath(w.Workspace)
		files = append(files,
			File{Path: base + ".md", Data: []byte(WorkspaceDriftMarkdown(w))},
			File{Path: base + ".json", Data: driftRecordJSON(rec)})
	}
	return append(files, File{Path: dir + "/summary.md", Data: []byte(DriftMarkdown(r, DriftOptions{}))})
}

// driftLedgerDir is drift/<YYYY-MM-DD>.
func driftLedgerDir(r *landform.DriftReport) string {
	return "drift/" + driftCheckedAt(r).UTC().Format("2006-01-02")
}

// DriftLedgerPath is the path of a workspace's drift record under
// drift/<date>/, without extension. As in LedgerPath, the repository
// root's workspace (".") is "_", and a name landform.CheckWorkspaceName
// accepts is used as it is. The others are filed under a directory no
// valid name starts with, named by the first 16 hex digits of the
// name's sha256 (their record names the workspace):
//
//   - a name CheckWorkspaceName refuses: -invalid/<hash>;
//   - a valid name whose files would clash with another's, on any sweep:
//     "_" (the root's), "summary" (summary.md), and a name with a directory
//     element ending in ".md" or ".json" in any case ("a.md/x": "a.md" is
//     workspace a's file): -ambiguous/<hash>.
func DriftLedgerPath(workspace string) string {
	switch {
	case workspace == landform.RootWorkspaceName:
		return "_"
	case landform.CheckWorkspaceName(workspace) != nil:
		return "-invalid/" + nameHash(workspace)
	case ambiguousDriftName(workspace):
		return "-ambiguous/" + nameHash(workspace)
	}
	return workspace
}

func ambiguousDriftName(name string) bool {
	if name == "_" || strings.EqualFold(name, "summary") {
		return true
	}
	elems := strings.Split(name, "/")
	for _, el := range elems[:len(elems)-1] {
		lower := strings.ToLower(el)
		if strings.HasSuffix(lower, ".md") || strings.HasSuffix(lower, ".json") {
			return true
		}
	}
	return false
}

func nameHash(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:8])
}

// driftRecordJSON is rec as indented JSON. An attribute value JSON cannot
// encode (which a value decoded from terraform's JSON never is) is
// recorded as its Go text.
func driftRecordJSON(rec workspaceDriftRecord) []byte {
	js, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		rec.Resources = encodableResources(rec.Resources)
		js, _ = json.MarshalIndent(rec, "", "  ") // every value is now encodable
	}
	return append(js, '\n')
}

func encodableResources(res []landform.DriftedResource) []landform.DriftedResource {
	out := make([]landform.DriftedResource, len(res))
	for i, r := range res {
		r.Attributes = append([]landform.AttributeChange(nil), r.Attributes...)
		for j := range r.Attributes {
			a := &r.Attributes[j]
			a.Before, a.After = encodable(a.Before), encodable(a.After)
		}
		out[i] = r
	}
	return out
}

func encodable(v any) any {
	if _, err := json.Marshal(v); err != nil {
		return fmt.Sprintf("%v", v)
	}
	return v
}

// DriftLedgerMessage is the commit message of r's ledger files: "Drift
// infra 2026-03-01: 3 of 41 workspaces drifted: …" (the repository's name on
// one line, at most 100 characters).
func DriftLedgerMessage(r *landform.DriftReport) string {
	return fmt.Sprintf("Drift %s %s: %s", landform.OneLine(Field(r.Repo), maxMessageDetail),
		driftCheckedAt(r).UTC().Format("2006-01-02"), r.Summary())
}
