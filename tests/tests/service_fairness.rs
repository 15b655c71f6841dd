//! Fair delivery through the running service, on an injected clock: a
//! target is given more attempts at once only once it answers fast, a slow
//! target's backlog does not delay another store, a failing target's
//! circuit opens, probes and closes without costing its deliveries their
//! retries, a declared rate limit is never exceeded, and a 429 pauses its
//! target alone.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_tests::service::{Options, TestService};
use sluice_tests::sink::{Answer, WebhookSink};

fn orders(store: &str, prefix: &str, count: usize) -> Value {
    Value::Array(
        (0..count)
            .map(|i| {
                json!({
                    "id": format!("{prefix}{i}"),
                    "type": "order.created",
                    "store_id": store,
                    "occurred_at": "2026-11-30T10:00:00Z",
                    "payload": { "order_id": format!("{prefix}{i}") },
                })
            })
            .collect(),
    )
}

/// Waits (real time, at most 20 s) until `sink` has received `count` requests.
async fn received(sink: &WebhookSink, count: usize) -> Vec<sluice_tests::RecordedRequest> {
    sink.recorder()
        .wait_for(count, Duration::from_secs(20))
        .await
        .unwrap_or_else(|_| panic!("the sink never received {count} requests"))
}

/// Lets the workers run on a still clock for a moment, to show that
/// nothing happens.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(200)).await;
}

async fn metrics(service: &TestService) -> String {
    service
        .anonymous()
        .get(format!("{}/metrics", service.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_starts_at_the_slow_target_cap_and_is_given_more_once_it_answers_fast() {
    let service = TestService::start(Options {
        configure: Box::new(|config| {
            let delivery = &mut config.delivery;
            delivery.slow_target_concurrency = 2;
            delivery.per_target_concurrency = 6;
            // Every answer of this test's receiver counts as fast, however
            // loaded the machine running it.
            delivery.fast_attempt_ms = 60_000;
        }),
        ..Options::default()
    })
    .await;
    let sink = WebhookSink::start().await.unwrap();
    sink.hold();
    service
        .subscribe("a", &sink.url("shop"), &["order.*"])
        .await;

    // Not yet proved fast: two attempts at once.
    service.send_events(orders("a", "first", 10)).await;
    received(&sink, 2).await;
    settle().await;
    assert_eq!(sink.recorder().len(), 2);

    // A hundred fast answers prove it.
    sink.release();
    service.send_events(orders("a", "proof", 100)).await;
    service
        .wait_for_deliveries("a", "status=delivered", 110)
        .await;

    // Now it gets the per-target cap, and no more.
    sink.hold();
    service.send_events(orders("a", "after", 20)).await;
    received(&sink, 116).await;
    settle().await;
    assert_eq!(sink.recorder().len(), 116, "six attempts at once");
    sink.release();
    service
        .wait_for_deliveries("a", "status=delivered", 130)
        .await;
    assert_eq!(sink.most_concurrent(), 6);
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_targets_backlog_does_not_delay_another_stores_deliveries() {
    let service = TestService::start(Options {
        configure: Box::new(|config| config.delivery.per_target_concurrency = 4),
        ..Options::default()
    })
    .await;
    let slow = WebhookSink::start().await.unwrap();
    let fast = WebhookSink::start().await.unwrap();
    slow.hold();
    service.subscribe("a", &slow.url("erp"), &["order.*"]).await;
    service
        .subscribe("b", &fast.url("shop"), &["order.*"])
        .await;

    service.send_events(orders("a", "a", 200)).await;
    received(&slow, 4).await;
    service.send_events(orders("b", "b", 20)).await;
    let delivered = service
        .wait_for_deliveries("b", "status=delivered", 20)
        .await;
    assert_eq!(delivered.len(), 20);
    assert_eq!(fast.recorder().len(), 20);

    // Store b went through while store a's receiver held its share: four
    // requests, the rest of the backlog still queued and never attempted.
    settle().await;
    assert_eq!(slow.recorder().len(), 4);
    let waiting = service.deliveries("a", "status=pending").await;
    assert_eq!(waiting.len(), 200);
    // A leased delivery is due again only when its lease lapses.
    let leased = waiting
        .iter()
        .filter(|d| d["next_attempt_at"] != d["created_at"])
        .count();
    assert_eq!(leased, 4, "only the four being attempted are held");

    slow.release();
    service
        .wait_for_deliveries("a", "status=delivered", 200)
        .await;
    assert_eq!(
        slow.most_concurrent(),
        4,
        "never more than the per-target cap"
    );
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_opens_its_circuit_and_a_probe_closes_it_without_dead_letters() {
    let service = TestService::start(Options {
        configure: Box::new(|config| {
            let delivery = &mut config.delivery;
            delivery.per_target_concurrency = 1;
            delivery.retry.jitter = 0.0;
            // Three attempts 10 s apart: without the circuit, a minute of
            // outage would dead-letter the first deliveries.
            delivery.retry.schedule_seconds = vec![10, 10];
            delivery.circuit.failure_threshold = 3;
            delivery.circuit.open_seconds = 60;
        }),
        ..Options::default()
    })
    .await;
    let failing = WebhookSink::start().await.unwrap();
    let healthy = WebhookSink::start().await.unwrap();
    let watcher = WebhookSink::start().await.unwrap();
    failing.script((0..4).map(|_| Answer::status(500)));
    let (erp, _) = service
        .subscribe("s1", &failing.url("erp"), &["order.*"])
        .await;
    service
        .subscribe(
            "s1",
            &watcher.url("alerts"),
            &["webhook.circuit_opened", "webhook.circuit_closed"],
        )
        .await;
    service
        .subscribe("s2", &healthy.url("shop"), &["order.*"])
        .await;

    service.send_events(orders("s1", "o", 5)).await;
    received(&failing, 3).await;
    let alerts = received(&watcher, 1).await;
    let opened = alerts[0].json().unwrap();
    assert_eq!(opened["type"], "webhook.circuit_opened");
    assert_eq!(opened["payload"]["target_id"], erp.as_str());
    assert_eq!(opened["payload"]["consecutive_failures"], 3);
    let view = service.get(&format!("/v1/stores/s1/webhooks/{erp}")).await;
    assert_eq!(view.body["circuit"]["state"], "open", "{:#}", view.body);
    assert_eq!(view.body["circuit"]["consecutive_failures"], 3);
    assert!(view.body["circuit"]["paused_until"].is_string());
    assert!(
        metrics(&service)
            .await
            .contains("sluice_circuits{state=\"open\",target_kind=\"webhook\"} 1")
    );

    // While it is open, other targets deliver and this one gets nothing,
    // though its retries fall due.
    service.send_events(orders("s2", "p", 3)).await;
    service
        .wait_for_deliveries("s2", "status=delivered", 3)
        .await;
    service.advance(Duration::from_secs(59));
    settle().await;
    assert_eq!(failing.recorder().len(), 3, "no attempt while open");

    // The back-off ends: one probe, which fails; the back-off doubles.
    service.advance(Duration::from_secs(1));
    received(&failing, 4).await;
    settle().await;
    assert_eq!(failing.recorder().len(), 4, "a single probe");
    service.advance(Duration::from_secs(119));
    settle().await;
    assert_eq!(failing.recorder().len(), 4);

    // The target recovers: the next probe closes the circuit and the
    // deliveries that waited all arrive.
    service.advance(Duration::from_secs(1));
    service
        .wait_for_deliveries("s1", "status=delivered&event_type=order.created", 5)
        .await;
    let alerts = received(&watcher, 2).await;
    let closed = alerts[1].json().unwrap();
    assert_eq!(closed["type"], "webhook.circuit_closed");
    assert!(service.deliveries("s1", "status=dead").await.is_empty());
    let view = service.get(&format!("/v1/stores/s1/webhooks/{erp}")).await;
    assert_eq!(view.body["circuit"]["state"], "closed");
    let text = metrics(&service).await;
    for expected in [
        "sluice_circuit_transitions_total{change=\"opened\",target_kind=\"webhook\"} 1",
        "sluice_circuit_transitions_total{change=\"closed\",target_kind=\"webhook\"} 1",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_rate_limit_is_never_exceeded() {
    let service = TestService::on(sluice_tests::service::Backend::Sqlite).await;
    let sink = WebhookSink::start().await.unwrap();
    let created = service
        .post(
            "/v1/stores/s1/webhooks",
            json!({
                "name": "erp", "url": sink.url("erp"), "event_types": ["order.*"],
                "rate_limit_per_second": 5,
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(created.body["rate_limit_per_second"], 5);
    let refused = service
        .post(
            "/v1/stores/s1/webhooks",
            json!({
                "name": "x", "url": sink.url("x"), "event_types": ["*"],
                "rate_limit_per_second": 0,
            }),
        )
        .await;
    assert_eq!(refused.status, 422);
    assert_eq!(refused.body["errors"][0]["field"], "rate_limit_per_second");

    service.send_events(orders("s1", "o", 30)).await;
    let mut steps = 0;
    while sink.recorder().len() < 30 {
        service.advance(Duration::from_millis(50));
        tokio::time::sleep(Duration::from_millis(5)).await;
        steps += 1;
        assert!(steps < 4_000, "only {} arrived", sink.recorder().len());
    }
    // Count per second by the time each request was sent (its Standard
    // Webhooks timestamp, read from the service's clock).
    let mut per_second: BTreeMap<i64, usize> = BTreeMap::new();
    for request in sink.recorder().requests() {
        let second: i64 = request
            .header("webhook-timestamp")
            .unwrap()
            .parse()
            .unwrap();
        *per_second.entry(second).or_default() += 1;
    }
    assert!(
        per_second.values().all(|count| *count <= 5),
        "{per_second:?}"
    );
    assert!(per_second.len() >= 6, "{per_second:?}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_pauses_that_target_alone() {
    let service = TestService::start(Options {
        configure: Box::new(|config| config.delivery.per_target_concurrency = 1),
        ..Options::default()
    })
    .await;
    let throttling = WebhookSink::start().await.unwrap();
    let other = WebhookSink::start().await.unwrap();
    throttling.script([Answer::status(429).with_header("retry-after", "30")]);
    service
        .subscribe("s1", &throttling.url("erp"), &["order.*"])
        .await;
    service
        .subscribe("s1", &other.url("shop"), &["order.*"])
        .await;

    service.send_events(orders("s1", "o", 3)).await;
    received(&other, 3).await;
    received(&throttling, 1).await;
    settle().await;
    assert_eq!(throttling.recorder().len(), 1, "paused for 30 s");

    service.advance(Duration::from_secs(29));
    settle().await;
    assert_eq!(throttling.recorder().len(), 1);
    service.advance(Duration::from_secs(1));
    received(&throttling, 4).await;
    service
        .wait_for_deliveries("s1", "status=delivered", 6)
        .await;
    service.stop().await;
}
