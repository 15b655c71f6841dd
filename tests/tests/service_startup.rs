//! Start-up does not wait for connectors to compile: `/readyz` answers at
//! once and lists the connectors still loading, and a delivery to one of
//! them waits for it without losing an attempt.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::post;
use serde_json::json;
use sluice_tests::service::{Options, TestService};
use sluice_tests::{FakeServer, TestCa};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_does_not_wait_for_connectors_and_their_deliveries_wait_for_them() {
    let ca = Arc::new(TestCa::new().unwrap());
    let receiver = FakeServer::start_tls(
        &ca,
        &["allowed.test"],
        Router::new().route("/in", post(|| async { "ok" })),
    )
    .await
    .unwrap();
    let mut service = TestService::start(Options {
        resolve: receiver.egress_overrides(),
        ca: Some(ca.clone()),
        extra_connectors: vec!["test-guests/well-behaved"],
        ..Options::default()
    })
    .await;
    let created = service
        .post(
            "/v1/stores/s1/connectors",
            json!({
                "connector_id": "well-behaved",
                "name": "receiver",
                "event_types": ["order.*"],
                "settings": { "target_url": "https://allowed.test/in" },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);

    // Every connector compiles again, one after the other; well-behaved
    // comes last.
    service.restart_with_connectors_loading().await;
    let ready = service.get("/readyz").await;
    assert_eq!(ready.status, 200, "{:?}", ready.body);
    let loading = ready.body["loading"].as_array().unwrap().clone();
    assert!(loading.contains(&json!("well-behaved")), "{:?}", ready.body);
    let described = service.get("/v1/connectors/well-behaved").await;
    assert_eq!(described.status, 503, "{:?}", described.body);
    assert_eq!(described.body["type"], "/problems/connector-loading");
    assert_eq!(described.headers["retry-after"], "5");

    service
        .send_events(json!([{
            "id": "o1",
            "type": "order.created",
            "store_id": "s1",
            "occurred_at": "2026-12-01T10:00:00Z",
            "payload": { "order_id": "o1" },
        }]))
        .await;

    // Deferred deliveries are due again a second later on the service's clock.
    let started = Instant::now();
    let delivery = loop {
        let delivered = service.deliveries("s1", "status=delivered").await;
        if let Some(delivery) = delivered.into_iter().next() {
            break delivery;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "not delivered: {:?}",
            service.deliveries("s1", "").await
        );
        service.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        delivery["attempt_count"], 1,
        "waiting for the connector cost no attempt: {delivery:#}"
    );
    let ready = service.get("/readyz").await;
    assert_eq!(ready.body["loading"], json!([]), "{:?}", ready.body);
    service.stop().await;
}
