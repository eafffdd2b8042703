-- What a drift check found (landform.WorkspaceDrift as JSON), '' for runs
-- of other kinds. The drift runs of a workspace are its drift history.
ALTER TABLE runs ADD COLUMN drift TEXT NOT NULL DEFAULT '';
CREATE INDEX runs_kind_workspace ON runs (repo, workspace, kind, id);
