-- kanari store: blobs in a rowid table.
--
-- A WITHOUT ROWID table keeps each row's whole record in its B-tree, and
-- finding one blob by its hash compared keys stored in the records of
-- others, reading those whole: with a 200 MB file in the store, reading a
-- 3-byte prompt took 0.7 s and 200 MB of memory. A rowid table finds the
-- hash in its primary-key index and reads only the row it wants.
--
-- The migration runs with foreign keys off and checks them before it
-- commits (SQLite's procedure for rebuilding a table others refer to):
-- components refer to blobs by name, so they refer to the new table.
CREATE TABLE blobs_rowid (
  sha256 TEXT PRIMARY KEY,
  data   BLOB NOT NULL
);
INSERT INTO blobs_rowid (sha256, data) SELECT sha256, data FROM blobs;
DROP TABLE blobs;
ALTER TABLE blobs_rowid RENAME TO blobs;
