//! NATS JetStream: connecting, the durable pull consumer the intake reads,
//! and the context the outbox publisher publishes through.

use std::time::Duration;

use async_nats::jetstream::consumer::pull::{self, Batch};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{self, AckKind, Message};
use futures::StreamExt;
use tokio::time::Instant;

use crate::config::ConsumeConfig;
use crate::source::{BusError, MessageSource, SourceMessage};

/// Extra time given to the server past a pull's own expiry.
const PULL_GRACE: Duration = Duration::from_secs(5);

/// Connects to the NATS server(s) at `url` (comma-separated for several).
pub async fn connect(url: &str) -> Result<async_nats::Client, BusError> {
    async_nats::ConnectOptions::new()
        .name("sluice")
        .connect(url)
        .await
        .map_err(|error| BusError::new(format!("bus.url: cannot connect to {url}"), error))
}

/// A durable JetStream pull consumer as a [`MessageSource`].
pub struct JetStreamSource {
    consumer: PullConsumer,
    max_wait: Duration,
}

impl JetStreamSource {
    /// Creates (or updates the settings of) the durable consumer
    /// `config.durable` of `config.subject` on the existing stream
    /// `config.stream`, acknowledged message by message, starting with the
    /// stream's first message the first time.
    pub async fn bind(
        client: &async_nats::Client,
        config: &ConsumeConfig,
    ) -> Result<Self, BusError> {
        let context = jetstream::new(client.clone());
        let stream = context.get_stream(&config.stream).await.map_err(|error| {
            BusError::new(
                format!(
                    "bus.consume.stream: cannot open the JetStream stream {:?} (it must exist and capture {:?})",
                    config.stream, config.subject
                ),
                error,
            )
        })?;
        let consumer: PullConsumer = stream
            .create_consumer(pull::Config {
                durable_name: Some(config.durable.clone()),
                description: Some("Sluice: platform events into ingest".into()),
                filter_subject: config.subject.clone(),
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::Explicit,
                ack_wait: config.ack_wait(),
                ..Default::default()
            })
            .await
            .map_err(|error| {
                BusError::new(
                    format!(
                        "bus.consume.durable: cannot create the consumer {:?} of {:?} on stream {:?}",
                        config.durable, config.subject, config.stream
                    ),
                    error,
                )
            })?;
        Ok(Self {
            consumer,
            max_wait: config.max_wait(),
        })
    }

    /// Sends one pull request and gathers what it brings until it ends or
    /// `deadline`. Messages gathered before an error are kept; they are
    /// delivered to this node already.
    async fn gather(
        &self,
        request: Result<Batch, pull::BatchError>,
        deadline: Instant,
    ) -> Result<Vec<JetStreamMessage>, BusError> {
        let what = || {
            format!(
                "pulling from the consumer {:?}",
                self.consumer.cached_info().name
            )
        };
        let mut batch = request.map_err(|error| BusError::new(what(), error))?;
        let mut messages = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, batch.next()).await {
                Ok(Some(Ok(message))) => messages.push(JetStreamMessage(message)),
                Ok(None) | Err(_) => return Ok(messages),
                Ok(Some(Err(error))) if messages.is_empty() => {
                    return Err(BusError::new(what(), error));
                }
                Ok(Some(Err(error))) => {
                    tracing::warn!(%error, "a pull ended early");
                    return Ok(messages);
                }
            }
        }
    }
}

impl MessageSource for JetStreamSource {
    type Message = JetStreamMessage;

    fn name(&self) -> &'static str {
        "nats"
    }

    /// Takes what the consumer has now (up to `max`); when it has nothing,
    /// waits up to `max_wait` for a first message and then takes what else
    /// came with it. Never asks the server for more than `max`.
    async fn fetch(&mut self, max: usize) -> Result<Vec<JetStreamMessage>, BusError> {
        let now = Instant::now();
        let mut messages = self
            .gather(
                self.consumer.fetch().max_messages(max).messages().await,
                now + PULL_GRACE,
            )
            .await?;
        if messages.is_empty() {
            let deadline = Instant::now() + self.max_wait + PULL_GRACE;
            messages = self
                .gather(
                    self.consumer
                        .batch()
                        .max_messages(1)
                        .expires(self.max_wait)
                        .messages()
                        .await,
                    deadline,
                )
                .await?;
            if !messages.is_empty() && max > 1 {
                let rest = self
                    .gather(
                        self.consumer.fetch().max_messages(max - 1).messages().await,
                        Instant::now() + PULL_GRACE,
                    )
                    .await;
                match rest {
                    Ok(rest) => messages.extend(rest),
                    Err(error) => tracing::warn!(%error, "pulling the rest of a batch failed"),
                }
            }
        }
        Ok(messages)
    }
}

/// A message of a [`JetStreamSource`].
pub struct JetStreamMessage(Message);

impl SourceMessage for JetStreamMessage {
    fn payload(&self) -> &[u8] {
        &self.0.message.payload
    }

    fn subject(&self) -> &str {
        self.0.message.subject.as_str()
    }

    fn position(&self) -> String {
        match self.0.info() {
            Ok(info) => format!(
                "stream {} sequence {} (delivery {})",
                info.stream, info.stream_sequence, info.delivered
            ),
            Err(_) => "not from a stream".to_owned(),
        }
    }

    async fn ack(&self) -> Result<(), BusError> {
        self.0
            .ack()
            .await
            .map_err(|error| BusError::new(format!("acknowledging {}", self.position()), error))
    }

    async fn nak(&self) -> Result<(), BusError> {
        self.0
            .ack_with(AckKind::Nak(None))
            .await
            .map_err(|error| BusError::new(format!("giving back {}", self.position()), error))
    }
}
