-- Sluice schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_init.sql:
-- same tables, columns, constraints and indexes. Timestamps are Unix
-- milliseconds; JSON is stored as TEXT (kept byte for byte as received).

CREATE TABLE admin_tokens (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    store_id TEXT NOT NULL,
    id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    payload TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('api', 'sync', 'inbound', 'system')),
    UNIQUE (store_id, id)
);
CREATE INDEX events_by_age ON events (received_at, seq);

CREATE TABLE webhook_subscriptions (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    event_types TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    disabled_reason TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_subscriptions_by_store ON webhook_subscriptions (store_id, id);

CREATE TABLE webhook_secrets (
    id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    store_id TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT
);
CREATE INDEX webhook_secrets_by_subscription ON webhook_secrets (subscription_id, created_at);

CREATE TABLE connector_configs (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    name TEXT NOT NULL,
    event_types TEXT NOT NULL,
    settings TEXT NOT NULL,
    credentials_sealed BYTEA,
    credential_keys TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX connector_configs_by_store ON connector_configs (store_id, id);

CREATE TABLE connector_state (
    config_id TEXT NOT NULL REFERENCES connector_configs (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    store_id TEXT NOT NULL,
    value BYTEA NOT NULL,
    expires_at BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (config_id, key)
);

CREATE TABLE deliveries (
    id TEXT PRIMARY KEY,
    store_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    -- The event's seq, so that a claim reads payloads by primary key.
    event_seq BIGINT NOT NULL,
    event_type TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('webhook', 'connector')),
    target_id TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempt_count BIGINT NOT NULL DEFAULT 0,
    -- While leased, the lease expiry: a leased row is due again when its
    -- lease lapses, so the due index alone finds claimable rows.
    next_attempt_at BIGINT NOT NULL,
    next_trigger TEXT NOT NULL DEFAULT 'scheduled' CHECK (next_trigger IN ('scheduled', 'manual')),
    lease_token TEXT,
    lease_expires_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    external_id TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT,
    UNIQUE (store_id, event_id, target_kind, target_id),
    FOREIGN KEY (store_id, event_id) REFERENCES events (store_id, id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_store ON deliveries (store_id, id);
CREATE INDEX deliveries_dead_by_store ON deliveries (store_id, id) WHERE status = 'dead';
CREATE INDEX deliveries_delivered_by_age ON deliveries (finished_at) WHERE status = 'delivered';

CREATE TABLE attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    store_id TEXT NOT NULL,
    number BIGINT NOT NULL,
    trigger TEXT NOT NULL CHECK (trigger IN ('scheduled', 'manual')),
    started_at BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('delivered', 'retry', 'failed')),
    http_status BIGINT,
    request_url TEXT,
    request_headers TEXT,
    response_body TEXT,
    error TEXT,
    report TEXT,
    next_attempt_at BIGINT,
    UNIQUE (delivery_id, number)
);
