-- The message bus. Keep in step with ../postgres/0007_bus.sql.

-- Sluice's own outcomes (webhook.delivered, webhook.dead_lettered, circuit
-- changes, finished sync runs) waiting to be published on the bus. A row is
-- written in the transaction that commits its outcome, so a message exists
-- if and only if the outcome was committed; the publisher claims rows under
-- a lease, publishes them (the event id is the bus's deduplication id) and
-- deletes them once the bus acknowledged them.
CREATE TABLE bus_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id TEXT NOT NULL,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    lease_expires_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX bus_outbox_by_lease ON bus_outbox (lease_expires_at, seq);

-- Messages taken from the bus that are not valid events: acknowledged so
-- the bus stops redelivering them, and kept here for operators with the
-- reason. store_id is set when the message named one.
CREATE TABLE bus_rejected (
    id TEXT PRIMARY KEY NOT NULL,
    store_id TEXT,
    source TEXT NOT NULL,
    subject TEXT NOT NULL,
    position TEXT NOT NULL,
    reason TEXT NOT NULL,
    payload BLOB NOT NULL,
    payload_size BIGINT NOT NULL,
    rejected_at BIGINT NOT NULL
);
CREATE INDEX bus_rejected_by_store ON bus_rejected (store_id, id);
