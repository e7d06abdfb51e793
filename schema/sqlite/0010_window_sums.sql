-- kanari store: sums of the gate windows kept as outcomes are recorded, so
-- evaluating a window costs the same at ten million outcomes as at a
-- thousand (docs/gates.md, "Large windows").
--
-- Every counted outcome of a rollout adds to the rows of its window: the
-- rollout, the arm (canary 0 or 1), the step, and `opened`, the outcome id
-- its step's window opened at when the outcome was recorded
-- (rollouts.step_first_outcome), which tells a window from an earlier
-- visit of the same step number. One row per metric name: the built-in
-- fields ("pass", "error", "latency_ms", "cost", "tokens", "score") and the
-- outcome's own metrics. The sums of a write transaction are added in it,
-- before it commits, so they and the outcomes commit together.
CREATE TABLE window_sums (
  rollout_id   INTEGER NOT NULL REFERENCES rollouts(id),
  canary       INTEGER NOT NULL,
  step         INTEGER NOT NULL,
  opened       INTEGER NOT NULL,
  name         TEXT NOT NULL,
  n            INTEGER NOT NULL, -- values (outcomes lacking the metric are left out)
  nonzero      INTEGER NOT NULL, -- values other than 0
  value_sum    REAL,             -- NULL: the sum overflowed both ways
  value_max    REAL NOT NULL,
  PRIMARY KEY (rollout_id, canary, step, opened, name)
) WITHOUT ROWID;

-- The values of each row above counted in log-spaced buckets: bucket k > 0
-- holds the positive values v with gamma^(k-100001) < v <= gamma^(k-100000),
-- -k the negative ones of that magnitude and 0 the zeros, with
-- gamma = 1.005 / 0.995. A percentile read from the buckets is within 0.5 %
-- of the exact nearest-rank value.
CREATE TABLE window_buckets (
  rollout_id INTEGER NOT NULL REFERENCES rollouts(id),
  canary     INTEGER NOT NULL,
  step       INTEGER NOT NULL,
  opened     INTEGER NOT NULL,
  name       TEXT NOT NULL,
  bucket     INTEGER NOT NULL,
  count      INTEGER NOT NULL,
  PRIMARY KEY (rollout_id, canary, step, opened, name, bucket)
) WITHOUT ROWID;

-- 1: the rollout's window sums have been kept since it started. Rollouts
-- started before this schema have none and are evaluated from their
-- outcomes.
ALTER TABLE rollouts ADD COLUMN window_sums INTEGER NOT NULL DEFAULT 0;
