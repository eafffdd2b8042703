-- Pull request metadata of a run, from the forge: who opened it and
-- against which branch (the number is also in ref, refs/pull/N/head).
ALTER TABLE runs ADD COLUMN pr_number INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN pr_author TEXT NOT NULL DEFAULT '';
ALTER TABLE runs ADD COLUMN pr_base TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_repo_ref_created ON runs (repo, ref, created_at);

-- What is to be said on a repository's forge: plan previews and commit
-- statuses, kept through crashes and forge outages until delivered. One
-- row per thing said (key: "preview/12", "status/<sha>/<workspace>"); a
-- newer message for the same key replaces the payload and bumps version,
-- so a delivery of an older version does not delete the newer one.
CREATE TABLE forge_outbox (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	repo        TEXT    NOT NULL,
	key         TEXT    NOT NULL,
	payload     TEXT    NOT NULL,
	version     INTEGER NOT NULL DEFAULT 1,
	enqueued_at TEXT    NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT    NOT NULL DEFAULT '',
	UNIQUE (repo, key)
) STRICT;
