//! The message bus's two tables.
//!
//! - The outbox (`bus_outbox`): Sluice's own outcomes, written in the
//!   transaction that commits them when publishing is on
//!   ([`Db::enable_outbox`]), claimed under a lease by the publisher and
//!   deleted once the bus acknowledged them. A message is therefore published
//!   if and only if its outcome was committed, at least once.
//! - The rejected-message log (`bus_rejected`): messages taken from the bus
//!   that are not valid events, kept with the reason so that acknowledging
//!   them never loses them silently.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use sluice_core::clock::format_rfc3339;
use sluice_core::{UnixMillis, new_id};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::sql::{ROWS_PER_STATEMENT, SqlBuilder, narrow};
use crate::{Backend, Db, IngestOutcome, IngestStatus, NewEvent, Result, StorageError, SyncRun};

/// Most bytes of a rejected message kept in the log; the rest is cut and
/// [`RejectedMessage::payload_size`] tells how long it was.
pub const REJECTED_PAYLOAD_LIMIT: usize = 64 * 1024;

/// The event type of the outcome a finished sync run publishes.
pub const SYNC_RUN_FINISHED: &str = "sync.run_finished";

/// Tells the outbox publisher that outcomes were committed to the outbox.
#[derive(Clone, Default)]
pub struct OutboxSignal(Arc<tokio::sync::Notify>);

impl OutboxSignal {
    /// Wakes the publisher (or its next wait).
    pub fn notify(&self) {
        self.0.notify_one();
    }

    /// Completes at the next [`OutboxSignal::notify`], or at once if one
    /// came since the last wait.
    pub async fn notified(&self) {
        self.0.notified().await;
    }
}

impl std::fmt::Debug for OutboxSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OutboxSignal")
    }
}

/// One outcome waiting in the outbox, as the publisher claimed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Its position in the outbox, increasing with insertion.
    pub seq: i64,
    /// The store the outcome belongs to.
    pub store_id: String,
    /// The event id: unique, and the bus's deduplication id.
    pub event_id: String,
    /// Its type, such as `webhook.delivered`.
    pub event_type: String,
    /// The message body: the event envelope of `POST /v1/events` as JSON.
    pub body: String,
}

/// A message taken from the bus that is not a valid event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRejectedMessage<'a> {
    /// The store the message named, if it named one.
    pub store_id: Option<&'a str>,
    /// The bus, such as `nats`.
    pub source: &'a str,
    /// The subject (or topic) it came on.
    pub subject: &'a str,
    /// Where it was in the bus, such as `stream PLATFORM sequence 42`.
    pub position: &'a str,
    /// Why it was rejected: a JSON array of `{field, message}`.
    pub reason: &'a str,
    /// The raw message; only the first [`REJECTED_PAYLOAD_LIMIT`] bytes are kept.
    pub payload: &'a [u8],
}

/// A rejected message as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedMessage {
    /// `rej_...`, increasing with time.
    pub id: String,
    /// The store the message named, if it named one.
    pub store_id: Option<String>,
    /// The bus, such as `nats`.
    pub source: String,
    /// The subject (or topic) it came on.
    pub subject: String,
    /// Where it was in the bus.
    pub position: String,
    /// Why it was rejected: a JSON array of `{field, message}`.
    pub reason: String,
    /// The first bytes of the message, at most [`REJECTED_PAYLOAD_LIMIT`].
    pub payload: Vec<u8>,
    /// How long the message was.
    pub payload_size: u64,
    /// When it was rejected.
    pub rejected_at: UnixMillis,
}

impl RejectedMessage {
    fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(Self {
            id: row.try_get("id")?,
            store_id: row.try_get("store_id")?,
            source: row.try_get("source")?,
            subject: row.try_get("subject")?,
            position: row.try_get("position")?,
            reason: row.try_get("reason")?,
            payload: row.try_get("payload")?,
            payload_size: narrow(row, "payload_size")?,
            rejected_at: row.try_get("rejected_at")?,
        })
    }
}

/// An outcome about to enter the outbox.
struct Outcome<'a> {
    store_id: &'a str,
    event_id: &'a str,
    event_type: &'a str,
    body: String,
}

/// The envelope of `POST /v1/events`, which outcomes are published in.
#[derive(Serialize)]
struct Envelope<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    event_type: &'a str,
    store_id: &'a str,
    occurred_at: String,
    payload: &'a RawValue,
}

fn envelope(
    id: &str,
    event_type: &str,
    store_id: &str,
    occurred_at: UnixMillis,
    payload: &str,
) -> Result<String> {
    let payload: Box<RawValue> = serde_json::from_str(payload)
        .map_err(|e| StorageError::corrupt(format!("payload of event {id}"), e))?;
    serde_json::to_string(&Envelope {
        id,
        event_type,
        store_id,
        occurred_at: format_rfc3339(occurred_at),
        payload: &payload,
    })
    .map_err(|e| StorageError::corrupt(format!("event {id}"), e))
}

/// Puts Sluice's own `events` in the outbox on `conn` (inside the
/// transaction that committed them), once each: an event `ingested` says
/// was stored before ([`IngestStatus::Duplicate`]) was published then, and a
/// repeat within `events` is skipped.
pub(crate) async fn enqueue_events(
    conn: &mut AnyConnection,
    backend: Backend,
    events: &[NewEvent],
    ingested: &[IngestOutcome],
    now: UnixMillis,
) -> Result<usize> {
    let mut seen: HashSet<(&str, &str)> = ingested
        .iter()
        .filter(|outcome| outcome.status == IngestStatus::Duplicate)
        .map(|outcome| (outcome.store_id.as_str(), outcome.event_id.as_str()))
        .collect();
    let mut outcomes = Vec::new();
    for event in events {
        if !seen.insert((event.store_id.as_str(), event.id.as_str())) {
            continue;
        }
        outcomes.push(Outcome {
            store_id: &event.store_id,
            event_id: &event.id,
            event_type: &event.event_type,
            body: envelope(
                &event.id,
                &event.event_type,
                &event.store_id,
                event.occurred_at,
                &event.payload,
            )?,
        });
    }
    enqueue(conn, backend, &outcomes, now).await?;
    Ok(outcomes.len())
}

/// Puts the outcome of a finished sync run in the outbox on `conn`.
pub(crate) async fn enqueue_sync_run(
    conn: &mut AnyConnection,
    backend: Backend,
    run: &SyncRun,
) -> Result<()> {
    let payload = serde_json::json!({
        "run_id": run.id,
        "config_id": run.config_id,
        "entity": run.entity,
        "direction": run.direction,
        "trigger": run.trigger,
        "status": run.status,
        "batches": run.batches,
        "records": run.records,
        "events": run.events,
        "error": run.error,
        "started_at": format_rfc3339(run.started_at),
        "finished_at": format_rfc3339(run.finished_at),
    })
    .to_string();
    let outcome = Outcome {
        store_id: &run.store_id,
        event_id: &run.id,
        event_type: SYNC_RUN_FINISHED,
        body: envelope(
            &run.id,
            SYNC_RUN_FINISHED,
            &run.store_id,
            run.finished_at,
            &payload,
        )?,
    };
    enqueue(conn, backend, &[outcome], run.finished_at).await
}

async fn enqueue(
    conn: &mut AnyConnection,
    backend: Backend,
    outcomes: &[Outcome<'_>],
    now: UnixMillis,
) -> Result<()> {
    for chunk in outcomes.chunks(ROWS_PER_STATEMENT) {
        let mut sql = SqlBuilder::new(
            backend,
            "INSERT INTO bus_outbox (store_id, event_id, event_type, body, created_at)",
        );
        sql.values(chunk, |row, outcome| {
            row.bind(outcome.store_id)
                .bind(outcome.event_id)
                .bind(outcome.event_type)
                .bind(outcome.body.as_str())
                .bind(now);
        });
        sql.execute(&mut *conn).await?;
    }
    Ok(())
}

impl Db {
    /// Turns the outbox on for this handle and every clone made after: the
    /// transactions that commit Sluice's own outcomes also write them to the
    /// outbox, and the returned signal is notified after each such commit.
    /// Off by default, so that nothing accumulates when nothing publishes.
    pub fn enable_outbox(&mut self) -> OutboxSignal {
        let signal = OutboxSignal::default();
        self.outbox = Some(signal.clone());
        signal
    }

    /// The signal of [`Db::enable_outbox`], when the outbox is on.
    pub fn outbox_signal(&self) -> Option<&OutboxSignal> {
        self.outbox.as_ref()
    }

    /// Claims up to `limit` outbox messages at `now` that no publisher holds,
    /// oldest first, under a lease lasting `lease`. On PostgreSQL concurrent
    /// publishers skip each other's rows. A message whose lease lapsed (its
    /// publisher died or failed) is claimed again.
    pub async fn claim_outbox(
        &self,
        now: UnixMillis,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<OutboxMessage>> {
        let lease_end = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
        let skip_locked = match self.backend() {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let rows = sqlx::query(&format!(
            "UPDATE bus_outbox SET lease_expires_at = $1 WHERE seq IN (SELECT seq FROM bus_outbox \
             WHERE lease_expires_at <= $2 ORDER BY seq LIMIT $3{skip_locked}) \
             RETURNING seq, store_id, event_id, event_type, body"
        ))
        .bind(lease_end)
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(self.writer())
        .await?;
        let mut messages = rows
            .iter()
            .map(|row| {
                Ok(OutboxMessage {
                    seq: row.try_get("seq")?,
                    store_id: row.try_get("store_id")?,
                    event_id: row.try_get("event_id")?,
                    event_type: row.try_get("event_type")?,
                    body: row.try_get("body")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        messages.sort_by_key(|message| message.seq);
        Ok(messages)
    }

    /// Deletes the outbox messages `seqs`, published. Returns how many.
    pub async fn delete_outbox(&self, seqs: &[i64]) -> Result<u64> {
        let mut deleted = 0;
        for chunk in seqs.chunks(ROWS_PER_STATEMENT) {
            let mut sql = SqlBuilder::new(self.backend(), "DELETE FROM bus_outbox WHERE seq IN (");
            sql.bind_list(chunk.iter().copied()).push(")");
            deleted += sql.execute(self.writer()).await?;
        }
        Ok(deleted)
    }

    /// How many outcomes wait in the outbox.
    pub async fn outbox_backlog(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS backlog FROM bus_outbox")
            .fetch_one(self.reader())
            .await?;
        narrow(&row, "backlog")
    }

    /// Logs a rejected message at `now`, keeping at most
    /// [`REJECTED_PAYLOAD_LIMIT`] bytes of it. Returns its id.
    pub async fn insert_rejected(
        &self,
        rejected: &NewRejectedMessage<'_>,
        now: UnixMillis,
    ) -> Result<String> {
        let id = new_id("rej");
        let kept = &rejected.payload[..rejected.payload.len().min(REJECTED_PAYLOAD_LIMIT)];
        sqlx::query(
            "INSERT INTO bus_rejected (id, store_id, source, subject, position, reason, payload, \
             payload_size, rejected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.as_str())
        .bind(rejected.store_id)
        .bind(rejected.source)
        .bind(rejected.subject)
        .bind(rejected.position)
        .bind(rejected.reason)
        .bind(kept.to_vec())
        .bind(i64::try_from(rejected.payload.len()).unwrap_or(i64::MAX))
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(id)
    }

    /// The newest `limit` rejected messages, newest first; only those of
    /// `store_id` if given, only those older than the id `before` if given.
    pub async fn list_rejected(
        &self,
        store_id: Option<&str>,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<RejectedMessage>> {
        let mut sql = SqlBuilder::new(
            self.backend(),
            "SELECT id, store_id, source, subject, position, reason, payload, payload_size, \
             rejected_at FROM bus_rejected WHERE 1 = 1",
        );
        if let Some(store_id) = store_id {
            sql.push(" AND store_id = ").bind(store_id);
        }
        if let Some(before) = before {
            sql.push(" AND id < ").bind(before);
        }
        sql.push(" ORDER BY id DESC LIMIT ").bind(i64::from(limit));
        sql.fetch_all(self.reader())
            .await?
            .iter()
            .map(RejectedMessage::from_row)
            .collect()
    }
}
