-- kanari store on PostgreSQL, schema 3: the ledger keyed by (task, track,
-- slot), as schema/sqlite/0003_ledger_by_task.sql explains. Rollouts keep
-- the first outcome id of the rollout and of its current step, so a window
-- is a range of outcomes_by_version. Writers are serialised by the store's
-- lock (docs/operations.md), so ids are given in commit order.
ALTER TABLE rollouts ADD COLUMN first_outcome bigint NOT NULL DEFAULT 1;
ALTER TABLE rollouts ADD COLUMN step_first_outcome bigint NOT NULL DEFAULT 1;
UPDATE rollouts SET
  first_outcome = coalesce((SELECT min(o.id) FROM outcomes o WHERE o.rollout_id = rollouts.id),
                           (SELECT coalesce(max(id), 0) + 1 FROM outcomes)),
  step_first_outcome = coalesce((SELECT min(o.id) FROM outcomes o
                                  WHERE o.rollout_id = rollouts.id AND o.step = rollouts.step),
                                (SELECT coalesce(max(id), 0) + 1 FROM outcomes));

ALTER TABLE outcomes ADD COLUMN slot bigint NOT NULL DEFAULT 0;
UPDATE outcomes o SET slot = o.version_no
 WHERE EXISTS (SELECT 1 FROM rollouts r WHERE r.id = o.rollout_id AND r.shadow = 1);
ALTER TABLE outcomes ALTER COLUMN slot DROP DEFAULT;
ALTER TABLE outcomes ADD CONSTRAINT outcomes_slot CHECK (slot = 0 OR slot = version_no);
ALTER TABLE outcomes DROP CONSTRAINT outcomes_track_no_task_version_no_key;
DROP INDEX outcomes_window;
DROP INDEX outcomes_by_version;
CREATE UNIQUE INDEX outcomes_by_task ON outcomes(task, track_no, slot);
CREATE INDEX outcomes_by_version ON outcomes(version_no, track_no, id);
