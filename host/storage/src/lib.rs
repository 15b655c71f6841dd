//! Sluice's database, on embedded SQLite (the default) or PostgreSQL.
//!
//! One schema in two dialects (`migrations/sqlite`, `migrations/postgres`),
//! one set of queries written once through sqlx's `Any` driver. Everything
//! belongs to a store (tenant): every store-scoped operation takes the
//! `store_id` and cannot see or change another store's rows. Time is always a
//! parameter (`now`), taken from the caller's injected clock.
//!
//! - [`Db`]: connecting, migrations, the SQLite writer/reader split.
//! - [`events`]: idempotent ingest and fan-out in one transaction.
//! - [`queue`]: claiming due deliveries fairly under leases, recording
//!   attempts in batches, releasing on shutdown.
//! - [`health`]: each target's circuit breaker, 429 pause and rate-limit
//!   send slots, shared by every node.
//! - [`deliveries`]: listing, inspecting and re-triggering deliveries.
//! - [`webhooks`], [`connectors`]: the targets, with sealed secrets.
//! - [`state`]: per-configuration key/value state with expiry and quota.
//! - [`sync`]: sync positions (cursors under leases), seen record versions
//!   and the sync log.
//! - [`registry`]: connector packages by digest, installed versions and the
//!   head saying which one is active.
//! - [`retention`]: chunked pruning of what is delivered and old, run by
//!   one node at a time under a task lease ([`Db::claim_task`]).
//! - [`credentials`]: API keys and OAuth clients of stores (hashed
//!   secrets), their access tokens and the audit log of their management.
//! - [`bus`]: the outbox of Sluice's own outcomes for the message bus, and
//!   the log of messages rejected from it.
//! - [`Db::vacuum_bloated`]: on PostgreSQL, vacuuming the queue's tables
//!   as soon as dead rows would slow claims down.
//! - [`admin_tokens`], [`rekey`].
//! - [`console_sessions`]: the admin console's sessions, and the stores it lists.

pub mod admin_tokens;
pub mod bus;
pub mod connectors;
pub mod console_sessions;
pub mod credentials;
mod db;
pub mod deliveries;
mod error;
pub mod events;
mod fanout;
pub mod health;
pub mod queue;
pub mod registry;
pub mod rekey;
pub mod retention;
mod sealing;
mod sql;
pub mod state;
pub mod sync;
mod task_leases;
mod vacuum;
pub mod webhooks;

pub use admin_tokens::AdminToken;
pub use bus::{
    NewRejectedMessage, OutboxMessage, OutboxSignal, REJECTED_PAYLOAD_LIMIT, RejectedMessage,
    SYNC_RUN_FINISHED,
};
pub use connectors::{ConnectorConfig, ConnectorConfigUpdate, ConnectorTarget, NewConnectorConfig};
pub use console_sessions::ConsoleSession;
pub use credentials::{
    AuditEntry, CredentialKind, NewCredential, StoredAccessToken, StoredCredential,
};
pub use db::{Backend, Db, SqliteDurability};
pub use deliveries::{
    Attempt, AttemptOutcome, AttemptTrigger, Delivery, DeliveryDetail, DeliveryFilter,
    DeliveryStatus, MAX_PAGE_SIZE, Page, PageRequest, TargetKind,
};
pub use error::{Result, StorageError};
pub use events::{EventSource, IngestOutcome, IngestStatus, NewEvent, StoredEvent};
pub use health::{
    CircuitChange, CircuitPolicy, CircuitState, CircuitTransition, Circuits, TargetSignal,
    TargetState,
};
pub use queue::{
    AttemptRecord, AttemptResult, ClaimedDelivery, Completion, Lease, TargetCaps, Verdict,
};
pub use registry::{
    Activation, ConnectorHead, ConnectorVersion, Installed, NewConnectorVersion, Trust,
    VersionState,
};
pub use rekey::RekeyReport;
pub use retention::PruneReport;
pub use sealing::Credentials;
pub use state::StateWrite;
pub use sync::{BatchCommit, SyncEventTypes, SyncPosition, SyncRun, SyncedRecord};
pub use vacuum::VacuumMemory;
pub use webhooks::{
    NewWebhookSubscription, SECRET_ROTATION_OVERLAP_MS, WebhookSecretInfo, WebhookSubscription,
    WebhookSubscriptionUpdate, WebhookTarget,
};
