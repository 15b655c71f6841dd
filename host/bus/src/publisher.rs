//! The outbox publisher: Sluice's own outcomes, committed to the outbox by
//! the transactions that decided them, published on the bus.
//!
//! It claims a batch of outbox rows under a lease, publishes each with
//! JetStream's publish acknowledgement and the event id as `Nats-Msg-Id`,
//! and deletes the rows the bus acknowledged. A publisher that dies between
//! publishing and deleting leaves rows whose lease lapses; they are published
//! again and the stream's duplicate window drops the repeat, so each outcome
//! is in the stream once per id (at least once beyond that window).

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::{self, Context};
use sluice_core::SharedClock;
use sluice_metrics::Metrics;
use sluice_storage::{Db, OutboxMessage, OutboxSignal, StorageError};
use tokio_util::sync::CancellationToken;

use crate::config::PublishConfig;
use crate::source::BusError;

/// The header naming an outcome's event type.
pub const EVENT_TYPE_HEADER: &str = "Sluice-Event-Type";
/// The header naming an outcome's store.
pub const STORE_HEADER: &str = "Sluice-Store-Id";

/// Why a publishing round did not publish everything it claimed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The outbox could not be read or updated.
    #[error("the outbox: {0}")]
    Storage(#[from] StorageError),
    /// The bus refused or did not acknowledge a publication; the outcome
    /// stays in the outbox and is published after its lease lapses.
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Publishes the outbox on the bus.
pub struct OutboxPublisher {
    db: Db,
    jetstream: Context,
    config: PublishConfig,
    clock: SharedClock,
    metrics: Arc<Metrics>,
    signal: OutboxSignal,
}

impl OutboxPublisher {
    /// A publisher of `db`'s outbox (whose commits notify `signal`) through
    /// `client`, to `config.subject`.
    pub fn new(
        db: Db,
        client: async_nats::Client,
        config: PublishConfig,
        clock: SharedClock,
        metrics: Arc<Metrics>,
        signal: OutboxSignal,
    ) -> Self {
        Self {
            db,
            jetstream: jetstream::new(client),
            config,
            clock,
            metrics,
            signal,
        }
    }

    /// Publishes until `stop`: at once after each commit that wrote to the
    /// outbox, and every `poll_interval_ms` (on the injected clock) for rows
    /// another node or an earlier run left.
    pub async fn run(self, stop: CancellationToken) {
        let mut failures = 0u32;
        while !stop.is_cancelled() {
            let now = self.clock.now_ms();
            match self.publish_due().await {
                Ok(0) => {
                    failures = 0;
                    let poll = now.saturating_add(self.config.poll_interval_ms as i64);
                    tokio::select! {
                        _ = self.signal.notified() => {}
                        _ = self.clock.sleep_until(poll) => {}
                        _ = stop.cancelled() => {}
                    }
                }
                Ok(_) => failures = 0,
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = Duration::from_millis(100 << failures.min(6));
                    tracing::warn!(%error, retry_in_ms = delay.as_millis() as u64, "publishing outcomes failed");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.cancelled() => {}
                    }
                }
            }
        }
    }

    /// One round: claims up to a batch of outcomes no publisher holds,
    /// publishes them and deletes those the bus acknowledged. Returns how
    /// many were published; an error when some were not (they wait for
    /// their lease to lapse).
    pub async fn publish_due(&self) -> Result<usize, PublishError> {
        let claimed = self
            .db
            .claim_outbox(self.clock.now_ms(), self.config.lease(), self.config.batch)
            .await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let (acknowledged, failure) = self.publish(&claimed).await;
        self.db.delete_outbox(&acknowledged).await?;
        match failure {
            Some(error) => Err(error.into()),
            None => Ok(acknowledged.len()),
        }
    }

    /// Publishes `messages` in order, each with the event id as
    /// `Nats-Msg-Id`, and waits for the bus's acknowledgements. Returns the
    /// outbox positions acknowledged (as new or as a duplicate the stream
    /// already had) and the first failure, if any. Deletes nothing.
    pub async fn publish(&self, messages: &[OutboxMessage]) -> (Vec<i64>, Option<BusError>) {
        let subject = self.config.subject.as_str();
        let mut pending = Vec::with_capacity(messages.len());
        let mut failure = None;
        for message in messages {
            let publication = PublishMessage::build()
                .payload(message.body.clone().into())
                .message_id(&message.event_id)
                .header(EVENT_TYPE_HEADER, message.event_type.as_str())
                .header(STORE_HEADER, message.store_id.as_str());
            match self
                .jetstream
                .send_publish(subject.to_owned(), publication)
                .await
            {
                Ok(acknowledgement) => pending.push((message.seq, acknowledgement)),
                Err(error) => {
                    failure = Some(BusError::new(format!("publishing to {subject}"), error));
                    break;
                }
            }
        }
        let mut acknowledged = Vec::with_capacity(pending.len());
        for (seq, acknowledgement) in pending {
            match acknowledgement.await {
                Ok(ack) => {
                    let result = if ack.duplicate {
                        "duplicate"
                    } else {
                        "published"
                    };
                    self.metrics
                        .bus_outcomes_published
                        .with_label_values(&[result])
                        .inc();
                    acknowledged.push(seq);
                }
                Err(error) => {
                    failure.get_or_insert_with(|| {
                        BusError::new(
                            format!("awaiting the acknowledgement from {subject}"),
                            error,
                        )
                    });
                }
            }
        }
        (acknowledged, failure)
    }
}
