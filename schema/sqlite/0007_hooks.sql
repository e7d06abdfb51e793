-- kanari store: notification hooks and their transactional outbox
-- (docs/hooks.md). An event that matches a hook enqueues a delivery in
-- the same transaction that appends the event, so a crash can delay a
-- notification but never lose it. A delivery is pending until an attempt
-- succeeds (delivered) or it is given up 24 h after the event (failed);
-- every attempt is logged in hook_attempts. A hook's secret is never
-- stored: only the name of the environment variable that holds it.
CREATE TABLE hooks (
  name       TEXT PRIMARY KEY,
  track      TEXT,                       -- NULL: every track
  url        TEXT,
  command    TEXT,
  actions    TEXT NOT NULL,              -- event actions, comma-separated, sorted
  format     TEXT NOT NULL,              -- json | slack
  secret_env TEXT,                       -- the variable's name, never its value
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  CHECK ((url IS NULL) <> (command IS NULL))
) WITHOUT ROWID;

CREATE TABLE deliveries (
  id              INTEGER PRIMARY KEY,
  hook            TEXT NOT NULL REFERENCES hooks(name),
  event_seq       INTEGER NOT NULL REFERENCES events(seq),
  state           TEXT NOT NULL,         -- pending | delivered | failed
  attempts        INTEGER NOT NULL,
  created_at      INTEGER NOT NULL,
  next_attempt_at INTEGER NOT NULL,      -- while an attempt runs: when it may be presumed dead
  last_attempt_at INTEGER,
  last_error      TEXT,
  done_at         INTEGER,
  UNIQUE (hook, event_seq)
);
CREATE INDEX deliveries_due ON deliveries(next_attempt_at) WHERE state = 'pending';

CREATE TABLE hook_attempts (
  id          INTEGER PRIMARY KEY,
  hook        TEXT NOT NULL,             -- kept when the hook is removed
  delivery    INTEGER,                   -- NULL for `hook test`
  event_hash  TEXT NOT NULL,
  action      TEXT NOT NULL,
  track       TEXT NOT NULL,
  at          INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  ok          INTEGER NOT NULL,
  detail      TEXT NOT NULL
);
