-- Node-wide tasks that one node at a time runs (retention). Keep in step
-- with ../sqlite/0008_singleton_tasks.sql.

-- A node runs the task while it holds the lease; a node that dies lets it
-- expire, and another takes the task over at its next turn.
CREATE TABLE task_leases (
    task TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
