-- Workspace locks: at most one per (repo, workspace). Times as in runs.
CREATE TABLE workspace_locks (
	repo       TEXT NOT NULL,
	workspace  TEXT NOT NULL,
	holder     TEXT NOT NULL,
	run_id     TEXT NOT NULL DEFAULT '',
	reason     TEXT NOT NULL DEFAULT '',
	created_at TEXT NOT NULL,
	PRIMARY KEY (repo, workspace)
) STRICT, WITHOUT ROWID;

-- ReleaseLocksOf: a closed pull request frees all its locks.
CREATE INDEX workspace_locks_holder ON workspace_locks (repo, holder);
