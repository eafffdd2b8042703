package source

import (
	"context"
	"fmt"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/report"
)

// Record writes finished runs to the repository's ledger branch, one
// commit for all of them (see gitrepo's ledger writer for the push-retry
// guarantees).
func (r *Repo) Record(ctx context.Context, branch string, runs []*landform.Run) error {
	g, err := r.Git(ctx)
	if err != nil {
		return err
	}
	var files []gitrepo.LedgerFile
	for _, run := range runs {
		for _, f := range report.LedgerFiles(run) {
			files = append(files, gitrepo.LedgerFile{Path: f.Path, Data: f.Data})
		}
	}
	entry := gitrepo.LedgerEntry{Message: report.LedgerMessage(runs), Files: files}
	l, err := gitrepo.NewLedger(g, branch)
	if err != nil {
		return err
	}
	if _, err := l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{entry}); err != nil {
		return fmt.Errorf("writing %d runs to ledger branch %s: %w", len(runs), branch, err)
	}
	return nil
}
