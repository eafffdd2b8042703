-- Run records: one row per workspace at one commit.
--
-- Times are UTC RFC 3339 text with exactly nine fractional digits
-- ("2026-11-23T13:57:01.000000000Z"), so that text order is time order and
-- nanoseconds round-trip; NULL started_at/finished_at means not yet.
-- AUTOINCREMENT: a run ID is never reused, even after a delete, because
-- people type it ("landform approve 42").
CREATE TABLE runs (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	repo          TEXT    NOT NULL,
	workspace     TEXT    NOT NULL,
	dir           TEXT    NOT NULL DEFAULT '',
	commit_sha    TEXT    NOT NULL DEFAULT '',
	ref           TEXT    NOT NULL DEFAULT '',
	kind          TEXT    NOT NULL,
	state         TEXT    NOT NULL,
	add_count     INTEGER NOT NULL DEFAULT 0,
	change_count  INTEGER NOT NULL DEFAULT 0,
	destroy_count INTEGER NOT NULL DEFAULT 0,
	replace_count INTEGER NOT NULL DEFAULT 0,
	error         TEXT    NOT NULL DEFAULT '',
	plan_sha256   TEXT    NOT NULL DEFAULT '',
	created_at    TEXT    NOT NULL,
	started_at    TEXT,
	finished_at   TEXT
) STRICT;

-- The index entries end with the rowid, so "newest first" (created_at DESC,
-- id DESC) is read straight from either created_at index.
CREATE INDEX runs_repo_workspace_created ON runs (repo, workspace, created_at);
CREATE INDEX runs_created ON runs (created_at);
CREATE INDEX runs_state ON runs (state);
