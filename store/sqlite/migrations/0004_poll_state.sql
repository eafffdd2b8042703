-- The last commit Landform processed per (repo, ref), so that a restart
-- neither misses a push nor plans a commit twice.
CREATE TABLE poll_state (
	repo       TEXT NOT NULL,
	ref        TEXT NOT NULL,
	commit_sha TEXT NOT NULL,
	updated_at TEXT NOT NULL,
	PRIMARY KEY (repo, ref)
) STRICT, WITHOUT ROWID;
