-- What the polling replica knows of each repository (its poll status, as
-- JSON), for the other replicas' dashboards and APIs.
CREATE TABLE repo_status (
	repo        TEXT PRIMARY KEY,
	status      TEXT NOT NULL,
	updated_at  TEXT NOT NULL
) STRICT;
