-- Runs whose ledger record is still to be written, per repo, in the order
-- they were first enqueued (id). dirty is 1 when the run was enqueued since
-- PendingLedger last returned it: MarkLedgerDone then keeps the row, so the
-- change that enqueued it again is written too.
CREATE TABLE ledger_outbox (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	repo        TEXT    NOT NULL,
	run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	dirty       INTEGER NOT NULL DEFAULT 1,
	enqueued_at TEXT    NOT NULL,
	UNIQUE (repo, run_id)
) STRICT;

CREATE INDEX ledger_outbox_run ON ledger_outbox (run_id);
