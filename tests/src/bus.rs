//! The real NATS JetStream server for end-to-end tests: a pair of streams of
//! one test's own (platform events in, Sluice's outcomes out), the service
//! configuration that points at them, and ways to publish and look.
//!
//! The server is at `127.0.0.1:4222` (`.ci/run` starts it) unless
//! `SLUICE_TEST_NATS_URL` says otherwise.

use std::time::Duration;

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::{self, stream};
use futures::StreamExt;
use serde_json::Value;
use sluice_bus::{BusConfig, ConsumeConfig, PublishConfig};

/// Where the test NATS server is, unless `SLUICE_TEST_NATS_URL` says otherwise.
pub const DEFAULT_NATS_URL: &str = "nats://127.0.0.1:4222";

/// One test's streams on the test NATS server.
pub struct TestBus {
    /// The server's URL.
    pub url: String,
    /// Unique per test: the streams' names start with it and it is the
    /// subjects' first token.
    pub name: String,
    jetstream: jetstream::Context,
}

/// A message of the outcome stream.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Its `Nats-Msg-Id`.
    pub msg_id: String,
    /// Its `Sluice-Event-Type` header.
    pub event_type: String,
    /// The body, the event envelope.
    pub body: Value,
}

impl TestBus {
    /// Connects and creates this test's event stream; the outcome stream
    /// too when `with_outcome_stream` (tests of a bus that refuses
    /// publications create it later with [`TestBus::create_outcome_stream`]).
    pub async fn start(with_outcome_stream: bool) -> Self {
        let url = std::env::var("SLUICE_TEST_NATS_URL").unwrap_or_else(|_| DEFAULT_NATS_URL.into());
        let client = match tokio::time::timeout(Duration::from_secs(10), sluice_bus::connect(&url))
            .await
        {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => panic!(
                "NATS is unreachable at {url}: {error}. The bus tests need a JetStream server (.ci/run starts one)"
            ),
            Err(_) => panic!("NATS at {url} did not answer within 10 s"),
        };
        let bus = Self {
            url,
            name: sluice_core::new_id("e2e"),
            jetstream: jetstream::new(client),
        };
        bus.create_stream("events", &format!("{}.events.>", bus.name))
            .await;
        if with_outcome_stream {
            bus.create_outcome_stream().await;
        }
        bus
    }

    async fn create_stream(&self, suffix: &str, subject: &str) {
        self.jetstream
            .create_stream(stream::Config {
                name: format!("{}_{suffix}", self.name),
                subjects: vec![subject.to_owned()],
                // Gone on their own even if a test dies before cleaning up.
                max_age: Duration::from_secs(600),
                ..Default::default()
            })
            .await
            .expect("create a test stream");
    }

    /// Creates the stream capturing the outcome subject.
    pub async fn create_outcome_stream(&self) {
        self.create_stream("outcomes", &self.outcome_subject())
            .await;
    }

    /// The subject outcomes are published to.
    pub fn outcome_subject(&self) -> String {
        format!("{}.outcomes", self.name)
    }

    /// The service's `[bus]`: consume this test's events (1 s ack wait,
    /// short idle pulls) and publish outcomes to its outcome subject.
    pub fn config(&self) -> BusConfig {
        BusConfig {
            url: Some(self.url.clone()),
            consume: Some(ConsumeConfig {
                ack_wait_ms: 1_000,
                max_wait_ms: 200,
                ..ConsumeConfig::new(
                    format!("{}_events", self.name),
                    format!("{}.events.>", self.name),
                )
            }),
            publish: Some(PublishConfig::new(self.outcome_subject())),
        }
    }

    /// Publishes `body` on `<name>.events.orders` and waits for the
    /// stream's acknowledgement.
    pub async fn publish(&self, body: impl Into<Vec<u8>>) {
        self.jetstream
            .publish(format!("{}.events.orders", self.name), body.into().into())
            .await
            .expect("publish")
            .await
            .expect("the stream acknowledges");
    }

    /// Publishes every body as [`TestBus::publish`] does, with many in
    /// flight at once; returns once the stream acknowledged them all.
    pub async fn publish_all(&self, bodies: impl IntoIterator<Item = Vec<u8>>) {
        futures::stream::iter(bodies)
            .map(|body| self.publish(body))
            .buffer_unordered(256)
            .collect::<Vec<()>>()
            .await;
    }

    /// The consumer `durable` of the event stream, as the server sees it.
    pub async fn consumer(&self, durable: &str) -> async_nats::jetstream::consumer::Info {
        self.jetstream
            .get_stream(format!("{}_events", self.name))
            .await
            .expect("the event stream")
            .consumer_info(durable)
            .await
            .expect("the consumer")
    }

    /// Every message of the outcome stream, in order.
    pub async fn outcomes(&self) -> Vec<Outcome> {
        let Ok(stream) = self
            .jetstream
            .get_stream(format!("{}_outcomes", self.name))
            .await
        else {
            return Vec::new();
        };
        let consumer = stream
            .create_consumer(pull::Config {
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::None,
                ..Default::default()
            })
            .await
            .expect("an ephemeral consumer");
        let mut batch = consumer
            .fetch()
            .max_messages(10_000)
            .messages()
            .await
            .expect("fetch");
        let mut found = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.expect("a message");
            let header = |name: &str| {
                message
                    .headers
                    .as_ref()
                    .and_then(|headers| headers.get(name))
                    .map(|value| value.as_str().to_owned())
                    .unwrap_or_default()
            };
            found.push(Outcome {
                msg_id: header("Nats-Msg-Id"),
                event_type: header(sluice_bus::EVENT_TYPE_HEADER),
                body: serde_json::from_slice(&message.payload).expect("a JSON body"),
            });
        }
        found
    }

    /// Deletes the streams.
    pub async fn delete(self) {
        for suffix in ["events", "outcomes"] {
            let _ = self
                .jetstream
                .delete_stream(format!("{}_{suffix}", self.name))
                .await;
        }
    }
}
