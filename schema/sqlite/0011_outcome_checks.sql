-- kanari store: the outcomes' CHECK on `excluded` as three comparisons.
--
-- Schema 4 added the column with CHECK (excluded IN (0, 1, 2)). SQLite
-- evaluates an IN list of three or more constants by building a temporary
-- index of them, and in a CHECK it does that for every row inserted: on a
-- 200,000-line `record --jsonl` that was half of all instructions (callgrind,
-- docs/benchmarks.md). (excluded = 0 OR excluded = 1 OR excluded = 2) admits
-- exactly the same rows and costs three comparisons.
--
-- Every stored row satisfies the new constraint, so the table need not be
-- rebuilt. SQLite documents editing a table's SQL in sqlite_master (then
-- changing the schema cookie, which makes every connection read the schema
-- again) for removing a CHECK; replacing one by an equivalent is as safe,
-- since no stored row can fail it. The empty CREATE and DROP
-- change the cookie as any DDL does. (The connection that migrates keeps
-- the schema it had read; kanari opens the store again after a migration.)
-- A table whose SQL does not hold the old text (edited by hand) is left
-- as it is.
PRAGMA writable_schema = ON;
UPDATE sqlite_master
  SET sql = replace(sql, 'CHECK (excluded IN (0, 1, 2))', 'CHECK (excluded = 0 OR excluded = 1 OR excluded = 2)')
  WHERE type = 'table' AND name = 'outcomes';
PRAGMA writable_schema = OFF;
CREATE TABLE kanari_schema_changed (x);
DROP TABLE kanari_schema_changed;
