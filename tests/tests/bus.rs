//! The service on the platform's event bus, end to end against the real
//! NATS JetStream server: events consumed from a stream are stored once,
//! fanned out and delivered; a malformed message lands in the rejected log
//! the API shows; Sluice's outcomes are published once each, across
//! restarts and while the bus refuses them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_tests::bus::{Outcome, TestBus};
use sluice_tests::service::{Options, TestService};
use sluice_tests::sink::WebhookSink;

fn order(i: usize) -> String {
    json!({
        "id": format!("evt_{i}"), "type": "order.cancelled", "store_id": "store_a",
        "occurred_at": "2026-11-30T10:00:00Z", "payload": {"order_id": i.to_string()},
    })
    .to_string()
}

async fn service_on(bus: &TestBus, consume: bool) -> TestService {
    let mut config = bus.config();
    if !consume {
        config.consume = None;
    }
    TestService::start(Options {
        configure: Box::new(move |service| service.bus = config),
        ..Options::default()
    })
    .await
}

/// Waits (real time, at most 20 s) until the outcome stream holds `count`
/// messages, and returns them.
async fn wait_for_outcomes(bus: &TestBus, count: usize) -> Vec<Outcome> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let outcomes = bus.outcomes().await;
        if outcomes.len() >= count {
            return outcomes;
        }
        assert!(
            Instant::now() < deadline,
            "expected {count} outcomes, found {}: {outcomes:#?}",
            outcomes.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks that every outcome is a `webhook.delivered` envelope whose id is
/// its `Nats-Msg-Id`, and that no id repeats.
fn once_each(outcomes: &[Outcome]) {
    let mut seen = HashSet::new();
    for outcome in outcomes {
        assert_eq!(outcome.event_type, "webhook.delivered");
        assert_eq!(outcome.body["type"], "webhook.delivered");
        assert_eq!(outcome.body["id"], outcome.msg_id.as_str());
        assert_eq!(outcome.body["store_id"], "store_a");
        assert!(
            seen.insert(outcome.msg_id.clone()),
            "{} published twice",
            outcome.msg_id
        );
    }
}

async fn metric(service: &TestService, line_start: &str) -> Option<f64> {
    let text = service
        .anonymous()
        .get(format!("{}/metrics", service.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|line| line.starts_with(line_start))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_the_bus_are_delivered_once_and_their_outcomes_published_once() {
    let bus = TestBus::start(true).await;
    let sink = WebhookSink::start().await.unwrap();
    let mut service = service_on(&bus, true).await;
    service
        .subscribe("store_a", &sink.url("orders"), &["order.*"])
        .await;

    for i in 0..5 {
        bus.publish(order(i)).await;
    }
    bus.publish(order(0)).await; // the same event again
    bus.publish("{\"id\": \"evt_9\", \"type\": \"order.cancelled\"")
        .await;

    let delivered = service
        .wait_for_deliveries("store_a", "status=delivered", 5)
        .await;
    assert_eq!(delivered.len(), 5);
    assert_eq!(
        service.deliveries("store_a", "").await.len(),
        5,
        "the duplicate fanned out nothing"
    );
    let event = service.get("/v1/stores/store_a/events/evt_3").await;
    assert_eq!(event.status, 200, "{:?}", event.body);

    // Every message acknowledged, the malformed one too, after it was logged.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let consumer = bus.consumer("sluice").await;
        if consumer.ack_floor.stream_sequence == 7 && consumer.num_ack_pending == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not all acknowledged: {consumer:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rejected = service.get("/v1/bus/rejected").await;
    assert_eq!(rejected.status, 200, "{:?}", rejected.body);
    let items = rejected.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{:?}", rejected.body);
    let rejected = &items[0];
    assert_eq!(rejected["reason"][0]["field"], "<message>");
    assert_eq!(rejected["subject"], format!("{}.events.orders", bus.name));
    assert_eq!(rejected["source"], "nats");
    assert!(
        rejected["position"]
            .as_str()
            .unwrap()
            .contains("sequence 7")
    );
    assert_eq!(
        rejected["payload_text"],
        "{\"id\": \"evt_9\", \"type\": \"order.cancelled\""
    );
    assert_eq!(rejected["payload_truncated"], false);
    let bad_page = service.get("/v1/bus/rejected?limit=0").await;
    assert_eq!(bad_page.status, 422);
    assert_eq!(bad_page.content_type, "application/problem+json");
    assert_eq!(bad_page.body["errors"][0]["field"], "limit");
    assert_eq!(
        metric(&service, "sluice_bus_messages_total{outcome=\"duplicate\"}").await,
        Some(1.0)
    );
    assert_eq!(
        metric(&service, "sluice_bus_messages_total{outcome=\"rejected\"}").await,
        Some(1.0)
    );

    // One outcome per delivery, each once.
    let outcomes = wait_for_outcomes(&bus, 5).await;
    assert_eq!(outcomes.len(), 5);
    once_each(&outcomes);

    // A restart publishes nothing twice and goes on where it was.
    service.restart().await;
    bus.publish(order(5)).await;
    service
        .wait_for_deliveries("store_a", "status=delivered", 6)
        .await;
    let outcomes = wait_for_outcomes(&bus, 6).await;
    assert_eq!(outcomes.len(), 6);
    once_each(&outcomes);
    let rejected = service.get("/v1/bus/rejected").await;
    assert_eq!(
        rejected.body["items"].as_array().unwrap().len(),
        1,
        "not delivered again"
    );

    service.stop().await;
    bus.delete().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_committed_while_the_bus_refuses_them_are_published_after_a_restart() {
    // No stream captures the outcome subject yet: every publication is refused.
    let bus = TestBus::start(false).await;
    let sink = WebhookSink::start().await.unwrap();
    let mut service = service_on(&bus, false).await;
    service
        .subscribe("store_a", &sink.url("orders"), &["order.*"])
        .await;
    let events: Vec<Value> = (0..3)
        .map(|i| serde_json::from_str(&order(i)).unwrap())
        .collect();
    service.send_events(Value::Array(events)).await;
    service
        .wait_for_deliveries("store_a", "status=delivered", 3)
        .await;
    assert_eq!(
        metric(&service, "sluice_bus_outbox_backlog").await,
        Some(3.0),
        "the committed outcomes wait in the outbox"
    );
    assert!(bus.outcomes().await.is_empty());

    service.restart().await;
    bus.create_outcome_stream().await;
    // The refused rows are held by the first run's lease until it lapses.
    service.advance(Duration::from_secs(31));
    let outcomes = wait_for_outcomes(&bus, 3).await;
    assert_eq!(outcomes.len(), 3);
    once_each(&outcomes);
    let deadline = Instant::now() + Duration::from_secs(20);
    while metric(&service, "sluice_bus_outbox_backlog").await != Some(0.0) {
        assert!(Instant::now() < deadline, "the outbox was never emptied");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    service.stop().await;
    bus.delete().await;
}
