//! The event log: idempotent ingest with fan-out, and reading events back.

use sluice_core::UnixMillis;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::fanout::{ingest_at_once, ingest_in};
use crate::sql::{stored, stored_enum};
use crate::{Backend, Db, Result, StorageError};

stored_enum! {
    /// Where an event came from.
    pub enum EventSource {
        /// `POST /v1/events` or the message bus.
        Api = "api",
        /// A connector's sync run.
        Sync = "sync",
        /// An inbound webhook verified by a connector.
        Inbound = "inbound",
        /// Raised by Sluice itself, such as `webhook.dead_lettered`.
        System = "system",
    }
}

/// An event to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The store (tenant) the event belongs to.
    pub store_id: String,
    /// The producer's id; unique per store, which makes ingest idempotent.
    pub id: String,
    /// A valid event type such as `order.placed`.
    pub event_type: String,
    /// When it happened, according to the producer.
    pub occurred_at: UnixMillis,
    /// The payload, raw JSON exactly as received.
    pub payload: String,
    /// Where it came from.
    pub source: EventSource,
}

/// Whether ingest stored an event or had it already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestStatus {
    /// Stored now, and fanned out.
    Created,
    /// The store already had an event with this id; nothing was written.
    Duplicate,
}

/// What ingest did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOutcome {
    /// The store of the event.
    pub store_id: String,
    /// The event's id.
    pub event_id: String,
    /// Created or duplicate.
    pub status: IngestStatus,
    /// Deliveries created for it: one per matching active target, 0 for a duplicate.
    pub deliveries: usize,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the log, increasing with insertion.
    pub seq: i64,
    /// The store the event belongs to.
    pub store_id: String,
    /// The producer's id.
    pub id: String,
    /// Its type.
    pub event_type: String,
    /// When it happened.
    pub occurred_at: UnixMillis,
    /// When Sluice accepted it.
    pub received_at: UnixMillis,
    /// The payload exactly as received.
    pub payload: String,
    /// Where it came from.
    pub source: EventSource,
}

impl StoredEvent {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            seq: row.try_get("seq")?,
            store_id: row.try_get("store_id")?,
            id: row.try_get("id")?,
            event_type: row.try_get("event_type")?,
            occurred_at: row.try_get("occurred_at")?,
            received_at: row.try_get("received_at")?,
            payload: row.try_get("payload")?,
            source: stored(row, "source")?,
        })
    }
}

impl Db {
    /// Stores `events` and their deliveries in one transaction, received at
    /// `now`.
    ///
    /// An event whose (store, id) is already stored, earlier or in this batch,
    /// is acknowledged as [`IngestStatus::Duplicate`] and creates nothing. Each
    /// new event gets one pending delivery, due `now`, per active webhook
    /// subscription and active connector configuration of its store whose
    /// event types match. Outcomes are in the order of `events`. Event types
    /// and payloads are taken as given; validate them before.
    pub async fn ingest(&self, events: &[NewEvent], now: UnixMillis) -> Result<Vec<IngestOutcome>> {
        if self.backend() == Backend::Postgres {
            let mut conn = self.writer().acquire().await?;
            if let Some(outcomes) = ingest_at_once(&mut conn, events, now).await? {
                return Ok(outcomes);
            }
        }
        let mut tx = self.writer().begin().await?;
        let outcomes = ingest_in(&mut tx, self.backend(), events, now).await?;
        tx.commit().await?;
        Ok(outcomes)
    }

    /// The event `event_id` of `store_id`.
    pub async fn get_event(&self, store_id: &str, event_id: &str) -> Result<StoredEvent> {
        let row = sqlx::query(
            "SELECT seq, store_id, id, event_type, occurred_at, received_at, payload, source \
             FROM events WHERE store_id = $1 AND id = $2",
        )
        .bind(store_id)
        .bind(event_id)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| StorageError::not_found("event", event_id))?;
        StoredEvent::from_row(&row)
    }
}
