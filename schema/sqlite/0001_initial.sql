-- kanari store, schema 1. Never edit once landed: add 0002_... instead.
-- Times are integer milliseconds since the Unix epoch (UTC).

CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  data   BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE versions (
  no         INTEGER PRIMARY KEY,       -- compact key for outcomes
  id         TEXT NOT NULL UNIQUE,      -- SHA-256 of the canonical manifest
  manifest   TEXT NOT NULL,             -- the canonical manifest JSON itself
  model      TEXT NOT NULL,             -- canonical model config JSON
  label      TEXT,
  message    TEXT,
  author     TEXT NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE components (
  version_id TEXT NOT NULL REFERENCES versions(id),
  kind       TEXT NOT NULL CHECK (kind IN ('prompt', 'tool', 'file')),
  name       TEXT NOT NULL,
  sha256     TEXT NOT NULL REFERENCES blobs(sha256),
  bytes      INTEGER NOT NULL,
  PRIMARY KEY (version_id, kind, name)
) WITHOUT ROWID;

CREATE TABLE tracks (
  no         INTEGER PRIMARY KEY,       -- compact key for outcomes
  name       TEXT NOT NULL UNIQUE,
  stable     TEXT REFERENCES versions(id),
  created_at INTEGER NOT NULL
);

CREATE TABLE track_versions (
  seq        INTEGER PRIMARY KEY,       -- order of addition, for `version list`
  track      TEXT NOT NULL REFERENCES tracks(name),
  version_id TEXT NOT NULL REFERENCES versions(id),
  added_at   INTEGER NOT NULL,
  UNIQUE (track, version_id)
);

CREATE TABLE rollouts (
  id              INTEGER PRIMARY KEY,
  track           TEXT NOT NULL REFERENCES tracks(name),
  canary          TEXT NOT NULL REFERENCES versions(id),
  stable          TEXT NOT NULL REFERENCES versions(id),
  steps           TEXT NOT NULL,        -- JSON array of basis points
  step            INTEGER NOT NULL,     -- index into steps
  state           TEXT NOT NULL CHECK (state IN ('active', 'paused', 'promoted', 'rolled_back')),
  salt            TEXT NOT NULL,
  shadow          INTEGER NOT NULL,
  policy          TEXT NOT NULL,        -- canonical policy JSON
  policy_sha256   TEXT NOT NULL,
  started_at      INTEGER NOT NULL,
  step_started_at INTEGER NOT NULL,
  ended_at        INTEGER,
  promote_streak  INTEGER NOT NULL DEFAULT 0,
  approved_step   INTEGER
);
-- At most one non-terminal rollout per track, enforced by the store too.
CREATE UNIQUE INDEX rollouts_one_open_per_track ON rollouts(track)
  WHERE state IN ('active', 'paused');

-- The ledger. Tracks and versions are referred to by their integer `no`:
-- every index below stays small, which is most of what a bulk import costs.
CREATE TABLE outcomes (
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
  UNIQUE (track_no, task, version_no)
);
-- The gate's windows: the canary's current step, the baseline since start.
CREATE INDEX outcomes_window ON outcomes(rollout_id, canary, step);
-- The baseline top-up: most recent outcomes of a stable version.
CREATE INDEX outcomes_by_version ON outcomes(version_no, track_no, id);

CREATE TABLE assignments (
  track      TEXT NOT NULL,
  task       TEXT NOT NULL,
  version_id TEXT NOT NULL,
  arm        TEXT NOT NULL,
  rollout_id INTEGER,
  at         INTEGER NOT NULL,
  PRIMARY KEY (track, task)
) WITHOUT ROWID;

CREATE TABLE events (
  seq       INTEGER PRIMARY KEY,        -- one chain over the whole store
  at        INTEGER NOT NULL,
  actor     TEXT NOT NULL,
  action    TEXT NOT NULL,
  track     TEXT NOT NULL,
  rollout   INTEGER,
  version   TEXT,
  reason    TEXT NOT NULL,
  evidence  TEXT NOT NULL,              -- canonical JSON
  prev_hash TEXT NOT NULL,
  hash      TEXT NOT NULL
);
CREATE INDEX events_by_track ON events(track, seq);

-- Append-only: the store refuses to change or delete an event. (A person
-- with the file can still edit it; `audit verify` detects that.)
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
