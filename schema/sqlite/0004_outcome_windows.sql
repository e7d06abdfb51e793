-- kanari store, schema 4: outcomes that are stored but count in no gate
-- window (docs/gates.md, "Windows").
--
--   excluded = 0  counts in its arm's window (the ordinary case);
--   excluded = 1  late: its version was no longer an arm of the track when it
--                 was recorded (a task routed before a promotion or rollback
--                 that finished after it); rollout_id names the last rollout
--                 in which the version was an arm;
--   excluded = 2  backdated: its time is before the window it would fall in
--                 (the current step's start for the canary, the rollout's
--                 start for the stable).
--
-- The flag is decided when the outcome is recorded, inside the transaction
-- that reads the rollout, so a window stays one range of
-- outcomes_by_version: the rows read for the aggregates are the rows that
-- are tested for the flag, and nothing else is read.
ALTER TABLE outcomes ADD COLUMN excluded INTEGER NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1, 2));

-- Release 1 counted an outcome dated before its rollout started, and a
-- canary outcome dated before its step began. The starts of earlier steps
-- are only in the events, so the migration marks what the rollout rows
-- tell: outcomes dated before their rollout began, and canary outcomes of
-- the current step dated before that step began.
UPDATE outcomes SET excluded = 2
 WHERE rollout_id IS NOT NULL
   AND EXISTS (SELECT 1 FROM rollouts r WHERE r.id = outcomes.rollout_id
                 AND (outcomes.at < r.started_at
                      OR (outcomes.canary = 1 AND outcomes.step = r.step AND outcomes.at < r.step_started_at)));
