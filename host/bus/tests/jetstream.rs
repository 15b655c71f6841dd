//! The intake and the outbox publisher against the real NATS JetStream
//! server (`.ci/run` starts one on 127.0.0.1:4222; `SLUICE_TEST_NATS_URL`
//! points elsewhere) and a real SQLite database. Every test has streams of
//! its own, so they run in parallel.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, pull};
use async_nats::jetstream::{self, stream};
use futures::StreamExt;
use serde_json::{Value, json};
use sluice_bus::{
    ConsumeConfig, Intake, IntakeLimits, JetStreamSource, MessageSource, OutboxPublisher,
    PublishConfig, SourceMessage, parse_message,
};
use sluice_core::{Clock as _, ManualClock, SharedClock, new_id};
use sluice_events::Ingestor;
use sluice_metrics::Metrics;
use sluice_secrets::{MasterKey, SecretBox};
use sluice_storage::{
    Circuits, Db, EventSource, IngestStatus, NewEvent, NewWebhookSubscription, Verdict,
};
use sqlx::Connection;
use tokio_util::sync::CancellationToken;

const NATS_URL_ENV: &str = "SLUICE_TEST_NATS_URL";

/// A database, ingest and a pair of streams (events in, outcomes out) of
/// one test.
struct Fixture {
    jetstream: jetstream::Context,
    client: async_nats::Client,
    /// Unique per test: the stream names and the subjects' first token.
    name: String,
    db: Db,
    url: String,
    ingestor: Ingestor,
    clock: Arc<ManualClock>,
    metrics: Arc<Metrics>,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Self {
        let url = std::env::var(NATS_URL_ENV).unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
        let client = match tokio::time::timeout(Duration::from_secs(10), sluice_bus::connect(&url))
            .await
        {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => panic!(
                "NATS is unreachable at {url}: {error}. The bus tests need a JetStream server (.ci/run starts one; {NATS_URL_ENV} points elsewhere)"
            ),
            Err(_) => panic!("NATS at {url} did not answer within 10 s"),
        };
        let jetstream = jetstream::new(client.clone());
        let name = new_id("bus");
        for (stream, subject) in [
            (format!("{name}_events"), format!("{name}.events.>")),
            (format!("{name}_outcomes"), format!("{name}.outcomes")),
        ] {
            jetstream
                .create_stream(stream::Config {
                    name: stream,
                    subjects: vec![subject],
                    // Gone on their own even if a test dies before cleaning up.
                    max_age: Duration::from_secs(600),
                    ..Default::default()
                })
                .await
                .expect("create a test stream");
        }
        let dir = tempfile::tempdir().unwrap();
        let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        let db = Db::connect(&db_url, SecretBox::new(&MasterKey::generate()))
            .await
            .unwrap();
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let metrics = Arc::new(Metrics::new());
        let ingestor = Ingestor::start(db.clone(), clock.clone(), metrics.clone(), Box::new(|| {}));
        Self {
            jetstream,
            client,
            name,
            db,
            url: db_url,
            ingestor,
            clock,
            metrics,
            _dir: dir,
        }
    }

    fn consume(&self) -> ConsumeConfig {
        ConsumeConfig {
            ack_wait_ms: 1_000,
            max_wait_ms: 200,
            ..ConsumeConfig::new(
                format!("{}_events", self.name),
                format!("{}.events.>", self.name),
            )
        }
    }

    async fn source(&self, consume: &ConsumeConfig) -> JetStreamSource {
        JetStreamSource::bind(&self.client, consume).await.unwrap()
    }

    /// Starts an intake of `consume`; stop it with the token.
    async fn intake(
        &self,
        consume: &ConsumeConfig,
    ) -> (CancellationToken, tokio::task::JoinHandle<()>) {
        let intake = Intake::new(
            self.source(consume).await,
            IntakeLimits {
                batch: consume.batch,
                max_in_flight_batches: consume.max_in_flight_batches,
            },
            self.ingestor.clone(),
            self.db.clone(),
            self.clock.clone() as SharedClock,
            self.metrics.clone(),
        );
        let stop = CancellationToken::new();
        let task = tokio::spawn(intake.run(stop.clone()));
        (stop, task)
    }

    async fn publish(&self, body: impl Into<Vec<u8>>) {
        self.jetstream
            .publish(format!("{}.events.orders", self.name), body.into().into())
            .await
            .unwrap()
            .await
            .expect("the stream acknowledges");
    }

    async fn consumer_info(&self, durable: &str) -> async_nats::jetstream::consumer::Info {
        self.jetstream
            .get_stream(format!("{}_events", self.name))
            .await
            .unwrap()
            .consumer_info(durable)
            .await
            .unwrap()
    }

    /// Waits (real time, at most 20 s) until the durable consumer has
    /// acknowledged the stream up to `sequence` and holds nothing.
    async fn wait_acknowledged(&self, durable: &str, sequence: u64) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let info = self.consumer_info(durable).await;
            if info.ack_floor.stream_sequence >= sequence && info.num_ack_pending == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not acknowledged up to {sequence}: {info:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn counted(&self, outcome: &str) -> u64 {
        self.metrics
            .bus_messages
            .with_label_values(&[outcome])
            .get()
    }

    /// Every message of the outcome stream: (Nats-Msg-Id, body).
    async fn outcomes(&self) -> Vec<(String, Value)> {
        let consumer = self
            .jetstream
            .get_stream(format!("{}_outcomes", self.name))
            .await
            .unwrap()
            .create_consumer(pull::Config {
                deliver_policy: DeliverPolicy::All,
                ack_policy: AckPolicy::None,
                ..Default::default()
            })
            .await
            .unwrap();
        let mut batch = consumer
            .fetch()
            .max_messages(1_000)
            .messages()
            .await
            .unwrap();
        let mut found = Vec::new();
        while let Some(message) = batch.next().await {
            let message = message.unwrap();
            let id = message
                .headers
                .as_ref()
                .and_then(|headers| headers.get("Nats-Msg-Id"))
                .map(|value| value.as_str().to_owned())
                .unwrap_or_default();
            found.push((id, serde_json::from_slice(&message.payload).unwrap()));
        }
        found
    }

    async fn cleanup(self) {
        for suffix in ["events", "outcomes"] {
            let _ = self
                .jetstream
                .delete_stream(format!("{}_{suffix}", self.name))
                .await;
        }
        self.db.close().await;
    }
}

fn order(id: &str) -> String {
    json!({
        "id": id, "type": "order.cancelled", "store_id": "store_a",
        "occurred_at": "2026-11-30T10:00:00Z", "payload": {"order_id": id},
    })
    .to_string()
}

async fn subscribe(db: &Db) {
    db.create_webhook_subscription(
        "store_a",
        &NewWebhookSubscription {
            name: "orders".into(),
            url: "https://example.com/hooks".into(),
            event_types: vec![sluice_core::EventTypePattern::parse("order.*").unwrap()],
            signing_secret: sluice_secrets::SecretString::new("whsec_first"),
            rate_limit_per_second: None,
        },
        1_700_000_000_000,
    )
    .await
    .unwrap();
}

async fn pending_deliveries(db: &Db) -> u64 {
    db.count_deliveries()
        .await
        .unwrap()
        .iter()
        .map(|(_, _, count)| *count)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_stored_but_not_acknowledged_comes_again_and_is_stored_once() {
    let fixture = Fixture::new().await;
    subscribe(&fixture.db).await;
    let consume = fixture.consume();
    fixture.publish(order("evt_1")).await;

    // A node takes the message and commits its event, then dies before
    // acknowledging it.
    let mut dying = fixture.source(&consume).await;
    let fetched = dying.fetch(10).await.unwrap();
    assert_eq!(fetched.len(), 1);
    let event = parse_message(fetched[0].payload()).unwrap();
    let stored = fixture.ingestor.ingest(vec![event]).await.unwrap();
    assert_eq!(stored[0].status, IngestStatus::Created);
    drop((fetched, dying));
    assert_eq!(
        fixture
            .consumer_info(&consume.durable)
            .await
            .ack_floor
            .stream_sequence,
        0
    );

    // The next node gets it again once the ack wait lapses: a duplicate.
    let (stop, task) = fixture.intake(&consume).await;
    fixture.wait_acknowledged(&consume.durable, 1).await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(
        fixture.counted("duplicate"),
        1,
        "delivered again, known already"
    );
    assert_eq!(fixture.counted("created"), 0);
    assert_eq!(pending_deliveries(&fixture.db).await, 1, "fanned out once");
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_is_acknowledged_only_after_its_transaction_committed() {
    let fixture = Fixture::new().await;
    let consume = fixture.consume();
    // Another connection holds SQLite's write lock: ingest's transaction
    // waits for it.
    let mut blocker = sqlx::AnyConnection::connect(&fixture.url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let (stop, task) = fixture.intake(&consume).await;
    fixture.publish(order("evt_1")).await;

    let deadline = Instant::now() + Duration::from_secs(10);
    while fixture
        .consumer_info(&consume.durable)
        .await
        .num_ack_pending
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "the intake never took the message"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let info = fixture.consumer_info(&consume.durable).await;
    assert_eq!(
        info.ack_floor.stream_sequence, 0,
        "not acknowledged before the commit"
    );
    assert!(fixture.db.get_event("store_a", "evt_1").await.is_err());

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    fixture.wait_acknowledged(&consume.durable, 1).await;
    assert!(fixture.db.get_event("store_a", "evt_1").await.is_ok());
    stop.cancel();
    task.await.unwrap();
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_published_twice_is_stored_once() {
    let fixture = Fixture::new().await;
    subscribe(&fixture.db).await;
    let consume = fixture.consume();
    for body in [order("evt_1"), order("evt_2"), order("evt_1")] {
        fixture.publish(body).await;
    }
    let (stop, task) = fixture.intake(&consume).await;
    fixture.wait_acknowledged(&consume.durable, 3).await;
    stop.cancel();
    task.await.unwrap();
    assert_eq!(fixture.counted("created"), 2);
    assert_eq!(fixture.counted("duplicate"), 1);
    assert_eq!(pending_deliveries(&fixture.db).await, 2);
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_is_logged_with_its_reason_and_acknowledged() {
    let fixture = Fixture::new().await;
    let consume = fixture.consume();
    fixture.publish("not json at all").await;
    fixture
        .publish(order("evt_1").replace("order.cancelled", "Order"))
        .await;
    fixture.publish(format!("[{}]", order("evt_2"))).await;
    fixture.publish(order("evt_3")).await;
    let (stop, task) = fixture.intake(&consume).await;
    fixture.wait_acknowledged(&consume.durable, 4).await;
    stop.cancel();
    task.await.unwrap();

    let rejected = fixture.db.list_rejected(None, None, 10).await.unwrap();
    assert_eq!(rejected.len(), 3);
    let reasons: Vec<Value> = rejected
        .iter()
        .rev()
        .map(|r| serde_json::from_str(&r.reason).unwrap())
        .collect();
    assert_eq!(reasons[0][0]["field"], "<message>");
    assert_eq!(reasons[1][0]["field"], "type");
    assert!(
        reasons[2][0]["message"]
            .as_str()
            .unwrap()
            .contains("not an array")
    );
    let oldest = rejected.last().unwrap();
    assert_eq!(oldest.payload, b"not json at all");
    assert_eq!(oldest.subject, format!("{}.events.orders", fixture.name));
    assert!(
        oldest.position.contains("sequence 1"),
        "{}",
        oldest.position
    );
    assert_eq!(
        oldest.rejected_at, 1_700_000_000_000,
        "on the injected clock"
    );
    assert_eq!(rejected[1].store_id.as_deref(), Some("store_a"));
    assert_eq!(fixture.counted("rejected"), 3);
    assert_eq!(fixture.counted("created"), 1);
    // Acknowledged, so never delivered again.
    let info = fixture.consumer_info(&consume.durable).await;
    assert_eq!((info.num_ack_pending, info.num_pending), (0, 0));
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_database_bounds_the_messages_pulled_and_unacknowledged() {
    let fixture = Fixture::new().await;
    let consume = ConsumeConfig {
        batch: 5,
        max_in_flight_batches: 2,
        ack_wait_ms: 30_000,
        ..fixture.consume()
    };
    let bound = consume.batch * consume.max_in_flight_batches;
    for i in 0..100 {
        fixture.publish(order(&format!("evt_{i}"))).await;
    }
    let mut blocker = sqlx::AnyConnection::connect(&fixture.url).await.unwrap();
    sqlx::raw_sql("BEGIN IMMEDIATE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let (stop, task) = fixture.intake(&consume).await;

    // While the database does not commit, the node holds at most its bound.
    let mut most = 0;
    for _ in 0..30 {
        let info = fixture.consumer_info(&consume.durable).await;
        most = most.max(info.num_ack_pending);
        assert!(
            info.num_ack_pending <= bound,
            "{} unacknowledged: {info:?}",
            info.num_ack_pending
        );
        assert_eq!(info.ack_floor.stream_sequence, 0);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(most > 0, "the intake took nothing");
    let in_flight = fixture
        .metrics
        .bus_messages_in_flight
        .with_label_values::<&str>(&[])
        .get();
    assert!(in_flight as usize <= bound, "{in_flight} in flight");

    sqlx::raw_sql("ROLLBACK")
        .execute(&mut blocker)
        .await
        .unwrap();
    fixture.wait_acknowledged(&consume.durable, 100).await;
    stop.cancel();
    task.await.unwrap();
    for i in [0, 50, 99] {
        assert!(
            fixture
                .db
                .get_event("store_a", &format!("evt_{i}"))
                .await
                .is_ok()
        );
    }
    assert_eq!(fixture.counted("created"), 100);
    fixture.cleanup().await;
}

/// Commits `count` delivered outcomes (`webhook.delivered`) to the outbox.
async fn commit_outcomes(db: &Db, count: usize) -> Vec<String> {
    subscribe(db).await;
    let events: Vec<NewEvent> = (0..count)
        .map(|i| NewEvent {
            store_id: "store_a".into(),
            id: format!("evt_{i}"),
            event_type: "order.placed".into(),
            occurred_at: 1_700_000_000_000,
            payload: "{}".into(),
            source: EventSource::Api,
        })
        .collect();
    db.ingest(&events, 1_700_000_000_000).await.unwrap();
    let claimed = db
        .claim_due(1_700_000_000_000, count, count, Duration::from_secs(60))
        .await
        .unwrap();
    let mut results = Vec::new();
    let mut outcomes = Vec::new();
    for claim in &claimed {
        let id = format!("{}.delivered", claim.delivery.id);
        outcomes.push(NewEvent {
            store_id: "store_a".into(),
            id: id.clone(),
            event_type: "webhook.delivered".into(),
            occurred_at: 1_700_000_000_000,
            payload: json!({"delivery_id": claim.delivery.id}).to_string(),
            source: EventSource::System,
        });
        results.push(sluice_storage::AttemptResult {
            lease: claim.lease.clone(),
            verdict: Verdict::Delivered { external_id: None },
            attempt: sluice_storage::AttemptRecord {
                trigger: claim.delivery.next_trigger,
                started_at: 1_700_000_000_000,
                duration_ms: 1,
                http_status: Some(200),
                request_url: None,
                request_headers: None,
                response_body: None,
                error: None,
                report: None,
                connector_version: None,
                component_digest: None,
            },
            signal: sluice_storage::TargetSignal::Neutral,
        });
    }
    db.complete(&results, &outcomes, &Circuits::default(), 1_700_000_000_001)
        .await
        .unwrap();
    outcomes.into_iter().map(|event| event.id).collect()
}

impl Fixture {
    fn publisher(&self, db: &Db, subject: String) -> OutboxPublisher {
        OutboxPublisher::new(
            db.clone(),
            self.client.clone(),
            PublishConfig::new(subject),
            self.clock.clone() as SharedClock,
            self.metrics.clone(),
            db.outbox_signal().cloned().expect("the outbox is on"),
        )
    }

    fn published(&self, result: &str) -> u64 {
        self.metrics
            .bus_outcomes_published
            .with_label_values(&[result])
            .get()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outcome_published_again_after_a_publisher_died_is_in_the_stream_once() {
    let fixture = Fixture::new().await;
    let mut db = fixture.db.clone();
    db.enable_outbox();
    let ids = commit_outcomes(&db, 3).await;
    let publisher = fixture.publisher(&db, format!("{}.outcomes", fixture.name));

    // A publisher publishes, then dies before deleting the rows.
    let lease = PublishConfig::new("x").lease();
    let claimed = db
        .claim_outbox(fixture.clock.now_ms(), lease, 10)
        .await
        .unwrap();
    let (acknowledged, failure) = publisher.publish(&claimed).await;
    assert!(failure.is_none(), "{failure:?}");
    assert_eq!(acknowledged.len(), 3);
    assert_eq!(db.outbox_backlog().await.unwrap(), 3);

    // Its lease lapses; another round publishes them again.
    assert_eq!(publisher.publish_due().await.unwrap(), 0, "still leased");
    fixture.clock.advance(lease);
    assert_eq!(publisher.publish_due().await.unwrap(), 3);
    assert_eq!(db.outbox_backlog().await.unwrap(), 0);
    assert_eq!(fixture.published("published"), 3);
    assert_eq!(
        fixture.published("duplicate"),
        3,
        "the stream dropped the repeats"
    );

    let outcomes = fixture.outcomes().await;
    let published: Vec<&str> = outcomes.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        published,
        ids.iter().map(String::as_str).collect::<Vec<_>>()
    );
    for (id, body) in &outcomes {
        assert_eq!(body["id"], id.as_str());
        assert_eq!(body["type"], "webhook.delivered");
        assert_eq!(body["store_id"], "store_a");
    }
    fixture.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_wait_in_the_outbox_until_the_bus_takes_them() {
    let fixture = Fixture::new().await;
    let mut db = fixture.db.clone();
    db.enable_outbox();
    commit_outcomes(&db, 2).await;

    // No stream captures this subject: the bus refuses, nothing is lost.
    let refused = fixture.publisher(&db, format!("{}.nowhere", fixture.name));
    assert!(refused.publish_due().await.is_err());
    assert_eq!(db.outbox_backlog().await.unwrap(), 2);

    // A publisher started later (after a restart, with the stream there)
    // takes them once their lease lapsed; its run loop is woken by the
    // next commit too.
    let publisher = fixture.publisher(&db, format!("{}.outcomes", fixture.name));
    let stop = CancellationToken::new();
    let task = tokio::spawn(publisher.run(stop.clone()));
    fixture.clock.advance(PublishConfig::new("x").lease());
    let deadline = Instant::now() + Duration::from_secs(20);
    while fixture.outcomes().await.len() < 2 {
        assert!(
            Instant::now() < deadline,
            "the outcomes were never published"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A new commit wakes the publisher without any time passing.
    let circuit = NewEvent {
        store_id: "store_a".into(),
        id: "whk_1.circuit_opened.1".into(),
        event_type: "webhook.circuit_opened".into(),
        occurred_at: 1_700_000_000_000,
        payload: "{}".into(),
        source: EventSource::System,
    };
    db.complete(
        &[],
        std::slice::from_ref(&circuit),
        &Circuits::default(),
        fixture.clock.now_ms(),
    )
    .await
    .unwrap();
    while !fixture
        .outcomes()
        .await
        .iter()
        .any(|(id, _)| *id == circuit.id)
    {
        assert!(
            Instant::now() < deadline,
            "the new outcome was never published"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.cancel();
    task.await.unwrap();
    assert_eq!(fixture.outcomes().await.len(), 3);
    assert_eq!(db.outbox_backlog().await.unwrap(), 0);
    fixture.cleanup().await;
}
