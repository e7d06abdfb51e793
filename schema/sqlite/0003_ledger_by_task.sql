-- kanari store, schema 3: the ledger keyed so that recording an outcome is
-- one descent of one unique index (docs/benchmarks.md, "record --jsonl").
--
-- Schema 1 made (track, task, version) unique and looked up (track, task)
-- before every insert, to refuse a second version of a task outside shadow
-- rollouts. Here the unique key is (task, track, slot):
--   slot = 0           for an outcome recorded outside a shadow rollout;
--   slot = version_no  for one recorded during a shadow rollout.
-- On a track that never had a shadow rollout every slot is 0, so the unique
-- index alone refuses a second outcome of a task, for any version, and
-- `INSERT ... ON CONFLICT DO NOTHING` replaces the lookup. On a track that
-- had one the lookup stays (rollout/ledger.hpp), and `kanari doctor` checks
-- that no (track, task, version) appears twice.
--
-- The task comes first: its text tells most index entries apart at the
-- first column, where SQLite's comparison is cheapest.
--
-- The gate's windows no longer have an index of their own. Outcome ids only
-- grow (outcomes are never deleted), so a rollout's outcomes all have ids
-- from the one its start would have given, and those of its current step
-- from the one the step's start would have given; the rollout keeps both.
-- A window is then a range of outcomes_by_version: one version on one track
-- from that id on, the rows recorded since the window opened and no others.
--
-- An existing store is rebuilt in one transaction; the rules of schema 1
-- guarantee the new unique index holds for every store kanari wrote.

ALTER TABLE rollouts ADD COLUMN first_outcome INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rollouts ADD COLUMN step_first_outcome INTEGER NOT NULL DEFAULT 1;
-- The first outcome of each rollout and of its current step, or where the
-- next outcome will go; found through schema 1's window index.
UPDATE rollouts SET
  first_outcome = coalesce((SELECT min(o.id) FROM outcomes o WHERE o.rollout_id = rollouts.id),
                           (SELECT coalesce(max(id), 0) + 1 FROM outcomes)),
  step_first_outcome = coalesce((SELECT min(o.id) FROM outcomes o
                                  WHERE o.rollout_id = rollouts.id AND o.step = rollouts.step),
                                (SELECT coalesce(max(id), 0) + 1 FROM outcomes));

CREATE TABLE outcomes_v3 (
  id         INTEGER PRIMARY KEY,
  track_no   INTEGER NOT NULL,
  task       TEXT NOT NULL,
  version_no INTEGER NOT NULL,
  canary     INTEGER NOT NULL CHECK (canary IN (0, 1)), -- the arm
  rollout_id INTEGER,                   -- the rollout open when it was recorded
  step       INTEGER,                   -- that rollout's step then
  pass       INTEGER NOT NULL CHECK (pass IN (0, 1)),
  latency_ms REAL,
  cost       REAL,
  tokens     INTEGER,
  score      REAL,
  error      TEXT,
  at         INTEGER NOT NULL,
  slot       INTEGER NOT NULL CHECK (slot = 0 OR slot = version_no)
);

INSERT INTO outcomes_v3 (id, track_no, task, version_no, canary, rollout_id, step, pass, latency_ms, cost,
                         tokens, score, error, at, slot)
SELECT o.id, o.track_no, o.task, o.version_no, o.canary, o.rollout_id, o.step, o.pass, o.latency_ms, o.cost,
       o.tokens, o.score, o.error, o.at,
       CASE WHEN EXISTS (SELECT 1 FROM rollouts r WHERE r.id = o.rollout_id AND r.shadow = 1)
            THEN o.version_no ELSE 0 END
  FROM outcomes o ORDER BY o.id;

DROP TABLE outcomes;
ALTER TABLE outcomes_v3 RENAME TO outcomes;

CREATE UNIQUE INDEX outcomes_by_task ON outcomes(task, track_no, slot);
-- The gate's windows and the baseline top-up: the outcomes of one version
-- on one track, in the order they were recorded (the rowid ends every
-- index entry).
CREATE INDEX outcomes_by_version ON outcomes(version_no, track_no);
