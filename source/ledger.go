package source

import (
	"context"
	"errors"
	"fmt"

	"github.com/landform/landform"
	"github.com/landform/landform/gitrepo"
	"github.com/landform/landform/report"
)

// Record writes finished runs to the repository's ledger branch, one
// commit for all of them (see gitrepo's ledger writer for the push-retry
// guarantees). Each run is one entry of the commit.
//
// When one run's record cannot be written whatever the branch holds (a
// path the ledger refuses), or would overwrite the record of another run
// with the same ID (one recorded before the database was lost), nothing is
// written and the error is a *RecordError naming that run, so that the
// caller can set it aside and write the others. A run's own record, from
// when it was in another state, is overwritten.
func (r *Repo) Record(ctx context.Context, branch string, runs []*landform.Run) error {
	g, err := r.Git(ctx)
	if err != nil {
		return err
	}
	entries := make([]gitrepo.LedgerEntry, len(runs))
	for i, run := range runs {
		entries[i].Message = report.LedgerMessage(runs[i : i+1])
		entries[i].Replaces = replacesOwnRecord(run)
		for _, f := range report.LedgerFiles(run) {
			entries[i].Files = append(entries[i].Files, gitrepo.LedgerFile{Path: f.Path, Data: f.Data})
		}
	}
	var opts []gitrepo.LedgerOption
	if r.signer != nil {
		opts = append(opts, gitrepo.WithLedgerSigner(r.signer))
	}
	l, err := gitrepo.NewLedger(g, branch, opts...)
	if err != nil {
		return err
	}
	_, err = l.Write(ctx, gitrepo.Signature{}, entries)
	var bad *gitrepo.EntryError
	if errors.As(err, &bad) && bad.Index < len(runs) {
		return &RecordError{RunID: runs[bad.Index].ID, Err: err}
	}
	if err != nil {
		return fmt.Errorf("writing %d runs to ledger branch %s: %w", len(runs), branch, err)
	}
	return nil
}

// RecordError is Record's error when the record of one run cannot be
// written: whatever the ledger branch holds (its own fault, not the
// branch's nor the remote's: the writer's EINVALID error), or because the
// branch holds another run's record under its ID (ECONFLICT). It unwraps
// to the writer's error.
type RecordError struct {
	RunID string
	Err   error
}

func (e *RecordError) Error() string {
	return fmt.Sprintf("the ledger record of run %s cannot be written: %v", e.RunID, e.Err)
}

func (e *RecordError) Unwrap() error { return e.Err }

// FaultyRun names the run at fault (what the daemon asks of a record
// error, to set that run aside).
func (e *RecordError) FaultyRun() string { return e.RunID }

// RecordDrift writes a drift report to the ledger branch, one commit:
// drift/<date>/<workspace>.md and .json per workspace and the repository's
// summary (report.DriftLedgerFiles). A later sweep of the same day writes
// over them.
func (r *Repo) RecordDrift(ctx context.Context, branch string, d *landform.DriftReport) error {
	g, err := r.Git(ctx)
	if err != nil {
		return err
	}
	var files []gitrepo.LedgerFile
	for _, f := range report.DriftLedgerFiles(d) {
		files = append(files, gitrepo.LedgerFile{Path: f.Path, Data: f.Data})
	}
	if len(files) == 0 {
		return nil
	}
	var opts []gitrepo.LedgerOption
	if r.signer != nil {
		opts = append(opts, gitrepo.WithLedgerSigner(r.signer))
	}
	l, err := gitrepo.NewLedger(g, branch, opts...)
	if err != nil {
		return err
	}
	entry := gitrepo.LedgerEntry{Message: report.DriftLedgerMessage(d), Files: files,
		Replaces: func(map[string][]byte) bool { return true }}
	if _, err := l.Write(ctx, gitrepo.Signature{}, []gitrepo.LedgerEntry{entry}); err != nil {
		return fmt.Errorf("writing the drift report of %s to ledger branch %s: %w", d.Repo, branch, err)
	}
	return nil
}
