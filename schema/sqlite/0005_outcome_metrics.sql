-- kanari store, schema 5: an outcome's own metrics (docs/gates.md,
-- "Metrics"), beside the built-in fields: a JSON object of up to 32 names
-- mapped to finite numbers, written by kanari in one canonical form (keys
-- sorted, numbers printed to round-trip), so that a retry of the same
-- outcome compares equal as text. NULL when the outcome has none.
ALTER TABLE outcomes ADD COLUMN metrics TEXT;
