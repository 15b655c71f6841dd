//! The platform's message bus, in and out.
//!
//! - In: [`Intake`] takes messages from a [`MessageSource`] (today
//!   [`JetStreamSource`], a durable JetStream pull consumer), stores each
//!   event through [`sluice_events::Ingestor::ingest`] and acknowledges the
//!   message only after that transaction committed. A message that is not an
//!   event goes to the rejected-message log (`sluice_storage::bus`) and is
//!   then acknowledged. Another bus plugs in by implementing
//!   [`MessageSource`] and [`SourceMessage`]; ingest does not change.
//! - Out: [`OutboxPublisher`] publishes Sluice's own outcomes, which the
//!   transactions deciding them wrote to the outbox, with JetStream's
//!   publish acknowledgement and the event id as `Nats-Msg-Id`.
//! - [`Bus`] starts both as [`BusConfig`] says, and stops them.

mod config;
mod intake;
mod jetstream;
mod publisher;
mod source;

use std::sync::Arc;

use sluice_core::SharedClock;
use sluice_events::Ingestor;
use sluice_metrics::Metrics;
use sluice_storage::Db;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{BusConfig, ConsumeConfig, PublishConfig};
pub use intake::{Intake, IntakeLimits, parse_message};
pub use jetstream::{JetStreamMessage, JetStreamSource, connect};
pub use publisher::{EVENT_TYPE_HEADER, OutboxPublisher, PublishError, STORE_HEADER};
pub use source::{BusError, MessageSource, SourceMessage};

/// What the bus works with: the service's database, ingest, clock and metrics.
pub struct BusParts {
    /// The database; its outbox must be on ([`Db::enable_outbox`]) when
    /// outcomes are published.
    pub db: Db,
    /// Ingest, which stores and fans out what is consumed.
    pub ingestor: Ingestor,
    /// The clock of every "now".
    pub clock: SharedClock,
    /// The process's metrics.
    pub metrics: Arc<Metrics>,
}

struct Task {
    stop: CancellationToken,
    handle: JoinHandle<()>,
}

impl Task {
    fn spawn<F: Future<Output = ()> + Send + 'static>(
        run: impl FnOnce(CancellationToken) -> F,
    ) -> Self {
        let stop = CancellationToken::new();
        let handle = tokio::spawn(run(stop.clone()));
        Self { stop, handle }
    }

    async fn stop(self, what: &str) {
        self.stop.cancel();
        if let Err(error) = self.handle.await {
            tracing::error!(%error, "the bus {what} ended abnormally");
        }
    }
}

/// The running bus of this node: the intake and the outbox publisher, each
/// when configured.
pub struct Bus {
    intake: Option<Task>,
    publisher: Option<Task>,
}

impl Bus {
    /// Connects to the bus and starts what `config` turns on; `None` when it
    /// turns nothing on. Fails, naming the setting, when the server cannot
    /// be reached, the stream does not exist, or publishing is configured
    /// while `parts.db`'s outbox is off.
    pub async fn start(config: &BusConfig, parts: BusParts) -> Result<Option<Self>, BusError> {
        let Some(url) = config.url.as_deref().filter(|_| config.is_on()) else {
            return Ok(None);
        };
        let client = connect(url).await?;
        let intake = match &config.consume {
            Some(consume) => {
                let source = JetStreamSource::bind(&client, consume).await?;
                let intake = Intake::new(
                    source,
                    IntakeLimits {
                        batch: consume.batch,
                        max_in_flight_batches: consume.max_in_flight_batches,
                    },
                    parts.ingestor.clone(),
                    parts.db.clone(),
                    parts.clock.clone(),
                    parts.metrics.clone(),
                );
                tracing::info!(stream = %consume.stream, subject = %consume.subject, durable = %consume.durable, "consuming platform events from the bus");
                Some(Task::spawn(|stop| intake.run(stop)))
            }
            None => None,
        };
        let publisher = match &config.publish {
            Some(publish) => {
                let signal = parts.db.outbox_signal().cloned().ok_or_else(|| {
                    BusError::new(
                        "bus.publish",
                        "the database's outbox is off, so no outcome would reach it",
                    )
                })?;
                let publisher = OutboxPublisher::new(
                    parts.db.clone(),
                    client.clone(),
                    publish.clone(),
                    parts.clock.clone(),
                    parts.metrics.clone(),
                    signal,
                );
                tracing::info!(subject = %publish.subject, "publishing outcomes on the bus");
                Some(Task::spawn(|stop| publisher.run(stop)))
            }
            None => None,
        };
        Ok(Some(Self { intake, publisher }))
    }

    /// Stops fetching, and returns once the batches being stored are stored
    /// and acknowledged.
    pub async fn stop_consuming(&mut self) {
        if let Some(intake) = self.intake.take() {
            intake.stop("intake").await;
        }
    }

    /// Stops consuming, then publishing; outcomes still in the outbox are
    /// published after the next start (or by another node).
    pub async fn shutdown(mut self) {
        self.stop_consuming().await;
        if let Some(publisher) = self.publisher.take() {
            publisher.stop("publisher").await;
        }
    }
}
