-- What the polling replica knows of each repository (its poll status, as
-- JSON), for the other replicas' dashboards and APIs.
CREATE TABLE repo_status (
	repo        text PRIMARY KEY,
	status      text NOT NULL,
	updated_at  timestamptz NOT NULL DEFAULT now()
);
