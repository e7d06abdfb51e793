-- kanari store on PostgreSQL, schema 5: an outcome's own metrics, as
-- schema/sqlite/0005_outcome_metrics.sql explains. Kept as text, not jsonb:
-- jsonb reorders keys and renormalises numbers, and a retry of the same
-- outcome must compare equal as kanari wrote it.
ALTER TABLE outcomes ADD COLUMN metrics text COLLATE "C";
