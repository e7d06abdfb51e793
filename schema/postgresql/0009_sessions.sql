-- kanari store on PostgreSQL: sessions pinned to a version for their
-- lifetime, as schema/sqlite/0009_sessions.sql explains. Two hosts routing
-- a new session at once pin it once: the route reads and writes the pin
-- under the store's write lock (an advisory lock), one host after the other.
CREATE TABLE sessions (
  track_no     bigint NOT NULL REFERENCES tracks(no),
  session      text COLLATE "C" NOT NULL,
  version_no   bigint NOT NULL REFERENCES versions(no),
  arm          text COLLATE "C" NOT NULL CHECK (arm IN ('stable', 'canary')),
  rollout_id   bigint REFERENCES rollouts(id),
  state        text COLLATE "C" NOT NULL CHECK (state IN ('active', 'draining', 'cut', 'ended')),
  pinned_at    bigint NOT NULL,
  last_seen_at bigint NOT NULL,
  ttl_seconds  bigint NOT NULL,
  expires_at   bigint NOT NULL,
  drain_until  bigint,
  requests     bigint NOT NULL,
  moved_from   bigint REFERENCES versions(no),
  ended_at     bigint,
  PRIMARY KEY (track_no, session)
);
CREATE INDEX sessions_live ON sessions(track_no, expires_at);
CREATE INDEX sessions_by_version ON sessions(version_no, track_no);

CREATE TABLE session_requests (
  rollout_id bigint NOT NULL REFERENCES rollouts(id),
  step       bigint NOT NULL,
  arm        text COLLATE "C" NOT NULL CHECK (arm IN ('stable', 'canary', 'previous')),
  requests   bigint NOT NULL,
  PRIMARY KEY (rollout_id, step, arm)
);
