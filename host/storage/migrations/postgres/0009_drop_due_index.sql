-- Claims find due work per target through deliveries_pending_by_target
-- (0004), so no statement reads deliveries_due any more; it only cost one
-- more index entry on every insert and every claim. Keep in step with
-- ../sqlite/0009_drop_due_index.sql.
DROP INDEX deliveries_due;
