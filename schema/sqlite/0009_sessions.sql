-- kanari store: sessions pinned to a version for their lifetime
-- (docs/routing.md, "Sessions").
--
-- A session's first `route --session` routes it like a key and pins it;
-- every later route serves the pinned version and moves expires_at on by
-- ttl_seconds. The pin, the served-request count and the task's
-- assignment commit in the route's one write transaction, so a crash
-- leaves all of them or none. A rollback marks the canary's live pins
-- 'cut' (moved to the stable, with "moved": true, on their next route) or
-- 'draining' until drain_until, as the rollout's policy says.
CREATE TABLE sessions (
  track_no     INTEGER NOT NULL REFERENCES tracks(no),
  session      TEXT NOT NULL,
  version_no   INTEGER NOT NULL REFERENCES versions(no),
  arm          TEXT NOT NULL CHECK (arm IN ('stable', 'canary')), -- the arm it was pinned to
  rollout_id   INTEGER REFERENCES rollouts(id),                   -- open when it was pinned
  state        TEXT NOT NULL CHECK (state IN ('active', 'draining', 'cut', 'ended')),
  pinned_at    INTEGER NOT NULL,
  last_seen_at INTEGER NOT NULL,
  ttl_seconds  INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,                                   -- last_seen_at + ttl_seconds
  drain_until  INTEGER,                                            -- 'draining': when it is cut
  requests     INTEGER NOT NULL,
  moved_from   INTEGER REFERENCES versions(no),                    -- the version a cut moved it from
  ended_at     INTEGER,
  PRIMARY KEY (track_no, session)
) WITHOUT ROWID;
-- The live pins of a track and of a version (status, a rollback's cut).
CREATE INDEX sessions_live ON sessions(track_no, expires_at);
CREATE INDEX sessions_by_version ON sessions(version_no, track_no);

-- Requests served per arm in each step of a rollout, by `route --session`:
-- with long sessions, the share each arm actually serves lags the step's
-- percentage.
CREATE TABLE session_requests (
  rollout_id INTEGER NOT NULL REFERENCES rollouts(id),
  step       INTEGER NOT NULL,
  arm        TEXT NOT NULL CHECK (arm IN ('stable', 'canary', 'previous')),
  requests   INTEGER NOT NULL,
  PRIMARY KEY (rollout_id, step, arm)
) WITHOUT ROWID;
