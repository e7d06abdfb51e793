-- kanari store: schema 11 rewrote SQLite's CHECK (excluded IN (0, 1, 2)) on
-- outcomes as three comparisons, because SQLite built a temporary index of
-- the list for every row inserted. PostgreSQL tests an IN list of constants
-- as = ANY of an array, without building anything: nothing changes here but
-- the schema version, which means the same tables on either backend.
COMMENT ON COLUMN outcomes.excluded IS '0 counts in its window, 1 late, 2 backdated';
