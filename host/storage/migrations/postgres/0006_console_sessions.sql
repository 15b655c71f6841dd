-- Admin console sessions. Keep in step with ../sqlite/0006_console_sessions.sql.
-- The browser holds a random session id in a cookie; only its SHA-256 is
-- stored. A session belongs to the operator (store_id NULL: every store) or
-- to one store (signed in with a store-scoped key).
CREATE TABLE console_sessions (
    id_hash TEXT PRIMARY KEY NOT NULL,
    principal_kind TEXT NOT NULL CHECK (principal_kind IN ('admin', 'credential')),
    principal_id TEXT NOT NULL,
    principal_label TEXT NOT NULL,
    store_id TEXT,
    scopes TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at);
