//! The intake: messages from a [`MessageSource`] into ingest.
//!
//! ```text
//!  source ──fetch(batch)──▶ parse ──events──▶ Ingestor::ingest ──committed──▶ ack
//!    ▲                        └──not an event──▶ rejected log ──committed──▶ ack
//!    └── only when fewer than max_in_flight_batches are being stored
//! ```
//!
//! A message is acknowledged only after the transaction that stored it (or
//! logged it as rejected) committed, so a crash in between means the bus
//! delivers it again, and ingest's idempotence on `(store_id, id)` stores it
//! once. A batch is fetched only when a slot is free, so at most
//! `batch × max_in_flight_batches` messages are held unacknowledged: a slow
//! database slows the pulling. A batch the database refused is given back
//! to the bus (negative acknowledgement) before its slot is freed.

use std::sync::Arc;
use std::time::Duration;

use sluice_core::SharedClock;
use sluice_events::{FieldError, Ingestor, parse_events};
use sluice_metrics::Metrics;
use sluice_storage::{Db, IngestStatus, NewEvent, NewRejectedMessage};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::source::{MessageSource, SourceMessage};

/// How long a batch's slot stays taken after storing it failed.
const FAILURE_PAUSE: Duration = Duration::from_secs(1);

/// How much the intake takes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntakeLimits {
    /// Messages per fetch, at most.
    pub batch: usize,
    /// Fetched batches being stored at once, at most.
    pub max_in_flight_batches: usize,
}

/// What handling a batch needs; shared by the batches in flight.
struct Handler {
    source: &'static str,
    ingestor: Ingestor,
    db: Db,
    clock: SharedClock,
    metrics: Arc<Metrics>,
}

/// Takes platform events from a [`MessageSource`] into ingest.
pub struct Intake<S: MessageSource> {
    source: S,
    limits: IntakeLimits,
    handler: Arc<Handler>,
}

impl<S: MessageSource> Intake<S> {
    /// An intake of `source` into `ingestor`, logging rejected messages in
    /// `db` at the times `clock` tells.
    pub fn new(
        source: S,
        limits: IntakeLimits,
        ingestor: Ingestor,
        db: Db,
        clock: SharedClock,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            handler: Arc::new(Handler {
                source: source.name(),
                ingestor,
                db,
                clock,
                metrics,
            }),
            source,
            limits,
        }
    }

    /// Fetches and stores until `stop`, then finishes the batches being
    /// stored (acknowledging them) before returning. A fetch cut short by
    /// `stop` leaves its messages unacknowledged: the bus delivers them again.
    pub async fn run(mut self, stop: CancellationToken) {
        let room = Arc::new(Semaphore::new(self.limits.max_in_flight_batches.max(1)));
        let mut batches = JoinSet::new();
        let mut failures = 0u32;
        loop {
            while batches.try_join_next().is_some() {}
            let slot = tokio::select! {
                slot = room.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
                _ = stop.cancelled() => break,
            };
            let fetched = tokio::select! {
                fetched = self.source.fetch(self.limits.batch) => fetched,
                _ = stop.cancelled() => break,
            };
            match fetched {
                Ok(messages) => {
                    failures = 0;
                    if messages.is_empty() {
                        continue;
                    }
                    let handler = self.handler.clone();
                    batches.spawn(async move {
                        handler.take(messages).await;
                        drop(slot);
                    });
                }
                Err(error) => {
                    drop(slot);
                    failures = failures.saturating_add(1);
                    let delay = Duration::from_millis(100 << failures.min(6));
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "fetching from the bus failed");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.cancelled() => break,
                    }
                }
            }
        }
        while batches.join_next().await.is_some() {}
    }
}

impl Handler {
    /// Stores a fetched batch: its events through ingest, the rest in the
    /// rejected log; acknowledges each message once its row committed.
    async fn take<M: SourceMessage>(&self, messages: Vec<M>) {
        let in_flight = self
            .metrics
            .bus_messages_in_flight
            .with_label_values::<&str>(&[]);
        let count = i64::try_from(messages.len()).unwrap_or(i64::MAX);
        in_flight.add(count);
        let mut events = Vec::with_capacity(messages.len());
        let mut carrying = Vec::with_capacity(messages.len());
        for message in messages {
            match parse_message(message.payload()) {
                Ok(event) => {
                    events.push(event);
                    carrying.push(message);
                }
                Err(problems) => self.reject(&message, &problems).await,
            }
        }
        if !events.is_empty() {
            match self.ingestor.ingest(events).await {
                Ok(outcomes) => {
                    for outcome in &outcomes {
                        let label = match outcome.status {
                            IngestStatus::Created => "created",
                            IngestStatus::Duplicate => "duplicate",
                        };
                        self.metrics.bus_messages.with_label_values(&[label]).inc();
                    }
                    for message in &carrying {
                        acknowledge(message).await;
                    }
                }
                Err(error) => {
                    tracing::warn!(
                        %error,
                        messages = carrying.len(),
                        "storing events from the bus failed; giving them back to the bus"
                    );
                    for message in &carrying {
                        if let Err(error) = message.nak().await {
                            tracing::warn!(%error, "giving a message back failed; it comes again after the ack wait");
                        }
                    }
                    // The slot stays taken a moment, so that a failing
                    // database is not hammered with the same messages.
                    tokio::time::sleep(FAILURE_PAUSE).await;
                }
            }
        }
        in_flight.sub(count);
    }

    /// Logs a message that is not an event, then acknowledges it.
    async fn reject<M: SourceMessage>(&self, message: &M, problems: &[FieldError]) {
        let reason = serde_json::to_string(problems).expect("field errors always serialise");
        let store_id = named_store(message.payload());
        let position = message.position();
        let rejected = NewRejectedMessage {
            store_id: store_id.as_deref(),
            source: self.source,
            subject: message.subject(),
            position: &position,
            reason: &reason,
            payload: message.payload(),
        };
        match self
            .db
            .insert_rejected(&rejected, self.clock.now_ms())
            .await
        {
            Ok(id) => {
                tracing::warn!(
                    rejected = %id,
                    subject = message.subject(),
                    %position,
                    %reason,
                    "a message from the bus is not an event; logged and acknowledged"
                );
                self.metrics
                    .bus_messages
                    .with_label_values(&["rejected"])
                    .inc();
                acknowledge(message).await;
            }
            Err(error) => tracing::warn!(
                %error,
                %position,
                "logging a rejected message failed; the bus will deliver it again"
            ),
        }
    }
}

async fn acknowledge<M: SourceMessage>(message: &M) {
    if let Err(error) = message.ack().await {
        // Stored already: the redelivery is a duplicate and stores nothing.
        tracing::warn!(%error, position = %message.position(), "acknowledging a message failed");
    }
}

/// Reads one message as an event: the envelope of `POST /v1/events`, one
/// event object per message. Every problem names its field (`<message>`
/// for the whole message).
pub fn parse_message(payload: &[u8]) -> Result<NewEvent, Vec<FieldError>> {
    let whole = |message: String| FieldError {
        field: "<message>".into(),
        message,
    };
    if payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(vec![whole(
            "a message carries one event object, not an array".into(),
        )]);
    }
    let mut events = parse_events(payload).map_err(|problems| {
        problems
            .into_iter()
            .map(|problem| match problem.field.as_str() {
                "<body>" => whole(
                    problem
                        .message
                        .replace("not a JSON event or array of events", "not a JSON event"),
                ),
                _ => problem,
            })
            .collect::<Vec<_>>()
    })?;
    Ok(events.remove(0))
}

/// The store a message names, if it is JSON with a plausible `store_id`.
fn named_store(payload: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(payload).ok()?;
    let store = value.get("store_id")?.as_str()?;
    (1..=100).contains(&store.len()).then(|| store.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"evt_1","type":"order.shipped","store_id":"s1","occurred_at":"2026-11-22T10:15:00Z","payload":{"a":1}}"#;

    fn fields(payload: &str) -> Vec<String> {
        parse_message(payload.as_bytes())
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn a_message_is_one_event_exactly_as_the_api_takes_it() {
        let event = parse_message(GOOD.as_bytes()).unwrap();
        assert_eq!(event.id, "evt_1");
        assert_eq!(event.store_id, "s1");
        assert_eq!(event.payload, r#"{"a":1}"#);
    }

    #[test]
    fn arrays_garbage_and_bad_fields_are_named() {
        assert_eq!(fields(&format!("[{GOOD}]")), ["<message>"]);
        assert_eq!(fields("not json"), ["<message>"]);
        let garbage = parse_message(b"not json").unwrap_err();
        assert!(
            garbage[0].message.starts_with("not a JSON event:"),
            "{garbage:?}"
        );
        assert_eq!(fields(&GOOD.replace("order.shipped", "Order")), ["type"]);
        assert_eq!(
            fields(&GOOD.replace("order.shipped", "webhook.delivered")),
            ["type"]
        );
    }

    #[test]
    fn the_store_is_read_from_a_rejected_message_when_it_names_one() {
        assert_eq!(
            named_store(GOOD.replace("order.shipped", "Order").as_bytes()),
            Some("s1".to_owned())
        );
        assert_eq!(named_store(b"not json"), None);
        assert_eq!(named_store(br#"{"store_id": 7}"#), None);
    }
}
