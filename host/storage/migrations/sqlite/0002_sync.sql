-- Sync (records pulled from a remote system become platform events).

-- Where each configuration's sync of one entity stands: the cursor saved
-- with the last committed batch, when the next scheduled run is due, and
-- the lease of the node running it now.
CREATE TABLE sync_positions (
    config_id TEXT NOT NULL REFERENCES connector_configs (id) ON DELETE CASCADE,
    store_id TEXT NOT NULL,
    entity TEXT NOT NULL,
    cursor TEXT,
    next_run_at BIGINT NOT NULL,
    -- 'manual' when an admin asked for the next run.
    next_trigger TEXT NOT NULL DEFAULT 'scheduled',
    lease_token TEXT,
    lease_expires_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (config_id, entity)
);
CREATE INDEX sync_positions_due ON sync_positions (next_run_at);

-- The last version seen of each remote record: a new version raises an
-- event, the same version never raises a second.
CREATE TABLE sync_records (
    config_id TEXT NOT NULL REFERENCES connector_configs (id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    external_id TEXT NOT NULL,
    version TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (config_id, entity, external_id)
);

-- The sync log: one row per run.
CREATE TABLE sync_runs (
    id TEXT PRIMARY KEY NOT NULL,
    store_id TEXT NOT NULL,
    config_id TEXT NOT NULL REFERENCES connector_configs (id) ON DELETE CASCADE,
    entity TEXT NOT NULL,
    direction TEXT NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    batches BIGINT NOT NULL,
    records BIGINT NOT NULL,
    events BIGINT NOT NULL,
    error TEXT,
    started_at BIGINT NOT NULL,
    finished_at BIGINT NOT NULL
);
CREATE INDEX sync_runs_by_config ON sync_runs (store_id, config_id, started_at);
