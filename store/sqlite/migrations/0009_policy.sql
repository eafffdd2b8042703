-- What the policies decided about a run's plan (landform.PolicyResult as
-- JSON), '' when they were not evaluated; the override of a deny lives in
-- it too.
ALTER TABLE runs ADD COLUMN policy TEXT NOT NULL DEFAULT '';
