-- kanari store on PostgreSQL, schema 4: outcomes that are stored but count
-- in no gate window, as schema/sqlite/0004_outcome_windows.sql explains
-- (0 counted, 1 late, 2 backdated).
ALTER TABLE outcomes ADD COLUMN excluded bigint NOT NULL DEFAULT 0 CHECK (excluded IN (0, 1, 2));
UPDATE outcomes SET excluded = 2
 WHERE rollout_id IS NOT NULL
   AND EXISTS (SELECT 1 FROM rollouts r WHERE r.id = outcomes.rollout_id
                 AND (outcomes.at < r.started_at
                      OR (outcomes.canary = 1 AND outcomes.step = r.step AND outcomes.at < r.step_started_at)));
