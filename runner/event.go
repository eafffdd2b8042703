package runner

import (
	"time"

	"github.com/landform/landform"
)

// EventKind names what the daemon did.
type EventKind string

// The events a daemon reports to the function given WithEvents.
const (
	// EventPolled: a poll round of Repo ended. Err is its error, if any;
	// Wait is how long until the next round, whose timer is already
	// armed when the event is reported; Count is the failures in a row.
	EventPolled EventKind = "polled"
	// EventRunQueued: Run entered the queue — queued by a poll round
	// (with BlockedBy set when it waits for a lock), re-queued at start
	// after a crash, or put back blocked because another pull request
	// took its workspace's lock first.
	EventRunQueued EventKind = "run_queued"
	// EventRunFinished: a worker is done with Run, whose State is final:
	// planned, no_changes, errored, interrupted or superseded (a newer
	// commit was queued while it ran). A commit whose configuration cannot
	// be read is reported as one finished errored run too.
	EventRunFinished EventKind = "run_finished"
	// EventLocksReleased: Count workspace locks of Holder in Repo were
	// released because its pull request closed or its newest plan changes
	// nothing.
	EventLocksReleased EventKind = "locks_released"
	// EventLedgerWritten: one ledger commit recorded Count runs of Repo,
	// or, with Err set, failed to (the runs stay in the outbox).
	EventLedgerWritten EventKind = "ledger_written"
	// EventLedgerSetAside: the ledger record of Run cannot be written
	// through its own fault (Err, such as a path the ledger refuses): it
	// is set aside in the outbox, reported by Health, and the others are
	// written without it.
	EventLedgerSetAside EventKind = "ledger_set_aside"
	// EventRunRetrying: preparing Run failed for an environment fault
	// (Err: the work directory, the export; not the commit's fault) in
	// attempt Count; it is tried again after Wait, whose timer is armed
	// when the event is reported.
	EventRunRetrying EventKind = "run_retrying"
	// EventRecordFailed: recording the end of Run in the store (or its
	// ledger entry) failed (Err) for the Count-th time in a row; it is
	// tried again after Wait, whose timer is armed when the event is
	// reported. Health is degraded until it is recorded.
	EventRecordFailed EventKind = "record_failed"
	// EventForgeDelivered: the forge message Holder (its key:
	// "preview/12", "status/<commit>/<workspace>") of Repo was delivered,
	// or, with Err set, failed for the Count-th time (it stays in the
	// outbox and is tried again).
	EventForgeDelivered EventKind = "forge_delivered"
	// EventApproval: Holder approved Run (Err nil; Run's state is
	// awaiting_approval or approved) or was refused (Err says why; the
	// refusal is recorded).
	EventApproval EventKind = "approval"
	// EventApplyStarted: Holder's request moved Run to applying; its
	// apply runs in the background.
	EventApplyStarted EventKind = "apply_started"
	// EventApplyFinished: the apply of Run ended and is recorded: Run's
	// state is applied, apply_failed, stale (a fresh plan is queued),
	// interrupted, or approved again when terraform did not start.
	EventApplyFinished EventKind = "apply_finished"
	// EventDriftScheduled: Repo's drift loop armed its timer for Wait
	// (after queueing what was due; Err when it could not look).
	EventDriftScheduled EventKind = "drift_scheduled"
	// EventDriftReported: the last drift run of a sweep of Repo ended and
	// its report was said (Holder is its summary line, Count its
	// workspaces; Err names the outlets that failed).
	EventDriftReported EventKind = "drift_reported"
	// EventLease: this replica (Holder, its owner) took the poll lease
	// (Count 1) and polls now, or lost or gave it up (Count 0).
	EventLease EventKind = "lease"
)

// Event is one thing the daemon did: what tests, and whatever watches the
// daemon, wait on instead of time. Fields other than Kind and Repo are set
// as each kind says.
type Event struct {
	Kind EventKind
	Repo string
	// Run is a copy of the run as recorded.
	Run    *landform.Run
	Err    error
	Wait   time.Duration
	Holder string
	Count  int
}

// WithEvents makes the daemon call f for each event, synchronously, from
// whichever of its goroutines did the thing (so possibly concurrently).
// f must return quickly and must not call the daemon.
func WithEvents(f func(Event)) DaemonOption {
	return func(dm *Daemon) {
		if f != nil {
			dm.event = f
		}
	}
}

// emit reports e.
func (d *Daemon) emit(e Event) {
	if e.Run != nil {
		run := *e.Run
		e.Run = &run
	}
	d.event(e)
	d.shareEvent(e)
}
