-- A ledger record that cannot be written, through its own fault (a path
-- the ledger refuses), is set aside: it keeps its row with when and why,
-- and PendingLedger leaves it out, so it never blocks the records after
-- it. Enqueueing the run again makes it pending again.
ALTER TABLE ledger_outbox ADD COLUMN set_aside_at TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger_outbox ADD COLUMN set_aside_reason TEXT NOT NULL DEFAULT '';
