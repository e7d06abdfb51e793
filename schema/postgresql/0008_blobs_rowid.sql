-- kanari store: schema 8 rebuilt SQLite's blobs as a rowid table, so that
-- finding one blob never reads another. PostgreSQL stores large bytea
-- values out of line (TOAST) and finds a blob through its primary-key
-- index already: nothing changes here but the schema version, which means
-- the same tables on either backend.
COMMENT ON TABLE blobs IS 'content-addressed bytes: prompts, tools and files, by SHA-256';
