-- kanari store on PostgreSQL: how many of a rollout's steps, from the
-- first, are shadow steps, as schema/sqlite/0006_shadow_steps.sql explains.
-- A rollout started with --shadow before it had every step shadow.
ALTER TABLE rollouts ADD COLUMN shadow_steps bigint NOT NULL DEFAULT 0;
UPDATE rollouts SET shadow_steps = json_array_length(steps::json) WHERE shadow = 1;
