-- Approvals of runs' plans, and refused approvals: who, through which
-- channel, bound to the commit and plan sha256 they approved.
CREATE TABLE approvals (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id      INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	by_who      TEXT    NOT NULL,
	channel     TEXT    NOT NULL,
	commit_sha  TEXT    NOT NULL DEFAULT '',
	plan_sha256 TEXT    NOT NULL DEFAULT '',
	approved    INTEGER NOT NULL,
	reason      TEXT    NOT NULL DEFAULT '',
	at          TEXT    NOT NULL
) STRICT;

CREATE INDEX approvals_run ON approvals (run_id, id);
