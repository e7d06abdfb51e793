-- kanari store on PostgreSQL: sums of the gate windows kept as outcomes are
-- recorded, as schema/sqlite/0010_window_sums.sql explains.
CREATE TABLE window_sums (
  rollout_id bigint NOT NULL REFERENCES rollouts(id),
  canary     bigint NOT NULL,
  step       bigint NOT NULL,
  opened     bigint NOT NULL,
  name       text COLLATE "C" NOT NULL,
  n          bigint NOT NULL,
  nonzero    bigint NOT NULL,
  value_sum  double precision,
  value_max  double precision NOT NULL,
  PRIMARY KEY (rollout_id, canary, step, opened, name)
);

CREATE TABLE window_buckets (
  rollout_id bigint NOT NULL REFERENCES rollouts(id),
  canary     bigint NOT NULL,
  step       bigint NOT NULL,
  opened     bigint NOT NULL,
  name       text COLLATE "C" NOT NULL,
  bucket     bigint NOT NULL,
  count      bigint NOT NULL,
  PRIMARY KEY (rollout_id, canary, step, opened, name, bucket)
);

ALTER TABLE rollouts ADD COLUMN window_sums bigint NOT NULL DEFAULT 0;
