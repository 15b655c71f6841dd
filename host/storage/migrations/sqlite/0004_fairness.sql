-- Fair delivery: per-target rate limits, circuit breakers and the indexes
-- that let a claim take a bounded share from each target. Keep in step with
-- ../postgres/0004_fairness.sql.

-- The most requests per second a target's receiver accepts; NULL: no limit
-- beyond the operator's per-target concurrency.
ALTER TABLE webhook_subscriptions ADD COLUMN rate_limit_per_second BIGINT;
ALTER TABLE connector_configs ADD COLUMN rate_limit_per_second BIGINT;

-- What every node knows about a target's health. A target without a row is
-- healthy. Target ids (`whk_`, `cfg_`) are unique across kinds.
CREATE TABLE target_states (
    target_id TEXT PRIMARY KEY NOT NULL,
    store_id TEXT NOT NULL,
    target_kind TEXT NOT NULL CHECK (target_kind IN ('webhook', 'connector')),
    -- closed: deliveries flow; open: none until blocked_until, then one
    -- probe; half_open: the probe is out (under probe_token).
    circuit TEXT NOT NULL DEFAULT 'closed' CHECK (circuit IN ('closed', 'open', 'half_open')),
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    -- No attempt before this time: the circuit's back-off, the probe's
    -- lease, or the pause a 429 Retry-After asked for.
    blocked_until BIGINT NOT NULL DEFAULT 0,
    -- When the current outage began (the circuit first opened).
    opened_at BIGINT,
    -- Failed probes in the current outage; each doubles the back-off.
    failed_probes BIGINT NOT NULL DEFAULT 0,
    probe_token TEXT,
    last_error TEXT,
    -- Why Sluice disabled the target after a long outage.
    disabled_reason TEXT,
    -- Rate limit: the earliest time of the next request.
    next_send_at BIGINT NOT NULL DEFAULT 0,
    updated_at BIGINT NOT NULL
);
CREATE INDEX target_states_by_store ON target_states (store_id, target_id);
CREATE INDEX target_states_blocked ON target_states (blocked_until) WHERE circuit <> 'closed';

-- A claim walks the targets with pending work and takes a few due rows of
-- each, in due order; and counts the leases each target holds.
CREATE INDEX deliveries_pending_by_target ON deliveries (target_id, next_attempt_at, id)
    WHERE status = 'pending';
CREATE INDEX deliveries_leased_by_target ON deliveries (target_id, lease_expires_at)
    WHERE lease_token IS NOT NULL;
