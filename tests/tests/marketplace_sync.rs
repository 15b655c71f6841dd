//! Orders pulled from the marketplaces through the running service: every
//! order becomes one `order.placed`, a change one `order.updated`, the same
//! state never two events, each run is in the sync log, and a restart
//! resumes from the saved cursor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_core::Clock;
use sluice_tests::TestCa;
use sluice_tests::fakes::amazon::{
    AmazonOptions, FakeAmazon, MARKETPLACE_US, OrderSeed, OrderStatus,
};
use sluice_tests::service::{Options, TestService};
use sluice_tests::sink::WebhookSink;

/// Requests a sync of `config` and waits for its run number `run` to be
/// logged; returns that run.
async fn sync_now(service: &TestService, config: &str, run: usize) -> Value {
    let requested = service
        .post(
            &format!("/v1/stores/s1/connectors/{config}/sync"),
            json!({}),
        )
        .await;
    assert_eq!(requested.status, 202, "{:?}", requested.body);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = service
            .get(&format!("/v1/stores/s1/connectors/{config}/sync-runs"))
            .await;
        let items = log.body["items"].as_array().unwrap().clone();
        if items.len() >= run {
            return items[0].clone();
        }
        assert!(
            Instant::now() < deadline,
            "run {run} never finished: {items:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amazon_orders_become_placed_then_updated_events_once_across_a_restart() {
    let ca = Arc::new(TestCa::new().unwrap());
    let amazon = FakeAmazon::start(&ca, AmazonOptions::unthrottled())
        .await
        .unwrap();
    let seller = amazon.onboard_seller(&[MARKETPLACE_US]);
    let mut service = TestService::start(Options {
        resolve: amazon.egress_overrides(),
        ca: Some(ca),
        configure: Box::new(|config| config.sync.max_records = 2),
        ..Options::default()
    })
    .await;
    let now = service.clock.now_ms();
    let orders: Vec<String> = (0..5)
        .map(|i| {
            amazon.seed_order(
                &seller.seller_id,
                OrderSeed::new(MARKETPLACE_US, now - 3_600_000 + i * 60_000)
                    .item("MUG-1", 1, "9.99"),
            )
        })
        .collect();
    let sink = WebhookSink::start().await.unwrap();
    service
        .subscribe("s1", &sink.url("orders"), &["order.*"])
        .await;
    let created = service
        .post(
            "/v1/stores/s1/connectors",
            json!({
                "connector_id": "amazon",
                "name": "Amazon US",
                "event_types": ["order.fulfilled"],
                "settings": { "seller_id": seller.seller_id, "marketplace_id": MARKETPLACE_US },
                "credentials": {
                    "client_id": seller.client_id,
                    "client_secret": seller.client_secret,
                    "refresh_token": seller.refresh_token,
                },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let config = created.body["id"].as_str().unwrap().to_owned();

    let first = sync_now(&service, &config, 1).await;
    assert_eq!(first["status"], "succeeded", "{first:#}");
    assert_eq!(first["events"], 5, "{first:#}");
    assert!(
        first["batches"].as_u64().unwrap() >= 3,
        "pages of 2: {first:#}"
    );
    let placed = service
        .wait_for_deliveries("s1", "event_type=order.placed&status=delivered", 5)
        .await;
    assert_eq!(placed.len(), 5);
    let event = service
        .get(&format!(
            "/v1/stores/s1/events/{}",
            placed[0]["event_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(event.body["source"], "sync");
    assert_eq!(event.body["payload"]["marketplace"], "amazon");
    assert!(
        orders.contains(
            &event.body["payload"]["order_id"]
                .as_str()
                .unwrap()
                .to_owned()
        )
    );

    amazon.set_order_status(&orders[2], OrderStatus::Canceled);
    service.advance(Duration::from_secs(60));
    let second = sync_now(&service, &config, 2).await;
    assert_eq!(second["events"], 1, "only the changed order: {second:#}");
    let updated = service
        .wait_for_deliveries("s1", "event_type=order.updated&status=delivered", 1)
        .await;
    assert_eq!(updated.len(), 1);

    service.restart().await;
    let third = sync_now(&service, &config, 3).await;
    assert_eq!(third["status"], "succeeded", "{third:#}");
    assert_eq!(
        third["events"], 0,
        "nothing new after the restart: {third:#}"
    );
    assert_eq!(service.deliveries("s1", "").await.len(), 6);
    service.stop().await;
}
