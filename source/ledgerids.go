package source

import (
	"bytes"
	"context"
	"encoding/json"
	"path"
	"strconv"
	"strings"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/report"
)

// HighestLedgerRunID returns the highest run ID recorded on the ledger
// branch (the runs/<workspace>/<run-id>.json records), as the remote has
// it now: the branch is fetched. It is 0 when there is no such branch.
// Landform's run IDs continue above it, so that a lost database does not
// hand out the ID of a recorded run again.
func (r *Repo) HighestLedgerRunID(ctx context.Context, branch string) (int64, error) {
	g, err := r.Git(ctx)
	if err != nil {
		return 0, err
	}
	l, err := gitrepo.NewLedger(g, branch)
	if err != nil {
		return 0, err
	}
	files, err := l.Files(ctx, "runs")
	if err != nil {
		return 0, err
	}
	var highest int64
	for _, f := range files {
		id, ok := strings.CutSuffix(path.Base(f), ".json")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > 0 && strconv.FormatInt(n, 10) == id {
			highest = max(highest, n)
		}
	}
	return highest, nil
}

// replacesOwnRecord is the ledger entry's Replaces of run's record: the
// files the branch holds may be overwritten only when they are a record
// of the same run — its .json names the same ID, repository, workspace,
// kind and creation time — updated since (superseded, say). A record of
// another run with the same ID (a database lost and started again) is
// never overwritten.
func replacesOwnRecord(run *landform.Run) func(existing map[string][]byte) bool {
	return func(existing map[string][]byte) bool {
		old, ok := existing[report.LedgerPath(run)+".json"]
		if !ok {
			return false
		}
		var rec report.RunRecord
		if err := json.NewDecoder(bytes.NewReader(old)).Decode(&rec); err != nil {
			return false
		}
		return rec.ID == run.ID && rec.Repo == run.Repo && rec.Workspace == run.Workspace &&
			rec.Kind == run.Kind && rec.CreatedAt.Equal(run.CreatedAt)
	}
}
