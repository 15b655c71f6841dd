//! Orders pulled from the marketplaces through the running service: every
//! order becomes one `order.placed`, a change one `order.updated`, the same
//! state never two events, each run is in the sync log, and a restart
//! resumes from the saved cursor. Amazon (status change) and eBay (a
//! fulfillment sent out through the connector comes back as an update).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_core::Clock;
use sluice_tests::TestCa;
use sluice_tests::fakes::amazon::{
    AmazonOptions, FakeAmazon, MARKETPLACE_US, OrderSeed, OrderStatus,
};
use sluice_tests::fakes::ebay::{EbayOptions, EbayOrderSeed, FakeEbay};
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
    service.wait_for_sync_runs("s1", config, run).await[0].clone()
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ebay_orders_sync_in_and_a_fulfillment_sent_out_comes_back_as_an_update() {
    let ca = Arc::new(TestCa::new().unwrap());
    let ebay = FakeEbay::start(&ca, EbayOptions::unthrottled())
        .await
        .unwrap();
    let seller = ebay.onboard_seller();
    let service = TestService::start(Options {
        resolve: ebay.egress_overrides(),
        ca: Some(ca),
        configure: Box::new(|config| config.sync.max_records = 2),
        ..Options::default()
    })
    .await;
    let now = service.clock.now_ms();
    let orders: Vec<String> = (0..5)
        .map(|i| {
            ebay.seed_order(
                EbayOrderSeed::new(now - 3_600_000 + i * 60_000).line_item("MUG-1", 1, "9.99"),
            )
        })
        .collect();
    let created = service
        .post(
            "/v1/stores/s1/connectors",
            json!({
                "connector_id": "ebay",
                "name": "eBay US",
                "event_types": ["order.fulfilled"],
                "settings": {
                    "marketplace_id": "EBAY_US",
                    "merchant_location_key": seller.merchant_location_key,
                    "category_id": "15687",
                    "fulfillment_policy_id": seller.policies.fulfillment_policy_id,
                    "payment_policy_id": seller.policies.payment_policy_id,
                    "return_policy_id": seller.policies.return_policy_id,
                },
                "credentials": {
                    "client_id": seller.app.client_id,
                    "client_secret": seller.app.client_secret,
                    "refresh_token": seller.refresh_token,
                },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let config = created.body["id"].as_str().unwrap().to_owned();
    let sink = WebhookSink::start().await.unwrap();
    service
        .subscribe(
            "s1",
            &sink.url("orders"),
            &["order.placed", "order.updated"],
        )
        .await;

    let first = sync_now(&service, &config, 1).await;
    assert_eq!(first["status"], "succeeded", "{first:#}");
    assert_eq!(first["events"], 5, "{first:#}");
    assert!(first["batches"].as_u64().unwrap() >= 3, "{first:#}");
    let again = sync_now(&service, &config, 2).await;
    assert_eq!(
        again["events"], 0,
        "the same orders raise nothing: {again:#}"
    );

    // The store ships one order through the connector; eBay changes it.
    let line = ebay.order(&orders[1]).unwrap().line_items[0]
        .line_item_id
        .clone();
    service
        .send_events(json!([{
            "id": "ship-1", "type": "order.fulfilled", "store_id": "s1",
            "occurred_at": "2026-11-30T10:00:00Z",
            "payload": {
                "marketplace": "ebay", "order_id": orders[1],
                "line_items": [{"line_item_id": line, "sku": "MUG-1", "quantity": 1}],
                "carrier": "USPS", "tracking_number": "9400111899223100099999",
                "shipped_at": "2026-11-30T09:00:00Z",
            },
        }]))
        .await;
    service
        .wait_for_deliveries("s1", &format!("target_id={config}&status=delivered"), 1)
        .await;
    service.advance(Duration::from_secs(60));
    let third = sync_now(&service, &config, 3).await;
    assert_eq!(third["events"], 1, "the shipped order changed: {third:#}");
    let updated = service
        .wait_for_deliveries("s1", "event_type=order.updated&status=delivered", 1)
        .await;
    let event = service
        .get(&format!(
            "/v1/stores/s1/events/{}",
            updated[0]["event_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(event.body["payload"]["order_id"], orders[1].as_str());
    service.stop().await;
}
